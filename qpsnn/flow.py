"""`qpsnn flow`: spec -> train -> deploy form -> golden -> hls4ml C-sim -> RTL sim -> report.

The output directory is written atomically: everything goes into a temporary sibling that
replaces DIR only when the flow has finished, so a failure or Ctrl-C leaves DIR as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager, nullcontext

import numpy as np

from qpsnn.errors import DesignError, InputError
from qpsnn.progress import running_clock
from qpsnn.tools import check_tools
from qpsnn.spec import Spec, after_pruning, infer_shapes, layer_pe, layer_simd


class Timer:
    def __init__(self):
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, clock: bool = True):
        """A step: its start and end printed, its wall time kept for the report, a running clock
        on a terminal meanwhile (clock=False where the step draws its own bar, as Keras does)."""
        print(f"[qpsnn] {name} ...", flush=True)
        start = time.perf_counter()
        with running_clock(name) if clock else nullcontext():
            yield
        self.stages[name] = round(time.perf_counter() - start, 3)
        print(f"[qpsnn] {name} done in {self.stages[name]:.1f} s", flush=True)


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
    old = None
    if os.path.exists(out):
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.old-", dir=os.path.dirname(out))
        os.rename(out, os.path.join(old, "previous"))
    os.rename(tmp, out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def place_and_route_report(design, rtl_dir: str) -> dict:
    """Fmax of the RTL placed and routed on an ECP5 (codegen/pnr.py), or why it was not run."""
    from qpsnn.codegen.pnr import missing_tool, place_and_route
    reason = missing_tool()
    if reason:
        return {"skipped": reason}
    return place_and_route(rtl_dir, design.sources(rtl_dir), design.top)


def latency_us(latency: dict, fmax: dict) -> dict:
    """Measured cycles per image in microseconds at the placed-and-routed Fmax when there is
    one, and at the nominal clock the analytic figures assume."""
    cycles = latency["cycles_per_image_measured"]
    out = {"nominal": {"clock_mhz": latency["clock_mhz_assumed"],
                       "us_per_image": cycles / latency["clock_mhz_assumed"]}}
    if "fmax_mhz" in fmax:
        out["at_fmax"] = {"clock_mhz": fmax["fmax_mhz"], "device": fmax["device"],
                          "us_per_image": cycles / fmax["fmax_mhz"]}
    return out


def checkpoint_dir(out: str) -> str:
    """Training checkpoints live beside DIR, outside its atomic temporary twin, so that they
    outlive an interrupted flow; a finished flow removes them."""
    return os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.checkpoints")


def run_flow(spec: Spec, out: str, hls: bool = True, rtl: bool = True, resume: bool = False,
             synth: bool = True, pnr: bool = False, table: dict | None = None, retrain: bool = False) -> dict:
    out = check_out_dir(out)
    # heavy imports after validation: bad input answers at once
    from qpsnn.codegen import hls as hls_gen
    from qpsnn.codegen import rtl as rtl_gen
    from qpsnn.codegen.estimate import cycle_model
    from qpsnn.codegen.resources import resource_report
    from qpsnn.codegen.structure import check_structure
    from qpsnn.report import write_reports
    from qpsnn.model.data import load_dataset
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.model.metrics import model_stats, spec_connections, synaptic_ops
    from qpsnn.model.prune import train_compressed
    from qpsnn.model.train import (Checkpoints, float_predict, load_trained, model_key, save_trained,
                                   training_key)
    from qpsnn.sim.network import locate_mismatch, simulate_network
    from qpsnn.sim.runner import lint

    if rtl:
        rtl_gen.check_supported(spec.layers)  # before any slow step: a clear answer first
    check_tools([step for step, on in (("hls", hls), ("rtl", rtl)) if on])
    timer = Timer()
    report: dict = {"name": spec.name, "spec": spec.to_dict()}  # as given, before pruning
    with atomic_dir(out) as work:
        with timer.stage("data"):
            data = load_dataset(spec.data["dataset"], spec.data["test_fraction"], spec.data["seed"])
            infer_shapes(spec, data.input_shape)
            infer_shapes(after_pruning(spec), data.input_shape)   # the knobs fit the pruned network
        unpruned_connections = spec_connections(spec, data.input_shape)
        checkpoints = Checkpoints(checkpoint_dir(out), training_key(spec))
        if not resume:
            checkpoints.clear()
        with timer.stage("train", clock=False):
            given = spec
            cached = None if retrain else load_trained(os.path.join(out, "model"), spec, data.input_shape)
            if cached:
                print(f"[qpsnn] train: the model in {os.path.join(out, 'model')} has this spec's model key: "
                      "reused (--retrain trains again)", flush=True)
                spec, model, pruning = cached
            else:
                spec, model, pruning = train_compressed(spec, data, checkpoints=checkpoints)
            save_trained(os.path.join(work, "model"), given, model, pruning)
            report["cache"] = {"model": "reused" if cached else "trained", "model_key": model_key(given)}
        with timer.stage("export"):
            deploy = export_deploy(spec, model, data.input_shape)
            deploy.save(os.path.join(work, "deploy"))
            # the golden model must read what was written, not what is in memory
            deploy = type(deploy).load(os.path.join(work, "deploy"))
        with timer.stage("golden"):
            float_pred = float_predict(model, data.x_test)
            trace = run_golden(deploy, data.x_test)
            golden_pred = trace.prediction
            rates = {name: float(s.mean()) for name, s in trace.spikes.items()}
        report["accuracy"] = {
            "test_images": int(len(data.y_test)),
            "float_model": float((float_pred == data.y_test).mean()),
            "golden": float((golden_pred == data.y_test).mean()),
            "float_golden_agreement": float((float_pred == golden_pred).mean()),
        }
        report["firing_rate"] = rates
        report["model"] = model_stats(deploy, spec, unpruned_connections)
        report["sops"] = synaptic_ops(deploy, trace)
        if pruning:
            report["pruning"] = pruning
        report["deploy_digest"] = deploy.digest()
        report["bit_exact"] = {}
        mismatched = []
        if hls and spec.verify["hls_images"] > 0:
            with timer.stage("hls"):
                n = min(spec.verify["hls_images"], len(data.x_test))
                images = data.x_test[:n]
                hls_model = hls_gen.convert(deploy, os.path.join(work, "hls"))
                hls_model.compile()
                csim = hls_gen.csim_logits(hls_model, deploy, images)
                golden = trace.logits[:n]
                bad = int(np.any(csim != golden, axis=(1, 2)).sum())
                report["bit_exact"]["hls_csim"] = {"images": n, "mismatches": bad}
                if bad:
                    mismatched.append(f"hls C-sim: {bad} of {n} images")
        design = None
        if rtl and spec.verify["rtl_images"] > 0:
            with timer.stage("rtl"):
                n = min(spec.verify["rtl_images"], len(data.x_test))
                images = data.x_test[:n]
                design = rtl_gen.design(deploy, pe=layer_pe(spec), mode=spec.rtl["mode"], simd=layer_simd(spec))
                rtl_dir = os.path.join(work, "rtl")
                sources = rtl_gen.write(design, rtl_dir)
                lint(sources, design.top, cwd=rtl_dir)
                report["structure"] = check_structure(rtl_dir, design.top, deploy, design.layer_pe,
                                                      design.layer_simd)
                if report["structure"]["problems"]:
                    mismatched.append("rtl structure differs from the deploy form: "
                                      + "; ".join(report["structure"]["problems"]))
                result = simulate_network(sources, design.top, rtl_dir, os.path.join(work, "sim"), images,
                                          trace.logits[:n], design.lane)
                report["bit_exact"]["rtl"] = {"images": n, "mismatches": result.mismatches,
                                              "first_mismatch": result.first_mismatch, "lint": "clean"}
                report["accuracy"]["rtl_class"] = {"images": n,
                                                   "accuracy": float((result.classes == data.y_test[:n]).mean())}
                model = cycle_model(deploy, design.layer_pe, images, run_golden(deploy, images), spec.rtl["mode"],
                                    design.layer_simd)
                report["latency"] = {"cycles_per_image_measured": result.cycles_mean,
                                     "cycles_per_image_max": int(result.cycles.max()),
                                     "cycles_per_image_analytic": model["cycles_per_image"],
                                     "measured_over_analytic": result.cycles_mean / model["cycles_per_image"],
                                     "cycles_per_layer_analytic": model["cycles_per_layer"],
                                     "bottleneck": model["bottleneck"],
                                     "clock_mhz_assumed": model["clock_mhz"],
                                     "estimated_latency_ns": model["estimated_latency_ns"],
                                     "estimated_throughput_fps": model["estimated_throughput_fps"],
                                     "parallelism": {"pe": design.layer_pe, "simd": design.layer_simd},
                                     "mode": spec.rtl["mode"]}
                if result.mismatches:
                    first = int(np.argmax(np.any(result.logits != trace.logits[:n], axis=(1, 2))))
                    image_trace = run_golden(deploy, images[first:first + 1])
                    where = locate_mismatch(sources, design.top, rtl_dir, os.path.join(work, "sim_locate"),
                                            images[first], image_trace, design.lane, design.probes)
                    report["bit_exact"]["rtl"]["first_wrong_spike"] = f"image {first}: {where}"
                    mismatched.append(f"rtl: {result.mismatches} of {n} images; first wrong spike: image {first}, "
                                      f"{where}")
        if design is not None:
            with timer.stage("resources"):
                report["resources"] = resource_report(design, os.path.join(work, "rtl"), synth,
                                                      spec.rtl["part"])
                fit = report["resources"].get("part")
                if fit and fit["overshoot"]:
                    over = ", ".join(f"{k} {fit['capacity'][k] + v:,} of {fit['capacity'][k]:,} (+{v:,})"
                                     for k, v in fit["overshoot"].items())
                    print(f"[qpsnn] warning: the design does not fit {fit['part']} ({fit['counted']} counts): "
                          f"{over}", flush=True)
            if pnr:
                with timer.stage("pnr"):
                    report["fmax"] = place_and_route_report(design, os.path.join(work, "rtl"))
            else:
                report["fmax"] = {"skipped": "not requested (qpsnn flow --pnr runs Yosys synth_ecp5 and "
                                             "nextpnr-ecp5, minutes for the shipped examples)"}
            if "latency" in report:
                report["latency"]["latency_us"] = latency_us(report["latency"], report["fmax"])
        report["timing_s"] = timer.stages
        with open(os.path.join(work, "report.json"), "w") as fh:
            json.dump(report, fh, indent=1)
        write_reports(work, report, table)
    checkpoints.clear()
    if mismatched:
        raise DesignError("bit-exact check failed: " + "; ".join(mismatched) + f" (report: {out}/report.json)")
    return report
