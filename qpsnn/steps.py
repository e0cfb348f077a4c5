"""The steps of the flow, each a small class registered in STEPS, in order:

  train   DIR/trained  quantization-aware training (full precision first when prune.order is
                       prune_first)
  prune   DIR/model    SVS (or the spec's method) channel pruning and fine-tuning; without
                       ratios, the trained model as it is
  export  DIR/deploy   the integer deploy form, the golden model's accuracy and firing on the
                       hold-out set
  hls     DIR/hls      the hls4ml project and its C simulation against the golden model
  rtl     DIR/rtl      the Verilog accelerator: generated, linted, its structure checked, its
                       resources (analytic and Yosys), its Fmax when asked (nextpnr)
  sim     DIR/sim      the RTL simulated under Verilator against the golden model, its cycles
  netlist DIR/netlist  (asked for: `flow --netlist`) the RTL synthesized by Yosys synth_ecp5,
                       simulated at gate level with the ECP5 cell models against the golden model
  board   DIR/board    (asked for: `qpsnn board`) the ULX3S board top (PLL, UART link, the
                       accelerator) simulated at its UART pins against the golden model, placed
                       and routed at the board's pins and clock, and its bitstream

A step reads what the steps it needs wrote in DIR and writes its own directory, with a record
step.json in it: the key of what it made, the keys of its inputs, the key of the spec
parts it depends on (`config`), its result for the report. A record is current while its config
is the spec's and its inputs are the current records' outputs; DIR/report.json is assembled
from the current records, the others are listed as stale with the command that redoes them.
A step's directory is replaced in one rename, so a failure or Ctrl-C leaves the previous one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

import numpy as np

from qpsnn.errors import InputError
from qpsnn.files import replace_dir, write_atomic
from qpsnn.model.keys import digest
from qpsnn.progress import Timer
from qpsnn.spec import Spec, after_pruning, layer_knob

RECORD = "step.json"


@dataclasses.dataclass
class Options:
    synth: bool = True      # Yosys synthesis in the rtl step
    pnr: bool = False       # place and route in the rtl step
    retrain: bool = False   # run train and prune even when DIR holds their current result
    resume: bool = False    # continue an interrupted training from its checkpoints
    allow_timing_fail: bool = False   # the board's bitstream even when place and route misses its clock


def checkpoint_dir(out: str) -> str:
    """Training checkpoints live beside DIR, outside its atomic temporary twin, so that they
    outlive an interrupted run; a finished training removes them."""
    return os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.checkpoints")


def clear_checkpoints(out: str) -> None:
    """After a finished training its checkpoints are of no use."""
    shutil.rmtree(checkpoint_dir(out), ignore_errors=True)


class Workspace:
    """Where the steps write (`root`), where a cached result may be taken from (`previous`:
    DIR itself for a single step, the DIR being replaced for a flow), the spec, the options,
    and what the steps of one run share in memory (the data set, the loaded deploy form)."""

    def __init__(self, spec: Spec, root: str, out: str, options: Options, previous: str | None = None):
        self.spec, self.root, self.out, self.options = spec, root, out, options
        self.previous = previous or root
        self.model_spec = after_pruning(spec) if spec.prune["ratios"] else spec
        self._data = None
        self._deploy = None

    def data(self, timer: Timer | None = None):
        timer = timer or Timer()
        if self._data is None:
            from qpsnn.model.data import load_spec_data
            with timer.stage("data"):
                data = load_spec_data(self.spec)
            for note in data.notes:
                print(f"[qpsnn] note: {note}", flush=True)
            self._data = data
        return self._data

    def checkpoints(self):
        """The training checkpoints of this spec (both phases), beside DIR."""
        from qpsnn.model.keys import training_key
        from qpsnn.model.train import Checkpoints
        return Checkpoints(checkpoint_dir(self.out), training_key(self.spec))

    def path(self, step: str, root: str | None = None) -> str:
        return os.path.join(root or self.root, STEPS[step].directory)

    def record(self, step: str, root: str | None = None) -> dict | None:
        try:
            with open(os.path.join(self.path(step, root), RECORD)) as fh:
                record = json.load(fh)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("step") == step else None

    def why_not_current(self, step: str, root: str | None = None) -> str | None:
        """None when DIR/<step> holds a result of this spec made from the current inputs, else why not."""
        record = self.record(step, root)
        if record is None:
            return "not run"
        if record.get("config") != STEPS[step].config_key(self):
            return "made for another spec: the part of the spec it depends on differs"
        for need in STEPS[step].needs:
            if self.why_not_current(need, root) is not None:
                return f"made from a {need} result that is not current"
            if record.get("inputs", {}).get(need) != self.record(need, root)["key"]:
                return f"made from another {need} result"
        return None

    def first_not_current(self, step: str) -> str | None:
        """The earliest step, of `step` and those it needs, whose result is not current."""
        for need in STEPS[step].needs:
            first = self.first_not_current(need)
            if first:
                return first
        return step if self.why_not_current(step) is not None else None

    def require(self, step: str) -> dict:
        """The current record of a step another one needs, or InputError saying what to run."""
        why = self.why_not_current(step)
        if why is not None:
            first = self.first_not_current(step)
            spec = self.spec.source if self.spec.source and not self.spec.source.startswith("<") else "SPEC"
            then = "" if first == step else " and the steps after it"
            raise InputError(f"{self.path(step, self.out)}: {why}; run `qpsnn {first} --spec {spec} --out {self.out}`"
                             f"{then} first (or `qpsnn flow`, which runs every step)")
        return self.record(step)

    def deploy(self):
        """The deploy form in DIR/deploy, loaded once per export result."""
        key = self.record("export")["key"]
        if self._deploy is None or self._deploy[0] != key:
            from qpsnn.model.deploy import Deploy
            self._deploy = (key, Deploy.load(self.path("export")))
        return self._deploy[1]


class Step:
    """One step. `config` is what of the spec and the options its output depends on; `run`
    writes into `out_dir` and returns (result for the report, problems of the design); `key`
    names what it made from its result (by default its config and inputs; content digests
    where there is a content); `report` puts a current record's result into the report."""
    name = ""                # the subcommand
    directory = ""           # DIR/<directory> holds what it made and its record
    needs: tuple = ()
    cached = False           # reused when its current result is in DIR (the trainings)
    tools: tuple = ()        # qpsnn.tools step names whose tools must be present
    optional = False         # run only when asked (flow --netlist): the report leaves it out until then
    help = ""

    def config(self, ws: Workspace) -> dict:
        return {}

    def config_key(self, ws: Workspace) -> str:
        import qpsnn
        return digest({"config": self.config(ws), "version": qpsnn.__version__})

    def run(self, ws: Workspace, out_dir: str, timer: Timer) -> tuple[dict, list]:
        raise NotImplementedError

    def key(self, result: dict, config_key: str, inputs: dict) -> str:
        return digest({"config": config_key, "inputs": inputs})

    def report(self, record: dict, report: dict) -> None:
        pass

    def notes(self, ws: Workspace) -> list[str]:
        """Optional tools missing here: the step runs without them, the user hears it up front."""
        return []


