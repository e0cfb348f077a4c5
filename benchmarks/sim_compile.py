"""Whether a network simulation's C++ is worth optimizing: build and simulation wall time of a
flow's design at Verilator's -Os and at -O0 (without the build cache), twice each, on the first
N hold-out images, each alone then back to back. Sets sim/network.py's OPTIMIZE_FROM_VALUES.

    .venv/bin/python benchmarks/sim_compile.py --flow out/nirdemo/flow --images 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from qpsnn.codegen.rtl import flow_design, write
from qpsnn.model.data import load_spec_data
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import run_golden
from qpsnn.sim import network
from qpsnn.sim.runner import BUILD_CACHE
from qpsnn.spec import parse_spec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flow", required=True, help="a flow's output directory")
    ap.add_argument("--images", type=int, default=20)
    args = ap.parse_args(argv)
    os.environ.pop(BUILD_CACHE, None)          # every run builds
    with open(os.path.join(args.flow, "report.json")) as fh:
        report = json.load(fh)
    spec = parse_spec(report["spec"], args.flow)
    deploy = Deploy.load(os.path.join(args.flow, "deploy"))
    x = load_spec_data(spec).x_test[:args.images]
    golden = run_golden(deploy, x)
    rtl = flow_design(deploy, spec, report)
    for optimize in (True, False, True, False):
        # the threshold decides: above it -Os, below it -O0
        network.OPTIMIZE_FROM_VALUES = 0 if optimize else sys.maxsize
        with tempfile.TemporaryDirectory() as tmp:
            sources = write(rtl, os.path.join(tmp, "rtl"))
            start = time.perf_counter()
            result = network.simulate_network(sources, rtl.top, os.path.join(tmp, "rtl"), os.path.join(tmp, "sim"),
                                              x, golden.logits, rtl.lane, mode="both")
            print(f"{'-Os' if optimize else '-O0'}: {time.perf_counter() - start:.1f} s, "
                  f"{x.size * 2} input values, {result.mismatches} mismatches", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
