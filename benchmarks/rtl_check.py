"""The accelerator on real images: every step of every readout current and the class of N
hold-out images, in event and dense mode, against the golden model; cycles measured in
simulation next to the analytic model, per layer; wall time including the Verilator build.

    make bench-rtl                  (after `make run SPEC=examples/mnist_conv.yaml`)
    .venv/bin/python benchmarks/rtl_check.py --flow out/mnist_conv --images 200
    ... --simd conv1=4,dense0=8 --pe conv1=4 --tag simd     (other parallelism than the spec's)
    make fmax                       (event mode, placed and routed on an ECP5: Fmax, us per image)
    ... --back-to-back              (the images also back to back: the throughput, without place and route)
    ... --pnr --pnr-timeout 10800   (a large design: nextpnr-ecp5 may take hours)
Writes benchmarks/results/rtl_<name>[_<tag>].json and prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


from qpsnn.codegen.estimate import NOMINAL_CLOCK_MHZ, design_cycles
from qpsnn.codegen.pnr import PLACERS, ROUTERS, TIMEOUT_S, place_and_route
from qpsnn.codegen.rtl import flow_design, write
from qpsnn.errors import DesignError, InputError
from qpsnn.model.data import load_spec_data
from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import run_golden
from qpsnn.sim.network import simulate_network
from qpsnn.sim.runner import lint
from qpsnn.spec import parse_spec


def check(flow_dir: str, images: int, modes: list[str], pe: dict | None = None, simd: dict | None = None,
          lanes: dict | None = None, pnr: bool = False, seeds: tuple = (1,), pnr_timeout: int = TIMEOUT_S,
          back_to_back: bool = False, router: str = "router1", keep_netlist: str | None = None,
          placer: str = "heap") -> dict:
    """`pe` / `simd` / `lanes` override the spec's knobs (layer name -> value); `back_to_back`:
    the images also sent back to back (the throughput); `pnr`: that, and each mode's RTL placed and routed on an ECP5 (codegen/pnr.py) for its
    Fmax, once per placement seed in `seeds` (each within `pnr_timeout` seconds): the best is the
    mode's Fmax, every seed's is kept (`pnr_seeds`); `router` and `placer` are nextpnr's (codegen.pnr.ROUTERS, PLACERS),
    `keep_netlist` where the synthesized netlist is kept (to place it again without synthesis). A place and route that fails is said in
    `pnr_failed`, the simulation's figures kept."""
    with open(os.path.join(flow_dir, "report.json")) as fh:
        report = json.load(fh)
    spec = parse_spec(report["spec"], os.path.join(flow_dir, "report.json"))
    deploy = Deploy.load(os.path.join(flow_dir, "deploy"))
    data = load_spec_data(spec)
    x = data.x_test[:images]
    golden = run_golden(deploy, x)
    out = {"name": spec.name, "images": len(x), "deploy_digest": deploy.digest(),
           "clock_mhz_assumed": NOMINAL_CLOCK_MHZ, "modes": {}}
    for mode in modes:
        rtl = flow_design(deploy, spec, report, mode=mode, pe=pe, simd=simd, lanes=lanes)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            sources = write(rtl, os.path.join(tmp, "rtl"))
            lint(sources, rtl.top, cwd=os.path.join(tmp, "rtl"))
            result = simulate_network(sources, rtl.top, os.path.join(tmp, "rtl"), os.path.join(tmp, "sim"), x,
                                      golden.logits, rtl.lane)
            wall = time.perf_counter() - start
            # back to back: every image sent as soon as the accelerator takes it, cycles from the
            # first pixel in to the last class out, per image (the throughput)
            stream = simulate_network(sources, rtl.top, os.path.join(tmp, "rtl"), os.path.join(tmp, "stream"), x,
                                      golden.logits, rtl.lane, mode="stream") if pnr or back_to_back else None
            runs, pnr_failed = [], None
            if pnr:
                try:
                    runs = [place_and_route(os.path.join(tmp, "rtl"), sources, rtl.top, seed=seed, timeout=pnr_timeout,
                                            router=router, placer=placer, keep_netlist=keep_netlist)
                            for seed in seeds]
                except DesignError as exc:      # e.g. past its timeout: what was simulated stands
                    pnr_failed = str(exc)
            placed = max(runs, key=lambda run: run["fmax_mhz"]) if runs else None
        model = design_cycles(rtl, deploy, x, golden, back_to_back=stream is not None)
        stream_cycles = float(stream.cycles[-1]) / len(x) if stream is not None else None   # the last class came at cycles[-1]
        out["modes"][mode] = {
            "mismatches": result.mismatches, "first_mismatch": result.first_mismatch,
            "rtl_class_accuracy": float((result.classes == data.y_test[:len(x)]).mean()),
            "cycles_per_image_mean": result.cycles_mean, "cycles_per_image_max": int(result.cycles.max()),
            "cycles_per_image_analytic": model["cycles_per_image"],
            "measured_over_analytic": result.cycles_mean / model["cycles_per_image"],
            "images_cycles_differ": int((result.cycles != model["cycles_per_image_each"]).sum()),
            "cycles_per_layer_analytic": model["cycles_per_layer"], "bottleneck": model["bottleneck"],
            "latency_us_at_clock": result.cycles_mean / NOMINAL_CLOCK_MHZ,
            "parallelism": rtl.knobs(), "wall_s_build_and_sim": round(wall, 1)}
        if stream is not None:
            out["modes"][mode]["back_to_back"] = {
                "mismatches": stream.mismatches, "cycles_per_image": stream_cycles,
                "cycles_per_image_predicted": model["stream_cycles_per_image"],
                "images_cycles_differ": int((stream.cycles != model["stream_cycles_each"]).sum())}
        if pnr_failed:
            out["modes"][mode]["pnr_failed"] = pnr_failed
        if placed:
            fmax = placed["fmax_mhz"]
            out["modes"][mode].update({
                "pnr": placed, "latency_us_at_fmax": result.cycles_mean / fmax,
                "pnr_seeds": [{"seed": seed, "fmax_mhz": run["fmax_mhz"], "critical_path": run["critical_path"]}
                              for seed, run in zip(seeds, runs)],
                "throughput_images_per_s_at_fmax": fmax * 1e6 / stream_cycles})
    if "event" in out["modes"] and "dense" in out["modes"]:
        out["dense_over_event_cycles"] = (out["modes"]["dense"]["cycles_per_image_mean"]
                                          / out["modes"]["event"]["cycles_per_image_mean"])
    return out