def check_tools_of(ws: Workspace, names: list[str]) -> None:
    """Before any work: InputError for a missing tool a step needs, a note for an optional one."""
    from qpsnn.tools import check_tools
    check_tools(sorted({tool for name in names for tool in STEPS[name].tools}))
    for name in names:
        for note in STEPS[name].notes(ws):
            print(f"[qpsnn] note: {note}", flush=True)


STEPS: dict[str, Step] = {}


def register(cls):
    STEPS[cls.name] = cls()
    return cls


@register
class Train(Step):
    name = "train"
    directory = "trained"
    cached = True
    help = "quantization-aware training of the spec's network (DIR/trained)"

    def config(self, ws):
        from qpsnn.model.keys import trained_key
        return {"trained": trained_key(ws.spec)}

    def run(self, ws, out_dir, timer):
        from qpsnn.model.keys import first_quantized
        from qpsnn.model.train import save_model, train_model
        data = ws.data(timer)
        checkpoints = ws.checkpoints()
        if not ws.options.resume:
            checkpoints.clear()   # both phases: a fine-tuning belongs to the training before it
        with timer.stage("train", clock=False):
            model = train_model(ws.spec, data, quantized=first_quantized(ws.spec), checkpoints=checkpoints)
        save_model(out_dir, model, {"key": self.config_key(ws), "quantized": first_quantized(ws.spec)})
        return {}, []

    def load(self, ws: Workspace, input_shape):
        from qpsnn.model.builder import build_model
        from qpsnn.model.keys import first_quantized
        from qpsnn.model.train import load_model
        loaded = load_model(ws.path(self.name), self.config_key(ws),
                            lambda: build_model(ws.spec, input_shape, quantized=first_quantized(ws.spec)))
        if loaded is None:
            raise InputError(f"{ws.path(self.name)}: the trained model cannot be read; run `qpsnn train --retrain`")
        return loaded[0]


@register
class Prune(Step):
    name = "prune"
    directory = "model"
    needs = ("train",)
    cached = True
    help = "channel pruning by the spec's criterion (SVS) and fine-tuning (DIR/model)"

    def config(self, ws):
        from qpsnn.model.keys import model_key
        return {"model": model_key(ws.spec)}

    def run(self, ws, out_dir, timer):
        from qpsnn.model.prune import prune_model
        from qpsnn.model.train import save_trained
        data = ws.data(timer)
        trained = STEPS["train"].load(ws, data.input_shape)
        pruning = None
        if ws.spec.prune["ratios"]:
            checkpoints = ws.checkpoints()
            if not ws.options.resume:
                checkpoints.clear("finetune")
            with timer.stage("prune", clock=False):
                _, model, pruning = prune_model(ws.spec, trained, data, checkpoints=checkpoints)
        else:
            print("[qpsnn] prune: the spec prunes nothing (prune.ratios empty): the trained model is the model",
                  flush=True)
            model = trained
        save_trained(out_dir, ws.spec, model, pruning)
        return {"pruning": pruning}, []

    def load(self, ws: Workspace, input_shape):
        from qpsnn.model.train import load_trained
        loaded = load_trained(ws.path(self.name), ws.spec, input_shape)
        if loaded is None:
            raise InputError(f"{ws.path(self.name)}: the pruned model cannot be read; run `qpsnn prune --retrain`")
        return loaded[1]

    def report(self, record, report):
        if record["result"]["pruning"]:
            report["pruning"] = record["result"]["pruning"]


