"""The Python API: what `import qpsnn` offers, in the shape hls4ml users know (a config from a
model, a convert call, an object to predict, write, simulate, estimate and report). The CLI is a
thin shell over these functions.

    import qpsnn
    acc = qpsnn.convert(model, "out/my_net", data=(x_test, y_test))   # your trained QKeras model
    acc.predict(x)            # the golden model's classes (integer arithmetic, the reference)
    acc.write_hls()           # the hls4ml project and its C simulation against the golden model
    acc.write_rtl()           # the Verilog accelerator, its resources (analytic and Yosys)
    acc.simulate()            # cocotb + Verilator, every readout value of every step compared
    acc.estimate()            # cycles and LUT/FF/BRAM/DSP from the models, in seconds
    acc.report()              # report.json's content

Every front end (a YAML spec, a Keras model, an NIR graph) ends in a spec plus, for the last two,
a weights file (qpsnn.model.weights); from there the steps are the flow's (qpsnn/steps.py).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile

import numpy as np
import yaml

from qpsnn.errors import InputError
from qpsnn.spec import DEFAULTS, Spec, identifier, load_spec

SOURCE = "source"          # DIR/source: the spec, weights and data a front end made; kept by every flow
SPEC_YAML = "spec.yaml"
WEIGHTS = "weights.npz"
DATA = "data.npz"
KNOBS_OF = {"conv": ("pe", "simd"), "dense": ("pe", "simd"), "lif": ("lanes",)}
CONFIG_SECTIONS = ("name", "data", "quant", "train", "verify", "rtl", "prune", "layers")


# ---- the flow and its steps on a spec (the CLI's commands) ----

def flow(spec: Spec | str, out: str, **options) -> dict:
    """Every step of the flow on a spec (a Spec or a YAML path) into `out`, replaced
    atomically; the report. Options: hls, rtl, resume, synth, pnr, table, retrain, netlist."""
    from qpsnn.flow import run_flow
    return run_flow(_spec(spec), out, **options)


def step(spec: Spec | str, out: str, name: str, **options) -> dict:
    """One step (train, prune, export, hls, rtl, sim, netlist, board) in `out`; the report."""
    from qpsnn.flow import run_single_step
    from qpsnn.steps import STEPS, Options
    if name not in STEPS:
        raise InputError(f"unknown step {name!r}; accepted: {list(STEPS)}")
    table = options.pop("table", None)
    return run_single_step(_spec(spec), out, name, Options(**options), table)


def report(out: str, table: dict | None = None) -> dict:
    """The report of a directory a flow or a step wrote, assembled again from its steps."""
    from qpsnn.flow import rewrite_report
    if not os.path.isdir(out):
        raise InputError(f"--out: {out} is not a directory; give one `qpsnn flow` or a step wrote")
    return rewrite_report(out, table)


def validate(spec: Spec | str) -> dict:
    """Every check the flow runs before training; the spec with its defaults filled in."""
    from qpsnn.spec import check_with_data
    spec = _spec(spec)
    check_with_data(spec)
    return spec.to_dict()


def _spec(spec: Spec | str) -> Spec:
    return load_spec(spec) if isinstance(spec, str) else spec


def import_nir(*args, **kwargs):
    """qpsnn.nir_io.import_nir: an NIR graph -> a spec and its weights (docs/nir.md)."""
    from qpsnn.nir_io import import_nir as run
    return run(*args, **kwargs)


def export_nir(*args, **kwargs):
    """qpsnn.nir_io.export_nir: a flow directory's network -> an NIR graph (docs/nir.md)."""
    from qpsnn.nir_io import export_nir as run
    return run(*args, **kwargs)


# ---- event data ----

