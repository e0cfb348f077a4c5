"""Fit the LUT weights of the analytic resource model (codegen/resources.py) to Yosys.

    make calibrate        (after `make run SPEC=examples/mnist_conv_pruned.yaml`)
    .venv/bin/python benchmarks/calibrate_resources.py --extend --flows out/mnist_conv_fast --seeds ""
                          (one more flow's instances next to the stored ones)
    .venv/bin/python benchmarks/calibrate_resources.py --resynth-module readout
                          (a module's RTL changed: its stored instances synthesized again, alone)

For the shipped example networks (their flow output directories) and seeded random networks,
in event and dense mode, generate the RTL, synthesize it with Yosys (synth_xilinx, hierarchy
kept), and fit per hw module the weights of its LUT terms to the synthesized LUTs of its
instances (non-negative least squares). Writes codegen/resource_coefficients.json and
benchmarks/results/resource_calibration.json (every instance: analytic next to Yosys).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import defaultdict

import numpy as np
from scipy.optimize import nnls

from qpsnn.codegen.resources import COEFFICIENTS, MODULE_TERMS, RESOURCE_KEYS, stage_resources
from qpsnn.codegen.rtl import HW_RTL, flow_design, write
from qpsnn.codegen.synth import synthesize
from qpsnn.flow import run_flow
from qpsnn.model.deploy import Deploy
from qpsnn.sim.random_network import random_network
from qpsnn.spec import parse_spec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def networks(flow_dirs: list[str], seeds: list[int], work: str):
    """(label, deploy, spec, report) of each flow output and random network (untrained weights)."""
    for flow_dir in flow_dirs:
        with open(os.path.join(flow_dir, "report.json")) as fh:
            report = json.load(fh)
        spec = parse_spec(report["spec"], flow_dir)
        yield os.path.basename(flow_dir.rstrip("/")), Deploy.load(os.path.join(flow_dir, "deploy")), spec, report
    for seed in seeds:
        raw = random_network(seed, os.path.join(work, "data"))
        raw["verify"] = {"hls_images": 0, "rtl_images": 0}
        spec = parse_spec(raw, f"random_{seed}")
        out = os.path.join(work, f"random_{seed}")
        run_flow(spec, out, hls=False)
        yield f"random_{seed}", Deploy.load(os.path.join(out, "deploy")), spec, {}


def synthesized_instances(flow_dirs, seeds, modes, work):
    rows = []
    for label, deploy, spec, report in networks(flow_dirs, seeds, work):
        for mode in modes:
            rtl = flow_design(deploy, spec, report, mode=mode)      # a folded flow: its fold's knobs
            rtl_dir = os.path.join(work, f"{label}_{mode}")
            syn = synthesize(rtl_dir, write(rtl, rtl_dir), rtl.top)
            print(f"{label} {mode}: {syn['top']} in {syn['seconds']} s", flush=True)
            for st in rtl.stages:
                rows.append({"network": f"{label}:{mode}", "instance": st.instance, "module": st.module,
                             "params": st.numeric_params(), "yosys": syn["instances"][st.instance]})
            rows.append({"network": f"{label}:{mode}", "instance": "TOTAL", "module": None,
                         "stages": [[st.module, st.instance, st.params] for st in rtl.stages], "yosys": syn["top"]})
    return rows


def resynthesized(rows: list, module: str, work: str) -> list:
    """The stored rows with every instance of `module` synthesized again alone (its parameters
    as stored, its ports behind registers: module_fmax.wrapper), seconds per instance instead of
    every network again. A network's total changes by its instances' differences. Only for a
    module that reads no memory file (the wrapper has no weights to give it)."""
    from module_fmax import defaults, module_header, wrapper
    header = module_header((HW_RTL / f"{module}.v").read_text(), module)
    memo: dict = {}
    out, delta = [], defaultdict(lambda: dict.fromkeys(RESOURCE_KEYS, 0))
    for r in rows:
        if r["module"] != module:
            out.append(r)
            continue
        key = json.dumps(r["params"], sort_keys=True)
        if key not in memo:
            rtl_dir = os.path.join(work, f"{module}_{len(memo)}")
            os.makedirs(rtl_dir)
            shutil.copyfile(HW_RTL / f"{module}.v", os.path.join(rtl_dir, f"{module}.v"))
            with open(os.path.join(rtl_dir, "wrap.v"), "w") as fh:
                fh.write(wrapper(module, list({**defaults(header), **r["params"]}.items()), header))
            syn = synthesize(rtl_dir, [os.path.join(rtl_dir, f) for f in (f"{module}.v", "wrap.v")], "wrap")
            memo[key] = syn["instances"]["u_dut"]
            print(f"{module} {r['params']}: {memo[key]['LUT']} LUTs (stored {r['yosys']['LUT']})", flush=True)
        for k in RESOURCE_KEYS:
            delta[r["network"]][k] += memo[key][k] - r["yosys"][k]
        out.append({**r, "yosys": memo[key]})
    return [{**r, "yosys": {**r["yosys"], **{k: r["yosys"][k] + delta[r["network"]][k] for k in RESOURCE_KEYS}}}
            if r["module"] is None else r for r in out]


def fit(rows, before: dict) -> dict:
    """Per module, the weights of its LUT terms by non-negative least squares. A term no
    instance exercises (zero in every row: e.g. the shift-and-add products of counts when no
    network has a sum pool) keeps its weight from `before` (the coefficients so far), 1.0 if new."""
    by_module = defaultdict(list)
    for r in rows:
        if r["module"]:
            by_module[r["module"]].append(r)
    weights = {}
    for module, items in sorted(by_module.items()):
        terms = sorted(MODULE_TERMS[module](items[0]["params"])[0])
        a = np.array([[MODULE_TERMS[module](r["params"])[0][t] for t in terms] for r in items], float)
        b = np.array([r["yosys"]["LUT"] for r in items], float)
        unseen = ~a.any(axis=0)
        prior = np.array([before.get(module, {}).get(t, 1.0) for t in terms])
        b = b - a[:, unseen] @ prior[unseen]        # zero: those terms are zero in every row
        # relative error matters: weight each instance by 1/its size
        scale = 1.0 / np.maximum(b, 10.0)
        x = prior.copy()
        x[~unseen], _ = nnls(a[:, ~unseen] * scale[:, None], b * scale)
        weights[module] = {t: round(float(v), 4) for t, v in zip(terms, x)}
    return weights


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", default="out/mnist_conv_pruned,out/mnist_conv_small,out/mnist_conv_fast",
                    help="flow output directories of the shipped examples (comma list)")
    ap.add_argument("--seeds", default="4,6,7,11,19,21,27")
    ap.add_argument("--modes", default="event,dense")
    ap.add_argument("--refit", action="store_true",
                    help="fit again to the stored synthesis (benchmarks/results/resource_synthesis.json)")
    ap.add_argument("--extend", action="store_true",
                    help="synthesize only --flows and --seeds, add them to the stored synthesis "
                         "(replacing the same networks), and fit all of it")
    ap.add_argument("--resynth-module", metavar="MODULE",
                    help="synthesize the stored instances of MODULE again, alone, and fit all of it")
    args = ap.parse_args(argv)
    flows = [f for f in args.flows.split(",") if os.path.isfile(os.path.join(f, "report.json"))]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    cache = os.path.join(os.path.dirname(__file__), "results", "resource_synthesis.json")
    if args.refit or args.resynth_module:   # fit the stored synthesis (a module's instances made again)
        with open(cache) as fh:
            stored = json.load(fh)
        rows, flows, seeds = stored["rows"], stored["flows"], stored["seeds"]
        if args.resynth_module:
            with tempfile.TemporaryDirectory() as work:
                rows = resynthesized(rows, args.resynth_module, work)
            with open(cache, "w") as fh:
                json.dump({**stored, "rows": rows}, fh, indent=0)
    else:
        with tempfile.TemporaryDirectory() as work:
            rows = synthesized_instances(flows, seeds, args.modes.split(","), work)
        if args.extend:     # the stored networks, those synthesized now in place of their namesakes
            with open(cache) as fh:
                stored = json.load(fh)
            labels = {r["network"] for r in rows}
            rows = [r for r in stored["rows"] if r["network"] not in labels] + rows
            flows, seeds = sorted(set(stored["flows"]) | set(flows)), sorted(set(stored["seeds"]) | set(seeds))
        with open(cache, "w") as fh:
            json.dump({"flows": flows, "seeds": seeds, "modes": args.modes, "rows": rows}, fh, indent=0)
    with open(COEFFICIENTS) as fh:
        before = json.load(fh)["lut_weights"]
    weights = fit(rows, before)
    with open(COEFFICIENTS, "w") as fh:
        json.dump({"lut_weights": weights, "calibrated_on": {"flows": flows, "seeds": seeds, "modes": args.modes}},
                  fh, indent=1, sort_keys=True)
    # analytic next to Yosys, per instance and per network, with the new weights
    report = []
    for r in rows:
        if r["module"] is None:
            continue
        ana = stage_resources(r["module"], r["params"], weights)
        report.append({**{k: r[k] for k in ("network", "instance", "module")}, "analytic": ana,
                       "yosys": {k: r["yosys"][k] for k in RESOURCE_KEYS}})
    totals = {}
    for r in report:
        t = totals.setdefault(r["network"], {"analytic": dict.fromkeys(RESOURCE_KEYS, 0),
                                              "yosys": dict.fromkeys(RESOURCE_KEYS, 0)})
        for side in ("analytic", "yosys"):
            for k in RESOURCE_KEYS:
                t[side][k] += r[side][k]
    for name, t in totals.items():
        ratio = {k: round(t["analytic"][k] / t["yosys"][k], 3) if t["yosys"][k] else None for k in RESOURCE_KEYS}
        print(f"{name}: analytic {t['analytic']} yosys {t['yosys']} ratio {ratio}")
    path = os.path.join(os.path.dirname(__file__), "results", "resource_calibration.json")
    with open(path, "w") as fh:
        json.dump({"weights": weights, "networks": totals, "instances": report}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