@register
class Export(Step):
    name = "export"
    directory = "deploy"
    needs = ("prune",)
    help = "the integer deploy form (DIR/deploy) and the golden model's accuracy and firing"

    def config(self, ws):
        return {"reference": ws.spec.reference}

    def run(self, ws, out_dir, timer):
        from qpsnn.model.deploy import Deploy, export_deploy
        from qpsnn.model.golden import run_golden
        from qpsnn.model.metrics import model_stats, spec_connections, synaptic_ops
        from qpsnn.model.train import float_predict
        data = ws.data(timer)
        model = STEPS["prune"].load(ws, data.input_shape)
        with timer.stage("export"):
            export_deploy(ws.model_spec, model, data.input_shape).save(out_dir)
            deploy = Deploy.load(out_dir)   # the golden model reads what was written, not what is in memory
        with timer.stage("golden"):
            float_pred = float_predict(model, data.x_test)
            trace = run_golden(deploy, data.x_test)
        accuracy = {"test_images": int(len(data.y_test)),
                    "float_model": float((float_pred == data.y_test).mean()),
                    "golden": float((trace.prediction == data.y_test).mean()),
                    "float_golden_agreement": float((float_pred == trace.prediction).mean())}
        if ws.spec.reference:         # the float graph it was imported from, at its dt
            from qpsnn.model.nir_reference import agreement, simulate
            ref = ws.spec.reference
            with timer.stage("reference"):
                ref_pred = simulate(ref["nir"], data.x_test, ws.spec.time_steps, ref["dt"], ref["scheme"], ref["reset"],
                                    ref["strict"], ref["if_per_step"])
            accuracy["reference"] = float((ref_pred == data.y_test).mean())
            accuracy["reference_golden_agreement"] = agreement(ref_pred, trace.prediction)
        firing = {name: float(s.mean()) for name, s in trace.spikes.items()}
        warnings = network_warnings(accuracy["golden"], data.n_classes, firing)
        for warning in warnings:
            print(f"[qpsnn] warning: {warning}", flush=True)
        return {"accuracy": accuracy, "data": {"source": data.source, "train_images": int(len(data.y_train))},
                "firing_rate": firing, "warnings": warnings,
                "model": model_stats(deploy, ws.model_spec, spec_connections(ws.spec, data.input_shape)),
                "sops": synaptic_ops(deploy, trace, data.x_test), "deploy_digest": deploy.digest()}, []

    def key(self, result, config_key, inputs):
        return result["deploy_digest"]         # of the deploy form as written and read back

    def report(self, record, report):
        result = record["result"]
        report["accuracy"] = dict(result["accuracy"])
        if "data" in result:        # records made before the data source was recorded have none
            report["data"] = dict(result["data"])
        for section in ("firing_rate", "model", "sops", "deploy_digest"):
            report[section] = result[section]
        if result.get("warnings"):
            report.setdefault("warnings", []).extend(result["warnings"])


def network_warnings(accuracy: float, classes: int, firing: dict) -> list[str]:
    """What a user must hear about a network that passes every bit-exact check: an accuracy no
    better than guessing, a LIF layer that never fires (nothing after it can learn or infer)
    or fires at every step of every neuron (it carries no information)."""
    warnings = []
    chance = 1.0 / max(classes, 1)
    if accuracy <= 1.5 * chance:
        warnings.append(f"the golden model classifies {accuracy:.1%} of the hold-out images, near chance "
                        f"({chance:.1%} for {classes} classes): the network did not learn (more epochs, another "
                        "learning rate or threshold), or its weights did not come through (check the import)")
    for name, rate in firing.items():
        if rate == 0.0:
            warnings.append(f"LIF layer {name!r} never fires on the hold-out images: every layer after it sees "
                            "no spikes (lower its threshold, or check the weights feeding it)")
        elif rate == 1.0:
            warnings.append(f"LIF layer {name!r} fires at every step of every neuron: its spikes carry no "
                            "information (raise its threshold)")
    return warnings


def hold_out(ws: Workspace, count: int, timer: Timer):
    """The first `count` hold-out images and the golden model's trace of them."""
    from qpsnn.model.golden import run_golden
    data = ws.data(timer)
    n = min(count, len(data.x_test))
    return data.x_test[:n], data.y_test[:n], run_golden(ws.deploy(), data.x_test[:n])