def events(action: str, out: str, time_steps: int, dataset: str = "mnist", train_images: int | None = None,
           test_images: int | None = None, seed: int = 0, raw: str | None = None, events_path: str | None = None,
           window_us: float | None = None) -> dict:
    """Frames for encoding: events (model/events.py). 'simulate': the simulated N-MNIST
    recording of a digit data set, its training and hold-out digits into x_train and x_test
    (Keras' layout: the same hold-out); 'frames': a raw event file binned. Written whole or not
    at all."""
    from qpsnn.files import write_npz
    from qpsnn.model import events as ev
    if not isinstance(time_steps, int) or time_steps < 1:
        raise InputError(f"--time-steps: expected a positive integer, got {time_steps!r}")
    if not out.endswith(".npz"):
        raise InputError(f"--out: {out}: expected the path of a .npz to write")
    if action == "simulate":
        from qpsnn.model.data import load_dataset
        data = load_dataset(dataset)
        if data.input_shape != (28, 28, 1):
            raise InputError(f"--dataset: the simulated recording takes 28x28 digits; {dataset} holds "
                             f"{data.input_shape}")
        parts = {}
        recordings, labels = [], []
        for name, x, y, limit in (("train", data.x_train, data.y_train, train_images),
                                  ("test", data.x_test, data.y_test, test_images)):
            x, y = x[:limit], y[:limit]
            frames, y, rec = ev.simulated_nmnist(x[..., 0], y, time_steps, seed=seed + (name == "test"))
            parts[f"x_{name}"], parts[f"y_{name}"] = frames, y
            recordings += rec
            labels.append(y)
        write_npz(out, parts)
        if raw:
            ev.write_raw(raw, recordings, np.concatenate(labels))
        count = np.mean([len(r) for r in recordings])
        return {"out": os.path.abspath(out), "summary": f"{len(parts['x_train']):,} training and "
                f"{len(parts['x_test']):,} hold-out samples of {time_steps} frames 34x34x2, {count:,.0f} events per "
                f"sample on average (simulated from {data.source})"}
    if action == "frames":
        if not events_path:
            raise InputError("events frames: --events RAW.npz is required (" + ev.RAW_ACCEPTED + ")")
        x, y = ev.raw_to_frames(events_path, time_steps, window_us)
        write_npz(out, {"x": x, "y": y})
        return {"out": os.path.abspath(out), "summary": f"{len(x):,} samples of {time_steps} frames "
                f"{x.shape[2]}x{x.shape[3]}x2"}
    raise InputError(f"events: accepted simulate or frames, got {action!r}")


# ---- a Keras / QKeras model the user built and trained ----

def config_from_model(model, time_steps: int | None = None) -> dict:
    """The configuration `convert` takes, with every key at its default: the spec's sections
    (quant.frac_bits, verify, rtl, prune, train for fine-tuning) and per layer its hardware knobs
    (`pe`, `simd` for a weight layer, `lanes` for a LIF; None: the default), by the layer names
    `convert` gives them. Change what you need and pass it back, as with hls4ml's
    config_from_keras_model."""
    from qpsnn.model.keras_frontend import spec_from_keras
    keys, _ = spec_from_keras(model, time_steps)
    config = {section: copy.deepcopy(DEFAULTS[section]) for section in ("data", "verify", "rtl", "prune")}
    config["quant"] = {"frac_bits": DEFAULTS["quant"]["frac_bits"]}
    config["train"] = {"epochs": 0}
    config["layers"] = {layer["name"]: dict.fromkeys(KNOBS_OF[layer["type"]])
                        for layer in keys["layers"] if layer["type"] in KNOBS_OF}
    return config


def convert(model, output_dir: str, data, time_steps: int | None = None, config: dict | None = None,
            name: str | None = None) -> "Accelerator":
    """A trained Keras/QKeras spiking model (see qpsnn.model.keras_frontend for the layers it
    maps) -> an accelerator in `output_dir`: its spec, weights and data in output_dir/source,
    then the flow's train (the weights as given, unless config's train.epochs > 0), prune (when
    config's prune.ratios asks), and export steps: the deploy form and the golden model's
    accuracy. `data`: a built-in data set name ('mnist', 'digits'), a .npz path, or arrays
    (x, y) (split by data.test_fraction) or (x_train, y_train, x_test, y_test) (x_test is the
    hold-out), images as uint8 pixel codes 0..255 (the model sees codes / 255)."""
    from qpsnn.model.keras_frontend import spec_from_keras
    keys, arrays = spec_from_keras(model, time_steps)
    raw = _raw_spec(keys, config or {}, name or identifier(model.name, "model"))
    spec = write_source(output_dir, raw, arrays, data)
    acc = Accelerator(spec, output_dir)
    acc.build()
    return acc


