"""vector_serializer: every element of every vector, in order, under idle and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack  # noqa: E402


@cocotb.test()
async def random_vectors(dut):
    cfg = load_config()
    p = cfg["parameters"]
    rng = np.random.default_rng(cfg["seed"])
    vectors = rng.integers(0, 1 << p["ELEM_BITS"], size=(cfg["frames"], p["N"]))
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(v, p["ELEM_BITS"]) for v in vectors])
    got = await tb.recv(vectors.size)
    assert got == [int(v) for v in vectors.reshape(-1)]


@cocotb.test()
async def full_rate(dut):
    """Without stalls an element leaves every cycle: the next vector is taken as the last
    element of the one before leaves (no bubble between vectors)."""
    cfg = load_config()
    p = cfg["parameters"]
    vectors = np.arange(cfg["frames"] * p["N"]).reshape(cfg["frames"], p["N"]) % (1 << p["ELEM_BITS"])
    tb = StreamTB(dut)
    await tb.reset()
    start = tb.cycle
    await tb.send([pack(v, p["ELEM_BITS"]) for v in vectors])
    got = await tb.recv(vectors.size)
    assert got == [int(v) for v in vectors.reshape(-1)]
    assert tb.cycle - start <= vectors.size + 3, f"{tb.cycle - start} cycles for {vectors.size} elements"
