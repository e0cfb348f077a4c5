"""`qpsnn sweep`: design-space exploration over bit widths, pruning ratios and the parallelism
knobs. For every point: accuracy of the integer golden model on the hold-out images, model
size, accelerator cycles per image (the analytic cycle model, equal to the simulated cycles,
on `images` hold-out images) and resources (the analytic model); then the Pareto front
(accuracy up, cycles and LUTs down), a table and a plot.

Points that differ only in their parallelism knobs share one trained model: the work is
grouped by the model key (model/train.py), a group trains once and evaluates all its points.
Groups run on a local process pool, or as tasks of a Ray cluster (`--ray auto` or an address;
`--ray local` starts one on this machine): the same task function either way. Each finished
point is written to DIR/points/<id>.json at once, so an interrupted sweep resumes where it
stopped and a finished point is never computed again; trained models are kept in
DIR/models/<model key>/ for the same reason.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import os
import time

from qpsnn.errors import InputError
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


def evaluate_group(spec_dict: dict, points: list, models_dir: str, images: int) -> list:
    """One task: train (or reuse) the model these points share, then measure every point.
    Returns [(point, result)]. Runs in a worker process or a Ray worker."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import qpsnn  # noqa: F401  (the Keras flavour, before TensorFlow)
    from qpsnn.codegen.estimate import design_cycles
    from qpsnn.codegen.resources import design_resources
    from qpsnn.codegen.rtl import spec_design
    from qpsnn.model.data import load_dataset
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.model.metrics import model_stats, spec_connections
    from qpsnn.model.prune import train_compressed
    from qpsnn.model.keys import model_key
    from qpsnn.model.train import load_trained, save_trained

    base = parse_spec(spec_dict, "<sweep>")
    data = load_dataset(base.data["dataset"], base.data["test_fraction"], base.data["seed"])
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
        cycles = design_cycles(rtl, deploy, x, sample)
        resources = design_resources(rtl.stages)["total"]
        out.append((point, {"accuracy": accuracy, "size_bytes": stats["size_bytes"],
                            "connections_pct": stats["connections_pct"],
                            "cycles_per_image": cycles["cycles_per_image"], "bottleneck": cycles["bottleneck"],
                            "resources": resources, "parallelism": rtl.knobs(),
                            "model_key": model_key(first), "model": "reused" if cached else "trained",
                            "train_s": round(train_s, 1)}))
    return out


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


def pareto(rows: list) -> None:
    """Mark rows no other row beats on accuracy, cycles and LUTs at once (one strictly)."""
    def key(r):
        return (-r["accuracy"], r["cycles_per_image"], r["resources"]["LUT"])
    for r in rows:
        r["pareto"] = not any(all(a <= b for a, b in zip(key(o), key(r))) and key(o) != key(r) for o in rows)


def run_sweep(spec: Spec, cfg: SweepConfig, out: str, log=print) -> dict:
    from qpsnn.model.data import load_dataset
    from qpsnn.model.keys import model_key
    from qpsnn.progress import counted

    check_with_data(spec)       # what `qpsnn validate` checks, before the points' own checks
    data = load_dataset(spec.data["dataset"], spec.data["test_fraction"], spec.data["seed"])
    points = plan(spec, cfg, data.input_shape)
    points_dir, models_dir = os.path.join(out, "points"), os.path.join(out, "models")
    os.makedirs(points_dir, exist_ok=True)
    done = {pid for pid in (point_id(p) for p in points) if os.path.exists(os.path.join(points_dir, f"{pid}.json"))}
    todo = [p for p in points if point_id(p) not in done]
    groups: dict = {}
    for p in todo:
        groups.setdefault(model_key(point_spec(spec, p)), []).append(p)
    log(f"[qpsnn] sweep: {len(points)} points, {len(done)} already done, {len(todo)} to compute in "
        f"{len(groups)} trainings on " + (f"Ray ({cfg.ray})" if cfg.ray else f"{cfg.workers} processes"))
    spec_dict = spec.to_dict()
    if spec_dict["data"]["dataset"].endswith(".npz"):     # a worker (a Ray one too) may start elsewhere
        spec_dict["data"]["dataset"] = os.path.abspath(spec_dict["data"]["dataset"])
    tasks = [(spec_dict, members, os.path.abspath(models_dir), cfg.images) for members in groups.values()]
    start = time.perf_counter()
    for results in counted(run_tasks(tasks, cfg), "sweep trainings", total=len(tasks)):
        for point, result in results:
            write_atomic(os.path.join(points_dir, f"{point_id(point)}.json"),
                         json.dumps({"point": point, **result}, indent=1, sort_keys=True))
            log(f"[qpsnn] sweep: {describe(point)}: accuracy {result['accuracy']:.4f}, "
                f"{result['cycles_per_image']:,.0f} cycles, {result['resources']['LUT']:,} LUT")
    rows = []
    for p in points:
        with open(os.path.join(points_dir, f"{point_id(p)}.json")) as fh:
            rows.append(json.load(fh))
    pareto(rows)
    summary = {"name": spec.name, "spec": spec.to_dict(), "config": dataclasses.asdict(cfg),
               "computed": len(todo), "reused": len(done), "wall_s": round(time.perf_counter() - start, 1),
               "rows": rows}
    write_atomic(os.path.join(out, "sweep.json"), json.dumps(summary, indent=1, sort_keys=True))
    table = markdown(rows)
    write_atomic(os.path.join(out, "sweep.md"), table)
    write_atomic(os.path.join(out, "sweep.html"), html(summary, table))
    log(table)
    return summary


def describe(point: dict) -> str:
    knobs = ", ".join(f"{k} {n}={v}" for k in KNOBS for n, v in sorted(point[k].items()))
    ratio = "the spec's pruning" if point["ratio"] is None else f"ratio {point['ratio']:g}"
    return f"{point['bits']}-bit, {ratio}" + (f", {knobs}" if knobs else "")


def markdown(rows: list) -> str:
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
    for ax, xkey, label in ((axes[0], lambda r: r["cycles_per_image"], "cycles per image (analytic)"),
                            (axes[1], lambda r: r["resources"]["LUT"], "LUT (analytic)")):
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