def prune(model, data, method: str = "svs", ratios: dict | None = None, finetune_epochs: int | None = None,
          time_steps: int | None = None, config: dict | None = None):
    """Channel pruning of a trained Keras/QKeras spiking model, as the flow prunes its own: each
    hidden conv's channels scored by `method` (svs, sca, l1, random) on the training images, the
    lowest removed (a physically narrower network) at `ratios` {layer: ratio}, then fine-tuned
    for `finetune_epochs` with the spec's recipe. Returns the pruned model, built of qpsnn's
    layers (convert takes it). `data` as for convert."""
    from qpsnn.model.keras_frontend import spec_from_keras
    from qpsnn.model.prune import prune_model

    keys, arrays = spec_from_keras(model, time_steps)
    config = copy.deepcopy(config or {})
    prune_config = config.setdefault("prune", {})
    prune_config.update(method=method, ratios=ratios or {})
    if finetune_epochs is not None:
        prune_config["finetune_epochs"] = finetune_epochs
    raw = _raw_spec(keys, config, identifier(model.name, "model"))
    with tempfile.TemporaryDirectory(prefix="qpsnn-prune-") as tmp:
        spec = write_source(os.path.join(tmp, "net"), raw, arrays, data)
        from qpsnn.model.data import load_spec_data
        from qpsnn.model.train import train_model
        loaded = load_spec_data(spec)
        trained = train_model(spec, loaded, verbose=0)    # the given weights (train.epochs 0)
        if not spec.prune["ratios"]:
            return trained
        _, pruned, _ = prune_model(spec, trained, loaded)
    return pruned


def _raw_spec(keys: dict, config: dict, name: str) -> dict:
    """A spec (as YAML holds it) from a front end's keys and the user's configuration."""
    unknown = sorted(set(config) - set(CONFIG_SECTIONS))
    if unknown:
        raise InputError(f"config: unknown section(s) {unknown}; accepted: {list(CONFIG_SECTIONS)} "
                         "(qpsnn.config_from_model(model) lists them with their defaults)")
    raw = {"name": config.get("name", name), "time_steps": keys["time_steps"]}
    for section in ("data", "verify", "rtl", "prune", "neuron"):
        if section in config:
            raw[section] = copy.deepcopy(config[section])
    raw["quant"] = {**keys.get("quant", {}), **config.get("quant", {})}
    raw["train"] = {"epochs": 0, **keys.get("train", {}), **config.get("train", {})}
    layers = copy.deepcopy(keys["layers"])
    knobs = config.get("layers") or {}
    if not isinstance(knobs, dict):
        raise InputError("config.layers: expected a mapping layer name -> {pe, simd} or {lanes}")
    by_name = {layer["name"]: layer for layer in layers}
    for layer_name, values in knobs.items():
        layer = by_name.get(layer_name)
        if layer is None or layer["type"] not in KNOBS_OF:
            raise InputError(f"config.layers: {layer_name!r} is not a weight or LIF layer of the model; accepted: "
                             f"{[n for n, layer in by_name.items() if layer['type'] in KNOBS_OF]}")
        if not isinstance(values, dict) or set(values) - set(KNOBS_OF[layer["type"]]):
            raise InputError(f"config.layers.{layer_name}: accepted keys {list(KNOBS_OF[layer['type']])}, got "
                             f"{values!r}")
        layer.update({k: v for k, v in values.items() if v is not None})
    raw["layers"] = layers
    return raw