@register
class Hls(Step):
    name = "hls"
    directory = "hls"
    needs = ("export",)
    tools = ("hls",)
    help = "the hls4ml project (DIR/hls) and its C simulation, bit for bit against the golden model"

    def config(self, ws):
        return {"images": ws.spec.verify["hls_images"]}

    def run(self, ws, out_dir, timer):
        from qpsnn.codegen import hls as hls_gen
        images, _, golden = hold_out(ws, ws.spec.verify["hls_images"], timer)
        with timer.stage("hls"):
            hls_model = hls_gen.convert(ws.deploy(), out_dir)
            hls_model.compile()
            csim = hls_gen.csim_logits(hls_model, ws.deploy(), images)
        n = len(images)
        bad = int(np.any(csim != golden.logits, axis=(1, 2)).sum())
        return {"hls_csim": {"images": n, "mismatches": bad}}, [f"hls C-sim: {bad} of {n} images"] if bad else []

    def report(self, record, report):
        report["bit_exact"]["hls_csim"] = record["result"]["hls_csim"]


FOLD_IMAGES = 8     # training images the cycle model streams back to back for each folding tried
# ... and for the one chosen, whose prediction the report gives: on 8 images a prediction was
# 4-6% off the hold-out's 200 measured (the small end 47,725 cycles against 45,228, the fast end
# 2,502 against 2,400), on 32 within 1%, on 128 within 1% (2026-12-05)
FOLD_CHECK_IMAGES = 64


def folding(ws: Workspace) -> dict | None:
    """The folding rtl.target_images_per_s or rtl.lut_budget asks for (codegen/fold.py), on
    training images, never the hold-out; the knobs set in the spec kept. Once per run."""
    rtl = ws.model_spec.rtl
    if rtl["target_images_per_s"] is None and rtl["lut_budget"] is None:
        return None
    if getattr(ws, "_folding", None) is None:
        from qpsnn.codegen.fold import Folder, fold
        from qpsnn.codegen.rtl import KNOBS
        from qpsnn.model.golden import run_golden
        deploy = ws.deploy()
        images = ws.data().x_train[:FOLD_IMAGES]
        folded = fold(deploy, images, run_golden(deploy, images), rtl["mode"], rtl["time_chunk"],
                      {k: layer_knob(ws.model_spec, k) for k in KNOBS}, rtl["target_images_per_s"],
                      rtl["lut_budget"], rtl["clock_mhz"])
        check = ws.data().x_train[:FOLD_CHECK_IMAGES]
        folded["point"] = Folder(deploy, check, run_golden(deploy, check), rtl["mode"],
                                 rtl["time_chunk"]).evaluate(folded["knobs"])
        target, streams = rtl["target_images_per_s"], folded["point"].images_per_s(folded["clock_mhz"])
        if target is not None and streams < target:
            print(f"[qpsnn] warning: the folding chosen on {FOLD_IMAGES} training images streams "
                  f"{streams:,.0f} images/s on {FOLD_CHECK_IMAGES} at {folded['clock_mhz']:g} MHz, "
                  f"below rtl.target_images_per_s ({target:,.0f})", flush=True)
        ws._folding = folded
    return ws._folding


def folding_report(ws: Workspace, folded: dict) -> dict:
    """What the folding chose and why: the target, every layer's knobs and own cycles, the
    bottleneck, the predicted interval, and the path of moves it took."""
    point, clock = folded["point"], folded["clock_mhz"]
    rtl = ws.model_spec.rtl
    return {"target_images_per_s": rtl["target_images_per_s"], "lut_budget": rtl["lut_budget"],
            "clock_mhz": clock, "knobs": point.knobs,
            "images": f"{FOLD_IMAGES} training images back to back for each folding tried, "
                      f"{FOLD_CHECK_IMAGES} for the one chosen (its prediction here)",
            "stage_cycles": point.stage_cycles, "bottleneck": point.bottleneck,
            "interval_cycles_predicted": point.interval, "images_per_s_predicted": point.images_per_s(clock),
            "luts_predicted": point.luts,
            "path": [{"move": p.move, "interval_cycles": p.interval, "luts": p.luts} for p in folded["path"]]}


def rtl_design(ws: Workspace):
    from qpsnn.codegen.rtl import spec_design
    folded = folding(ws)
    return spec_design(ws.deploy(), ws.model_spec, **(folded["knobs"] if folded else {}))


