"""accumulate_engine against the golden model's ReScaW accumulate (model/golden.py): random
weight codes and biases (written by the pytest side through the RTL generator's packers),
random spike or pixel inputs with T_IN values per input, SIMD inputs per element, sent as
the element stream of the mode (codegen/element_stream.py), positions back to back, idle
input and back-pressure."""

import sys

import cocotb
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from stream_tb import StreamTB, load_config, pack, unpack  # noqa: E402

from qpsnn.codegen.element_stream import beats, pack_beat  # noqa: E402
from qpsnn.model.golden import accumulate  # noqa: E402


@cocotb.test()
async def random_positions(dut):
    cfg = load_config()
    p = cfg["parameters"]
    codes = np.array(cfg["codes"], dtype=np.int64)
    bias = np.array(cfg["bias"], dtype=np.int64)
    rng = np.random.default_rng(cfg["seed"])
    positions, steps = cfg["positions"], p["T_IN"]
    x = rng.integers(0, 1 << p["IN_BITS"], size=(positions, steps, p["N_IN"]), dtype=np.int64)
    x[rng.random(x.shape) > cfg["density"]] = 0
    simd = p.get("SIMD", 1)
    x[:, :, :simd] = 0  # whole elements of zeros: the one-cycle skip
    x[3:5] = 0          # positions of zeros only, two in a row: their currents are the biases
    s = (1 << p["W_BITS"]) - 1        # the ReScaW offset
    expected = accumulate(x, codes, s) * (1 << p["FRAC_BITS"]) + bias  # (positions, steps, N_OUT)
    tb = StreamTB(dut, cfg["idle"], cfg["backpressure"], cfg["seed"])
    await tb.reset()
    # input e of a position carries its T_IN values, step t at bits [t*IN_BITS +: IN_BITS]; an
    # element is SIMD inputs in a row, input j at bits [j*T_IN*IN_BITS]; the element stream of
    # the mode: only the non-zero elements (and each position's last) in event mode
    in_bits = steps * p["IN_BITS"]
    words = np.array([[pack([pack(x[i, :, r * simd + j], p["IN_BITS"]) for j in range(simd)], in_bits)
                       for r in range(p["N_IN"] // simd)] for i in range(positions)], dtype=object)
    n_elem = p["N_IN"] // simd
    await tb.send([pack_beat(b, n_elem, simd * in_bits) for b in beats(words, bool(p["SKIP_ZEROS"]))])
    got = await tb.recv(positions)
    currents = np.array([unpack(b, steps * p["N_OUT"], p["OUT_BITS"]) for b in got]).reshape(expected.shape)
    bad = np.argwhere(currents != expected)
    assert len(bad) == 0, f"first mismatch (position, step, output) = {tuple(bad[0])}"
