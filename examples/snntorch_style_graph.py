"""Write an NIR graph the way snnTorch's export_to_nir writes one (Leaky neurons as NIR LIF with
tau = dt / (1 - beta), r = tau / dt at dt = 1e-4; Conv2d with its padding; Linear as Affine;
channels-first Flatten), without PyTorch: a stand-in for a graph from your snnTorch code.

    .venv/bin/python examples/snntorch_style_graph.py out/snn.nir

The weights come from a small float network trained here on scikit-learn's 8x8 digits
(conv 8 3x3 pad 1 -> Leaky(0.5) -> flatten -> linear 32 -> Leaky(0.5) -> linear 10).
"""

import os
import sys

import qpsnn  # noqa: F401  (first: the Keras flavour and a quiet TensorFlow)

import numpy as np  # noqa: E402

import nir  # noqa: E402
from qpsnn.model.data import load_dataset  # noqa: E402
from qpsnn.model.train import train_model  # noqa: E402
from qpsnn.spec import parse_spec  # noqa: E402

BETA, DT, T = 0.5, 1e-4, 4
spec = parse_spec({
    "name": "float_net", "data": {"dataset": "digits"}, "time_steps": T,
    "neuron": {"tau": BETA, "threshold": 1.0, "reset": "soft"},
    "train": {"epochs": 10, "batch_size": 32, "lr": 0.01, "batch_norm": False},
    "layers": [{"type": "conv", "filters": 8, "kernel": 3, "padding": 1}, {"type": "lif", "strict": True},
               {"type": "flatten"}, {"type": "dense", "units": 32}, {"type": "lif", "strict": True},
               {"type": "dense", "units": 10}, {"type": "readout"}]})
data = load_dataset("digits", spec.data["test_fraction"], spec.data["seed"])
model = train_model(spec, data, verbose=0, quantized=False)          # full precision, as in PyTorch
(k0, b0), (k1, b1), (k2, b2) = (model.get_layer(n).get_weights() for n in ("conv0", "dense0", "dense1"))

tau = DT / (1 - BETA)


def leaky(shape):
    return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / DT), v_leak=np.zeros(shape),
                   v_threshold=np.ones(shape), v_reset=np.zeros(shape))


C, H, W = 8, 8, 8
chw_rows = np.arange(H * W * C).reshape(H, W, C).transpose(2, 0, 1).ravel()   # PyTorch flattens (c, y, x)
nodes = {"input": nir.Input(input_type={"input": np.array([1, H, W])}),
         "0": nir.Conv2d(input_shape=(H, W), weight=k0.transpose(3, 2, 0, 1), stride=1, padding=(1, 1), dilation=1,
                         groups=1, bias=b0),
         "1": leaky((C, H, W)),
         "2": nir.Flatten(input_type={"input": np.array([C, H, W])}, start_dim=0),
         "3": nir.Affine(weight=k1[chw_rows].T, bias=b1),
         "4": leaky((32,)),
         "5": nir.Affine(weight=k2.T, bias=b2),
         "output": nir.Output(output_type={"output": np.array([10])})}
order = ["input", "0", "1", "2", "3", "4", "5", "output"]
path = sys.argv[1] if len(sys.argv) > 1 else "snn.nir"
os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
nir.write(path, nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))))
print(f"wrote {path}: {len(nodes)} nodes")
