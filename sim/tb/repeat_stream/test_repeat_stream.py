"""repeat_stream: each beat exactly T times, in order, under idle and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config  # noqa: E402


@cocotb.test()
async def random_beats(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    beats = [int(v) for v in rng.integers(0, 1 << min(p["WIDTH"], 62), size=cfg["frames"])]
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send(beats)
    got = await tb.recv(len(beats) * p["T"])
    assert got == [b for b in beats for _ in range(p["T"])]