def write_source(out: str, raw: dict, arrays: dict, data) -> Spec:
    """Write a front end's spec, weights and data into out/source (replaced whole, only once
    the spec passed every check the flow runs before training) and return the spec loaded from
    there. Nothing is written when a check fails."""
    from qpsnn.files import replace_dir
    from qpsnn.flow import check_out_dir
    from qpsnn.model.weights import write_weights

    out = check_out_dir(out)
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{SOURCE}.tmp-", dir=out)
    try:
        raw = copy.deepcopy(raw)
        raw.setdefault("data", {})["dataset"] = _data_file(data, staging)
        write_weights(os.path.join(staging, WEIGHTS), arrays)
        raw["train"]["init"] = WEIGHTS
        with open(os.path.join(staging, SPEC_YAML), "w") as fh:
            yaml.safe_dump(raw, fh, sort_keys=False)
        load_checked(os.path.join(staging, SPEC_YAML))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if not os.listdir(out):
            os.rmdir(out)
        raise
    replace_dir(staging, os.path.join(out, SOURCE))
    return load_spec(os.path.join(out, SOURCE, SPEC_YAML))


def load_checked(path: str) -> Spec:
    """A front end's staged spec, loaded and put through every check the flow runs before
    training, its weights file (train.init) read against the layers on the data set's images."""
    from qpsnn.model.weights import read_weights
    from qpsnn.spec import check_with_data
    spec = load_spec(path)
    shape = check_with_data(spec)
    if spec.train["init"]:
        read_weights(spec.train["init"], spec, shape)
    return spec


def _data_file(data, directory: str) -> str:
    """A data set name or path as it is; arrays written as directory/data.npz (its name relative
    to the spec beside it)."""
    if isinstance(data, str):
        return os.path.abspath(data) if data.endswith(".npz") else data
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        keys = ("x", "y") if len(data) == 2 else ("x_train", "y_train", "x_test", "y_test")
        arrays = {k: np.asarray(v) for k, v in zip(keys, data)}
        for key in keys[::2]:
            x = arrays[key]
            if x.dtype.kind == "f" and x.size and float(x.max()) <= 1.0:
                raise InputError(f"data: {key} holds floats in [0, 1]; accepted: pixel codes 0..255 (uint8), the "
                                 "accelerator's 8-bit input (the model sees codes / 255)")
        np.savez(os.path.join(directory, DATA), **arrays)
        return DATA
    raise InputError(f"data: accepted a data set name ('mnist', 'digits'), a .npz path, or arrays (x, y) or "
                     f"(x_train, y_train, x_test, y_test); got {type(data).__name__}")


# ---- the accelerator object ----

