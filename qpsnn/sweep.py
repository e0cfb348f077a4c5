"""`qpsnn sweep`: design-space exploration over bit widths, pruning ratios and the parallelism
knobs. For every point: accuracy of the integer golden model on the hold-out images, model
size, accelerator cycles per image (the analytic cycle model, equal to the simulated cycles,
on `images` hold-out images) and resources (the analytic model); then the Pareto front
(accuracy up, cycles and LUTs down), a table and a plot.

With `pnr`, every point's RTL is also synthesized by Yosys (synth_xilinx: the LUT, FF, BRAM18
and DSP counts of the flow's rtl step, codegen/resources.py resource_report) and placed and
routed on an ECP5 (the rtl step's place_and_route_report, codegen/pnr.py): its Fmax, the
microseconds per image at it (the analytic cycles / Fmax) and the images per second at it (the
cycle model's back-to-back interval, the slowest layer, at Fmax instead of the nominal 100
MHz). The Pareto front is then taken on accuracy (up), Yosys LUTs (down) and images per second
at Fmax (up).

Points that differ only in their parallelism knobs share one trained model: the work is
grouped by the model key (model/train.py), a group trains once and evaluates all its points.
Groups run on a local process pool, or as tasks of a Ray cluster (`--ray auto` or an address;
`--ray local` starts one on this machine): the same task function either way. Each finished
point is written to DIR/points/<id>.json at once by the task that measured it (a Ray cluster's
workers must see DIR, as they see DIR/models), so an interrupted sweep resumes where it
stopped and a finished point is never computed again (with `pnr`, a point is finished once
it is placed and routed: a point file without its Fmax is computed again); trained models are
kept in DIR/models/<model key>/ for the same reason, and `models_from` (a flow's DIR) seeds
them with the flow's trained model (DIR/model) where its model key is a point's.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import time

from qpsnn.errors import DesignError, InputError
from qpsnn.files import write_atomic
from qpsnn.spec import (Spec, after_pruning, check_bits, check_ratios, check_shapes, check_with_data, parse_spec,
                        prunable_layers)

KNOBS = ("pe", "simd", "lanes")


@dataclasses.dataclass
class SweepConfig:
    bits: list            # hidden-layer bit widths ([] = the spec's)
    ratios: list          # ratios (the spec's method) for every hidden conv; 0 = unpruned; [] = the spec's
    knobs: dict           # {"pe": {layer: [values]}, "simd": {...}, "lanes": {lif layer: [values]}}
    images: int = 100     # hold-out images the cycle model replays per point
    workers: int = 2
    ray: str | None = None   # None: process pool; "local": a Ray instance here; else a Ray address
    pnr: bool = False        # Yosys synth_xilinx and nextpnr-ecp5 of every point (minutes each)
    models_from: str | None = None   # a `qpsnn flow` DIR whose trained model (DIR/model) the points may reuse


def point_spec(spec: Spec, point: dict) -> Spec:
    """The spec of one point: its bits, its pruning ratio on every hidden conv, its knobs."""
    out = copy.deepcopy(spec)
    out.quant["bits"] = point["bits"]
    if point["ratio"] is not None:          # None: the spec's own ratios
        out.prune["ratios"] = ({name: point["ratio"] for name in prunable_layers(out.layers)}
                               if point["ratio"] > 0 else {})
    for knob in KNOBS:
        for layer in out.layers:
            if layer["name"] in point[knob]:
                layer[knob] = point[knob][layer["name"]]
    return out


def point_id(point: dict) -> str:
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:12]


def plan(spec: Spec, cfg: SweepConfig, input_shape) -> list[dict]:
    """Every point of the grid, each checked (bits, ratios, knobs that divide the pruned
    network's outputs and input beats) before any training: InputError names the first bad one."""
    bits = cfg.bits or [spec.quant["bits"]]
    ratios = cfg.ratios or [None]
    for b in bits:
        check_bits(b, "--bits")
    weight_layers = [layer["name"] for layer in spec.layers if layer["type"] in ("conv", "dense")]
    lif_layers = [layer["name"] for layer in spec.layers if layer["type"] == "lif"]
    if len(set(bits)) > 1 and len(weight_layers) < 3:
        raise InputError(f"--bits: {spec.name} has no hidden weight layer ({weight_layers[0]} takes "
                         "quant.first_bits and the last quant.last_bits), so --bits would change nothing; "
                         "accepted: a network with a conv or dense layer between its first and last")
    targets = prunable_layers(spec.layers)
    for r in [r for r in ratios if r is not None]:
        if r and not targets:
            raise InputError("--ratios: this network has no hidden conv (a conv followed by 'lif') to prune; "
                             "accepted: --ratios 0")
        if not (isinstance(r, float) and 0 <= r < 1):
            raise InputError(f"--ratios: a ratio is in [0, 1), got {r!r}")
    axes = []
    for knob in KNOBS:
        for name, values in sorted(cfg.knobs.get(knob, {}).items()):
            if knob == "lanes" and name not in lif_layers:
                raise InputError(f"--lanes {name}=...: no lif layer {name!r}; accepted: {lif_layers}")
            if knob != "lanes" and name not in weight_layers:
                raise InputError(f"--{knob} {name}=...: no conv or dense layer {name!r}; accepted: {weight_layers}")
            axes.append((knob, name, values))
    points = []
    for b, r, *chosen in itertools.product(bits, ratios, *[values for _, _, values in axes]):
        point = {"bits": b, "ratio": None if r is None else float(r), **{knob: {} for knob in KNOBS}}
        for (knob, name, _), value in zip(axes, chosen):
            point[knob][name] = value
        pspec = point_spec(spec, point)
        parse_spec(pspec.to_dict(), f"sweep point {point}")     # the spec's own checks of the knobs
        if pspec.prune["ratios"]:
            check_ratios(pspec.prune["ratios"], pspec.layers)
        check_shapes(pspec, input_shape)
        points.append(point)
    return points


STREAM_IMAGES = 20      # images a point's back-to-back replay streams (the latency uses all)


def evaluate_group(spec_dict: dict, points: list, models_dir: str, images: int, points_dir: str,
                   pnr: bool = False) -> list:
    """One task: train (or reuse) the model these points share, then measure every point (with
    `pnr`, synthesize, place and route it) and write it to points_dir/<id>.json as soon as it is
    done, so that an interrupted sweep keeps it. Returns [(point, result)]. Runs in a worker
    process or a Ray worker."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import qpsnn  # noqa: F401  (the Keras flavour, before TensorFlow)
    from qpsnn.codegen.estimate import design_cycles
    from qpsnn.codegen.resources import design_resources
    from qpsnn.codegen.rtl import spec_design
    from qpsnn.model.data import load_spec_data
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.model.metrics import model_stats, spec_connections
    from qpsnn.model.prune import train_compressed
    from qpsnn.model.keys import model_key
    from qpsnn.model.train import load_trained, save_trained

    base = parse_spec(spec_dict, "<sweep>")
    data = load_spec_data(base)
    first = point_spec(base, points[0])
    model_dir = os.path.join(models_dir, model_key(first))
    start = time.perf_counter()
    cached = load_trained(model_dir, first, data.input_shape)
    trained_spec, model, _ = cached or train_compressed(first, data, verbose=0)
    if not cached:
        save_trained(model_dir, first, model, None)
    train_s = time.perf_counter() - start
    deploy = export_deploy(trained_spec, model, data.input_shape)
    trace = run_golden(deploy, data.x_test)
    accuracy = float((trace.prediction == data.y_test).mean())
    stats = model_stats(deploy, trained_spec, spec_connections(base, data.input_shape))
    x = data.x_test[:images]
    sample = run_golden(deploy, x)
    out = []
    for point in points:
        pspec = after_pruning(point_spec(base, point))
        rtl = spec_design(deploy, pspec)
        # the throughput from the first STREAM_IMAGES back to back: a sweep point in seconds
        cycles = design_cycles(rtl, deploy, x, sample, stream_images=STREAM_IMAGES)
        resources = design_resources(rtl.stages)["total"]
        result = {"accuracy": accuracy, "size_bytes": stats["size_bytes"],
                  "connections_pct": stats["connections_pct"],
                  "cycles_per_image": cycles["cycles_per_image"], "bottleneck": cycles["bottleneck"],
                  "images_per_s_nominal": cycles["estimated_throughput_fps"], "clock_mhz_nominal": cycles["clock_mhz"],
                  "resources": resources, "parallelism": rtl.knobs(),
                  "model_key": model_key(first), "model": "reused" if cached else "trained",
                  "train_s": round(train_s, 1)}
        if pnr:
            result.update(place_point(rtl, result))
            print(f"[qpsnn] sweep: {describe(point)}: placed and routed, Fmax {result['fmax_mhz']:.1f} MHz, "
                  f"{result['synthesis']['LUT']:,} LUT (Yosys), {result['images_per_s_at_fmax']:,.0f} images/s "
                  f"at Fmax ({result['pnr']['seconds']:.0f} s)", flush=True)
        write_atomic(os.path.join(points_dir, f"{point_id(point)}.json"),
                     json.dumps({"point": point, **result}, indent=1, sort_keys=True))
        out.append((point, result))
    return out


def place_point(rtl, result: dict) -> dict:
    """What the flow's rtl step measures of a design beyond the analytic model: the Yosys
    synth_xilinx counts and the ECP5 place and route, the same functions; then the figures at
    the Fmax reached."""
    import tempfile

    from qpsnn.codegen.rtl import write
    from qpsnn.codegen.resources import resource_report
    from qpsnn.steps import at_fmax, place_and_route_report

    with tempfile.TemporaryDirectory() as rtl_dir:
        write(rtl, rtl_dir)
        synthesis = resource_report(rtl, rtl_dir)["synthesis"]
        placed = place_and_route_report(rtl, rtl_dir)
    if "top" not in synthesis or "fmax_mhz" not in placed:
        raise DesignError(f"sweep --pnr: {synthesis.get('skipped') or placed.get('skipped')}")
    return {"synthesis": {**synthesis["top"], "seconds": synthesis["seconds"]}, "pnr": placed,
            **at_fmax(result["cycles_per_image"], result["images_per_s_nominal"], result["clock_mhz_nominal"],
                      placed["fmax_mhz"])}


def point_done(row: dict | None, pnr: bool) -> bool:
    """Whether a point file needs no more work: it is there and, when the sweep places and
    routes, holds its Fmax (a point measured by a sweep without --pnr is placed now)."""
    return row is not None and (not pnr or "fmax_mhz" in row)


def points_to_compute(points: list, points_dir: str, pnr: bool) -> list:
    """The points of a sweep that its directory does not hold finished (a rerun resumes)."""
    return [p for p in points if not point_done(read_point(points_dir, p), pnr)]


def read_point(points_dir: str, point: dict) -> dict | None:
    try:
        with open(os.path.join(points_dir, f"{point_id(point)}.json")) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def seed_models(models_dir: str, flow_dir: str, keys: set, log=print) -> list[str]:
    """Copy a flow's trained model (flow_dir/model, which `qpsnn flow` and `qpsnn prune` save as
    the sweep saves its own) into models_dir/<key> when its key is one of `keys` and that
    directory holds none yet. Returns the keys seeded."""
    from qpsnn.files import read_json
    source = os.path.join(flow_dir, "model")
    meta = read_json(os.path.join(source, "model.json"), "--models-from",
                     "a directory `qpsnn flow` (or `qpsnn prune`) wrote, with model/model.json")
    key = meta.get("key") if isinstance(meta, dict) else None
    if key not in keys:
        log(f"[qpsnn] note: --models-from {flow_dir}: its model (key {key}) is not the model of any point "
            f"to compute ({', '.join(sorted(keys)) or 'none'}): the spec, bits or ratios differ; not used")
        return []
    target = os.path.join(models_dir, key)
    if os.path.exists(os.path.join(target, "model.json")):
        return []
    os.makedirs(models_dir, exist_ok=True)
    staging = f"{target}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in ("model.json", "weights.h5"):
        shutil.copyfile(os.path.join(source, name), os.path.join(staging, name))
    os.replace(staging, target)
    log(f"[qpsnn] sweep: the points of model {key} reuse {source}")
    return [key]


def run_tasks(tasks: list, cfg: SweepConfig):
    """Yield the result of evaluate_group(*task) for every task as it finishes, on a process
    pool or on Ray: one code path, two engines."""
    if cfg.ray:
        import ray
        if cfg.ray == "local":
            ray.init(num_cpus=cfg.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=cfg.ray, log_to_driver=False, configure_logging=False)
        try:
            remote = ray.remote(evaluate_group)
            pending = [remote.remote(*task) for task in tasks]
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            ray.shutdown()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    # spawn: a forked child of a process that has TensorFlow loaded can hang
    with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(evaluate_group, *task) for task in tasks]):
            yield future.result()


def pareto_key(row: dict, placed: bool) -> tuple:
    """What the front ranks, every term lower-better: without place and route accuracy, the
    analytic cycles and LUTs; with it accuracy, the Yosys LUTs and the images per second at Fmax."""
    if placed:
        return (-row["accuracy"], row["synthesis"]["LUT"], -row["images_per_s_at_fmax"])
    return (-row["accuracy"], row["cycles_per_image"], row["resources"]["LUT"])


def pareto(rows: list, placed: bool = False) -> None:
    """Mark rows no other row beats on every term of pareto_key at once (one strictly)."""
    keys = [pareto_key(r, placed) for r in rows]
    for r, k in zip(rows, keys):
        r["pareto"] = not any(all(a <= b for a, b in zip(o, k)) and o != k for o in keys)


def run_sweep(spec: Spec, cfg: SweepConfig, out: str, log=print) -> dict:
    from qpsnn.model.data import load_spec_data
    from qpsnn.model.keys import model_key
    from qpsnn.progress import counted

    check_with_data(spec)       # what `qpsnn validate` checks, before the points' own checks
    data = load_spec_data(spec)
    points = plan(spec, cfg, data.input_shape)
    if cfg.pnr:
        from qpsnn.codegen.pnr import missing_tool
        if missing_tool():
            raise InputError(f"--pnr: {missing_tool()}")
    points_dir, models_dir = os.path.join(out, "points"), os.path.join(out, "models")
    os.makedirs(points_dir, exist_ok=True)
    todo = points_to_compute(points, points_dir, cfg.pnr)
    done = len(points) - len(todo)
    groups: dict = {}
    for p in todo:
        groups.setdefault(model_key(point_spec(spec, p)), []).append(p)
    if cfg.models_from and groups:
        seed_models(models_dir, cfg.models_from, set(groups), log)
    log(f"[qpsnn] sweep: {len(points)} points, {done} already done, {len(todo)} to compute in "
        f"{len(groups)} trainings on " + (f"Ray ({cfg.ray})" if cfg.ray else f"{cfg.workers} processes")
        + (", each point synthesized (Yosys) and placed and routed (nextpnr-ecp5): minutes a point" if cfg.pnr
           else ""))
    spec_dict = spec.to_dict()
    if spec_dict["data"]["dataset"].endswith(".npz"):     # a worker (a Ray one too) may start elsewhere
        spec_dict["data"]["dataset"] = os.path.abspath(spec_dict["data"]["dataset"])
    tasks = [(spec_dict, members, os.path.abspath(models_dir), cfg.images, os.path.abspath(points_dir), cfg.pnr)
             for members in groups.values()]
    start = time.perf_counter()
    for results in counted(run_tasks(tasks, cfg), "sweep trainings", total=len(tasks)):
        for point, result in results:
            log(f"[qpsnn] sweep: {describe(point)}: accuracy {result['accuracy']:.4f}, "
                f"{result['cycles_per_image']:,.0f} cycles, {result['resources']['LUT']:,} LUT")
    rows = [read_point(points_dir, p) for p in points]
    pareto(rows, cfg.pnr)
    summary = {"name": spec.name, "spec": spec.to_dict(), "config": dataclasses.asdict(cfg),
               "computed": len(todo), "reused": done, "wall_s": round(time.perf_counter() - start, 1),
               "rows": rows}
    write_atomic(os.path.join(out, "sweep.json"), json.dumps(summary, indent=1, sort_keys=True))
    table = markdown(rows, cfg.pnr)
    write_atomic(os.path.join(out, "sweep.md"), table)
    write_atomic(os.path.join(out, "sweep.html"), html(summary, table))
    log(table)
    return summary


def describe(point: dict) -> str:
    knobs = ", ".join(f"{k} {n}={v}" for k in KNOBS for n, v in sorted(point[k].items()))
    ratio = "the spec's pruning" if point["ratio"] is None else f"ratio {point['ratio']:g}"
    return f"{point['bits']}-bit, {ratio}" + (f", {knobs}" if knobs else "")


PLACED_NOTE = ("LUT, FF, BRAM18, DSP: Yosys synth_xilinx; Fmax: nextpnr-ecp5 on the LFE5U-85F-6, out of context, "
               "one seed; us / image at Fmax: the analytic cycles per image / Fmax; images/s at Fmax: back to back, "
               f"the cycle model's replay of the first {STREAM_IMAGES} images streamed, at Fmax; Pareto: accuracy "
               "up, Yosys LUT down, images/s at Fmax up.")


def markdown(rows: list, placed: bool = False) -> str:
    if placed:
        lines = ["| point | accuracy % | LUT | FF | BRAM18 | DSP | Fmax (MHz) | cycles / image | us / image at Fmax "
                 "| images/s at Fmax | Pareto |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            syn = r["synthesis"]
            lines.append(f"| {describe(r['point'])} | {100 * r['accuracy']:.2f} | {syn['LUT']:,} | {syn['FF']:,} | "
                         f"{syn['BRAM18']} | {syn['DSP']} | {r['fmax_mhz']:.1f} | {r['cycles_per_image']:,.0f} | "
                         f"{r['us_per_image_at_fmax']:.1f} | {r['images_per_s_at_fmax']:,.0f} | "
                         f"{'yes' if r['pareto'] else ''} |")
        return "\n".join(lines) + "\n\n" + PLACED_NOTE + "\n"
    lines = ["| point | accuracy % | size (bytes) | cycles / image | LUT | FF | BRAM18 | DSP | Pareto |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        res = r["resources"]
        lines.append(f"| {describe(r['point'])} | {100 * r['accuracy']:.2f} | {r['size_bytes']:,} | "
                     f"{r['cycles_per_image']:,.0f} | {res['LUT']:,} | {res['FF']:,} | {res['BRAM18']} | "
                     f"{res['DSP']} | {'yes' if r['pareto'] else ''} |")
    return "\n".join(lines) + "\n"


def html(summary: dict, table: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import markdown as md
    import matplotlib.pyplot as plt

    from qpsnn.report import BLUE, ORANGE, _svg

    rows = summary["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if summary["config"].get("pnr"):
        panels = ((axes[0], lambda r: r["images_per_s_at_fmax"], "images/s at Fmax (back to back, the cycle model)"),
                  (axes[1], lambda r: r["synthesis"]["LUT"], "LUT (Yosys synth_xilinx)"))
    else:
        panels = ((axes[0], lambda r: r["cycles_per_image"], "cycles per image (analytic)"),
                  (axes[1], lambda r: r["resources"]["LUT"], "LUT (analytic)"))
    for ax, xkey, label in panels:
        for front, color, name in ((False, BLUE, "point"), (True, ORANGE, "Pareto front")):
            sel = [r for r in rows if r["pareto"] == front]
            ax.scatter([xkey(r) for r in sel], [100 * r["accuracy"] for r in sel], color=color, label=name)
        ax.set(xlabel=label, ylabel="accuracy (%)")
        ax.legend(fontsize=8)
    fig.suptitle(f"Sweep of {summary['name']}: {len(rows)} points")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>qpsnn sweep: "
            f"{summary['name']}</title></head><body style='font-family:sans-serif;max-width:1100px;margin:auto'>\n"
            f"<h1>qpsnn sweep: {summary['name']}</h1>\n<figure id='fig-pareto'>{_svg(fig)}</figure>\n"
            + md.markdown(table, extensions=["tables"]) + "\n</body></html>\n")