@register
class Rtl(Step):
    name = "rtl"
    directory = "rtl"
    needs = ("export",)
    tools = ("rtl",)
    help = ("the streaming accelerator in Verilog (DIR/rtl): generated, linted, its structure checked, "
            "its resources (analytic and Yosys) and, with --pnr, its Fmax")

    def config(self, ws):
        from qpsnn.codegen.rtl import KNOBS
        spec = ws.model_spec
        # not --no-synth / --pnr: they add figures to the report, the Verilog is the same
        return {**{knob: layer_knob(spec, knob) for knob in KNOBS}, "mode": spec.rtl["mode"], "part": spec.rtl["part"],
                "clock_mhz": spec.rtl.get("clock_mhz"), "time_chunk": spec.rtl["time_chunk"],
                "target_images_per_s": spec.rtl["target_images_per_s"], "lut_budget": spec.rtl["lut_budget"]}

    def run(self, ws, out_dir, timer):
        from qpsnn.codegen import rtl as rtl_gen
        from qpsnn.codegen.resources import resource_report
        from qpsnn.codegen.structure import check_structure
        from qpsnn.sim.runner import lint
        problems = []
        with timer.stage("rtl"):
            design = rtl_design(ws)
            sources = rtl_gen.write(design, out_dir)
            lint(sources, design.top, cwd=out_dir)
            structure = check_structure(out_dir, design.top, ws.deploy(), design.layer_pe, design.layer_simd,
                                        design.layer_lanes, design.time_chunk)
        if structure["problems"]:
            problems.append("rtl structure differs from the deploy form: " + "; ".join(structure["problems"]))
        with timer.stage("resources"):
            resources = resource_report(design, out_dir, ws.options.synth, ws.spec.rtl["part"])
        fit = resources.get("part")
        if fit and fit["overshoot"]:
            over = ", ".join(f"{k} {fit['capacity'][k] + v:,} of {fit['capacity'][k]:,} (+{v:,})"
                             for k, v in fit["overshoot"].items())
            print(f"[qpsnn] warning: the design does not fit {fit['part']} ({fit['counted']} counts): {over}",
                  flush=True)
        if ws.options.pnr:
            with timer.stage("pnr"):
                fmax = place_and_route_report(design, out_dir)
            target = ws.spec.rtl.get("clock_mhz")
            if target and fmax.get("fmax_mhz", target) < target:
                path = fmax.get("critical_path") or {}
                fmax["warning"] = (f"place and route reached {fmax['fmax_mhz']:.1f} MHz, below the {target:g} MHz "
                                   f"target; critical path {path.get('ns')} ns through "
                                   f"{' -> '.join(path.get('through', [])) or 'unknown'}")
                print(f"[qpsnn] warning: {fmax['warning']}", flush=True)
        else:
            fmax = {"skipped": "not requested (--pnr runs Yosys synth_ecp5 and nextpnr-ecp5, minutes for the "
                               "shipped examples)"}
        out = {"structure": structure, "resources": resources, "fmax": fmax, "lint": "clean",
               "verilog_digest": digest(design.files)}
        folded = folding(ws)
        if folded:
            out["folding"] = folding_report(ws, folded)
        return out, problems

    def key(self, result, config_key, inputs):
        return result["verilog_digest"]

    def notes(self, ws):
        from qpsnn.codegen.pnr import missing_tool
        from qpsnn.codegen.synth import YOSYS_INSTALL, find_yosys
        notes = []
        if ws.options.synth and find_yosys() is None:
            notes.append(f"yosys not found: the resources will be the analytic model's only (--no-synth says "
                         f"so without this note); install: {YOSYS_INSTALL}")
        if ws.options.pnr and missing_tool():
            notes.append(f"no place and route (--pnr): {missing_tool()}")
        return notes

    def report(self, record, report):
        for section in ("structure", "resources", "fmax", "folding"):
            if section in record["result"]:
                report[section] = record["result"][section]
        report["bit_exact"]["rtl"] = {"lint": record["result"]["lint"]}


def place_and_route_report(design, rtl_dir: str) -> dict:
    """Fmax of the RTL placed and routed on an ECP5 (codegen/pnr.py), or why it was not run."""
    from qpsnn.codegen.pnr import missing_tool, place_and_route
    reason = missing_tool()
    if reason:
        return {"skipped": reason}
    return place_and_route(rtl_dir, design.sources(rtl_dir), design.top)


def verify_rtl(ws: Workspace, images, labels, golden, out_dir: str, timer: Timer) -> tuple[dict, list]:
    """The RTL in DIR/rtl simulated on `images` (each alone, then back to back), every readout
    value against the golden model's trace `golden`, and the cycles against the cycle model:
    (result, problems). The sim step runs it on the hold-out images; the API on a user's."""
    from qpsnn.codegen.estimate import design_cycles
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import locate_mismatch, simulate_network
    n = len(images)
    design = rtl_design(ws)
    rtl_dir = ws.path("rtl")
    sources = design.sources(rtl_dir)
    mode = ws.model_spec.rtl["mode"]
    with timer.stage("sim"):
        # each image alone, then the same images back to back
        result = simulate_network(sources, design.top, rtl_dir, out_dir, images, golden.logits, design.lane,
                                  mode="both")
    bit_exact = {"images": n, "mismatches": result.mismatches, "first_mismatch": result.first_mismatch}
    model = design_cycles(design, ws.deploy(), images, golden)
    latency = {"cycles_per_image_measured": result.cycles_mean,
               "cycles_per_image_max": int(result.cycles.max()),
               "cycles_per_image_analytic": model["cycles_per_image"],
               "measured_over_analytic": result.cycles_mean / model["cycles_per_image"],
               # the model replays every handshake: it should predict each image's cycles exactly
               "images_cycles_differ": int((result.cycles != model["cycles_per_image_each"]).sum()),
               "cycles_per_layer_analytic": model["cycles_per_layer"],
               "bottleneck": model["bottleneck"],
               "clock_mhz_assumed": model["clock_mhz"],
               "estimated_latency_ns": model["estimated_latency_ns"],
               "estimated_throughput_fps": model["estimated_throughput_fps"],
               # back to back: the cycle each image's class came, from the first pixel in
               "back_to_back": {
                   "cycles_per_image_measured": float(result.stream_cycles[-1]) / n,
                   "cycles_per_image_analytic": model["stream_cycles_per_image"],
                   "images_cycles_differ": int((result.stream_cycles != model["stream_cycles_each"]).sum())},
               "parallelism": design.knobs(),
               # T streams through in passes of time_chunk steps, the membranes kept between them
               "time_chunk": design.time_chunk, "passes": design.passes,
               "mode": mode}
    problems = []
    if result.mismatches:
        first = int(np.argmax(np.any(result.logits != golden.logits, axis=(1, 2))))
        where = locate_mismatch(sources, design.top, rtl_dir, os.path.join(out_dir, "locate"), images[first],
                                run_golden(ws.deploy(), images[first:first + 1]), design.lane, design.probes)
        bit_exact["first_wrong_spike"] = f"image {first}: {where}"
        problems.append(f"rtl: {result.mismatches} of {n} images; first wrong spike: image {first}, {where}")
    return {"rtl": bit_exact, "rtl_class": {"images": n, "accuracy": float((result.classes == labels).mean())},
            "latency": latency}, problems


