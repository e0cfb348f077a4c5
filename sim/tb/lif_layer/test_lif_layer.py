"""lif_layer against the golden model's LIF (model/golden.py): random currents for every
time step (or one current for all steps), positions back to back, idle input and
back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import lif  # noqa: E402


class _Thresholds:
    def __init__(self, theta):
        self.theta = theta

    def array(self, _):
        return self.theta


@cocotb.test()
async def random_currents(dut):
    cfg = load_config()
    p = cfg["parameters"]
    n, t_steps, x_steps, xb = p["N"], p["T"], p["X_STEPS"], p["X_BITS"]
    rng = np.random.default_rng(cfg["seed"])
    positions = cfg["positions"]
    x_max = (1 << (xb - 1)) - 1
    currents = rng.integers(-x_max - 1, x_max + 1, size=(positions, x_steps, n), dtype=np.int64)
    theta = np.resize(np.array(cfg["threshold"], dtype=np.int64), n)  # neuron k uses theta[k % C]
    layer = {"leak_shift": p["LEAK_SHIFT"], "leak_complement": bool(p.get("LEAK_COMPLEMENT", 0)),
             "reset": "soft" if p["SOFT_RESET"] else "hard", "threshold": "t"}
    expected = lif(layer, _Thresholds(theta), np.broadcast_to(currents, (positions, t_steps, n)).copy()
                   if x_steps == 1 else currents)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(currents[i].reshape(-1), xb) for i in range(positions)])
    got = await tb.recv(positions)
    # output bit n*T + t: neuron n at step t
    spikes = np.array([unpack(b, n * t_steps, 1, signed=False) for b in got]).reshape(positions, n, t_steps)
    bad = np.argwhere(spikes.transpose(0, 2, 1) != expected)
    assert len(bad) == 0, f"first mismatch (position, step, neuron) = {tuple(bad[0])}"
