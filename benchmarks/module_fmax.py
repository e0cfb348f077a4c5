"""One stage of a flow's design placed and routed alone on the ECP5 (codegen/pnr.py), its ports
registered, to see which module holds the clock and what a change to it bought.

    .venv/bin/python benchmarks/module_fmax.py --flow out/mnist_conv_pruned --instance u_lif1
    ... --instance u_lif1 --param LANES=8          (a parameter other than the design's)
    ... --instance u_conv0_engine --library ../wt/hw/rtl   (a changed module tried before it goes in)

Prints the Fmax, the cells and the critical path down to five levels of hierarchy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile

from qpsnn.codegen.pnr import PLACERS, ROUTERS, place_and_route
from qpsnn.codegen.rtl import flow_design, write
from qpsnn.model.deploy import Deploy
from qpsnn.spec import parse_spec

PORT = re.compile(r"(input|output)\s+(?:wire|reg)\s*(?:signed\s*)?(\[[^\]]*\])?\s*(\w+)")
PARAMETER = re.compile(r"^\s*parameter\s+(?:integer\s+)?(\w+)\s*=\s*(.+?),?\s*$", re.M)


def module_header(text: str, module: str) -> str:
    """The module's header in its source: from `module` to the end of its port list."""
    start = text.index(f"module {module}")
    return text[start:text.index(");", start)]


def defaults(header: str) -> dict:
    """The module's parameters with their default expressions (one per line, comments dropped)."""
    return dict(PARAMETER.findall(re.sub(r"//.*", "", header.split(") (")[0])))


def wrapper(module: str, params: list, header: str) -> str:
    """A top `wrap` with the module's parameters and every port of it behind a register."""
    lines = ["`timescale 1ns / 1ps", "module wrap #("]
    lines.append(",\n".join(f"    parameter {k} = {v}" for k, v in params))
    lines.append(") (input wire clk, input wire rst_in")
    body, conns = ["reg rst; always @(posedge clk) rst <= rst_in;"], [".clk(clk)", ".rst(rst)"]
    for direction, width, name in PORT.findall(header):
        if name in ("clk", "rst"):
            continue
        if direction == "input":
            lines.append(f", input wire {width} {name}_in")
            body.append(f"reg {width} {name}_q; always @(posedge clk) {name}_q <= {name}_in;")
            conns.append(f".{name}({name}_q)")
        else:
            lines.append(f", output reg {width} {name}_out")
            body.append(f"wire {width} {name}_w; always @(posedge clk) {name}_out <= {name}_w;")
            conns.append(f".{name}({name}_w)")
    lines += [");"] + body
    lines.append(f"{module} #(" + ", ".join(f".{k}({k})" for k, _ in params) + ") u_dut (" + ", ".join(conns) + ");")
    return "\n".join(lines + ["endmodule", ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flow", required=True, help="a `qpsnn flow` output directory")
    ap.add_argument("--instance", required=True, help="a stage of its design, e.g. u_lif1")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--router", default="router1", choices=ROUTERS, help="nextpnr's router")
    ap.add_argument("--placer", default="heap", choices=PLACERS, help="nextpnr's placer")
    ap.add_argument("--library", help="a directory of hw/rtl modules to use instead of the installed library's")
    args = ap.parse_args(argv)
    with open(os.path.join(args.flow, "report.json")) as fh:
        report = json.load(fh)
    spec = parse_spec(report["spec"], os.path.join(args.flow, "report.json"))
    design = flow_design(Deploy.load(os.path.join(args.flow, "deploy")), spec, report)     # a fold's knobs too
    stage = next((s for s in design.stages if s.instance == args.instance), None)
    if stage is None:
        print(f"error: no instance {args.instance!r}; the design has {[s.instance for s in design.stages]}",
              file=sys.stderr)
        return 2
    params = dict(stage.params)       # the module's other parameters: their defaults (wrapper())
    for item in args.param:
        name, _, value = item.partition("=")
        if name not in params:
            print(f"error: --param {item!r}: {stage.module} has {sorted(params)}", file=sys.stderr)
            return 2
        params[name] = value
    with tempfile.TemporaryDirectory() as tmp:
        sources = write(design, tmp)        # the library and the memory files the stage reads
        if args.library:
            for source in sources:
                changed = os.path.join(args.library, os.path.basename(source))
                if source.endswith(".v") and os.path.exists(changed):
                    shutil.copyfile(changed, source)
        with open(os.path.join(tmp, f"{stage.module}.v")) as fh:
            text = fh.read()
        header = module_header(text, stage.module)
        params = {**defaults(header), **params}
        with open(os.path.join(tmp, "wrap.v"), "w") as fh:
            fh.write(wrapper(stage.module, list(params.items()), header))
        library = [s for s in sources if os.path.basename(s) != f"{design.top}.v"]
        placed = place_and_route(tmp, library + [os.path.join(tmp, "wrap.v")], "wrap", seed=args.seed, path_levels=5,
                                 router=args.router, placer=args.placer, timeout=10800)
    path = placed["critical_path"]
    print(f"{args.instance} ({stage.module}, {', '.join(f'{k}={v}' for k, v in params.items())}):")
    print(f"  Fmax {placed['fmax_mhz']:.1f} MHz on {placed['device']}, seed {args.seed}; cells {placed['utilization']}")
    if path:
        print(f"  critical path {path['ns']} ns through " + " -> ".join(path["through"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
