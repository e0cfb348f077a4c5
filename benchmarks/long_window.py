"""The Sinabs N-MNIST network's shape at T = 300 on the ECP5 (docs/measured.md, issue 27's target):
2x34x34 -> conv 16 5x5 s2 pad 1 -> LIF -> conv 16 3x3 pad 1 -> LIF -> sum pool -> conv 8 3x3
pad 1 -> LIF -> sum pool -> 128 -> 256 -> LIF -> 10, streamed in passes of --chunk steps.

The weights are the event example's trained ones before its pruning (`make run-events`: the
same shape, trained at T = 100 on 3 ms bins; --trained: its DIR/trained), run here unchanged
on 300 bins of 1 ms of the simulated N-MNIST (`qpsnn events simulate --time-steps 300`), so
the accuracy is what a network trained at another bin width gives; the hardware figures are
the point:

    make bench-long-window
    .venv/bin/python benchmarks/long_window.py --example examples/nmnist_sim_events.yaml \\
        --trained out/nmnist_sim_events/trained --data out/nmnist_sim_300_small.npz \\
        --out out/long_window --images 5 --pnr

Writes out/long_window (the flow: golden, RTL, simulation; no HLS), then the RTL checked on
--images hold-out samples against the golden model with the ECP5 place and route
(benchmarks/rtl_check.py; the synthesized netlist kept as OUT/ecp5_synth.json), and the cycles
of the same network in passes of one step (T x the cycles of one step) from the cycle model;
benchmarks/results/long_window.json and a Markdown table.

--place-only places OUT/ecp5_synth.json as it is (no simulation, no synthesis: those took an
hour) and gives the Fmax with the cycles the flow measured (OUT/flow/report.json):
benchmarks/results/long_window_pnr.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from qpsnn import api
from qpsnn.codegen.estimate import design_cycles
from qpsnn.codegen.pnr import PLACERS, ROUTERS, TIMEOUT_S, place_and_route
from qpsnn.codegen.rtl import flow_design, spec_design
from qpsnn.errors import DesignError
from qpsnn.model.builder import build_model
from qpsnn.model.data import load_spec_data
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import run_golden
from qpsnn.model.keys import first_quantized
from qpsnn.model.weights import model_weights, write_weights
from qpsnn.spec import parse_spec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtl_check import check, markdown  # noqa: E402


def trained_weights(raw: dict, trained_dir: str, out_path: str) -> None:
    """The example's trained model before pruning (`trained_dir`/weights.h5), written as a
    weights file for the spec `raw` (the same layers: the weights do not depend on T)."""
    spec = parse_spec(raw, "<long window>")
    model = build_model(spec, load_spec_data(spec).input_shape, quantized=first_quantized(spec))
    model.load_weights(os.path.join(trained_dir, "weights.h5"))
    write_weights(out_path, model_weights(model, spec))


def place_only(out: str, netlist: str, timeout: int, router: str, placer: str) -> int:
    """The synthesized netlist placed and routed; microseconds per sample and samples per second
    at its Fmax from the cycles the flow's simulation measured."""
    report_path = os.path.join(out, "flow", "report.json")
    if not (os.path.isfile(netlist) and os.path.isfile(report_path)):
        print(f"error: --place-only needs {netlist} and {report_path}: run with --pnr first", file=sys.stderr)
        return 2
    with open(report_path) as fh:
        report = json.load(fh)
    spec = parse_spec(report["spec"], report_path)
    top = flow_design(Deploy.load(os.path.join(out, "flow", "deploy")), spec, report, mode="event").top
    try:
        placed = place_and_route("", [], top, timeout=timeout, router=router, placer=placer, netlist=netlist)
    except DesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    latency = report["latency"]
    alone, stream = latency["cycles_per_image_measured"], latency["back_to_back"]["cycles_per_image_measured"]
    res = {"name": spec.name, "netlist": netlist, "pnr": placed, "cycles_per_sample_measured": alone,
           "cycles_per_sample_back_to_back_measured": stream, "us_per_sample_at_fmax": alone / placed["fmax_mhz"],
           "samples_per_s_back_to_back_at_fmax": placed["fmax_mhz"] * 1e6 / stream}
    os.makedirs("benchmarks/results", exist_ok=True)
    with open("benchmarks/results/long_window_pnr.json", "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"{top} placed on {placed['device']} ({placer} placer, {router}, {placed['seconds']:.0f} s): Fmax {placed['fmax_mhz']:.1f} MHz, "
          f"{res['us_per_sample_at_fmax']:,.0f} us per sample ({alone:,.0f} cycles), "
          f"{res['samples_per_s_back_to_back_at_fmax']:.1f} samples/s back to back; "
          f"utilization {placed['utilization']}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", default="examples/nmnist_sim_events.yaml", help="the event example's spec")
    ap.add_argument("--trained", default="out/nmnist_sim_events/trained",
                    help="its trained model before pruning (a flow's DIR/trained)")
    ap.add_argument("--data", default="out/nmnist_sim_300_small.npz", help="event frames of 300 steps")
    ap.add_argument("--out", default="out/long_window")
    ap.add_argument("--chunk", type=int, default=10, help="rtl.time_chunk: steps per pass")
    ap.add_argument("--images", type=int, default=5, help="hold-out samples simulated in RTL")
    ap.add_argument("--pnr", action="store_true", help="place and route on the ECP5 (tens of minutes)")
    ap.add_argument("--pnr-timeout", type=int, default=TIMEOUT_S, help="seconds the place and route may take")
    ap.add_argument("--router", default="router1", choices=ROUTERS, help="nextpnr's router")
    ap.add_argument("--placer", default="heap", choices=PLACERS, help="nextpnr's placer")
    ap.add_argument("--place-only", action="store_true",
                    help="place OUT/ecp5_synth.json (an earlier --pnr run's synthesis) with the flow's measured cycles")
    args = ap.parse_args(argv)
    netlist = os.path.join(args.out, "ecp5_synth.json")
    if args.place_only:
        return place_only(args.out, netlist, args.pnr_timeout, args.router, args.placer)

    os.makedirs(args.out, exist_ok=True)
    weights = os.path.abspath(os.path.join(args.out, "weights.npz"))
    with open(args.example) as fh:
        raw = yaml.safe_load(fh)
    raw.update(name="long_window", time_steps=300, data={"dataset": os.path.abspath(args.data)},
               rtl={**raw.get("rtl", {}), "time_chunk": args.chunk},
               verify={**raw["verify"], "hls_images": 0, "rtl_images": args.images})
    raw.pop("prune", None)        # the shape as Sinabs has it: no channel removed
    trained_weights(raw, args.trained, weights)
    raw["train"] = {**raw["train"], "init": weights, "epochs": 0}
    spec_path = os.path.join(args.out, "spec.yaml")
    with open(spec_path, "w") as fh:
        yaml.safe_dump(raw, fh, sort_keys=False)
    flow_dir = os.path.join(args.out, "flow")
    report = api.flow(spec_path, flow_dir, hls=False, synth=False, resume=True)
    res = check(flow_dir, args.images, ["event"], pnr=args.pnr, pnr_timeout=args.pnr_timeout, router=args.router,
                placer=args.placer, keep_netlist=os.path.abspath(netlist))

    # the same network in passes of one step: T x the cycles of one step
    spec = parse_spec(raw, spec_path)
    deploy = Deploy.load(os.path.join(flow_dir, "deploy"))
    x = load_spec_data(spec).x_test[:args.images]
    golden = run_golden(deploy, x)
    one_step = design_cycles(spec_design(deploy, spec, time_chunk=1), deploy, x, golden, back_to_back=False)
    res.update(time_steps=300, time_chunk=args.chunk, accuracy=report["accuracy"],
               firing_rate=report.get("firing_rate"), sops=report.get("sops"),
               cycles_in_one_step_passes=one_step["cycles_per_image"])
    os.makedirs("benchmarks/results", exist_ok=True)
    with open("benchmarks/results/long_window.json", "w") as fh:
        json.dump(res, fh, indent=1, default=float)
    event = res["modes"]["event"]
    print(markdown(res))
    print(f"\nT = 300 in {300 // args.chunk} passes of {args.chunk}: {event['cycles_per_image_mean']:,.0f} cycles per "
          f"sample; in passes of one step (T x one step's cycles) {one_step['cycles_per_image']:,.0f}; golden "
          f"accuracy {report['accuracy']['golden']:.3f} on the {len(load_spec_data(spec).x_test)} hold-out samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
