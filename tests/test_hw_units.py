"""Each hw library module against a Python model, under cocotb + Verilator, over parameters."""

import numpy as np
import pytest

from qpsnn.codegen.rtl import hex_words, weight_words
from qpsnn.sim.unit import run_unit

STRESS = {"idle": 0.3, "backpressure": 0.3}


@pytest.mark.parametrize("n,c,t,leak,soft", [(6, 3, 4, 1, 0), (4, 4, 1, 2, 1), (5, 1, 7, 0, 0)])
def test_lif_layer(tmp_path, n, c, t, leak, soft):
    x_bits, u_bits = 8, 12
    rng = np.random.default_rng(n + t)
    theta = rng.integers(1, 200, size=c)
    params = {"N": n, "C": c, "T": t, "X_BITS": x_bits, "U_BITS": u_bits, "LEAK_SHIFT": leak,
              "SOFT_RESET": soft, "THRESHOLD_FILE": "theta.mem"}
    if leak == 0:  # IF neuron: the membrane grows up to T * max|x|
        params["U_BITS"] = x_bits + 4
    failures = run_unit("lif_layer", params, str(tmp_path),
                        {"seed": 3, "images": 12, "threshold": theta.tolist(), **STRESS},
                        files={"theta.mem": hex_words(theta, params["U_BITS"])})
    assert failures == 0


@pytest.mark.parametrize("n_in,n_out,pe,in_bits,w_bits,frac,density", [
    (12, 8, 4, 1, 4, 4, 0.4),     # spikes, 4-bit codes, two groups per element
    (9, 6, 6, 8, 8, 0, 0.5),      # pixels, 8-bit codes, all outputs in parallel
    (7, 5, 1, 1, 2, 2, 0.7),      # spikes, 2-bit codes, one output per cycle
])
def test_accumulate_engine(tmp_path, n_in, n_out, pe, in_bits, w_bits, frac, density):
    s = 2**w_bits - 1
    rng = np.random.default_rng(n_in * n_out)
    codes = rng.integers(0, s + 1, size=(n_in, n_out))
    bias = rng.integers(-500, 500, size=n_out)
    bound = n_in * ((1 << in_bits) - 1) * s * (1 << frac) + 500
    out_bits, bias_bits = bound.bit_length() + 1, 11
    params = {"N_IN": n_in, "N_OUT": n_out, "PE": pe, "IN_BITS": in_bits, "W_BITS": w_bits, "S": s,
              "FRAC_BITS": frac, "OUT_BITS": out_bits, "BIAS_BITS": bias_bits,
              "WEIGHT_FILE": "w.mem", "BIAS_FILE": "b.mem"}
    files = {"w.mem": hex_words(weight_words(codes, pe, w_bits), pe * w_bits), "b.mem": hex_words(bias, bias_bits)}
    failures = run_unit("accumulate_engine", params, str(tmp_path),
                        {"seed": 5, "frames": 10, "density": density, "codes": codes.tolist(),
                         "bias": bias.tolist(), **STRESS}, files=files)
    assert failures == 0


@pytest.mark.parametrize("n,elem", [(5, 1), (3, 8)])
def test_vector_serializer(tmp_path, n, elem):
    assert run_unit("vector_serializer", {"N": n, "ELEM_BITS": elem}, str(tmp_path),
                    {"seed": 7, "frames": 15, **STRESS}) == 0


@pytest.mark.parametrize("width,t", [(12, 4), (40, 1)])
def test_repeat_stream(tmp_path, width, t):
    assert run_unit("repeat_stream", {"WIDTH": width, "T": t}, str(tmp_path),
                    {"seed": 9, "frames": 10, **STRESS}) == 0
