"""vector_serializer: the element stream of every position (BEATS vectors) in the mode's
order (every element, or the non-zero ones and the last), under idle and back-pressure; and
its rate without stalls (one element per cycle, one cycle for a vector with nothing to send)."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack  # noqa: E402

from qpsnn.codegen.element_stream import beats, pack_beat, sent  # noqa: E402


def random_vectors(cfg, seed):
    p = cfg["parameters"]
    rng = np.random.default_rng(seed)
    vectors = rng.integers(0, 1 << p["ELEM_BITS"], size=(cfg["frames"] * p["BEATS"], p["N"]))
    vectors[rng.random(vectors.shape) < cfg["zeros"]] = 0
    vectors[::3] = 0   # whole vectors of zeros
    return vectors


def expected_beats(vectors, p):
    positions = vectors.reshape(-1, p["BEATS"] * p["N"])
    return [pack_beat(b, positions.shape[1], p["ELEM_BITS"]) for b in beats(positions, bool(p["SKIP_ZEROS"]))]


@cocotb.test()
async def element_stream(dut):
    cfg = load_config()
    p = cfg["parameters"]
    vectors = random_vectors(cfg, cfg["seed"])
    expected = expected_beats(vectors, p)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    await tb.send([pack(v, p["ELEM_BITS"]) for v in vectors])
    assert await tb.recv(len(expected)) == expected


@cocotb.test()
async def full_rate(dut):
    """Without stalls the next vector is taken as the current one is done (no bubble)."""
    cfg = load_config()
    p = cfg["parameters"]
    vectors = random_vectors(cfg, cfg["seed"] + 1)
    expected = expected_beats(vectors, p)
    mask = sent(vectors.reshape(-1, p["BEATS"] * p["N"]), bool(p["SKIP_ZEROS"])).reshape(vectors.shape)
    bound = int(np.maximum(mask.sum(axis=1), 1).sum())
    tb = StreamTB(dut)
    await tb.reset()
    start = tb.cycle
    await tb.send([pack(v, p["ELEM_BITS"]) for v in vectors])
    assert await tb.recv(len(expected)) == expected
    assert tb.cycle - start <= bound + 3, f"{tb.cycle - start} cycles, bound {bound}"
