"""`qpsnn flow` and the single steps (qpsnn/steps.py): train -> prune -> export -> hls -> rtl
-> sim (-> netlist with --netlist), and the report assembled from what they left in DIR.

A flow is written atomically: every step goes into a temporary sibling that replaces DIR only
when the flow has finished, so a failure or Ctrl-C leaves DIR as it was. A single step replaces
only its own directory in DIR, in one rename.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager

from qpsnn.errors import DesignError, InputError
from qpsnn.files import replace_dir
from qpsnn.spec import Spec, check_with_data


def check_out_dir(out: str) -> str:
    out = os.path.abspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out: {out} exists and is not a directory")
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create the parent directory {parent} ({exc.strerror})") from None
    return out


@contextmanager
def atomic_dir(out: str):
    """Yield a temporary directory that replaces `out` on success; removed on failure."""
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.tmp-", dir=os.path.dirname(out))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, out)


def keep_source(out: str, work: str) -> None:
    """DIR/source (what a front end wrote: the spec, its weights and data, which the spec names)
    goes on into the new DIR: a flow replaces what the steps make, never its input."""
    from qpsnn.api import SOURCE
    if os.path.isdir(os.path.join(out, SOURCE)):
        shutil.copytree(os.path.join(out, SOURCE), os.path.join(work, SOURCE))


SPEC_FILE = "spec.json"     # the spec of the last run in DIR: `qpsnn report` reads it
TABLE_FILE = "table.json"   # the compression table given with --table, for every later rendering


def write_outputs(ws, table: dict | None = None) -> dict:
    """DIR/spec.json, DIR/report.json (assembled from the steps' current records), report.md and
    report.html; the compression table is kept in DIR/table.json once given."""
    from qpsnn.files import write_atomic
    from qpsnn.report import load_table, write_reports
    from qpsnn.steps import assemble_report

    write_atomic(os.path.join(ws.root, SPEC_FILE), json.dumps(ws.spec.to_dict(), indent=1))
    table_path = os.path.join(ws.root, TABLE_FILE)
    kept = [path for path in (table_path, os.path.join(ws.previous, TABLE_FILE)) if os.path.exists(path)]
    if table is None and kept:       # a flow's new DIR keeps the table the old one had
        table = load_table(kept[0])
    if table is not None:
        write_atomic(table_path, json.dumps(table, indent=1))
    report = assemble_report(ws)
    write_atomic(os.path.join(ws.root, "report.json"), json.dumps(report, indent=1))
    write_reports(ws.root, report, table)
    return report


def design_failed(problems: list, out: str) -> DesignError:
    return DesignError("bit-exact check failed: " + "; ".join(problems) + f" (report: {out}/report.json)")


def flow_steps(spec: Spec, hls: bool, rtl: bool, netlist: bool = False) -> list[str]:
    steps = ["train", "prune", "export"]
    if hls and spec.verify["hls_images"] > 0:
        steps.append("hls")
    if rtl and spec.verify["rtl_images"] > 0:
        steps += ["rtl", "sim"]
    if netlist:
        if not rtl:
            raise InputError("--netlist checks the synthesized RTL: it cannot go with --no-rtl")
        steps += ["rtl"] * ("rtl" not in steps) + ["netlist"]
    return steps


def run_flow(spec: Spec, out: str, hls: bool = True, rtl: bool = True, resume: bool = False,
             synth: bool = True, pnr: bool = False, table: dict | None = None, retrain: bool = False,
             netlist: bool = False) -> dict:
    """Every step into a temporary twin of DIR that replaces it at the end; a step whose current
    result DIR holds (the trainings) is taken from it."""
    check_with_data(spec)   # what `qpsnn validate` checks, before anything is written
    out = check_out_dir(out)
    from qpsnn.codegen import rtl as rtl_gen
    from qpsnn.steps import Options, Workspace, check_tools_of, clear_checkpoints, run_step

    if rtl:
        rtl_gen.check_supported(spec.layers)  # before any slow step: a clear answer first
    steps = flow_steps(spec, hls, rtl, netlist)
    options = Options(synth=synth, pnr=pnr, retrain=retrain, resume=resume)
    check_tools_of(Workspace(spec, out, out, options), steps)
    problems = []
    with atomic_dir(out) as work:
        keep_source(out, work)
        ws = Workspace(spec, work, out, options, previous=out if os.path.isdir(out) else None)
        ws.data()       # the data set loaded (and its values checked) before the first slow step
        for name in steps:
            problems += run_step(ws, name)[1]
        report = write_outputs(ws, table)
    clear_checkpoints(out)
    if problems:
        raise design_failed(problems, out)
    return report


def run_single_step(spec: Spec, out: str, name: str, options, table: dict | None = None) -> dict:
    """One step in DIR, from what the steps before it left there; DIR/<step> is replaced in one
    rename and the report assembled again."""
    return run_steps(spec, out, [name], options, table)


def run_steps(spec: Spec, out: str, names: list[str], options, table: dict | None = None) -> dict:
    """Steps in DIR one after the other (each needing what the ones before it left there), each
    replacing its own DIR/<step> in one rename; the report assembled again."""
    check_with_data(spec)
    out = check_out_dir(out)
    from qpsnn.steps import Workspace, check_tools_of, clear_checkpoints, run_step

    ws = Workspace(spec, out, out, options)
    check_tools_of(ws, names)
    problems = []
    for name in names:
        problems += run_step(ws, name)[1]
        if name in ("train", "prune"):
            clear_checkpoints(out)
    report = write_outputs(ws, table)
    if problems:
        raise design_failed(problems, out)
    return report


def rewrite_report(out: str, table: dict | None = None) -> dict:
    """report.json, .md and .html of DIR again from its step records and its last spec."""
    from qpsnn.files import read_json
    from qpsnn.spec import parse_spec
    from qpsnn.steps import Options, Workspace

    path = os.path.join(out, SPEC_FILE)
    raw = read_json(path, "--out", "a directory `qpsnn flow` or a step wrote")
    spec = parse_spec(raw, path)
    return write_outputs(Workspace(spec, out, out, Options()), table)
