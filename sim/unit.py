"""Run one hw library module's cocotb testbench (sim/tb/<module>/) for one parameter set."""

from __future__ import annotations

import json
import os
from pathlib import Path

from qpsnn.codegen.rtl import SUBMODULES
from qpsnn.sim.runner import lint, results_failures, run_cocotb

HW_RTL = Path(__file__).resolve().parent.parent / "hw" / "rtl"


def run_unit(module: str, parameters: dict, work_dir: str, config: dict, files: dict | None = None) -> int:
    """Lint and build `module` with `parameters` and run its testbench; returns the number of
    failures (a lint warning raises DesignError: every tested parameter set is lint-clean).

    `files` (name -> text) are written to work_dir, where the simulation runs ($readmemh)."""
    os.makedirs(work_dir, exist_ok=True)
    for name, text in (files or {}).items():
        Path(work_dir, name).write_text(text)
    cfg_path = Path(work_dir, "tb_config.json")
    cfg_path.write_text(json.dumps({"parameters": parameters, **config}))
    sources = [str(HW_RTL / f"{m}.v") for m in [module, *SUBMODULES.get(module, ())]]
    verilog_params = {k: (f'"{v}"' if isinstance(v, str) else v) for k, v in parameters.items()}
    lint(sources, module, cwd=work_dir, parameters=verilog_params)
    # a module's testbench runs for few cycles, paced by Python: its C++ compiled without
    # optimization (a build of accumulate_engine 4.2 -> 3.0 s, the run no slower to measure)
    xml = run_cocotb(sources, module, module, build_dir=os.path.join(work_dir, "sim_build"), test_dir=work_dir,
                     parameters=verilog_params, extra_env={"QPSNN_TB_CONFIG": str(cfg_path)}, fast_compile=True)
    return results_failures(xml)
