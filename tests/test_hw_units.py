"""Each hw library module against a Python model (the golden model's functions), under
cocotb + Verilator, over parameters, with random idle input cycles and back-pressure."""

import numpy as np
import pytest

from qpsnn.codegen.element_stream import index_bits
from qpsnn.codegen.rtl import hex_words, weight_words
from qpsnn.model.deploy import conv_geometry
from qpsnn.sim.unit import run_unit

STRESS = {"idle": 0.3, "backpressure": 0.3}


@pytest.mark.parametrize("n,c,t,x_steps,leak,soft,lanes,complement,chunks,positions", [
    (6, 3, 4, 4, 1, 0, 6, 0, 1, 1),   # every neuron per cycle: a beat in T slots
    (4, 4, 1, 1, 2, 1, 4, 0, 1, 1),   # one step: one slot per beat, beats back to back
    (5, 1, 7, 1, 0, 0, 1, 0, 1, 1),   # one neuron per cycle, one current for all steps (its group counted)
    (6, 3, 4, 1, 1, 0, 2, 0, 1, 1),   # one current for all steps picked by group (the slot's high bits)
    (6, 3, 4, 4, 1, 0, 4, 0, 1, 1),   # 4 lanes over 6 neurons: the second group has 2 live lanes
    (8, 8, 2, 2, 1, 1, 2, 0, 1, 1),   # soft reset, four groups
    (4, 2, 5, 1, 3, 1, 2, 1, 1, 1),   # the complement leak (tau = 7/8), soft reset, one current for all steps
    (11, 3, 3, 3, 1, 0, 1, 0, 1, 1),  # 33 slots of one lane: the pick in two stages (quads)
    (18, 5, 3, 1, 1, 0, 1, 0, 1, 1),  # 18 groups' currents in two stages, the group counted
    (20, 4, 2, 1, 1, 0, 1, 0, 1, 1),  # 20 groups' currents in two stages, the group in the slot's bits
    # passes: the membranes in block RAM between them
    (6, 3, 3, 3, 1, 0, 4, 0, 3, 4),   # 3 passes of 3 steps over 4 positions of 2 groups
    (4, 2, 1, 1, 0, 1, 2, 0, 5, 1),   # one step per pass, one position of 2 groups (forwarded loads), IF
    (3, 3, 2, 2, 1, 0, 3, 0, 4, 1),   # one group of one position: the load is the word just stored
    (5, 5, 2, 1, 2, 0, 5, 0, 2, 3),   # one current for all steps, 3 positions of one group
    (13, 13, 6, 6, 2, 1, 2, 0, 2, 2), # 42 slots in two stages, 2 lanes over 13 neurons (a lane idle in the last group), in passes
])
def test_lif_layer(tmp_path, n, c, t, x_steps, leak, soft, lanes, complement, chunks, positions):
    x_bits = 8
    u_bits = x_bits + 6  # holds T * max|x| for the leak-free (IF) case too
    theta = np.random.default_rng(n + t).integers(1, 200, size=c)
    params = {"N": n, "C": c, "T": t, "X_STEPS": x_steps, "X_BITS": x_bits, "U_BITS": u_bits,
              "LEAK_SHIFT": leak, "LEAK_COMPLEMENT": complement, "SOFT_RESET": soft, "LANES": lanes,
              "CHUNKS": chunks, "POSITIONS": positions, "THRESHOLD_FILE": "theta.mem"}
    failures = run_unit("lif_layer", params, str(tmp_path),
                        {"seed": 3, "beats": 12, "threshold": theta.tolist(), **STRESS},
                        files={"theta.mem": hex_words(theta, u_bits)})
    assert failures == 0


