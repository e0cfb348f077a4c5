"""sumpool2 against the golden model's sum pooling on the unpacked values (spikes or counts,
every value of its range), maps back to back, idle input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import sumpool  # noqa: E402


@cocotb.test()
async def random_maps(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    values = rng.integers(0, 1 << p["IN_BITS"], size=(cfg["maps"], p["H"], p["W"], p["N"]))
    values[rng.random(values.shape) < 0.4] = 0
    expected = sumpool(values, 2)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(px, p["IN_BITS"]) for px in values.reshape(-1, p["N"])])
    got = await tb.recv(expected.shape[0] * expected.shape[1] * expected.shape[2])
    pooled = np.array([unpack(b, p["N"], p["IN_BITS"] + 2, signed=False) for b in got]).reshape(expected.shape)
    assert np.array_equal(pooled, expected)
