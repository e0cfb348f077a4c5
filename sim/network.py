"""Run a generated network under cocotb + Verilator against the golden model."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from qpsnn.sim.runner import results_failures, run_cocotb


@dataclass
class RtlResult:
    images: int
    mismatches: int            # images with any differing output
    cycles: np.ndarray         # per image
    logits: np.ndarray         # (N, T, K) from the RTL
    first_mismatch: str | None

    @property
    def cycles_mean(self) -> float:
        return float(self.cycles.mean()) if len(self.cycles) else 0.0


def first_difference(rtl: np.ndarray, golden: np.ndarray) -> str | None:
    diff = np.argwhere(rtl != golden)
    if len(diff) == 0:
        return None
    i, t, k = diff[0]
    return f"image {i}, time step {t}, readout channel {k}: rtl {rtl[i, t, k]} golden {golden[i, t, k]}"


def simulate_network(sources: list[str], top: str, rtl_dir: str, work_dir: str, images: np.ndarray,
                     golden_logits: np.ndarray, lane: int, mode: str = "latency",
                     idle: float = 0.0, backpressure: float = 0.0) -> RtlResult:
    os.makedirs(work_dir, exist_ok=True)
    vectors = os.path.join(work_dir, "vectors.npz")
    results = os.path.join(work_dir, "rtl_results.npz")
    np.savez(vectors, images=images, logits=golden_logits)
    if os.path.exists(results):
        os.remove(results)
    cfg = {"vectors": vectors, "results": results, "lane": lane, "mode": mode, "idle": idle,
           "backpressure": backpressure}
    cfg_path = os.path.join(work_dir, "tb_config.json")
    with open(cfg_path, "w") as fh:
        json.dump(cfg, fh)
    xml = run_cocotb(sources, top, "network", build_dir=os.path.join(work_dir, "sim_build"),
                     test_dir=os.path.abspath(rtl_dir), extra_env={"QPSNN_TB_CONFIG": os.path.abspath(cfg_path)})
    if not os.path.exists(results):
        raise RuntimeError(f"the network testbench did not finish (see {xml})")
    with np.load(results) as f:
        logits, cycles = f["logits"], f["cycles"]
    mismatches = int(np.any(logits != golden_logits, axis=(1, 2)).sum())
    failures = results_failures(xml)
    if failures and not mismatches:
        raise RuntimeError(f"the network testbench failed without a mismatch (see {xml})")
    return RtlResult(len(images), mismatches, cycles, logits, first_difference(logits, golden_logits))
