"""Run a generated network under cocotb + Verilator against the golden model."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from qpsnn.model.golden import readout_class
from qpsnn.sim.runner import results_failures, run_cocotb


@dataclass
class RtlResult:
    images: int
    mismatches: int            # images with any differing output
    cycles: np.ndarray         # per image
    logits: np.ndarray         # (N, T, K) from the RTL
    classes: np.ndarray        # (N,) the RTL's argmax
    first_mismatch: str | None
    probed: dict = None        # LIF layer -> its output beats, when probed
    stream_cycles: np.ndarray | None = None   # mode "both": the cycle each class came back to back

    @property
    def cycles_mean(self) -> float:
        return float(self.cycles.mean()) if len(self.cycles) else 0.0


def first_difference(rtl: np.ndarray, golden: np.ndarray, rtl_class: np.ndarray,
                     golden_class: np.ndarray) -> str | None:
    diff = np.argwhere(rtl != golden)
    if len(diff):
        i, t, k = diff[0]
        return f"image {i}, time step {t}, readout channel {k}: rtl {rtl[i, t, k]} golden {golden[i, t, k]}"
    wrong = np.flatnonzero(rtl_class != golden_class)
    if len(wrong):
        i = wrong[0]
        return f"image {i}, readout class: rtl {rtl_class[i]} golden {golden_class[i]}"
    return None


def first_wrong_spike(probed: dict, probes: list[dict], golden_spikes: dict) -> str | None:
    """The first LIF layer (in network order) whose spikes differ from the golden model, and
    there the first differing time step, pixel and channel. Beats hold bit n*S + s (step s of
    the beat's pass of S steps); the passes come one after the other."""
    for probe in probes:
        beats = [int(v) for v in probed[probe["layer"]]]
        n, s_steps, passes = probe["neurons"], probe["steps"], probe.get("passes", 1)
        gold = golden_spikes[probe["layer"]][0]            # (T, ...) of the one probed image
        gold = gold.reshape(s_steps * passes, -1, n)         # (T, positions, neurons)
        if len(beats) != gold.shape[1] * passes:
            return f"layer {probe['layer']}: {len(beats)} output beats, expected {gold.shape[1] * passes}"
        bits = np.array([[(b >> k) & 1 for k in range(n * s_steps)] for b in beats])
        # (passes, positions, n, S) -> (T, positions, n)
        rtl = bits.reshape(passes, gold.shape[1], n, s_steps).transpose(0, 3, 1, 2).reshape(gold.shape)
        diff = np.argwhere(rtl != gold)
        if len(diff):
            t, pos, ch = (int(v) for v in diff[0])
            if len(probe["positions"]) == 2:
                width = probe["positions"][1]
                where = f"pixel (y={pos // width}, x={pos % width})"
            else:
                where = "the flat layer"
            return (f"layer {probe['layer']}, time step {t}, {where}, channel {ch}: rtl {rtl[t, pos, ch]} "
                    f"golden {gold[t, pos, ch]}")
    return None


# Input values streamed (images x values per image, twice in mode "both") from which the
# simulation's C++ is compiled with optimization (Verilator's -Os): below, compiling costs more
# than it saves. The NIR demo network (conv 8, LIF, dense 32, LIF, dense 10) on 20 8x8 digits,
# each alone then back to back (2,560 values), build and simulation: 52.5 and 53.1 s at -Os,
# 43.5 and 51.2 s at -O0 (`benchmarks/sim_compile.py --flow out/nirdemo/flow`, 2026-12-05, the
# 2-core machine beside other jobs). The shipped network's 50 MNIST images are 39,200 values.
OPTIMIZE_FROM_VALUES = 20_000


def simulate_network(sources: list[str], top: str, rtl_dir: str, work_dir: str, images: np.ndarray,
                     golden_logits: np.ndarray, lane: int, mode: str = "latency",
                     idle: float = 0.0, backpressure: float = 0.0, probes: list | None = None,
                     gate_level: bool = False) -> RtlResult:
    """Simulate the images and compare every readout value with golden_logits. `mode`:
    "latency" (one image at a time: each image's cycles), "stream" (back to back: the cycle
    each class came, from the first pixel) or "both" (latency, then back to back into
    RtlResult.stream_cycles; an image mismatches if either pass differs). `probes`
    (RtlDesign.probes) are recorded and returned in RtlResult.probed when given. The testbench
    reaches the top's own signals only (its ports and stage streams); `gate_level`: `top` is a
    synthesized netlist (codegen/netlist.py), whose C++ is compiled without optimization, as is
    that of a short simulation (OPTIMIZE_FROM_VALUES)."""
    os.makedirs(work_dir, exist_ok=True)
    vectors = os.path.join(work_dir, "vectors.npz")
    results = os.path.join(work_dir, "rtl_results.npz")
    golden_class = readout_class(golden_logits)
    np.savez(vectors, images=images, logits=golden_logits, classes=golden_class)
    if os.path.exists(results):
        os.remove(results)
    cfg = {"vectors": vectors, "results": results, "lane": lane, "mode": mode, "idle": idle,
           "backpressure": backpressure, "probes": probes or []}
    cfg_path = os.path.join(work_dir, "tb_config.json")
    with open(cfg_path, "w") as fh:
        json.dump(cfg, fh)
    xml = run_cocotb(sources, top, "network", build_dir=os.path.join(work_dir, "sim_build"),
                     test_dir=os.path.abspath(rtl_dir), extra_env={"QPSNN_TB_CONFIG": os.path.abspath(cfg_path)},
                     top_signals_only=True,
                     fast_compile=gate_level or images.size * (2 if mode == "both" else 1) < OPTIMIZE_FROM_VALUES)
    if not os.path.exists(results):
        raise RuntimeError(f"the network testbench did not finish (see {xml})")
    with np.load(results) as f:
        logits, classes, cycles = f["logits"], f["classes"], f["cycles"]
        stream_logits, stream_classes, stream_cycles = f["stream_logits"], f["stream_classes"], f["stream_cycles"]
        probed = {k[len("probe_"):]: f[k] for k in f.files if k.startswith("probe_")}
    differ = np.any(logits != golden_logits, axis=(1, 2)) | (classes != golden_class)
    first = first_difference(logits, golden_logits, classes, golden_class)
    if mode == "both":      # an image counts once, whichever pass it differs in
        differ |= np.any(stream_logits != golden_logits, axis=(1, 2)) | (stream_classes != golden_class)
        back_to_back = first_difference(stream_logits, golden_logits, stream_classes, golden_class)
        first = first or (back_to_back and f"back to back: {back_to_back}")
    mismatches = int(differ.sum())
    failures = results_failures(xml)
    if failures and not mismatches:
        raise RuntimeError(f"the network testbench failed without a mismatch (see {xml})")
    return RtlResult(len(images), mismatches, cycles, logits, classes, first, probed,
                     stream_cycles if mode == "both" else None)


def locate_mismatch(sources: list[str], top: str, rtl_dir: str, work_dir: str, image: np.ndarray,
                    golden, lane: int, probes: list[dict]) -> str | None:
    """Re-simulate one image with the LIF streams probed: where the first wrong spike is."""
    result = simulate_network(sources, top, rtl_dir, work_dir, image[None], golden.logits[:1], lane,
                              probes=probes)
    return first_wrong_spike(result.probed, probes, {k: v[:1] for k, v in golden.spikes.items()})