class Accelerator:
    """A network in a flow directory: its spec (and, from a front end, its weights and data in
    DIR/source), what the steps made there. Each method runs the step it needs (the ones
    before it reused when current) and returns that step's part of the report."""

    def __init__(self, spec: Spec | str, output_dir: str):
        self.spec = _spec(spec)
        self.output_dir = os.path.abspath(output_dir)

    @classmethod
    def load(cls, output_dir: str) -> "Accelerator":
        """The accelerator of a directory `convert`, `from_nir` or a flow wrote."""
        from qpsnn.files import read_json
        from qpsnn.flow import SPEC_FILE
        from qpsnn.spec import parse_spec
        source = os.path.join(output_dir, SOURCE, SPEC_YAML)
        if os.path.isfile(source):
            return cls(source, output_dir)
        path = os.path.join(output_dir, SPEC_FILE)
        return cls(parse_spec(read_json(path, "output_dir", "a directory qpsnn wrote"), path), output_dir)

    def _run(self, name: str, **options) -> dict:
        """The step `name` and those it needs that are not current in DIR; the report."""
        from qpsnn.flow import rewrite_report, run_steps
        from qpsnn.steps import Options, Workspace
        ws = Workspace(self.spec, self.output_dir, self.output_dir, Options())
        order = _needed(name)
        stale = [i for i, need in enumerate(order) if ws.why_not_current(need) is not None]
        todo = order[stale[0]:] if stale else []     # a step made again makes the ones after it stale
        if not todo and os.path.isfile(os.path.join(self.output_dir, "report.json")):
            return rewrite_report(self.output_dir)
        return run_steps(self.spec, self.output_dir, todo, Options(**options))

    def build(self) -> dict:
        """Train (or take the given weights), prune when asked, and export the deploy form."""
        return self._run("export")

    def deploy(self):
        from qpsnn.model.deploy import Deploy
        self.build()
        return Deploy.load(os.path.join(self.output_dir, "deploy"))

    def trace(self, x):
        """The golden model's trace of images x: readout values (N, T, K), spikes per LIF layer."""
        from qpsnn.model.golden import run_golden
        deploy = self.deploy()
        return run_golden(deploy, _images(x, deploy.meta["input"]))

    def predict(self, x) -> np.ndarray:
        """The golden model's class of each image (uint8 codes (N, H, W[, C])): what the HLS
        C simulation and the RTL compute, bit for bit."""
        return self.trace(x).prediction

    def write_hls(self) -> dict:
        """The hls4ml project in DIR/hls, compiled, its C simulation against the golden model."""
        return self._run("hls")["bit_exact"]["hls_csim"]

    def write_rtl(self, synth: bool = True, pnr: bool = False) -> dict:
        """The Verilog accelerator in DIR/rtl: generated, linted, its structure checked; its
        resources (analytic, and Yosys with synth) and Fmax (nextpnr, with pnr)."""
        from qpsnn.flow import run_single_step
        from qpsnn.steps import Options
        self.build()
        return run_single_step(self.spec, self.output_dir, "rtl", Options(synth=synth, pnr=pnr))["resources"]

    def simulate(self, x=None, y=None) -> dict:
        """The RTL under Verilator against the golden model: on the spec's verify.rtl_images
        hold-out images (the sim step, into the report), or on images x (labels y, optional),
        each alone and back to back. Returns bit_exact, rtl_class and latency (cycles
        measured next to the cycle model's)."""
        if x is None:
            report = self._run("sim", synth=False)
            return {"bit_exact": report["bit_exact"]["rtl"], "latency": report["latency"],
                    "rtl_class": report["accuracy"]["rtl_class"]}
        from qpsnn.model.golden import run_golden
        from qpsnn.progress import Timer
        from qpsnn.steps import Options, Workspace, verify_rtl
        self._run("rtl", synth=False)
        ws = Workspace(self.spec, self.output_dir, self.output_dir, Options())
        images = _images(x, ws.deploy().meta["input"])
        labels = np.full(len(images), -1) if y is None else np.asarray(y)
        with tempfile.TemporaryDirectory(prefix="sim-", dir=self.output_dir) as work:
            result, _ = verify_rtl(ws, images, labels, run_golden(ws.deploy(), images), work, Timer())
        if y is None:
            result.pop("rtl_class")
        return {"bit_exact": result["rtl"], **{k: v for k, v in result.items() if k != "rtl"}}

    def estimate(self, x=None) -> dict:
        """Seconds, no simulator, no synthesis: the cycle model replayed on images x (default:
        the spec's verify.rtl_images hold-out images) and the resource model (LUT, FF, BRAM18,
        DSP per layer and in total), for the spec's parallelism knobs."""
        from qpsnn.codegen.estimate import design_cycles
        from qpsnn.codegen.resources import design_resources
        from qpsnn.model.golden import run_golden
        from qpsnn.steps import Options, Workspace, hold_out, rtl_design
        from qpsnn.progress import Timer
        self.build()
        ws = Workspace(self.spec, self.output_dir, self.output_dir, Options())
        if x is None:
            images, _, trace = hold_out(ws, max(self.spec.verify["rtl_images"], 1), Timer())
        else:
            images = _images(x, ws.deploy().meta["input"])
            trace = run_golden(ws.deploy(), images)
        design = rtl_design(ws)
        cycles = design_cycles(design, ws.deploy(), images, trace)
        resources = design_resources(design.stages)
        return {"cycles_per_image": cycles["cycles_per_image"],
                "cycles_per_image_back_to_back": cycles["stream_cycles_per_image"],
                "cycles_per_layer": cycles["cycles_per_layer"], "bottleneck": cycles["bottleneck"],
                "clock_mhz": cycles["clock_mhz"], "latency_us": cycles["estimated_latency_ns"] / 1000.0,
                "images_per_s": cycles["estimated_throughput_fps"], "resources": resources["total"],
                "resources_per_stage": resources["stages"], "parallelism": design.knobs()}

    def fold(self, target_images_per_s: float | None = None, lut_budget: int | None = None,
             clock_mhz: float | None = None) -> dict:
        """Fold the hardware to a target (codegen/fold.py): the fewest predicted LUTs that stream
        `target_images_per_s` back to back at `clock_mhz` (default the spec's, else 100), or the
        fastest folding within `lut_budget` LUTs; the knobs the spec sets are kept. The target
        becomes the spec's (rtl.target_images_per_s / lut_budget), so write_rtl, simulate,
        estimate and flow build the folded design. Returns the choice (the report's folding)."""
        from qpsnn.spec import check_clock, check_fold_target
        from qpsnn.steps import Options, Workspace, folding, folding_report
        if target_images_per_s is None and lut_budget is None:
            raise InputError("fold: give target_images_per_s or lut_budget")
        self.build()
        self.spec.rtl.update(target_images_per_s=target_images_per_s, lut_budget=lut_budget)
        if clock_mhz is not None:
            self.spec.rtl["clock_mhz"] = check_clock(clock_mhz, "clock_mhz")
        check_fold_target(self.spec.rtl)
        ws = Workspace(self.spec, self.output_dir, self.output_dir, Options())
        return folding_report(ws, folding(ws))

    def report(self) -> dict:
        """report.json's content, assembled again from the steps' current results."""
        return report(self.output_dir)

    def flow(self, **options) -> dict:
        """Every step (HLS, RTL, simulation), as `qpsnn flow` runs them; the report."""
        return flow(self.spec, self.output_dir, **options)


