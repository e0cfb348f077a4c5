"""The gate-level check's netlist: the generated top synthesized by Yosys `synth_ecp5`, the
same synthesis that place and route starts from (codegen/pnr.py: SYNTH, run_yosys), written as
Verilog, and the simulation models of the ECP5 cells it instantiates.

The cell models are Yosys' own (`ecp5/cells_sim.v` in Yosys' share directory: LUT4, CCU2C,
PFUMX, L6MUX21, TRELLIS_FF, TRELLIS_DPR16X4, ...), copied module by module, except for two
primitives Yosys 0.23 has no behaviour for: MULT18X18D (a black box in cells_bb.v only) and
DP16KD (declared in cells_sim.v with its ports and parameters, its outputs never driven). Those
two come from the project (hw/ecp5/, each tested against Python arithmetic in
tests/test_netlist.py) and cover the configurations synth_ecp5 produces; `check_modelled`
refuses a netlist that uses them otherwise, and a cell with no model at all stops the check
with its name, rather than simulating an undriven output.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from qpsnn.codegen.pnr import SYNTH
from qpsnn.codegen.synth import YOSYS_INSTALL, find_yosys, run_yosys
from qpsnn.errors import DesignError

PROJECT_MODELS = Path(__file__).resolve().parent.parent / "hw" / "ecp5"
# primitives whose model is the project's (hw/ecp5/<name>.v), and why
OWN_MODELS = {"MULT18X18D": "no model in Yosys 0.23 (ecp5/cells_bb.v: black box)",
              "DP16KD": "Yosys 0.23's ecp5/cells_sim.v declares it without behaviour"}
# MULT18X18D's register clocks: every one "NONE" (what Yosys maps a product onto), or A, B and
# the output on CLK0 (hw/rtl/registered_product.v)
REG_CLKS = ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_INPUTC_CLK", "REG_PIPELINE_CLK", "REG_OUTPUT_CLK")
REGISTERED_PRODUCT = {"REG_INPUTA_CLK": "CLK0", "REG_INPUTB_CLK": "CLK0", "REG_INPUTC_CLK": "NONE",
                      "REG_PIPELINE_CLK": "NONE", "REG_OUTPUT_CLK": "CLK0"}
NETLIST = "netlist.v"       # the synthesized top as Verilog
NETLIST_JSON = "ecp5.json"  # the same netlist as Yosys JSON: what cells it holds
CELLS = "cells_sim.v"       # the models of those cells


def yosys_cells_sim() -> Path:
    """Yosys' ECP5 simulation library: <prefix>/share/yosys/ecp5/cells_sim.v beside <prefix>/bin/yosys."""
    yosys = find_yosys()
    if yosys is None:
        raise FileNotFoundError(f"yosys not found; install it with: {YOSYS_INSTALL}")
    return Path(os.path.realpath(yosys)).parent.parent / "share" / "yosys" / "ecp5" / "cells_sim.v"


def verilog_modules(text: str) -> dict[str, str]:
    """name -> `module ... endmodule` text of every module in a Verilog library file."""
    return {m.group(1): m.group(0) for m in re.finditer(r"(?ms)^module\s+([\\$\w]+)\s*[(#].*?^endmodule\b", text)}


def has_behaviour(text: str) -> bool:
    """A module that drives something: an assign, an always block or an instance of a cell.
    (Yosys' DP16KD in cells_sim.v has ports and parameters only.)"""
    body = re.sub(r"(?s)specify.*?endspecify", "", text)
    return bool(re.search(r"\b(assign|always)\b", body) or re.search(r"(?m)^\s*[A-Z]\w*\s+#?\s*\(", body))


def cell_library(cell_types: set[str], out_path: str) -> dict:
    """Write the models of `cell_types` (and of the cells their models instantiate) to out_path.
    Returns {"yosys": [...], "project": [...]}, the cell types by the source of their model; a
    cell type with no model raises DesignError naming it."""
    yosys_file = yosys_cells_sim()
    if not yosys_file.is_file():
        raise DesignError(f"netlist: Yosys' ECP5 cell models are not at {yosys_file} (beside {find_yosys()}); "
                          f"the gate-level check needs them (install: {YOSYS_INSTALL})")
    yosys_lib = verilog_modules(yosys_file.read_text())
    own = {name: (PROJECT_MODELS / f"{name}.v").read_text() for name in OWN_MODELS}
    chosen: dict[str, tuple[str, str]] = {}
    pending = sorted(cell_types)
    while pending:
        name = pending.pop()
        if name in chosen:
            continue
        if name in own:
            chosen[name] = ("project", own[name])
        elif name in yosys_lib and has_behaviour(yosys_lib[name]):
            chosen[name] = ("yosys", yosys_lib[name])
        else:
            raise DesignError(f"netlist: cell {name} has no simulation model (not in {yosys_file} with a "
                              f"behaviour, nor in {PROJECT_MODELS}); the gate-level check cannot simulate it")
        # cells a model builds on (CCU2C: LUT4 and LUT2)
        pending += [dep for dep in yosys_lib if dep != name and dep not in chosen
                    and re.search(rf"(?m)^\s*{re.escape(dep)}\s+#?\s*\(", chosen[name][1])]
    with open(out_path, "w") as fh:
        fh.write(f"// Simulation models of the ECP5 cells of {NETLIST}: Yosys' {yosys_file} module by module,\n"
                 f"// and the project's {', '.join(OWN_MODELS)} (hw/ecp5).\n`timescale 1ns / 1ps\n")
        for name in sorted(chosen):
            source, text = chosen[name]
            fh.write(f"\n// {name}: {'the project (hw/ecp5)' if source == 'project' else 'Yosys'}\n{text}\n")
    return {source: sorted(n for n, (s, _) in chosen.items() if s == source) for source in ("yosys", "project")}


