"""conv_window against the golden model's im2col: every window element in order, padding as
zeros, maps back to back, idle input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack  # noqa: E402

from qpsnn.model.golden import im2col  # noqa: E402


@cocotb.test()
async def random_maps(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    maps = rng.integers(0, 1 << p["ELEM_BITS"], size=(cfg["maps"], p["H"], p["W"], p["C"]))
    pads = cfg["pads"]
    expected = im2col(maps, p["K"], p["STRIDE"], pads)
    assert expected.shape[1:3] == (p["OH"], p["OW"])
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(px, p["ELEM_BITS"]) for px in maps.reshape(-1, p["C"])])
    got = await tb.recv(expected.size)
    assert got == [int(v) for v in expected.reshape(-1)]
