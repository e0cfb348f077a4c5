"""Real synthesis of the generated RTL with Yosys: `synth_xilinx` maps it onto 7-series cells
(LUT1-6, distributed RAM, FDRE, CARRY4, DSP48E1, RAMB18E1/36E1). The hierarchy is kept (but
for adder_tree, flattened into its user), so one run gives the cells of every stage instance
(a layer's window, engine, LIF, ...) and of the whole top.

Yosys is found on PATH (`make setup` installs Debian's package when it can); when it is
missing, `find_yosys` says which command installs it and the caller reports that instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter

from qpsnn.errors import DesignError

YOSYS_INSTALL = "sudo apt-get install yosys   (Debian/Ubuntu; `make setup` runs it when it can)"

# 7-series cells -> the resource they use. Distributed RAM counts as the LUTs it occupies
# (a RAM64M is four LUTs, as Vivado's "LUT as memory"); an INV is absorbed into the LUT it
# feeds in place and route, so it is listed but not counted.
LUT_CELLS = {f"LUT{i}": 1 for i in range(1, 7)}
LUTRAM_CELLS = {"RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
                "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1, "SRLC32E": 1}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM18_CELLS = {"RAMB18E1": 1, "RAMB36E1": 2}


def find_yosys() -> str | None:
    return shutil.which("yosys")


def yosys_version(yosys: str) -> str:
    out = subprocess.run([yosys, "-V"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def resources(cells: Counter) -> dict:
    """Cell counts -> {LUT, LUT_logic, LUT_memory, FF, CARRY4, DSP, BRAM18, INV}."""
    logic = sum(n for c, n in cells.items() if c in LUT_CELLS)
    memory = sum(n * LUTRAM_CELLS[c] for c, n in cells.items() if c in LUTRAM_CELLS)
    return {"LUT": logic + memory, "LUT_logic": logic, "LUT_memory": memory,
            "FF": sum(cells[c] for c in FF_CELLS), "CARRY4": cells["CARRY4"],
            "DSP": cells["DSP48E1"], "BRAM18": sum(n * BRAM18_CELLS[c] for c, n in cells.items() if c in BRAM18_CELLS),
            "INV": cells["INV"]}


def _is_design(modules: dict, kind: str) -> bool:
    """A module of the design (not a cell of the library, which the netlist lists as a blackbox)."""
    return kind in modules and "blackbox" not in modules[kind].get("attributes", {})


def _flat_cells(modules: dict, name: str, memo: dict) -> Counter:
    """Primitive cells of module `name` with its submodules expanded."""
    if name not in memo:
        total = Counter()
        for cell in modules[name]["cells"].values():
            kind = cell["type"]
            total += _flat_cells(modules, kind, memo) if _is_design(modules, kind) else Counter({kind: 1})
        memo[name] = total
    return memo[name]


def run_yosys(rtl_dir: str, sources: list[str], top: str, synth: str, netlist: str, timeout: int,
              verilog: str | None = None, prepare: str = "") -> tuple[str, float]:
    """Yosys `synth` (synth_xilinx, synth_ecp5) of `top` (sources in rtl_dir, where the $readmemh
    files are), the netlist written as JSON to `netlist` (and, given `verilog`, as Verilog there
    too: the gate-level simulation's source); `prepare`: commands run before the synthesis.
    Returns (script, seconds); a failure raises DesignError with the end of Yosys' log, as does
    one past `timeout` seconds."""
    files = " ".join(os.path.relpath(s, rtl_dir) for s in sources)
    # -defer: elaborate modules only with the parameters the top gives them; QPSNN_ECP5: the
    # RTL's ECP5 primitives where Yosys would not use a block's own registers (registered_product)
    define = " -DQPSNN_ECP5" if synth == "synth_ecp5" else ""
    script = f"read_verilog -defer -sv{define} {files}; {prepare}{synth} -top {top}; write_json {netlist}"
    if verilog:
        script += f"; write_verilog -noattr {verilog}"
    start = time.perf_counter()
    try:
        run = subprocess.run([find_yosys(), "-q", "-p", script], cwd=rtl_dir, capture_output=True, text=True,
                             timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DesignError(f"yosys {synth} of {top} did not finish within {timeout} s") from None
    if run.returncode != 0 or not os.path.exists(netlist) or (verilog and not os.path.exists(verilog)):
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-5:])
        raise DesignError(f"yosys {synth} of {top} failed:\n{tail}")
    return script, time.perf_counter() - start


def synthesize(rtl_dir: str, sources: list[str], top: str, timeout: int = 3600) -> dict:
    """synth_xilinx of `top` (sources in rtl_dir, where the $readmemh files are). Returns
    {"top": resources, "instances": {instance: resources}, "seconds", "yosys"}; a Yosys failure
    raises DesignError with the end of its log."""
    yosys = find_yosys()
    if yosys is None:
        raise FileNotFoundError(f"yosys not found; install it with: {YOSYS_INSTALL}")
    with tempfile.TemporaryDirectory() as tmp:
        netlist = os.path.join(tmp, "netlist.json")
        # the hierarchy kept (each stage's cells counted apart, as the resource model is fitted),
        # but adder_tree flattened into its engine or readout: synthesis folds a one-word ROM's
        # constant weights into the tree's adders only without the boundary between them
        script, seconds = run_yosys(rtl_dir, sources, top, "synth_xilinx -flatten", netlist, timeout,
                                    prepare=f"hierarchy -top {top}; setattr -mod -set keep_hierarchy 1 *; "
                                            f"setattr -mod -unset keep_hierarchy *adder_tree*; ")
        with open(netlist) as fh:
            modules = json.load(fh)["modules"]
    memo: dict = {}
    instances = {name: resources(_flat_cells(modules, cell["type"], memo))
                 for name, cell in modules[top]["cells"].items() if _is_design(modules, cell["type"])}
    return {"top": resources(_flat_cells(modules, top, memo)), "instances": instances,
            "seconds": round(seconds, 1), "yosys": yosys_version(yosys), "command": f"yosys -p '{script}'"}