def _param(cell: dict, name: str, default: str) -> str:
    """A cell parameter from Yosys JSON: strings as they are, numbers (binary digits) as ints in text."""
    value = cell["parameters"].get(name, default)
    return str(int(value, 2)) if re.fullmatch(r"[01]+", value) and len(value) == 32 else value.strip()


def check_modelled(cells: dict) -> None:
    """DesignError when a MULT18X18D or DP16KD is used in a way its project model does not cover
    (the model would stop the simulation; this says which cell, before the build)."""
    for name, cell in cells.items():
        kind, conn = cell["type"], cell["connections"]
        if kind == "MULT18X18D":
            regs = {p: _param(cell, p, "NONE") for p in REG_CLKS}
            shifted = [p for p in ("SOURCEA", "SOURCEB") if conn.get(p, ["0"]) != ["0"]]
            if set(regs.values()) != {"NONE"} and regs != REGISTERED_PRODUCT or shifted \
                    or _param(cell, "MULT_BYPASS", "DISABLED") != "DISABLED":
                used = [p for p, v in regs.items() if v != "NONE"]
                raise DesignError(f"netlist: MULT18X18D {name} uses registers or shift inputs ({used + shifted}); "
                                  "the model (hw/ecp5/MULT18X18D.v) covers the combinational multiplier and "
                                  "A, B and the output registered on CLK0 only")
        elif kind == "DP16KD":
            widths = {_param(cell, f"DATA_WIDTH_{p}", "18") for p in "AB"}
            regmode = {_param(cell, f"REGMODE_{p}", "NOREG") for p in "AB"}
            resets = [p for p in ("RSTA", "RSTB") if conn.get(p, ["0"]) != ["0"]]
            if not (widths <= {"9", "18"} or widths == {"36"}) or regmode != {"NOREG"} or resets:
                raise DesignError(f"netlist: DP16KD {name} (widths {sorted(widths)}, REGMODE {sorted(regmode)}, "
                                  f"reset pins {resets or 'tied low'}) is outside what hw/ecp5/DP16KD.v models "
                                  "(widths 9/18 or 36 on both ports, NOREG, resets tied low)")


def synthesize_netlist(rtl_dir: str, sources: list[str], top: str, out_dir: str, timeout: int = 3600) -> dict:
    """synth_ecp5 of `top` into out_dir (NETLIST, NETLIST_JSON) and the models of its cells
    (CELLS). Returns {"cells": {type: count}, "cells_total", "models", "synth_seconds", "command"}."""
    os.makedirs(out_dir, exist_ok=True)
    json_path, verilog_path = os.path.join(out_dir, NETLIST_JSON), os.path.join(out_dir, NETLIST)
    script, seconds = run_yosys(rtl_dir, sources, top, SYNTH, os.path.abspath(json_path), timeout,
                                verilog=os.path.abspath(verilog_path))
    with open(json_path) as fh:
        modules = json.load(fh)["modules"]
    if top not in modules:
        raise DesignError(f"netlist: {SYNTH} wrote no module {top}")
    cells = modules[top]["cells"]
    check_modelled(cells)
    counts = Counter(cell["type"] for cell in cells.values())
    models = cell_library(set(counts), os.path.join(out_dir, CELLS))
    write_wrapper(modules[top]["ports"], top, os.path.join(out_dir, WRAPPER))
    return {"cells": dict(sorted(counts.items(), key=lambda kv: -kv[1])), "cells_total": sum(counts.values()),
            "models": models, "synth_seconds": round(seconds, 1),
            "command": f"yosys -p '{script.replace(os.path.abspath(out_dir) + os.sep, '')}'"}


WRAPPER = "netlist_top.v"   # the simulation's top: the netlist's top inside a wrapper with its ports


def sim_top(top: str) -> str:
    return f"{top}_netlist"


def write_wrapper(ports: dict, top: str, path: str) -> None:
    """A module sim_top(top) with the ports of the netlist's `top` (Yosys JSON `ports`), holding
    it: the testbench drives the wrapper's ports, and the simulation build makes only the
    wrapper's own signals visible to it (run_cocotb top_signals_only), not the netlist's
    thousands of nets."""
    decls = []
    for name, port in ports.items():
        width = len(port["bits"])
        decls.append(f"    {port['direction']} wire {f'[{width - 1}:0] ' if width > 1 else ''}{name}")
    conns = ", ".join(f".{name}({name})" for name in ports)
    with open(path, "w") as fh:
        fh.write(f"// The synthesized {top} inside a wrapper with its ports (codegen/netlist.py)\n"
                 f"`timescale 1ns / 1ps\nmodule {sim_top(top)} (\n" + ",\n".join(decls) + "\n);\n"
                 f"    {top} u_netlist ({conns});\nendmodule\n")


def netlist_sources(out_dir: str) -> list[str]:
    """The Verilog the gate-level simulation builds: the cell models, the netlist, its wrapper."""
    return [os.path.join(out_dir, CELLS), os.path.join(out_dir, NETLIST), os.path.join(out_dir, WRAPPER)]
