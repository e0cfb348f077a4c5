"""lif_layer against the golden model's LIF (model/golden.py): random currents, images back
to back, random idle input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import lif  # noqa: E402


@cocotb.test()
async def random_currents(dut):
    cfg = load_config()
    p = cfg["parameters"]
    n, t_steps, xb = p["N"], p["T"], p["X_BITS"]
    rng = np.random.default_rng(cfg["seed"])
    images = cfg["images"]
    x_max = (1 << (xb - 1)) - 1
    currents = rng.integers(-x_max - 1, x_max + 1, size=(images, t_steps, n), dtype=np.int64)
    theta = np.array(cfg["threshold"], dtype=np.int64)
    layer = {"leak_shift": p["LEAK_SHIFT"], "reset": "soft" if p["SOFT_RESET"] else "hard", "threshold": "t"}

    class Arrays:
        def array(self, _):
            return np.resize(theta, n)  # neuron k uses theta[k % C]

    expected = lif(layer, Arrays(), currents)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(currents[i, t], xb) for i in range(images) for t in range(t_steps)])
    got = await tb.recv(images * t_steps)
    spikes = np.array([unpack(b, n, 1, signed=False) for b in got]).reshape(images, t_steps, n)
    bad = np.argwhere(spikes != expected)
    assert len(bad) == 0, f"first mismatch (image, step, neuron) = {tuple(bad[0])}"
