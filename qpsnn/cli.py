"""qpsnn command line. Exit codes: 0 ok, 1 the design failed a check, 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
import sys

from qpsnn.errors import DesignError, InputError

EXAMPLES = """examples:
  qpsnn flow --spec examples/mnist_skeleton.yaml --out out/mnist
  qpsnn rtl --spec examples/mnist_skeleton.yaml --out out/mnist      (one step again, e.g. after a pe change)
  qpsnn validate --spec examples/mnist_skeleton.yaml
  qpsnn table --spec examples/mnist_conv.yaml --seeds 0,1,2 --out benchmarks/results/compression.json
  qpsnn report --out out/mnist --table benchmarks/results/compression_mnist_conv.json
  qpsnn sweep --spec examples/mnist_conv.yaml --out out/sweep --bits 2,4 --ratios 0,0.5 --pe conv1=4,8

the steps of a flow, each rerunnable alone on the DIR the ones before it wrote:
  train -> prune -> export -> hls
                           -> rtl -> sim
                                  -> netlist   (gate level; `flow --netlist`)
                                  -> board     (the ULX3S: board top, bitstream; `qpsnn board`)
  qpsnn board send --port /dev/ttyUSB0 --spec SPEC --out DIR --images 100   (hold-out images through the board)
"""

STEP_FLAGS = {   # flags of the single-step subcommands beyond --spec and --out
    "train": ("retrain", "resume"), "prune": ("retrain", "resume"),
    "rtl": ("no_synth", "pnr", "clock", "target_fps", "lut_budget"),
    "board": ("clock", "allow_timing_fail")}


def knob_values(text: str):
    """argparse type for --pe / --simd / --lanes: LAYER=V1,V2,... -> (layer, [values])."""
    name, sep, values = text.partition("=")
    try:
        parsed = [int(v) for v in values.split(",") if v.strip()]
    except ValueError:
        parsed = []
    if not sep or not name or not parsed or min(parsed) < 1:
        raise argparse.ArgumentTypeError(f"expected LAYER=N1,N2,... with positive integers, got {text!r}")
    return name, parsed


def number_list(kind, what: str):
    """argparse type: a comma-separated list of `kind`, with a message naming `what`."""
    def parse(text: str):
        try:
            return [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {text!r}") from None
    return parse


def add_flag(parser, flag: str) -> None:
    """The flags `flow` and the single steps share, defined once."""
    helps = {
        "no_synth": "skip the Yosys synthesis of the RTL (the analytic resources are still reported)",
        "pnr": "place and route the RTL on a Lattice ECP5 (Yosys + nextpnr-ecp5) for a real Fmax and the "
               "latency in microseconds at it (minutes)",
        "retrain": "train (and prune) even when DIR holds this spec's trained model (same key: the spec but "
                   "its parallelism knobs and verification settings)",
        "resume": "continue an interrupted training from its last finished epoch (checkpoints in "
                  ".DIR.checkpoints beside DIR)",
        "clock": "target clock in MHz (overrides the spec's rtl.clock_mhz): --pnr warns with the critical "
                 "path when place and route misses it",
        "allow_timing_fail": "write the bitstream even when place and route misses the PLL clock (the report "
                             "and a warning name the critical path either way)",
        "target_fps": "fold to this many images per second back to back at the clock (overrides the spec's "
                      "rtl.target_images_per_s): every pe, simd and lanes the spec leaves open chosen with the "
                      "fewest predicted LUTs",
        "lut_budget": "fold to the highest throughput within this many predicted LUTs (overrides the spec's "
                      "rtl.lut_budget)",
        "table": "a compression table's JSON (`qpsnn table`) for the report's accuracy / size / latency plot "
                 "(kept in DIR/table.json)"}
    name = "--" + flag.replace("_", "-")
    if flag == "table":
        parser.add_argument(name, help=helps[flag])
    elif flag == "clock":
        parser.add_argument(name, type=float, metavar="MHZ", help=helps[flag])
    elif flag == "target_fps":
        parser.add_argument(name, type=float, metavar="N", help=helps[flag])
    elif flag == "lut_budget":
        parser.add_argument(name, type=int, metavar="LUTS", help=helps[flag])
    else:
        parser.add_argument(name, action="store_true", help=helps[flag])


def print_summary(report: dict) -> None:
    acc = report.get("accuracy", {})
    if "golden" in acc:
        print(f"[qpsnn] accuracy: float {acc['float_model']:.4f}, golden {acc['golden']:.4f}, "
              f"agreement {acc['float_golden_agreement']:.4f}"
              + (f"; the imported graph's float reference {acc['reference']:.4f}, its agreement with the golden "
                 f"{acc['reference_golden_agreement']:.4f}" if "reference" in acc else ""))
    for path, res in report["bit_exact"].items():
        if "mismatches" in res:
            print(f"[qpsnn] bit-exact {path}: {res['mismatches']} mismatches in {res['images']} images")
    if "board" in report:
        board = report["board"]
        print(f"[qpsnn] board: timing {'met' if board['timing_met'] else 'NOT met'} at the {board['clock_mhz']:g} MHz "
              f"PLL clock (Fmax {board['fmax_mhz']:.1f} MHz); bitstream "
              + (f"{board['bitstream']} ({board['bitstream_bytes']:,} bytes)" if board["bitstream"]
                 else f"not written: {board['bitstream_not_written']}"))
    if "folding" in report:
        fold = report["folding"]
        knobs = "; ".join(f"{k} " + ", ".join(f"{n}={v}" for n, v in fold["knobs"][k].items()) for k in fold["knobs"])
        print(f"[qpsnn] folding: {knobs}: {fold['images_per_s_predicted']:,.0f} images/s predicted at "
              f"{fold['clock_mhz']:g} MHz, {fold['luts_predicted']:,} LUTs predicted, bottleneck {fold['bottleneck']}")
    if "latency" in report:
        print(f"[qpsnn] cycles per image (RTL, measured): {report['latency']['cycles_per_image_measured']:.0f}")
        b2b = report["latency"].get("back_to_back")
        if b2b:
            print(f"[qpsnn] back to back (RTL, measured): {b2b['cycles_per_image_measured']:.0f} cycles per image, "
                  f"predicted {b2b['cycles_per_image_analytic']:.0f}")
    stale = [f"{name} ({s['status']})" for name, s in report["steps"].items() if s["status"].startswith("stale")]
    if stale:
        print("[qpsnn] not current, left out of the report: " + "; ".join(stale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="qpsnn", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Compressed spiking networks (QP-SNN) to verified FPGA accelerators.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_flow = sub.add_parser("flow", help="every step: train, prune, export, HLS C-sim, RTL and its simulation, "
                            "all checked bit for bit", epilog="example: qpsnn flow --spec examples/mnist_skeleton.yaml "
                            "--out out/mnist")
    p_flow.add_argument("--spec", required=True, help="network spec (YAML)")
    p_flow.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p_flow.add_argument("--no-hls", action="store_true", help="skip the hls4ml project and its C simulation")
    p_flow.add_argument("--no-rtl", action="store_true", help="skip the RTL generation and simulation")
    p_flow.add_argument("--netlist", action="store_true",
                        help="also the gate-level check: the Yosys synth_ecp5 netlist simulated with the ECP5 cell "
                             "models against the golden model on verify.netlist_images images (minutes)")
    for flag in ("no_synth", "pnr", "clock", "target_fps", "lut_budget", "table", "retrain", "resume"):
        add_flag(p_flow, flag)
    from qpsnn.steps import STEPS
    for name, step in STEPS.items():
        p_step = sub.add_parser(name, help=step.help, epilog=f"example: qpsnn {name} --spec examples/mnist_conv.yaml "
                                f"--out out/mnist_conv" + (f"  (needs {', '.join(step.needs)} in DIR)" if step.needs
                                                           else ""))
        p_step.add_argument("--spec", required=True, help="network spec (YAML)")
        p_step.add_argument("--out", required=True, help=f"output directory; DIR/{step.directory} is replaced "
                                                         "in one rename")
        for flag in STEP_FLAGS.get(name, ()):
            add_flag(p_step, flag)
        if name == "board":
            p_step.add_argument("action", nargs="?", choices=["send"],
                                help="send: run hold-out images through the board on --port (DIR's board step "
                                     "made its bitstream) and print the accuracy and the round trip per image")
            p_step.add_argument("--port", help="send: the board's serial port, e.g. /dev/ttyUSB0")
            p_step.add_argument("--images", type=int, default=100, help="send: hold-out images to send")
    p_val = sub.add_parser("validate", help="check a spec and print it with defaults filled in",
                           epilog="example: qpsnn validate --spec examples/mnist_skeleton.yaml")
    p_val.add_argument("--spec", required=True)
    p_tab = sub.add_parser("table", help="the compression study: full precision, baseline and ReScaW "
                           "quantization, SVS/SCA/L1/random pruning, over seeds",
                           epilog="example: qpsnn table --spec examples/mnist_conv.yaml --seeds 0,1,2 "
                                  "--out benchmarks/results/compression.json")
    p_tab.add_argument("--spec", required=True, help="network spec (YAML) with hidden conv layers")
    p_tab.add_argument("--out", required=True, help="JSON result (a Markdown table is written beside it)")
    p_tab.add_argument("--seeds", type=number_list(int, "integers"), default=[0, 1, 2])
    p_tab.add_argument("--bits", type=number_list(int, "integers in 2..8"), default=[8, 4, 2])
    p_tab.add_argument("--prune-bits", type=int, default=4, help="bits of the model the pruning rows prune")
    p_tab.add_argument("--ratios", type=number_list(float, "ratios in [0, 1)"), default=[0.25, 0.5, 0.75])
    p_tab.add_argument("--methods", type=number_list(str, "method names"), default=["svs", "sca", "l1", "random"])
    p_tab.add_argument("--order-ratio", type=float, default=0.5, help="SVS ratio of the order ablation")
    p_tab.add_argument("--keep-last", action="store_true", help="leave the last hidden conv unpruned")
    p_tab.add_argument("--epochs", type=int, help="training epochs (default: the spec's)")
    p_tab.add_argument("--finetune-epochs", type=int, help="fine-tuning epochs (default: the spec's)")
    p_rep = sub.add_parser("report", help="assemble DIR/report.json, report.md and report.html again from the "
                           "steps' results in DIR", epilog="example: qpsnn report --out out/mnist "
                           "--table benchmarks/results/compression_mnist_conv.json")
    p_rep.add_argument("--out", required=True, help="a directory `qpsnn flow` or a step wrote")
    add_flag(p_rep, "table")
    p_sw = sub.add_parser("sweep", help="design-space exploration over bits, pruning ratios and parallelism: "
                          "accuracy, size, cycles, resources per point, the Pareto front",
                          epilog="example: qpsnn sweep --spec examples/mnist_conv.yaml --out out/sweep "
                                 "--bits 2,4 --ratios 0,0.5 --pe conv1=4,8 --ray local")
    p_sw.add_argument("--spec", required=True, help="network spec (YAML)")
    p_sw.add_argument("--out", required=True, help="sweep directory (points/, models/, sweep.json/.md/.html); "
                                                   "a rerun resumes it")
    p_sw.add_argument("--bits", type=number_list(int, "integers in 2..8"), default=[],
                      help="hidden-layer weight bits (default: the spec's)")
    p_sw.add_argument("--ratios", type=number_list(float, "ratios in [0, 1)"), default=[],
                      help="pruning ratio of every hidden conv, by the spec's method; 0 = unpruned (default: the spec's)")
    p_sw.add_argument("--pe", type=knob_values, action="append", default=[], metavar="LAYER=N1,N2",
                      help="outputs per cycle of a layer to sweep (repeatable)")
    p_sw.add_argument("--simd", type=knob_values, action="append", default=[], metavar="LAYER=N1,N2",
                      help="inputs per cycle of a layer to sweep (repeatable)")
    p_sw.add_argument("--lanes", type=knob_values, action="append", default=[], metavar="LIF=N1,N2",
                      help="neurons updated per cycle of a lif layer to sweep (repeatable)")
    p_sw.add_argument("--images", type=int, default=100, help="hold-out images the cycle model replays per point")
    p_sw.add_argument("--workers", type=int, default=2, help="parallel trainings (processes, or Ray CPUs)")
    p_sw.add_argument("--ray", help="run on Ray: 'local' starts one on this machine, 'auto' or an address "
                                    "joins a running cluster (default: a local process pool)")
    p_sw.add_argument("--pnr", action="store_true",
                      help="also synthesize every point with Yosys (synth_xilinx LUT/FF/BRAM18/DSP) and place and "
                           "route it on an ECP5 (nextpnr-ecp5, minutes a point): Fmax, us per image and images/s at "
                           "Fmax; the Pareto front then takes accuracy, Yosys LUTs and images/s at Fmax")
    p_sw.add_argument("--models-from", metavar="DIR",
                      help="a `qpsnn flow` directory: its trained model (DIR/model) serves the points with its "
                           "model key instead of a training")
    p_imp = sub.add_parser("import-nir", help="an NIR graph (snnTorch, Norse, Sinabs, ...) -> a spec and its weights, "
                           "which `qpsnn flow --spec` takes", epilog="example: qpsnn import-nir --nir net.nir --out "
                           "net.yaml --time-steps 8 --from snntorch --data mnist")
    p_imp.add_argument("--nir", required=True, help="the graph (.nir, written by nir.write)")
    p_imp.add_argument("--out", required=True, help="the spec to write (.yaml); its weights go beside it "
                                                    "(NAME.weights.npz)")
    p_imp.add_argument("--time-steps", type=int, required=True, help="time steps per sample (NIR stores none)")
    p_imp.add_argument("--dt", type=float, help="the time step in seconds at which to discretize the neurons' ODEs "
                                                "(default: the exporter's, --from)")
    p_imp.add_argument("--from", dest="exporter", default="generic",
                       help="who wrote the graph: snntorch, norse, sinabs, qpsnn or generic (their dt, scheme, reset "
                            "and firing rule; generic needs --dt)")
    p_imp.add_argument("--scheme", choices=["euler", "exact"], help="forward Euler or the exact exponential "
                                                                    "(default: the exporter's)")
    p_imp.add_argument("--reset", choices=["subtract", "zero"], help="the neurons' reset (NIR cannot record a "
                                                                     "subtraction; default: the exporter's)")
    p_imp.add_argument("--data", help="the data set the graph runs on: mnist, digits or a .npz (default: a built-in "
                                      "one of the graph's input shape)")
    p_imp.add_argument("--bits", type=int, help="weight bits of the hidden layers (default 4; first and last 8)")
    p_imp.add_argument("--epochs", type=int, default=0,
                       help="quantization-aware fine-tuning epochs from the graph's weights (default 0: post-training "
                            "quantization)")
    p_imp.add_argument("--per-layer-mean", action="store_true",
                       help="take the mean of a per-neuron tau, r or threshold that differs within a layer (with a "
                            "warning) instead of refusing the graph")
    p_imp.add_argument("--force", action="store_true", help="replace --out and its weights if they exist")
    p_ev = sub.add_parser("events", help="event data: raw events (x, y, t, p) binned into frames, or the simulated "
                          "N-MNIST recording of real digits; the frames .npz is a data set for encoding: events",
                          epilog="examples: qpsnn events simulate --dataset mnist --time-steps 10 --out nmnist_sim.npz\n"
                                 "          qpsnn events frames --events raw.npz --time-steps 20 --out frames.npz")
    p_ev.add_argument("action", choices=["simulate", "frames"],
                      help="simulate: N-MNIST's three saccades over the data set's digits (model/events.py says what "
                           "it models); frames: bin a raw event file")
    p_ev.add_argument("--out", required=True, help="the frames to write (.npz)")
    p_ev.add_argument("--time-steps", type=int, required=True, help="time bins per sample")
    p_ev.add_argument("--dataset", default="mnist", help="simulate: the 28x28 digits (mnist, or a .npz of them); its "
                                                        "hold-out stays the hold-out (x_test)")
    p_ev.add_argument("--train-images", type=int, help="simulate: the first N training digits only")
    p_ev.add_argument("--test-images", type=int, help="simulate: the first N hold-out digits only")
    p_ev.add_argument("--seed", type=int, default=0, help="simulate: the seed of the thresholds' mismatch and the noise")
    p_ev.add_argument("--raw", help="simulate: also write the raw events (x, y, t, p) here")
    p_ev.add_argument("--events", help="frames: the raw event file (" + "x, y, t, p, offsets, labels, sensor_size)")
    p_ev.add_argument("--window-us", type=float, help="frames: each bin this many microseconds from the sample's first "
                                                      "event (default: the sample's duration in --time-steps bins)")
    p_exp = sub.add_parser("export-nir", help="a flow directory's network (its deploy form) -> an NIR graph",
                           epilog="example: qpsnn export-nir --out out/mnist --nir mnist.nir")
    p_exp.add_argument("--out", required=True, help="a directory `qpsnn flow` (or `qpsnn export`) wrote")
    p_exp.add_argument("--nir", required=True, help="the graph to write (.nir)")
    p_exp.add_argument("--dt", type=float, default=1e-4, help="the time step the LIFs' ODEs are written at "
                                                              "(default 1e-4, snnTorch's)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a malformed flag (2, argparse's message printed)
        return int(exc.code or 0)

    try:
        from qpsnn import api
        from qpsnn.report import load_table

        table = load_table(args.table) if getattr(args, "table", None) else None
        if args.command == "import-nir":
            made = api.import_nir(args.nir, args.out, args.time_steps, dt=args.dt, reset=args.reset, scheme=args.scheme,
                              data=args.data, exporter=args.exporter, per_layer_mean=args.per_layer_mean,
                              bits={"bits": args.bits} if args.bits else None, epochs=args.epochs, force=args.force)
            print(f"[qpsnn] wrote {made['spec']} and {made['weights']} (discretized: {made['discretization']}); "
                  f"next: qpsnn flow --spec {args.out} --out DIR")
            return 0
        if args.command == "events":
            made = api.events(args.action, args.out, args.time_steps, dataset=args.dataset, train_images=args.train_images,
                          test_images=args.test_images, seed=args.seed, raw=args.raw, events_path=args.events,
                          window_us=args.window_us)
            print(f"[qpsnn] wrote {made['out']}: {made['summary']}")
            return 0
        if args.command == "export-nir":
            made = api.export_nir(args.out, args.nir, args.dt)
            print(f"[qpsnn] wrote {made['nir']}: {' -> '.join(made['nodes'])} ({made['metadata']})")
            return 0
        if args.command == "report":
            print_summary(api.report(args.out, table))
            print(f"[qpsnn] wrote {os.path.join(os.path.abspath(args.out), 'report.html')} and report.md")
            return 0
        from qpsnn.spec import load_spec

        spec = load_spec(args.spec)
        if getattr(args, "clock", None) is not None:
            from qpsnn.spec import check_clock
            spec.rtl["clock_mhz"] = check_clock(args.clock, "--clock")
        if getattr(args, "target_fps", None) is not None or getattr(args, "lut_budget", None) is not None:
            from qpsnn.spec import check_fold_target
            # a flag replaces the spec's folding target, whichever of the two the spec names
            spec.rtl.update(target_images_per_s=args.target_fps, lut_budget=args.lut_budget)
            check_fold_target(spec.rtl)
        if args.command == "validate":
            print(json.dumps(api.validate(spec), indent=1))
            return 0
        if args.command == "sweep":
            from qpsnn.sweep import SweepConfig, run_sweep

            if args.images < 1 or args.workers < 1:
                raise InputError("--images and --workers: positive integers")
            cfg = SweepConfig(bits=args.bits, ratios=args.ratios, knobs={"pe": dict(args.pe), "simd": dict(args.simd),
                                                                          "lanes": dict(args.lanes)},
                              images=args.images, workers=args.workers, ray=args.ray, pnr=args.pnr,
                              models_from=args.models_from)
            run_sweep(spec, cfg, args.out)
            print(f"[qpsnn] wrote {os.path.abspath(args.out)}/sweep.json, sweep.md, sweep.html")
            return 0
        if args.command == "table":
            from qpsnn.study import StudyConfig, run_table

            cfg = StudyConfig(seeds=args.seeds, bits=args.bits, prune_bits=args.prune_bits, ratios=args.ratios,
                              methods=args.methods, order_ratio=args.order_ratio, keep_last=args.keep_last,
                              epochs=args.epochs, finetune_epochs=args.finetune_epochs)
            run_table(spec, cfg, args.out)
            print(f"[qpsnn] wrote {os.path.abspath(args.out)}")
            return 0
        if args.command == "board" and args.action == "send":
            from qpsnn.board import board_send
            if not args.port:
                raise InputError("board send: --port is required: the board's serial port, e.g. /dev/ttyUSB0")
            board_send(spec, args.out, args.port, args.images)
            return 0
        if args.command == "board" and args.port:
            raise InputError("--port goes with `qpsnn board send`; `qpsnn board` (no action) builds the bitstream")
        if args.command == "flow":
            report = api.flow(spec, args.out, hls=not args.no_hls, rtl=not args.no_rtl, resume=args.resume,
                              synth=not args.no_synth, pnr=args.pnr, table=table, retrain=args.retrain,
                              netlist=args.netlist)
        else:
            report = api.step(spec, args.out, args.command, synth=not getattr(args, "no_synth", False),
                              pnr=getattr(args, "pnr", False), retrain=getattr(args, "retrain", False),
                              resume=getattr(args, "resume", False),
                              allow_timing_fail=getattr(args, "allow_timing_fail", False))
        print_summary(report)
        print(f"[qpsnn] wrote {os.path.abspath(args.out)}")
        return 0
    except InputError as exc:
        print(f"qpsnn: error: {exc}", file=sys.stderr)
        return 2
    except DesignError as exc:
        print(f"qpsnn: design check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
