"""NIR graphs written with the `nir` package in each exporter's own conventions (their sources:
snnTorch 0.9.4 export_nir.py, Norse 1.1 export_nir.py, Sinabs 3.1 nir.py), from the float
weights of a small network (Keras layout: conv kernel (kh, kw, in, out), dense (in, out),
channels-last flat inputs). No PyTorch: the graphs are what the exporters write, by hand.

The network: conv (padding 1) -> neuron -> flatten -> dense -> neuron -> dense -> output.
`decay` is the neurons' leak per step; each writer picks its exporter's parameters for it.
"""

import numpy as np

import nir


def channels_first_rows(h: int, w: int, c: int) -> np.ndarray:
    """chw index -> hwc index: a channels-last dense kernel's rows in NIR's flat order."""
    return np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).ravel()


def neuron(exporter: str, shape: tuple, decay: float, threshold: float):
    """(the node, the factor the weights before it are divided by so that the exporter's step
    equation adds exactly the layer's current)."""
    full = lambda v: np.full(shape, float(v))   # noqa: E731
    if exporter == "snntorch":      # Leaky(beta): tau = dt / (1 - beta), r = tau / dt, dt = 1e-4
        dt = 1e-4
        tau = dt / (1 - decay)
        return nir.LIF(tau=full(tau), r=full(tau / dt), v_leak=full(0), v_threshold=full(threshold),
                       v_reset=full(0)), 1.0
    if exporter == "norse":         # LIFBoxCell: tau = 1 / tau_mem_inv seconds, r = 1; Euler at dt = 1e-3
        dt = 1e-3
        tau = dt / (1 - decay)
        return nir.LIF(tau=full(tau), r=full(1.0), v_leak=full(0), v_threshold=full(threshold),
                       v_reset=full(0)), dt / tau
    if exporter == "sinabs":        # IAF: IF with r = 1 per step (decay 1 only)
        assert decay == 1.0
        return nir.IF(r=full(1.0), v_threshold=full(threshold)), 1.0
    raise ValueError(exporter)


def write_graph(path: str, exporter: str, arrays: dict, image: tuple, decay: float, threshold: float,
                bias: bool = True, pool: bool = False) -> None:
    """The network of `arrays` (conv0, dense0, dense1 in Keras layout) as `exporter` writes it.
    bias=False: the weight layers as Sinabs writes layers without bias (zeros); pool: a
    SumPool2d after the first neuron (Sinabs' pooling)."""
    h, w, c = image
    k0, b0 = arrays["conv0/kernel"], arrays["conv0/bias"]
    k1, b1 = arrays["dense0/kernel"], arrays["dense0/bias"]
    k2, b2 = arrays["dense1/kernel"], arrays["dense1/bias"]
    filters = k0.shape[-1]
    if not bias:
        b0, b1, b2 = np.zeros_like(b0), np.zeros_like(b1), np.zeros_like(b2)
    node0, g0 = neuron(exporter, (filters, h, w), decay, threshold)
    node1, g1 = neuron(exporter, (k1.shape[1],), decay, threshold)
    nodes = {"input": nir.Input(input_type={"input": np.array([c, h, w])}),
             "conv": nir.Conv2d(input_shape=(h, w), weight=k0.transpose(3, 2, 0, 1) / g0, stride=1, padding=(1, 1),
                                dilation=1, groups=1, bias=b0 / g0),
             "lif0": node0}
    order = ["input", "conv", "lif0"]
    if pool:
        nodes["pool"] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
        order.append("pool")
    rows = channels_first_rows(h, w, filters)
    if pool:       # the pooled map flattened: the graph's types stay consistent (nir checks them)
        h, w = h // 2, w // 2
        rows = channels_first_rows(h, w, filters)
        k1 = k1[:len(rows)]
    nodes.update({"flat": nir.Flatten(input_type={"input": np.array([filters, h, w])}, start_dim=0),
                  "fc": nir.Affine(weight=k1[rows].T / g1, bias=b1 / g1), "lif1": node1,
                  "out": nir.Affine(weight=k2.T, bias=b2),
                  "output": nir.Output(output_type={"output": np.array([k2.shape[1]])})})
    order += ["flat", "fc", "lif1", "out", "output"]
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))))
