"""maxpool2 against the golden model's max-pool on the unpacked spike bits, maps back to
back, idle input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.model.golden import maxpool  # noqa: E402


@cocotb.test()
async def random_maps(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    bits = (rng.random((cfg["maps"], p["H"], p["W"], p["BITS"])) < 0.3).astype(np.int64)
    expected = maxpool(bits, 2)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(px, 1) for px in bits.reshape(-1, p["BITS"])])
    got = await tb.recv(expected.shape[0] * expected.shape[1] * expected.shape[2])
    pooled = np.array([unpack(b, p["BITS"], 1, signed=False) for b in got]).reshape(expected.shape)
    assert np.array_equal(pooled, expected)