@register
class Sim(Step):
    name = "sim"
    directory = "sim"
    needs = ("export", "rtl")
    tools = ("rtl",)
    help = ("the RTL simulated under Verilator (DIR/sim), bit for bit against the golden model, and its "
            "cycles per image next to the analytic cycle model")

    def config(self, ws):
        return {"images": ws.spec.verify["rtl_images"]}

    def run(self, ws, out_dir, timer):
        images, labels, golden = hold_out(ws, ws.spec.verify["rtl_images"], timer)
        return verify_rtl(ws, images, labels, golden, out_dir, timer)

    def report(self, record, report):
        result = record["result"]
        report["bit_exact"]["rtl"] = dict(report["bit_exact"].get("rtl", {}), **result["rtl"])
        report.setdefault("accuracy", {})["rtl_class"] = result["rtl_class"]
        report["latency"] = dict(result["latency"])


@register
class Netlist(Step):
    name = "netlist"
    directory = "netlist"
    needs = ("export", "rtl")
    tools = ("netlist",)
    optional = True
    help = ("the gate-level check (DIR/netlist): the RTL synthesized by Yosys synth_ecp5 (the netlist place and "
            "route starts from), simulated with the ECP5 cell models under Verilator, bit for bit against the "
            "golden model")

    def config(self, ws):
        return {"images": ws.spec.verify["netlist_images"]}

    def run(self, ws, out_dir, timer):
        from qpsnn.codegen.estimate import design_cycles
        from qpsnn.codegen.netlist import netlist_sources, sim_top, synthesize_netlist
        from qpsnn.sim.network import simulate_network
        images, _, golden = hold_out(ws, ws.spec.verify["netlist_images"], timer)
        n = len(images)
        design = rtl_design(ws)
        rtl_dir = ws.path("rtl")
        with timer.stage("netlist_synth"):
            netlist = synthesize_netlist(rtl_dir, design.sources(rtl_dir), design.top, out_dir)
        with timer.stage("netlist_sim"):
            # the wrapper's ports are the RTL top's: the RTL's testbench drives them unchanged
            result = simulate_network(netlist_sources(out_dir), sim_top(design.top), out_dir,
                                      os.path.join(out_dir, "sim"), images, golden.logits, design.lane,
                                      gate_level=True)
        shutil.rmtree(os.path.join(out_dir, "sim", "sim_build"), ignore_errors=True)   # hundreds of MB
        # the netlist takes the cycles the RTL takes: the analytic model predicts both, image by image
        model = design_cycles(design, ws.deploy(), images, golden)
        check = {"images": n, "mismatches": result.mismatches, "first_mismatch": result.first_mismatch,
                 "cells": netlist["cells"], "cells_total": netlist["cells_total"], "cell_models": netlist["models"],
                 "cycles_per_image": result.cycles_mean, "seconds": {k: round(v, 1) for k, v in timer.stages.items()
                                                                     if k.startswith("netlist")},
                 "command": netlist["command"]}
        differ = int((result.cycles != model["cycles_per_image_each"]).sum())
        check["images_cycles_differ_from_analytic"] = differ
        problems = [f"netlist: {result.mismatches} of {n} images; first: {result.first_mismatch}"] \
            if result.mismatches else []
        if differ:   # the RTL takes exactly the analytic cycles (the tests hold it): the netlist behaves otherwise
            problems.append(f"netlist: {differ} of {n} images take other cycles than the RTL's (the analytic model's)")
        return {"netlist": check}, problems

    def report(self, record, report):
        report["bit_exact"]["netlist"] = record["result"]["netlist"]


def board_clock(spec: Spec) -> float:
    """The board's accelerator clock: the spec's rtl.clock_mhz (the clock its RTL was made for),
    else codegen/board.py's default."""
    from qpsnn.codegen.board import DEFAULT_CLOCK_MHZ
    return spec.rtl.get("clock_mhz") or DEFAULT_CLOCK_MHZ