def markdown(res: dict) -> str:
    lines = [f"{res['images']} hold-out images of `{res['name']}` (deploy digest {res['deploy_digest']}):", "",
             "| mode | mismatches | class accuracy | cycles/image (mean, max) | analytic | measured/analytic "
             f"| us/image at {res['clock_mhz_assumed']:.0f} MHz | bottleneck | build+sim (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mode, m in res["modes"].items():
        lines.append(f"| {mode} | {m['mismatches']} | {m['rtl_class_accuracy']:.3f} | {m['cycles_per_image_mean']:.0f}, "
                     f"{m['cycles_per_image_max']} | {m['cycles_per_image_analytic']:.0f} | "
                     f"{m['measured_over_analytic']:.3f} | {m['latency_us_at_clock']:.1f} | {m['bottleneck']} | "
                     f"{m['wall_s_build_and_sim']} |")
    first = next(iter(res["modes"].values()))
    knobs = first["parallelism"]
    lines += ["", "Parallelism: " + ", ".join(f"{k} pe {v} simd {knobs['simd'][k]}" for k, v in knobs["pe"].items())
              + "; LIF lanes: " + ", ".join(f"{k} {v}" for k, v in knobs.get("lanes", {}).items())]
    lines += ["Cycles per layer (analytic, mean): " + ", ".join(
        f"{k} {v:.0f}" for k, v in first["cycles_per_layer_analytic"].items())]
    for mode, m in res["modes"].items():
        if "back_to_back" in m and "pnr" not in m:
            b2b = m["back_to_back"]
            lines.append(f"{mode} mode back to back: {b2b['cycles_per_image']:,.0f} cycles per image measured, "
                         f"{b2b['cycles_per_image_predicted']:,.0f} predicted, {b2b['mismatches']} mismatches"
                         + (f"; place and route failed: {m['pnr_failed']}" if "pnr_failed" in m else ""))
        if "pnr" in m:
            p = m["pnr"]
            path = p["critical_path"]
            lines.append(f"{mode} mode placed and routed on {p['device']}: Fmax {p['fmax_mhz']:.1f} MHz, "
                         f"{m['latency_us_at_fmax']:.1f} us per image, "
                         f"{m['throughput_images_per_s_at_fmax']:,.0f} images/s back to back "
                         f"({m['back_to_back']['cycles_per_image']:,.0f} cycles per image measured, "
                         f"{m['back_to_back']['cycles_per_image_predicted']:,.0f} predicted, "
                         f"{m['back_to_back']['mismatches']} mismatches)"
                         + (f"; critical path {path['ns']} ns through {' -> '.join(path['through'])}" if path else "")
                         + f" ({p['seconds']:.0f} s)")
            if len(m["pnr_seeds"]) > 1:
                lines.append("Fmax per placement seed (the best above): " + ", ".join(
                    f"seed {run['seed']} {run['fmax_mhz']:.1f} MHz" for run in m["pnr_seeds"]))
    if "dense_over_event_cycles" in res:
        lines.append(f"Dense mode / event mode cycles: {res['dense_over_event_cycles']:.2f}x")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flow", required=True, help="a `qpsnn flow` output directory")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--modes", default="event,dense")
    ap.add_argument("--pe", default="", help="override outputs per cycle: layer=N,...")
    ap.add_argument("--simd", default="", help="override inputs per cycle: layer=N,...")
    ap.add_argument("--lanes", default="", help="override the neurons updated per cycle of LIF layers: layer=N,...")
    ap.add_argument("--pnr", action="store_true", help="also place and route each mode on an ECP5 (minutes)")
    ap.add_argument("--seeds", default="1", help="placement seeds for --pnr, comma list: the best Fmax counts, "
                    "every seed's is reported")
    ap.add_argument("--back-to-back", action="store_true",
                    help="also send the images back to back (the throughput; --pnr does too)")
    ap.add_argument("--pnr-timeout", type=int, default=TIMEOUT_S,
                    help="seconds each place and route may take (a design of 28k LUTs took more than 3,600)")
    ap.add_argument("--router", default="router1", choices=ROUTERS,
                    help="nextpnr's router (router2 for designs of tens of thousands of LUTs)")
    ap.add_argument("--placer", default="heap", choices=PLACERS,
                    help="nextpnr's placer (static for designs of tens of thousands of LUTs)")
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    ap.add_argument("--out", default=None, help="JSON path (default benchmarks/results/rtl_<name>[_<tag>].json)")
    args = ap.parse_args(argv)
    try:
        knobs = {key: {k: int(v) for k, v in (item.split("=") for item in getattr(args, key).split(",") if item)}
                 for key in ("pe", "simd", "lanes")}
    except ValueError:
        print("error: --pe / --simd / --lanes take layer=N pairs separated by commas, e.g. conv1=4,dense0=8",
              file=sys.stderr)
        return 2
    if not os.path.isfile(os.path.join(args.flow, "report.json")):
        print(f"error: {args.flow} is not a qpsnn flow output (no report.json); run `make run` first",
              file=sys.stderr)
        return 2
    try:
        seeds = tuple(int(seed) for seed in args.seeds.split(",") if seed)
    except ValueError:
        print("error: --seeds takes placement seeds separated by commas, e.g. 1,2,3", file=sys.stderr)
        return 2
    try:
        res = check(args.flow, args.images, args.modes.split(","), pnr=args.pnr, seeds=seeds,
                    pnr_timeout=args.pnr_timeout, back_to_back=args.back_to_back, router=args.router, placer=args.placer, **knobs)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tag = f"_{args.tag}" if args.tag else ""
    path = args.out or os.path.join(os.path.dirname(__file__), "results", f"rtl_{res['name']}{tag}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(res, fh, indent=1)
    print(markdown(res))
    bad = sum(m["mismatches"] + m.get("back_to_back", {}).get("mismatches", 0) for m in res["modes"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
