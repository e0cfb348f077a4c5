"""accumulate_engine against the golden model's ReScaW accumulate (model/golden.py): random
weight codes and biases (written by the pytest side through the RTL generator's packers),
random spike or pixel inputs, frames back to back, idle input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, unpack  # noqa: E402

from qpsnn.model.golden import accumulate  # noqa: E402


@cocotb.test()
async def random_frames(dut):
    cfg = load_config()
    p = cfg["parameters"]
    codes = np.array(cfg["codes"], dtype=np.int64)
    bias = np.array(cfg["bias"], dtype=np.int64)
    rng = np.random.default_rng(cfg["seed"])
    frames = cfg["frames"]
    if p["IN_BITS"] == 1:
        x = (rng.random((frames, p["N_IN"])) < cfg["density"]).astype(np.int64)
    else:
        x = rng.integers(0, 1 << p["IN_BITS"], size=(frames, p["N_IN"]), dtype=np.int64)
        x[rng.random(x.shape) > cfg["density"]] = 0
    expected = accumulate(x, codes, p["S"]) * (1 << p["FRAC_BITS"]) + bias
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send(x.reshape(-1))
    got = await tb.recv(frames)
    currents = np.array([unpack(b, p["N_OUT"], p["OUT_BITS"]) for b in got])
    bad = np.argwhere(currents != expected)
    assert len(bad) == 0, f"first mismatch (frame, output) = {tuple(bad[0])}"