def _needed(name: str) -> list[str]:
    """The steps `name` needs, in order, and itself."""
    from qpsnn.steps import STEPS
    order: list[str] = []

    def visit(step: str) -> None:
        for need in STEPS[step].needs:
            visit(need)
        if step not in order:
            order.append(step)
    visit(name)
    return order


def _images(x, network_input: dict) -> np.ndarray:
    """Inputs as the accelerator takes them (the deploy form's `input`): uint8 pixel codes
    (N, H, W, C), or event frames (N, T, H, W, C) of counts clipped to its max_count, as the
    flow's data are (model/data.py load_spec_data)."""
    from qpsnn.model.data import clip_events
    x = np.asarray(x)
    events = network_input.get("encoding") == "events"
    shape = tuple(network_input["shape"])
    sample = x.shape[1 + events:] if x.ndim >= 3 + events else x.shape
    if shape[-1] == 1 and sample == shape[:-1]:                 # one channel, without its axis
        x = x[..., None]
    if x.ndim == len(shape) + events:                           # one sample
        x = x[None]
    if tuple(x.shape[1 + events:]) != shape:
        raise InputError(f"inputs of shape {tuple(x.shape[1:])}; the network takes "
                         + (f"event frames (T, {shape[0]}, {shape[1]}, {shape[2]})" if events else
                            f"images {shape} (H, W, C), or (H, W) for one channel"))
    if x.size and (x.min() < 0 or x.max() > 255 or np.any(x != np.round(x))):
        raise InputError("inputs: accepted integers 0..255 (uint8 pixel codes, or event counts)")
    x = x.astype(np.uint8)
    return clip_events(x, network_input["max_count"]) if events else x
