"""The board top (codegen/board.py) simulated under cocotb + Verilator at its UART pins:
hold-out images in as request frames, the replies' classes and every step's readout lanes out,
compared with the golden model. The PLL is bypassed (the board top's PLL = 0: Verilator has no
EHXPLLL model, and the PLL sets only the clock's frequency) and a UART bit takes
SIM_CLKS_PER_BIT cycles instead of the board's hundreds; the rest is the board's RTL.

With `pty_path_file` the testbench bridges a pseudo-terminal to the UART pins instead: it
writes the path of the pty's slave side to that file, and a host program (`qpsnn board send`)
that opens it talks to the simulated board as to /dev/ttyUSB0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from qpsnn.board import STATUS_OK, Frame
from qpsnn.model.golden import readout_class
from qpsnn.sim.runner import lint, results_failures, run_cocotb

# cycles per UART bit in simulation: small, so that an image's bytes take few cycles; at least
# 4 (uart_rx's half-bit start check)
SIM_CLKS_PER_BIT = 8


@dataclass
class BoardResult:
    images: int
    mismatches: int         # images whose class or any lane differs from the golden model
    status: np.ndarray      # (N,) the replies' status bytes
    classes: np.ndarray     # (N,)
    lanes: np.ndarray       # (N, T, K)
    first_mismatch: str | None


def board_parameters() -> dict:
    return {"PLL": 0, "CLKS_PER_BIT": SIM_CLKS_PER_BIT}


def simulate_board(sources: list[str], top: str, board_dir: str, work_dir: str, frame: Frame,
                   images: np.ndarray | None = None, golden_logits: np.ndarray | None = None,
                   pty_path_file: str | None = None, pty_images: int = 0) -> BoardResult | None:
    """Simulate `images` through the board top's UART pins and compare with golden_logits; or,
    with `pty_path_file`, bridge a pty to the pins until `pty_images` replies have gone out
    (returns None: the host program checks the replies)."""
    from qpsnn.sim.network import first_difference
    os.makedirs(work_dir, exist_ok=True)
    lint(sources, top, cwd=board_dir, parameters=board_parameters())
    cfg = {"frame": frame.to_dict(), "clks_per_bit": SIM_CLKS_PER_BIT}
    results = os.path.join(work_dir, "board_results.npz")
    if pty_path_file:
        cfg.update(pty_path_file=os.path.abspath(pty_path_file), images=pty_images)
    else:
        vectors = os.path.join(work_dir, "vectors.npz")
        np.savez(vectors, images=images)
        cfg.update(vectors=vectors, results=results)
        if os.path.exists(results):
            os.remove(results)
    cfg_path = os.path.join(work_dir, "tb_config.json")
    with open(cfg_path, "w") as fh:
        json.dump(cfg, fh)
    xml = run_cocotb(sources, top, "board", build_dir=os.path.join(work_dir, "sim_build"),
                     test_dir=os.path.abspath(board_dir), parameters=board_parameters(),
                     extra_env={"QPSNN_TB_CONFIG": os.path.abspath(cfg_path)}, top_signals_only=True)
    failures = results_failures(xml)
    if pty_path_file:
        if failures:
            raise RuntimeError(f"the board bridge failed (see {os.path.join(work_dir, 'sim_build', 'sim.log')})")
        return None
    if not os.path.exists(results):
        raise RuntimeError(f"the board testbench did not finish (see {os.path.join(work_dir, 'sim_build', 'sim.log')})")
    with np.load(results) as f:
        status, classes, lanes = f["status"], f["classes"], f["lanes"]
    golden_class = readout_class(golden_logits)
    bad = np.any(lanes != golden_logits, axis=(1, 2)) | (classes != golden_class) | (status != STATUS_OK)
    first = first_difference(lanes, golden_logits, classes, golden_class)
    if first is None and bad.any():
        i = int(np.argmax(bad))
        first = f"image {i}: reply status {int(status[i]):#04x}"
    return BoardResult(len(images), int(bad.sum()), status, classes, lanes, first)

