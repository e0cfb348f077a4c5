"""`verilator --lint-only -Wall` on every module of the hw library (default parameters).

Run as `python -m qpsnn.sim.lint_library`; generated designs are linted by the flow itself."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qpsnn.sim.runner import lint

HW_RTL = Path(__file__).resolve().parent.parent / "hw" / "rtl"


def lint_library() -> list[str]:
    modules = sorted(p.stem for p in HW_RTL.glob("*.v"))
    sources = [str(HW_RTL / f"{m}.v") for m in modules]
    with tempfile.TemporaryDirectory() as tmp:
        for m in modules:
            lint(sources, m, cwd=tmp)
    return modules


def main() -> int:
    modules = lint_library()
    print(f"verilator --lint-only -Wall clean: {', '.join(modules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
