"""pool2 against the golden model's max-pool (SUM = 0, spikes) or sum pool (SUM = 1, spikes or
counts over their whole range) on the unpacked values, maps back to back, idle input and
back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import maxpool, sumpool  # noqa: E402


@cocotb.test()
async def random_maps(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    values = rng.integers(0, 1 << p["IN_BITS"], size=(cfg["maps"], p["H"], p["W"], p["N"]))
    values[rng.random(values.shape) < 0.5] = 0
    expected = (sumpool if p["SUM"] else maxpool)(values, 2)
    out_bits = p["IN_BITS"] + 2 * p["SUM"]
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(px, p["IN_BITS"]) for px in values.reshape(-1, p["N"])])
    got = await tb.recv(expected.shape[0] * expected.shape[1] * expected.shape[2])
    pooled = np.array([unpack(b, p["N"], out_bits, signed=False) for b in got]).reshape(expected.shape)
    assert np.array_equal(pooled, expected)