@pytest.mark.parametrize("n_in,n_out,pe,simd,t_in,in_bits,w_bits,frac,density,skip,has_bias", [
    (12, 8, 4, 1, 4, 1, 4, 4, 0.4, 1, 1),  # spikes x 4 steps, 4-bit codes, two groups per element
    (9, 6, 6, 1, 1, 8, 8, 0, 0.5, 1, 1),   # pixels (direct encoding), 8-bit codes, all outputs parallel
    (7, 5, 1, 1, 3, 1, 2, 2, 0.7, 1, 1),   # spikes x 3 steps, 2-bit codes, one output per cycle
    (10, 4, 2, 1, 2, 1, 3, 1, 0.3, 0, 1),  # the dense mode: zero elements take the full work
    (12, 6, 3, 4, 3, 1, 4, 2, 0.2, 1, 1),  # four spike inputs per element
    (9, 4, 4, 3, 1, 8, 8, 1, 0.5, 0, 1),   # three pixels per element, dense mode
    (8, 6, 3, 2, 3, 3, 4, 2, 0.5, 1, 1),   # counts of 3 bits (a sum pool's) x 3 steps: shifts and adds
    (6, 4, 2, 2, 2, 1, 4, 3, 0.5, 1, 0),   # no bias (`bias: false`): no ROM, no file, no adder
])
def test_accumulate_engine(tmp_path, n_in, n_out, pe, simd, t_in, in_bits, w_bits, frac, density, skip, has_bias):
    s = 2**w_bits - 1
    rng = np.random.default_rng(n_in * n_out)
    codes = rng.integers(0, s + 1, size=(n_in, n_out))
    bias_bits = 11
    bias = rng.integers(-500, 500, size=n_out) * has_bias
    # the extremes of BIAS_BITS: the engine folds a bias's upper bits into its accumulators
    bias[:2] = [-(1 << (bias_bits - 1)), (1 << (bias_bits - 1)) - 1] if has_bias else 0
    bound = n_in * ((1 << in_bits) - 1) * s * (1 << frac) + (1 << (bias_bits - 1))
    out_bits = bound.bit_length() + 1
    params = {"N_IN": n_in, "N_OUT": n_out, "PE": pe, "SIMD": simd, "T_IN": t_in, "IN_BITS": in_bits, "W_BITS": w_bits,
              "FRAC_BITS": frac, "OUT_BITS": out_bits, "BIAS_BITS": bias_bits, "SKIP_ZEROS": skip,
              "HAS_BIAS": has_bias, "WEIGHT_FILE": "w.mem", "BIAS_FILE": "b.mem" if has_bias else "",
              "INDEX_BITS": index_bits(n_in // simd),
              # a large engine's form in event mode: the enables copied (at most 64 flip-flops
              # each), the ROM in block RAM; one of each and the ROM as synthesis likes in dense
              "FANOUT": 64 if skip else 0, "ROM_BLOCK_RAM": skip}
    files = {"w.mem": hex_words(weight_words(codes, pe, w_bits, simd), simd * pe * w_bits)}
    if has_bias:
        files["b.mem"] = hex_words(bias, bias_bits)
    failures = run_unit("accumulate_engine", params, str(tmp_path),
                        {"seed": 5, "positions": 10, "density": density, "codes": codes.tolist(),
                         "bias": bias.tolist(), **STRESS}, files=files)
    assert failures == 0


# ROWS: the line buffer's rows, from the fewest a window needs (K) to the whole map; the
# 6x6 valid case leaves its last row unread
@pytest.mark.parametrize("h,w,c,elem,k,stride,padding,skip,rows", [
    (5, 4, 2, 3, 3, 1, "same", 1, 4), (6, 6, 1, 8, 5, 2, "same", 1, 5), (5, 5, 3, 1, 3, 2, "valid", 1, 5),
    (3, 4, 2, 4, 1, 1, "valid", 1, 1), (4, 5, 4, 2, 3, 1, "same", 0, 3),
    (6, 6, 2, 2, 3, 2, "valid", 1, 3), (5, 4, 2, 2, 5, 1, [2, 1], 1, 6), (7, 6, 1, 3, 5, 2, [1, 2], 1, 7),
    (4, 4, 1, 2, 3, 1, [0, 2], 0, 4),
])
def test_conv_window(tmp_path, h, w, c, elem, k, stride, padding, skip, rows):
    (oh, ow), pads = conv_geometry((h, w, c), k, stride, padding)
    params = {"H": h, "W": w, "C": c, "ELEM_BITS": elem, "K": k, "STRIDE": stride, "PAD_T": pads[0],
              "PAD_L": pads[2], "OH": oh, "OW": ow, "SKIP_ZEROS": skip, "ROWS": rows,
              "INDEX_BITS": index_bits(k * k * c)}
    assert run_unit("conv_window", params, str(tmp_path),
                    {"seed": 11, "maps": 3, "pads": list(pads), "zeros": 0.6, **STRESS}) == 0


# the engine's 16 spike-selected weights into its wider DOT_W; the readout's 5 steps, inputs
# registered (an odd one out at two levels). The engine's and the readout's tests cover the other shapes.
@pytest.mark.parametrize("n,w,register_inputs,sum_w", [(16, 5, 0, 11), (5, 8, 1, 12)])
def test_adder_tree(tmp_path, n, w, register_inputs, sum_w):
    assert run_unit("adder_tree", {"N": n, "W": w, "REGISTER_INPUTS": register_inputs, "SUM_W": sum_w}, str(tmp_path),
                    {"seed": 5, "sets": 200}) == 0


# the first layer's pixel products (9 bits x a 4-bit code's V at 5), the widest, a product wider than
# P_BITS keeps its low bits
@pytest.mark.parametrize("a_bits,b_bits,p_bits", [(9, 5, 14), (18, 18, 36), (6, 7, 8)])
def test_registered_product(tmp_path, a_bits, b_bits, p_bits):
    assert run_unit("registered_product", {"A_BITS": a_bits, "B_BITS": b_bits, "P_BITS": p_bits}, str(tmp_path),
                    {"seed": 17, "pairs": 300}) == 0


# max-pool of spikes; sum pool of spikes from a LIF (1 bit) and of counts from a sum pool before
# (3 bits); a map of one block
@pytest.mark.parametrize("h,w,n,in_bits,total", [(4, 6, 5, 1, 0), (2, 2, 1, 1, 0), (2, 2, 3, 3, 1), (6, 4, 2, 3, 1)])
def test_pool2(tmp_path, h, w, n, in_bits, total):
    assert run_unit("pool2", {"H": h, "W": w, "N": n, "IN_BITS": in_bits, "SUM": total}, str(tmp_path),
                    {"seed": 19, "maps": 4, **STRESS}) == 0


@pytest.mark.parametrize("n,elem,beats,skip", [(5, 1, 1, 1), (3, 8, 4, 1), (4, 2, 3, 0), (1, 8, 6, 1), (8, 3, 2, 1)])
def test_vector_serializer(tmp_path, n, elem, beats, skip):
    params = {"N": n, "ELEM_BITS": elem, "BEATS": beats, "SKIP_ZEROS": skip, "INDEX_BITS": index_bits(n * beats)}
    assert run_unit("vector_serializer", params, str(tmp_path), {"seed": 7, "frames": 12, "zeros": 0.5, **STRESS}) == 0


# the last two: passes (an image as CHUNKS beats), currents and spikes
@pytest.mark.parametrize("k,t,steps,bits,lane,spikes,chunks", [
    (10, 4, 4, 12, 16, 0, 1), (3, 5, 1, 8, 8, 0, 1), (1, 1, 1, 5, 8, 0, 1),
    (10, 4, 4, 2, 8, 1, 1), (4, 2, 2, 6, 8, 0, 3), (3, 1, 1, 2, 8, 1, 5)])
def test_readout(tmp_path, k, t, steps, bits, lane, spikes, chunks):
    class_bits = max(1, (k - 1).bit_length())
    params = {"K": k, "T": t, "STEPS": steps, "BITS": bits, "LANE": lane, "CLASS_BITS": class_bits, "SPIKES": spikes,
              "CHUNKS": chunks}
    assert run_unit("readout", params, str(tmp_path), {"seed": 17, "images": 40, **STRESS}) == 0
