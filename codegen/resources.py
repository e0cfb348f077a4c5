"""Analytic resource model of the generated accelerator, in the spirit of FINN: each hardware
module knows its own LUTs, flip-flops, block RAMs and DSPs from its parameters; a layer is the
sum of its stages, the network the sum of its layers. No tool runs: microseconds per design.

Flip-flops, BRAM18 and DSP48E1 follow from the RTL's structure (which registers exist, how a
ROM fits the 7-series block RAM shapes, which multipliers are wide enough for a DSP). LUTs
are a weighted sum of each module's structural terms (adder bits, multiplexer inputs, memory
bits): the weights are fitted to Yosys `synth_xilinx` on the shipped examples and random
networks (`make calibrate` rewrites resource_coefficients.json; the report shows both).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from qpsnn.codegen.hw_choices import lif_pick_stages

COEFFICIENTS = Path(__file__).resolve().parent / "resource_coefficients.json"
RESOURCE_KEYS = ("LUT", "FF", "BRAM18", "DSP")

# 7-series RAMB18E1 shapes (depth, width) as a ROM; a RAMB36E1 (two BRAM18) doubles either
BRAM18_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
# Yosys' memory_libmap puts a ROM in block RAM when that is cheaper by its own costs: 129 per
# RAMB18 against 1/64 per bit of ROM built from logic
BRAM18_COST, ROM_LOGIC_COST_PER_BIT = 129, 1 / 64
# a product goes to a DSP48E1 when both operands are at least this wide (Yosys' xilinx_dsp)
DSP_MIN_WIDTH = 2
SHIFT_ADD_BITS = 4      # accumulate_engine's: inputs this narrow are multiplied by shifts and adds


def clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def bram18(depth: int, width: int) -> int:
    """Block RAM18s of a depth x width ROM: the cheapest of the RAMB18 and RAMB36 shapes."""
    best = min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM18_SHAPES)
    best36 = 2 * min(math.ceil(width / (2 * w)) * math.ceil(depth / d) for d, w in BRAM18_SHAPES)
    return min(best, best36)


def adder_tree_bits(n: int, w: int) -> int:
    """The adders' bits of adder_tree over n values of w bits: at level l, n / 2^l pairs (an
    odd one out handed on) of w + l bits."""
    bits, nodes, level = 0, n, 1
    while nodes > 1:
        bits += (nodes // 2) * (w + level)
        nodes, level = -(-nodes // 2), level + 1
    return bits


def adder_tree_registers(n: int, w: int) -> int:
    """adder_tree's flip-flops over n values of w bits (inputs not registered): every node of
    level l >= 1, n / 2^l rounded up (an odd one out is registered as it is handed on), w + l bits."""
    bits, nodes, level = 0, n, 1
    while nodes > 1:
        nodes = -(-nodes // 2)
        bits += nodes * (w + level)
        level += 1
    return bits


def engine_terms(p: dict) -> tuple[dict, dict]:
    """accumulate_engine: (structural LUT terms, exact FF / BRAM18 / DSP)."""
    simd, pe, t_in, n_out = p.get("SIMD", 1), p["PE"], p["T_IN"], p["N_OUT"]
    n_in, in_bits, w_bits = p["N_IN"], p["IN_BITS"], p["W_BITS"]
    acc_w = in_bits + w_bits + 1 + clog2(n_in + 1)          # signed sum of x * (2c - S)
    dot_w = in_bits + w_bits + 1 + clog2(simd + 1)          # one element's registered products
    lanes = t_in * n_out
    groups = n_out // pe
    depth, width = n_in // simd * groups, simd * pe * w_bits
    x_bits = simd * t_in * in_bits
    rom_bram18 = bram18(depth, width)
    rom_in_bram = (BRAM18_COST * rom_bram18 < ROM_LOGIC_COST_PER_BIT * depth * width
                   or p.get("ROM_BLOCK_RAM", 0) == 1)      # asked for (a large engine)
    products = t_in * pe * simd
    # a count of up to SHIFT_ADD_BITS is multiplied by shifts and adds (accumulate_engine)
    shift_add = 1 < in_bits <= SHIFT_ADD_BITS
    dsp = products if in_bits >= DSP_MIN_WIDTH and w_bits >= DSP_MIN_WIDTH and not shift_add else 0
    # with one pixel per element and one group, each DSP takes its product's register and its
    # lane's accumulator (the P register accumulates)
    in_dsp = dsp and groups == 1 and simd == 1
    # the products (PW bits: a spike's is its weight) summed by a balanced tree (adder_tree),
    # level l's adders PW + l bits wide; a spike's selection is one more LUT per weight bit
    pw = w_bits + 1 if in_bits == 1 else in_bits + w_bits + 1 + (0 if shift_add else 1)
    tree_bits = (t_in * pe * adder_tree_bits(simd, pw) + (products * w_bits if in_bits == 1 else 0))
    # one adder per step and PE lane (its G accumulators turn through it as a ring), unless in
    # the DSP; the bias added to the shadow's sums for the output register (a carry chain on
    # the varying bits; none without a bias)
    lut = {"accumulate_bits": 0 if in_dsp else t_in * pe * acc_w,
           # the element's SIMD products summed per step and lane; a ROM of one word holds
           # constants, which synthesis folds into the adders
           "adder_tree_bits": tree_bits if depth > 1 else 0,
           "constant_tree_bits": tree_bits if depth == 1 else 0,
           "shift_add_bits": products * (in_bits - 1) * dot_w if shift_add else 0,
           "current_bits": lanes * (p["OUT_BITS"] - p["FRAC_BITS"]) if p.get("HAS_BIAS", 1) else 0,
           "rom_logic_bits": 0 if rom_in_bram else depth * width,
           "control": 1}
    # the accumulators and the shadow (`2 * lanes * acc_w`); the output register holds
    # OUT_BITS - FRAC_BITS varying bits per lane: the low FRAC_BITS are the bias's own
    # (constant), which synthesis removes; a ROM built from logic absorbs its read register;
    # the ROM's output register (`width`) is one more. One spike's product is its weight
    # (w_bits + 1 bits): the sum's upper bits are copies of its sign, one flip-flop. The DSPs
    # hold their products' registers and accumulators themselves. SIMD > 1: the sum's tree has a
    # register after each level, the root's standing for the products' register.
    dot_ff = t_in * pe * (adder_tree_registers(simd, pw) if simd > 1 else w_bits + 1 if in_bits == 1 else dot_w)
    # the control registers' copies (accumulate_engine's FANOUT, 0: none): four per copy of the
    # position's copy and load, two per copy of the accumulates' enable
    fanout = p.get("FANOUT", 0)
    out_copies = min(lanes, -(-lanes * (acc_w + p["OUT_BITS"]) // fanout)) if fanout else 1
    acc_copies = min(t_in * pe, -(-t_in * pe * (groups + 1) * acc_w // fanout)) if fanout else 1
    x_copies = -(-pe // (fanout // 32)) if fanout >= 64 else 1     # the element register's
    ff = (lanes * acc_w * (1 if in_dsp else 2) + (0 if in_dsp else dot_ff) + lanes * (p["OUT_BITS"] - p["FRAC_BITS"])
          + 4 * x_bits + width + clog2(depth + 1) + clog2(max(depth, 2)) + clog2(max(groups, 2))
          + 4 * (out_copies - 1) + 2 * (acc_copies - 1) + x_bits * (x_copies - 1)
          + 25)   # 25: control, the copy's among them; clog2(depth): the ROM's address register
    return lut, {"FF": ff, "BRAM18": rom_bram18 if rom_in_bram else 0, "DSP": dsp}


def window_terms(p: dict) -> tuple[dict, dict]:
    """conv_window: the line buffer (ROWS x W pixels and the zero word) in block RAM, per-tap
    flag copies in event mode in distributed RAM (RAM64M: 64 words x 3 bits in 4 LUTs), the
    address arithmetic of the K*K taps; the walker's registers (the next window's and the walked
    window's tap addresses, each tap row's slot), the stream row counters, its two vector
    registers and its element_serializer."""
    pixels, bits, taps = p["ROWS"] * p["W"], p["C"] * p["ELEM_BITS"], p["K"] * p["K"]
    aw = clog2(pixels)
    skip = p["SKIP_ZEROS"] != 0
    yw, xw = clog2(p["H"] + p["K"] + p["STRIDE"] + 1) + 1, clog2(p["W"] + p["K"] + p["STRIDE"] + 1) + 1
    bw = clog2(p["H"] + p["ROWS"] + p["K"] + p["STRIDE"] + 1) + 2       # stream rows
    lut = {"flag_lutram": 4 * math.ceil(pixels / 64) * taps if skip else 0,
           "tap_address_bits": taps * (aw + 2),
           "element_pick": p["C"] * p["ELEM_BITS"],
           "stream_row_bits": bw,        # the row counters, their differences and comparisons
           "row_slot_bits": p["K"] * aw,     # each tap row's slot: an addition and its wrap
           "control": 1}
    vector = 1 + p["INDEX_BITS"] + bits
    ff = (aw + 5 * bw + yw + xw + (xw - 1) + clog2(p["OH"] + 1) + clog2(p["OW"] + 1)
          + p["K"] * aw                                        # each tap row's slot
          + 2 * taps * (aw + 1) + yw + taps + 7                # the next and the walked window
          + 2 * (vector + 1)                                   # the map's read, the serializer's input
          + element_serializer_ff(p["C"], p["ELEM_BITS"], p["INDEX_BITS"]))
    return lut, {"FF": ff, "BRAM18": bram18(pixels + 1, bits), "DSP": 0}


def element_serializer_ff(n: int, elem_bits: int, index_bits: int) -> int:
    """element_serializer: the vector with its base and last flag, the next element's lane
    and the mask of those after it (with two flags), the output register."""
    return (n * elem_bits + index_bits + 2 + clog2(max(n, 2)) + n + 2 + (1 + index_bits + elem_bits) + 1)


def serializer_terms(p: dict) -> tuple[dict, dict]:
    """vector_serializer: its element_serializer chooses one of N elements (an N:1 multiplexer
    of ELEM_BITS bits, none for one element) and finds the next lane to send (per lane)."""
    lut = {"element_pick": (p["N"] - 1) * p["ELEM_BITS"], "lane_search": p["N"], "control": 1}
    index_bits = max(1, clog2(p["N"] * p["BEATS"]))
    ff = clog2(p["BEATS"] + 1) + index_bits + element_serializer_ff(p["N"], p["ELEM_BITS"], index_bits)
    return lut, {"FF": ff, "BRAM18": 0, "DSP": 0}


def membrane_memory(depth: int, width: int) -> tuple[int, int]:
    """(LUTs, BRAM18) of the RAM that keeps a LIF layer's membranes between passes, as Yosys
    synth_xilinx maps it: up to 32 words RAM32M (6 bits in 4 LUTs), up to 64 RAM64M (3 bits in
    4 LUTs), deeper in block RAM (measured on lif_layer at 8..256 words of 128 and 256 bits)."""
    if depth <= 32:
        return 4 * math.ceil(width / 6), 0
    if depth <= 64:
        return 4 * math.ceil(width / 3), 0
    return 0, bram18(depth, width)


def lif_terms(p: dict) -> tuple[dict, dict]:
    """lif_layer, folded: LANES neuron updates, a beat walked in F = ceil(N / LANES) * T slots.
    LUTs: the slot's currents picked per lane (a multiplexer over the distinct currents a lane
    meets: the slots', or the groups' when the current is the same at every step), x - theta,
    the update (the membrane's adder, the comparison's, the reset). The spikes are shifted into
    the beat as the slots are updated, which costs no LUT. In passes (CHUNKS > 1) the
    membranes of M = POSITIONS x groups live in a RAM (membrane_memory), loaded through a
    multiplexer in front of the lanes' registers (none when M = 1: the group stays put)."""
    n, t, lanes, x_bits, u_bits = p["N"], p["T"], p["LANES"], p["X_BITS"], p["U_BITS"]
    groups = -(-n // lanes)
    slots = groups * t
    distinct = groups * (t if p["X_STEPS"] == t else 1)       # currents a lane picks from (by slot, or by group)
    passes = p.get("CHUNKS", 1) > 1
    m = p.get("POSITIONS", 1) * groups
    memory_luts, memory_bram = membrane_memory(m, lanes * u_bits) if passes and m > 1 else (0, 0)
    by_group = p["X_STEPS"] == 1 and t > 1 and groups > 1     # one current for all steps: picked by group
    counted_group = by_group and (t & (t - 1)) != 0            # ... counted (T not a power of two)
    lut = {"pick_bits": lanes * x_bits * (distinct - 1),
           # the membrane's adder (and the complement leak's subtraction before it), the reset's
           # multiplexer, the comparison's adder
           "neuron_bits": lanes * u_bits * (3 if p["SOFT_RESET"] else 2) + lanes * (u_bits + 1)
                          + lanes * u_bits * p.get("LEAK_COMPLEMENT", 0),
           "membrane_load_bits": lanes * u_bits if passes and m > 1 else 0,
           "membrane_lutram": memory_luts,
           "control": 1}
    slot_bits = clog2(slots) if slots > 1 else 0              # one slot: the counter is constant
    ff = (slot_bits * (1 + (groups > 1))                       # the slot walked, and in stage A (one group: unread)
          + 2 + 2 * (slots > 1)                                # valid A, B; last A, B (constant for one slot)
          + (t > 1 and groups > 1)                             # clear in B (the last flag for one group, 1 for one step)
          + 2 * lanes * x_bits                                 # the currents in A and B
          + lanes * (u_bits + 1) - p.get("THETA_SHARED_BITS", 0)   # x - theta in B, less the bits that are x's
          + lanes * u_bits * (t > 1 or passes)                 # the membranes (from rest each step when T = 1)
          + (n % lanes != 0 and groups > 1)                    # in the last group (lanes with no neuron there stop)
          # the slot's group, counted when T is not a power of two (one current for all steps)
          + clog2(groups) * counted_group
          + 2 * n * t + 2)                                     # the beat shifted in, the output; pending, valid
    if lif_pick_stages(n, lanes, t, p["X_STEPS"] == 1) > 1:
        # stage Q: the quad's 4 currents per lane, the slot and its valid, and the group's
        # member when the group is counted (else the slot's bits)
        ff += 4 * lanes * x_bits + slot_bits + 1 + 2 * counted_group
    if passes:      # the load register (a block RAM's own), the groups in A (and the next) and B, the pass, rest
        ff += lanes * u_bits * (m > 1 and not memory_bram) + 3 * max(1, clog2(m)) + clog2(p["CHUNKS"]) + 1
    return lut, {"FF": ff, "BRAM18": memory_bram, "DSP": 0}


def pool_terms(p: dict) -> tuple[dict, dict]:
    """pool2: the line of W/2 pair results in distributed RAM (RAM32M: 32 x 6 bits in 4 LUTs);
    per value an OR of the pairs and the blocks (max), or a pair adder and a block adder (sum:
    IN_BITS + 1 and IN_BITS + 2 bits, a LUT a bit until make calibrate fits them); the left pixel
    and the output registered."""
    n, b, total = p["N"], p["IN_BITS"], p["SUM"]
    line_bits = n * (b + total)
    lut = {"line_lutram": 4 * math.ceil(line_bits / 6) * math.ceil(p["W"] / 2 / 32),
           "or_bits": 0 if total else n, "adder_bits": n * (2 * b + 3) if total else 0, "control": 1}
    ff = n * b + n * (b + 2 * total) + clog2(p["W"] + 1) + clog2(p["H"] + 1) + 1
    return lut, {"FF": ff, "BRAM18": 0, "DSP": 0}


def readout_terms(p: dict) -> tuple[dict, dict]:
    """readout: the classes scanned one per cycle: a class's T currents picked from the
    registered lanes (a K-way choice of BITS each; a spike's lane is one varying bit), summed by
    a tree of T - 1 adders with a register after each level, added to the passes' sum (CHUNKS
    > 1: the sums in a ring that turns, no choice), compared with the best so far and with the
    class before (two comparators)."""
    k, t, spikes, passes = p["K"], p["T"], p.get("SPIKES", 0), p.get("CHUNKS", 1)
    value_bits = 1 if spikes else p["BITS"]
    levels = clog2(t) if t > 1 else 0
    sum_w = p["BITS"] + clog2(passes * t + 1)      # passes: the sums run over all of them
    kw = max(1, clog2(k))
    # the tree counted as the engine's (adder_tree_bits, adder_tree_registers), its inputs registered
    lut = {"pick_bits": t * value_bits * (k - 1),
           "adder_bits": adder_tree_bits(t, p["BITS"]) + (sum_w if passes > 1 else 0),
           "argmax_bits": 2 * sum_w, "control": 1}
    ff = (t * k * value_bits + t * p["BITS"] + adder_tree_registers(t, p["BITS"]) + 3 * sum_w
          + (k * sum_w if passes > 1 else 0) + p["CLASS_BITS"] + kw * (levels + 4) + levels + 8 + clog2(passes))
    return lut, {"FF": ff, "BRAM18": 0, "DSP": 0}


# hw module -> its terms; a new module adds one function here
MODULE_TERMS = {"accumulate_engine": engine_terms, "conv_window": window_terms,
                "vector_serializer": serializer_terms, "lif_layer": lif_terms,
                "pool2": pool_terms, "readout": readout_terms}


# Xilinx 7-series parts a spec may name (`rtl: {part: ...}`): LUTs, flip-flops, BRAM18
# (two per RAMB36) and DSP48E1 slices, from the 7-series product tables (DS180)
PARTS = {
    "xc7a35t": {"LUT": 20800, "FF": 41600, "BRAM18": 100, "DSP": 90},
    "xc7a100t": {"LUT": 63400, "FF": 126800, "BRAM18": 270, "DSP": 240},
    "xc7a200t": {"LUT": 134600, "FF": 269200, "BRAM18": 730, "DSP": 740},
    "xc7z020": {"LUT": 53200, "FF": 106400, "BRAM18": 280, "DSP": 220},
    "xc7k325t": {"LUT": 203800, "FF": 407600, "BRAM18": 890, "DSP": 840},
}


def part_fit(totals: dict, part: str) -> dict:
    """Utilization of a named part and the overshoot per resource (empty when it fits)."""
    capacity = PARTS[part]
    return {"part": part, "capacity": capacity,
            "utilization_pct": {k: round(100.0 * totals[k] / capacity[k], 1) for k in RESOURCE_KEYS},
            "overshoot": {k: totals[k] - capacity[k] for k in RESOURCE_KEYS if totals[k] > capacity[k]}}


def load_coefficients() -> dict:
    with open(COEFFICIENTS) as fh:
        return json.load(fh)["lut_weights"]


def stage_resources(module: str, params: dict, weights: dict | None = None) -> dict:
    """LUT, FF, BRAM18, DSP of one stage (a hw module with its parameters)."""
    weights = weights if weights is not None else load_coefficients()
    lut_terms, exact = MODULE_TERMS[module](params)
    w = weights[module]
    lut = sum(w.get(term, 0.0) * value for term, value in lut_terms.items())
    return {"LUT": int(round(lut)), **exact}


def design_resources(stages: list, weights: dict | None = None) -> dict:
    """Per stage instance and the total, from the generator's stages (codegen.rtl.Stage)."""
    weights = weights if weights is not None else load_coefficients()
    per = {}
    for st in stages:
        per[st.instance] = {"module": st.module, **stage_resources(st.module, st.numeric_params(), weights)}
    total = {key: sum(r[key] for r in per.values()) for key in RESOURCE_KEYS}
    return {"stages": per, "total": total}


def resource_report(rtl_design, rtl_dir: str, synth: bool = True, part: str | None = None) -> dict:
    """The report's resources: the analytic model per stage, per layer and in total, next to a
    Yosys synthesis of the same RTL when `synth` and Yosys is installed (else why not), and
    the fit on `part` when one is named (Yosys' counts where there are, else the analytic)."""
    from qpsnn.codegen.synth import YOSYS_INSTALL, find_yosys, synthesize

    analytic = design_resources(rtl_design.stages)
    out = {"analytic": analytic, "model": "codegen/resources.py, LUT weights fitted to Yosys synth_xilinx "
                                          "(resource_coefficients.json); FF, BRAM18, DSP from the RTL structure"}
    if not synth:
        out["synthesis"] = {"skipped": "not requested (--no-synth)"}
    elif find_yosys() is None:
        out["synthesis"] = {"skipped": f"yosys not found; install it with: {YOSYS_INSTALL}"}
    else:
        syn = synthesize(rtl_dir, rtl_design.sources(rtl_dir), rtl_design.top)
        out["synthesis"] = {"tool": syn["yosys"], "flow": "synth_xilinx (7-series cells), hierarchy kept",
                            "seconds": syn["seconds"], "top": syn["top"], "stages": syn["instances"]}
    layers: dict = {}
    for st in rtl_design.stages:
        row = layers.setdefault(st.layer, {"analytic": dict.fromkeys(RESOURCE_KEYS, 0)})
        for key in RESOURCE_KEYS:
            row["analytic"][key] += analytic["stages"][st.instance][key]
        if "stages" in out["synthesis"]:
            got = out["synthesis"]["stages"][st.instance]
            row.setdefault("yosys", dict.fromkeys(RESOURCE_KEYS, 0))
            for key in RESOURCE_KEYS:
                row["yosys"][key] += got[key]
    out["per_layer"] = layers
    if part:
        counted = out["synthesis"].get("top") or analytic["total"]
        out["part"] = part_fit(counted, part)
        out["part"]["counted"] = "yosys" if "top" in out["synthesis"] else "analytic"
    return out