@register
class Board(Step):
    name = "board"
    directory = "board"
    needs = ("export", "rtl")
    tools = ("board",)
    optional = True
    help = ("the accelerator on the ULX3S board (DIR/board): the board top (PLL, UART link) simulated at its "
            "UART pins against the golden model, placed and routed at the board's pins and PLL clock "
            "(nextpnr-ecp5), and the bitstream DIR/board/qpsnn.bit; `qpsnn board send` runs hold-out images "
            "through a board on a serial port")

    def config(self, ws):
        # not --allow-timing-fail: it decides whether the bitstream is written, not what is made
        return {"images": ws.spec.verify["board_images"], "clock_mhz": board_clock(ws.spec)}

    def run(self, ws, out_dir, timer):
        from qpsnn.codegen import board as board_gen
        from qpsnn.codegen.pnr import missing_tool, place_and_route
        from qpsnn.sim.board import SIM_CLKS_PER_BIT, simulate_board
        if missing_tool():
            raise InputError(f"board: {missing_tool()}")
        if ws.spec.encoding == "events":
            raise InputError("board: the UART link frames 8-bit images; a network with encoding: events has no board "
                             "framing yet (its RTL, netlist and simulation are checked by flow, netlist)")
        images, labels, golden = hold_out(ws, ws.spec.verify["board_images"], timer)
        design = rtl_design(ws)
        if design.passes > 1:
            raise InputError(f"board: the UART link frames an image in one pass, but time_steps {ws.spec.time_steps} "
                             f"streams in {design.passes} passes of {design.time_chunk} steps; accepted: one pass "
                             "(rtl.time_chunk equal to time_steps, the default up to 32 steps)")
        frame = board_gen.frame_of(design, ws.deploy())
        clock = board_clock(ws.spec)
        with timer.stage("board_generate"):
            made = board_gen.write_board(design, frame, ws.path("rtl"), out_dir, clock)
        config = os.path.join(out_dir, "qpsnn.config")
        with timer.stage("board_pnr"):
            # the fit check sees the synthesized cells before nextpnr runs
            placed = place_and_route(out_dir, made["sources"], made["top"], target_mhz=made["clock_mhz"],
                                     lpf=os.path.join(out_dir, board_gen.LPF.name), textcfg=config,
                                     check_cells=board_gen.check_fit, path_levels=2)
        with timer.stage("board_sim"):
            sim = simulate_board(made["sim_sources"], made["top"], out_dir, os.path.join(out_dir, "sim"), frame,
                                 images, golden.logits)
        shutil.rmtree(os.path.join(out_dir, "sim", "sim_build"), ignore_errors=True)
        met = all(c["achieved_mhz"] >= c["constraint_mhz"] for c in placed["clocks"].values())
        path = placed.get("critical_path") or {}
        result = {"board": board_gen.BOARD_NAME, "top": made["top"], "clock_mhz": made["clock_mhz"],
                  "clks_per_bit": made["clks_per_bit"], "frame": frame.to_dict(),
                  "timing_met": met, "fmax_mhz": placed["fmax_mhz"], "critical_path": path,
                  "used": board_gen.used_resources(placed["cells"]), "capacity": board_gen.CAPACITY,
                  "placed": placed["utilization"], "pnr_seconds": placed["seconds"], "commands": placed["commands"],
                  "simulation": {"images": sim.images, "mismatches": sim.mismatches,
                                 "first_mismatch": sim.first_mismatch,
                                 "accuracy": float((sim.classes == labels).mean()),
                                 "clks_per_bit": SIM_CLKS_PER_BIT, "pll": "bypassed (Verilator has no EHXPLLL model)"}}
        if not met:
            result["warning"] = (f"place and route reached {placed['fmax_mhz']:.1f} MHz, below the board's "
                                 f"{made['clock_mhz']:g} MHz PLL clock; critical path {path.get('ns')} ns through "
                                 f"{' -> '.join(path.get('through', [])) or 'unknown'}")
            print(f"[qpsnn] warning: {result['warning']}", flush=True)
        problems = [f"board top: {sim.mismatches} of {sim.images} images; first: {sim.first_mismatch}"] \
            if sim.mismatches else []
        if (met or ws.options.allow_timing_fail) and not problems:
            with timer.stage("board_pack"):
                board_gen.pack_bitstream(config, os.path.join(out_dir, board_gen.BITSTREAM))
            result["bitstream"] = board_gen.BITSTREAM
            result["bitstream_bytes"] = os.path.getsize(os.path.join(out_dir, board_gen.BITSTREAM))
        else:
            result["bitstream"] = None
            result["bitstream_not_written"] = ("the board top differs from the golden model" if problems else
                                               "timing not met (--allow-timing-fail writes it anyway)")
        os.remove(config)       # the bitstream's text form, megabytes: ecppack has read it
        return {"board": result}, problems

    def report(self, record, report):
        report["board"] = record["result"]["board"]
        sim = record["result"]["board"]["simulation"]
        report["bit_exact"]["board_top"] = {"images": sim["images"], "mismatches": sim["mismatches"],
                                            "first_mismatch": sim["first_mismatch"]}


def run_step(ws: Workspace, name: str) -> tuple[dict, list]:
    """Run one step into ws.root (its inputs must be current there), or take its current result
    from ws.previous when the step is cached. Returns (its record, problems of the design)."""
    step = STEPS[name]
    inputs = {need: ws.require(need)["key"] for need in step.needs}
    config_key = step.config_key(ws)
    if step.cached and not ws.options.retrain:
        record = ws.record(name, ws.previous)
        if record and record.get("config") == config_key and record.get("inputs") == inputs:
            if ws.previous != ws.root:
                shutil.copytree(ws.path(name, ws.previous), ws.path(name))
            record["cache"] = "reused"
            write_atomic(os.path.join(ws.path(name), RECORD), json.dumps(record, indent=1))
            print(f"[qpsnn] {name}: {ws.path(name, ws.out)} holds this spec's result: reused "
                  "(--retrain runs it again)", flush=True)
            return record, []
    os.makedirs(ws.root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=ws.root)
    try:
        timer = Timer()
        result, problems = step.run(ws, staging, timer)
        record = {"step": name, "config": config_key, "inputs": inputs,
                  "key": step.key(result, config_key, inputs), "result": result, "problems": problems,
                  "timing_s": timer.stages, "cache": "made"}
        with open(os.path.join(staging, RECORD), "w") as fh:
            json.dump(record, fh, indent=1)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_dir(staging, ws.path(name))
    return record, problems


def at_fmax(cycles_per_image: float, images_per_s_nominal: float, nominal_mhz: float, fmax_mhz: float) -> dict:
    """A design's figures at the clock place and route reached: the latency (cycles per image
    / Fmax) and the back-to-back throughput (the cycle model's interval, which it gives at the
    nominal clock, scaled to the Fmax)."""
    return {"fmax_mhz": fmax_mhz, "us_per_image_at_fmax": cycles_per_image / fmax_mhz,
            "images_per_s_at_fmax": images_per_s_nominal * fmax_mhz / nominal_mhz}


def latency_us(latency: dict, fmax: dict) -> dict:
    """Measured cycles per image in microseconds at the placed-and-routed Fmax when there is
    one, and at the nominal clock the analytic figures assume."""
    cycles = latency["cycles_per_image_measured"]
    out = {"nominal": {"clock_mhz": latency["clock_mhz_assumed"],
                       "us_per_image": cycles / latency["clock_mhz_assumed"]}}
    if "fmax_mhz" in fmax:
        figures = at_fmax(cycles, latency.get("estimated_throughput_fps", 0.0), latency["clock_mhz_assumed"],
                          fmax["fmax_mhz"])
        out["at_fmax"] = {"clock_mhz": fmax["fmax_mhz"], "device": fmax["device"],
                          "us_per_image": figures["us_per_image_at_fmax"]}
        if "estimated_throughput_fps" in latency:      # the cycle model's back-to-back interval
            out["at_fmax"]["images_per_s_predicted"] = figures["images_per_s_at_fmax"]
        if "back_to_back" in latency:       # the simulation's, back to back
            out["at_fmax"]["images_per_s_measured"] = (fmax["fmax_mhz"] * 1e6
                                                       / latency["back_to_back"]["cycles_per_image_measured"])
    return out


def assemble_report(ws: Workspace) -> dict:
    """The report of DIR: the spec, and each current step's result; steps whose result is
    missing or not current are listed under `steps` with the reason."""
    report: dict = {"name": ws.spec.name, "spec": ws.spec.to_dict(), "bit_exact": {}, "steps": {},
                    "timing_s": {}}
    for name, step in STEPS.items():
        why = ws.why_not_current(name)
        if why == "not run" and step.optional:
            continue
        if why is not None:
            report["steps"][name] = {"status": why if why == "not run" else
                                     f"stale ({why}): `qpsnn {name}` or `qpsnn flow` redoes it"}
            continue
        record = ws.record(name)
        report["steps"][name] = {"status": "current", "key": record["key"], "cache": record.get("cache", "made")}
        step.report(record, report)
        report["timing_s"].update(record.get("timing_s", {}))
    if "prune" in report["steps"] and report["steps"]["prune"].get("key"):
        from qpsnn.model.keys import model_key
        made = [report["steps"][s]["cache"] for s in ("train", "prune") if "cache" in report["steps"][s]]
        report["cache"] = {"model": "reused" if made and all(c == "reused" for c in made) else "trained",
                           "model_key": model_key(ws.spec)}
    if "latency" in report and "fmax" in report:
        report["latency"]["latency_us"] = latency_us(report["latency"], report["fmax"])
        at_fmax = report["latency"]["latency_us"].get("at_fmax", {})
        if at_fmax:     # the two figures at the clock the design reached, at the top level
            report["latency"]["latency_us_at_fmax"] = at_fmax["us_per_image"]
            rate = at_fmax.get("images_per_s_measured", at_fmax.get("images_per_s_predicted"))
            if rate:
                report["latency"]["throughput_images_per_s_at_fmax"] = rate
    return report
