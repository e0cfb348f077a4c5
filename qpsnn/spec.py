"""Network spec: a small YAML file, validated completely before any work or output starts."""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from qpsnn.codegen.resources import PARTS
from qpsnn.errors import InputError
from qpsnn.model.data import BUILT_IN_SHAPES, FRAME_LAYOUTS, check_split, dataset_layout, npz_is_split

READOUT_MODES = ("membrane", "spikes")   # class = argmax of the summed membrane / spike count
LAYER_TYPES = ("conv", "maxpool", "sumpool", "flatten", "dense", "lif", "readout")
GAMMA_MODES = ("max", "percentile", "mean", "none")
RESET_MODES = ("hard", "soft")
DATASETS = tuple(BUILT_IN_SHAPES)  # or a path to a user's .npz

DEFAULTS: dict[str, Any] = {
    "name": "qpsnn_model",
    "data": {"dataset": "mnist", "test_fraction": 0.2, "seed": 0},
    "time_steps": 4,
    # direct: the image at every time step (the first layer's current computed once); events:
    # the data set's frames (N, T, H, W, C) of event counts, one per step, clipped to
    # events.max_count (1: spikes), stored in events.layout (thwc, or tchw: tonic's ToFrame)
    "encoding": "direct",
    "events": {"max_count": 1, "layout": "thwc"},
    "neuron": {"tau": 0.5, "threshold": 1.0, "reset": "hard"},
    "quant": {"bits": 4, "gamma": "mean", "first_bits": 8, "last_bits": 8, "frac_bits": 4},
    # the recipe: batch norm before every LIF (folded into the integer bias and threshold at
    # export), Adam (AdamW with weight_decay > 0) on a constant or cosine learning rate, and
    # seeded augmentation: random shifts up to `shift` pixels, rotations up to `rotate` degrees;
    # init: a weights file (qpsnn.model.weights) the training starts from instead of a seeded
    # initialisation: a front end's model (Keras, NIR); with epochs 0 it is quantized as it is
    "train": {"epochs": 5, "batch_size": 64, "lr": 0.002, "seed": 0, "batch_norm": True,
              "schedule": "cosine", "weight_decay": 0.0, "shift": 0, "rotate": 0.0, "init": None},
    "verify": {"hls_images": 50, "rtl_images": 50, "netlist_images": 50, "board_images": 20},
    "rtl": {"mode": "event", "part": None, "clock_mhz": None, "time_chunk": None, "target_images_per_s": None,
            "lut_budget": None},
    # the float graph the network was imported from (qpsnn import-nir): {nir: path, dt, scheme,
    # reset}; the export step simulates it on the hold-out images next to the golden model
    "reference": None,
    # channel pruning (METHOD.md section 4): ratios per hidden conv layer; empty = no pruning
    "prune": {"method": "svs", "ratios": {}, "eps": 1.0e-6, "batches": 5, "batch_size": 128,
              "finetune_epochs": 3, "order": "quantize_first", "seed": 0},
}
PRUNE_METHODS = ("svs", "sca", "l1", "random")
ENCODINGS = ("direct", "events")
# longer windows stream through the hardware in passes (rtl.time_chunk), so T is bounded by the
# training's memory (BPTT keeps every step's activations), not by the hardware
MAX_TIME_STEPS = 1024
MAX_CHUNK = 32      # the default steps per pass: the datapaths are that many steps wide


def default_chunk(time_steps: int) -> int:
    """Steps per pass: all of them up to MAX_CHUNK (one pass), else the largest divisor of T
    up to MAX_CHUNK."""
    return max(d for d in range(1, min(time_steps, MAX_CHUNK) + 1) if time_steps % d == 0)


def check_chunk(time_steps: int, chunk) -> int:
    """`chunk` (steps per pass) checked against T: InputError naming the accepted values."""
    if chunk is None:
        return default_chunk(time_steps)
    divisors = [d for d in range(1, time_steps + 1) if time_steps % d == 0]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk not in divisors:
        raise InputError(f"rtl.time_chunk (time steps per pass): a divisor of time_steps {time_steps}, one of "
                         f"{divisors}; got {chunk!r}")
    return chunk


LR_SCHEDULES = ("constant", "cosine")
PRUNE_ORDERS = ("quantize_first", "prune_first")


@dataclass
class Spec:
    name: str
    data: dict
    time_steps: int
    encoding: str
    events: dict
    neuron: dict
    quant: dict
    train: dict
    verify: dict
    rtl: dict = field(default_factory=dict)
    prune: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    source: str = ""
    reference: dict | None = None

    def to_dict(self) -> dict:
        return {k: copy.deepcopy(getattr(self, k)) for k in
                ("name", "data", "time_steps", "encoding", "events", "neuron", "quant", "train", "verify",
                 "rtl", "prune", "layers", "reference")}


def _merge(defaults: dict, given: Any, where: str) -> dict:
    if given is None:
        return copy.deepcopy(defaults)
    if not isinstance(given, dict):
        raise InputError(f"{where}: expected a mapping with keys {sorted(defaults)}, got {given!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(defaults)}")
    out = copy.deepcopy(defaults)
    out.update(given)
    return out


def check_bits(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 2 <= value <= 8:
        raise InputError(f"{where}: bits must be an integer in 2..8, got {value!r}")
    return value


def leak_decay(k: int, complement: bool) -> float:
    """The membrane kept per step by the hardware's leak (k, complement): 2^-k or 1 - 2^-k."""
    return 1.0 - 2.0 ** -k if complement else 2.0 ** -k


def leak_forms() -> dict[float, tuple[int, bool]]:
    """Every leak the hardware has, tau -> (k, complement): a shift, u >> k (tau = 2^-k, k in
    0..8; 1: integrate-and-fire), or its complement, u - (u >> k) (tau = 1 - 2^-k, k in 2..8:
    the slow leaks of snnTorch's usual beta, 0.75 .. 0.996)."""
    forms = {leak_decay(k, False): (k, False) for k in range(0, 9)}
    forms.update({leak_decay(k, True): (k, True) for k in range(2, 9)})
    return forms


def identifier(text: str, prefix: str) -> str:
    """Any name (a Keras layer's, a file's) as a spec name: letters, digits and '_', starting
    with a letter (`prefix` put before one that does not)."""
    clean = re.sub(r"\W", "_", text or "")
    return clean if clean[:1].isalpha() else f"{prefix}_{clean}"


def check_tau(value: Any, where: str) -> tuple[int, bool]:
    """The leak (k, complement) of tau: 2^-k (the membrane shifted right by k) or 1 - 2^-k (less
    its shift by k), exactly; InputError otherwise."""
    try:
        tau = float(value)
    except (TypeError, ValueError):
        tau = float("nan")
    form = leak_forms().get(tau)
    if form is None:
        raise InputError(f"{where}: leak tau must be 2^-k (1, 0.5, 0.25, ..., 1/256) or 1 - 2^-k (0.75, 0.875, "
                         f"..., 255/256), got {value!r}")
    return form


def _pos_int(value: Any, where: str, lo: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise InputError(f"{where}: expected an integer >= {lo}, got {value!r}")
    return value


LAYER_KEYS = {
    "conv": {"filters": None, "kernel": 3, "stride": 1, "padding": "same", "bias": True, "pe": None, "simd": None,
             "name": None},
    "maxpool": {"size": 2, "name": None},
    "sumpool": {"size": 2, "name": None},
    "flatten": {"name": None},
    "dense": {"units": None, "bias": True, "pe": None, "simd": None, "name": None},
    "lif": {"tau": None, "threshold": None, "reset": None, "strict": False, "lanes": None, "name": None},
    "readout": {"mode": "membrane", "name": None},
}


def check_padding(value: Any, kernel: int, where: str):
    """'same' (TensorFlow's), 'valid', or explicit zeros either side: p or [p_rows, p_cols], each
    in 0..(kernel-1)/2 (PyTorch's and NIR's symmetric padding, up to its 'same'); returned as
    'same', 'valid' or [ph, pw]. (Wider padding, windows with more than half their rows in it,
    is not accepted: conv_window's line buffer is not built for it.)"""
    if value in ("same", "valid"):
        return value
    pads = [value, value] if isinstance(value, int) else value
    most = (kernel - 1) // 2
    if (not isinstance(pads, (list, tuple)) or len(pads) != 2
            or not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= most for p in pads)):
        raise InputError(f"{where}: accepted 'same', 'valid', or zeros either side, p or [p_rows, p_cols] with "
                         f"each in 0..{most} (half the kernel less one), got {value!r}")
    return [int(p) for p in pads]


def conv_output(size: int, kernel: int, stride: int, padding, axis: int) -> int:
    """A conv's output rows (axis 0) or columns (axis 1)."""
    if padding == "same":
        return -(-size // stride)
    pad = 0 if padding == "valid" else padding[axis]
    return (size + 2 * pad - kernel) // stride + 1


def _check_layer(i: int, layer: Any, neuron: dict) -> dict:
    where = f"layers[{i}]"
    if not isinstance(layer, dict) or "type" not in layer:
        raise InputError(f"{where}: each layer is a mapping with a 'type' in {list(LAYER_TYPES)}")
    kind = layer["type"]
    if kind not in LAYER_TYPES:
        raise InputError(f"{where}: unknown layer type {kind!r}; accepted: {list(LAYER_TYPES)}")
    body = {k: v for k, v in layer.items() if k != "type"}
    if kind == "lif" and "stages" in body:
        # before the LIF was folded its chains were cut into register stages; specs written by
        # then (report.json, spec.json) carry `stages: null`
        if body.pop("stages") is not None:
            raise InputError(f"{where} lif.stages: no longer a knob (a LIF layer updates `lanes` neurons per "
                             "cycle, one update deep, whatever the clock); remove it, or set lanes (default: "
                             "the PE of the engine feeding the layer)")
    merged = _merge(LAYER_KEYS[kind], body, f"{where} ({kind})")
    merged["type"] = kind
    if kind == "conv":
        _pos_int(merged["filters"], f"{where} conv.filters")
        if merged["kernel"] not in (1, 3, 5):
            raise InputError(f"{where} conv.kernel: accepted 1, 3 or 5, got {merged['kernel']!r}")
        if merged["stride"] not in (1, 2):
            raise InputError(f"{where} conv.stride: accepted 1 or 2, got {merged['stride']!r}")
        merged["padding"] = check_padding(merged["padding"], merged["kernel"], f"{where} conv.padding")
    elif kind in ("maxpool", "sumpool"):
        if merged["size"] not in (2,):
            raise InputError(f"{where} {kind}.size: accepted 2, got {merged['size']!r}")
    elif kind == "dense":
        _pos_int(merged["units"], f"{where} dense.units")
    if kind in ("conv", "dense") and not isinstance(merged["bias"], bool):
        raise InputError(f"{where} {kind}.bias: accepted true (a learned bias per output) or false (none), "
                         f"got {merged['bias']!r}")
    if kind in ("conv", "dense") and merged["pe"] is not None:
        outputs = merged["filters"] if kind == "conv" else merged["units"]
        if not isinstance(merged["pe"], int) or merged["pe"] < 1 or outputs % merged["pe"]:
            raise InputError(f"{where} {kind}.pe (outputs computed in parallel): accepted a divisor of "
                             f"its {outputs} outputs, got {merged['pe']!r}")
    if kind in ("conv", "dense") and merged["simd"] is not None:
        if isinstance(merged["simd"], bool) or not isinstance(merged["simd"], int) or merged["simd"] < 1:
            raise InputError(f"{where} {kind}.simd (inputs taken per cycle): accepted a positive integer "
                             f"dividing the channels of its input pixels (or a flat input's length), "
                             f"got {merged['simd']!r}")
    elif kind == "lif":
        merged["tau"] = neuron["tau"] if merged["tau"] is None else merged["tau"]
        merged["threshold"] = neuron["threshold"] if merged["threshold"] is None else merged["threshold"]
        merged["reset"] = neuron["reset"] if merged["reset"] is None else merged["reset"]
        check_tau(merged["tau"], f"{where} lif.tau")
        if not isinstance(merged["threshold"], (int, float)) or merged["threshold"] <= 0:
            raise InputError(f"{where} lif.threshold: expected a number > 0, got {merged['threshold']!r}")
        if merged["reset"] not in RESET_MODES:
            raise InputError(f"{where} lif.reset: accepted {list(RESET_MODES)}, got {merged['reset']!r}")
        if not isinstance(merged["strict"], bool):
            raise InputError(f"{where} lif.strict: expected true (fire when the membrane is above the threshold, "
                             f"NIR's rule) or false (at or above it), got {merged['strict']!r}")
    elif kind == "readout":
        if merged["mode"] not in READOUT_MODES:
            raise InputError(f"{where} readout.mode: accepted {list(READOUT_MODES)}, got {merged['mode']!r}")
    return merged


def _check_structure(layers: list) -> None:
    """The network grammar: (weight layer, lif, [maxpool])* ... final dense, [lif], readout:
    a membrane readout reads the last dense layer's currents, a spike-count readout the
    spikes of a LIF layer after it."""
    kinds = [layer["type"] for layer in layers]
    if "readout" in kinds[:-1]:
        raise InputError("layers: 'readout' may only appear once, as the last layer")
    mode = layers[-1].get("mode") if kinds and kinds[-1] == "readout" else None
    tail = ["dense", "lif", "readout"] if mode == "spikes" else ["dense", "readout"]
    if kinds[-len(tail):] != tail:
        raise InputError(f"layers: the network must end with {tail} ('readout' mode 'membrane' reads the "
                         "last dense layer's currents, mode 'spikes' counts the spikes of a 'lif' after it; "
                         f"got ... {kinds[-len(tail):]})")
    for i, kind in enumerate(kinds[:-len(tail)]):
        nxt = kinds[i + 1]
        if kind in ("conv", "dense") and nxt != "lif":
            raise InputError(f"layers[{i}]: a hidden '{kind}' layer must be followed by 'lif', got {nxt!r}")
        if kind == "lif" and (i == 0 or kinds[i - 1] not in ("conv", "dense")):
            raise InputError(f"layers[{i}]: 'lif' must follow a 'conv' or 'dense' layer")
        if kind == "conv" and "flatten" in kinds[:i]:
            raise InputError(f"layers[{i}]: 'conv' after 'flatten' is not accepted")
        if kind in ("maxpool", "sumpool") and "flatten" in kinds[:i]:
            raise InputError(f"layers[{i}]: '{kind}' after 'flatten' is not accepted")
        if kind == "maxpool" and i > 0 and kinds[i - 1] == "sumpool":
            raise InputError(f"layers[{i}]: 'maxpool' after 'sumpool': a max-pool takes spikes (an OR), a sum pool "
                             "gives counts; put the max-pool first")
    if kinds.count("flatten") > 1:
        raise InputError("layers: at most one 'flatten' is accepted")
    if "conv" in kinds and "flatten" not in kinds:
        raise InputError("layers: a network with 'conv' layers needs a 'flatten' before its first 'dense'")
    first_dense = kinds.index("dense")
    if "flatten" in kinds and kinds.index("flatten") > first_dense:
        raise InputError("layers: 'flatten' must come before the first 'dense' layer")


def _number(value: Any, where: str, lo: float, hi: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise InputError(f"{where}: expected {what}, got {value!r}")
    return float(value)


def check_fold_target(rtl: dict) -> None:
    """rtl.target_images_per_s or rtl.lut_budget (codegen/fold.py), at most one; in place."""
    if rtl["target_images_per_s"] is not None:
        rtl["target_images_per_s"] = _number(rtl["target_images_per_s"], "rtl.target_images_per_s", 1.0, 1e9,
                                             "images per second, a number in 1..1e9")
    if rtl["lut_budget"] is not None:
        budget = rtl["lut_budget"]
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise InputError(f"rtl.lut_budget: expected a positive whole number of LUTs, got {budget!r}")
    if rtl["target_images_per_s"] is not None and rtl["lut_budget"] is not None:
        raise InputError("rtl: target_images_per_s and lut_budget both given; accepted: one of them (the fewest "
                         "LUTs that meet the target, or the fastest folding within the budget)")


def check_clock(value: Any, where: str) -> float:
    """A target clock in MHz (place and route is checked against it)."""
    return _number(value, where, 1.0, 1000.0, "a clock in MHz, a number in 1..1000")


def resolve_path(path: str, source: str) -> str | None:
    """A path given in a spec: from the working directory, else from the spec file's directory;
    None when neither holds the file."""
    beside_spec = os.path.join(os.path.dirname(source), path)
    found = path if os.path.isfile(path) else beside_spec if os.path.isfile(beside_spec) else None
    return None if found is None else os.path.abspath(found)


def _check_recipe(train: dict) -> None:
    _number(train["lr"], "train.lr", 1e-7, 1.0, "a learning rate in (0, 1]")
    if not isinstance(train["batch_norm"], bool):
        raise InputError(f"train.batch_norm: expected true or false, got {train['batch_norm']!r}")
    if train["schedule"] not in LR_SCHEDULES:
        raise InputError(f"train.schedule: accepted {list(LR_SCHEDULES)}, got {train['schedule']!r}")
    _number(train["weight_decay"], "train.weight_decay", 0.0, 1.0, "a number in [0, 1] (0: plain Adam)")
    if isinstance(train["shift"], bool) or not isinstance(train["shift"], int) or not 0 <= train["shift"] <= 8:
        raise InputError(f"train.shift: expected an integer number of pixels in 0..8, got {train['shift']!r}")
    _number(train["rotate"], "train.rotate", 0.0, 45.0, "an angle in degrees in [0, 45]")


def layer_knob(spec: Spec, knob: str) -> dict:
    """A hardware knob of the spec, where given: weight layer name -> 'pe' (outputs per
    cycle) or 'simd' (inputs per cycle), LIF layer name -> 'lanes' (neurons updated per cycle)."""
    return {layer["name"]: layer[knob] for layer in spec.layers if layer.get(knob)}


def layer_pe(spec: Spec) -> dict:
    return layer_knob(spec, "pe")


def layer_simd(spec: Spec) -> dict:
    return layer_knob(spec, "simd")


def layer_lanes(spec: Spec) -> dict:
    return layer_knob(spec, "lanes")


def parse_spec(raw: Any, source: str = "<spec>") -> Spec:
    if not isinstance(raw, dict):
        raise InputError(f"{source}: a spec is a YAML mapping with keys "
                         f"{sorted(list(DEFAULTS) + ['layers'])}")
    unknown = sorted(set(raw) - set(DEFAULTS) - {"layers"})
    if unknown:
        raise InputError(f"{source}: unknown key(s) {unknown}; accepted: "
                         f"{sorted(list(DEFAULTS) + ['layers'])}")
    name = raw.get("name", DEFAULTS["name"])
    if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name[:1].isalpha():
        raise InputError(f"name: expected an identifier (letters, digits, '_'), got {name!r}")
    data = _merge(DEFAULTS["data"], raw.get("data"), "data")
    ds = data["dataset"]
    if not isinstance(ds, str) or (ds not in DATASETS and not ds.endswith(".npz")):
        raise InputError(f"data.dataset: accepted {list(DATASETS)} or a path to a .npz file, got {ds!r}")
    if ds.endswith(".npz"):
        data["dataset"] = resolve_path(ds, source)
        if data["dataset"] is None:
            raise InputError(f"data.dataset: file not found: {ds}")
    tf_ = data["test_fraction"]
    if not isinstance(tf_, (int, float)) or not 0 < tf_ < 1:
        raise InputError(f"data.test_fraction: expected a number in (0, 1), got {tf_!r}")
    t_steps = raw.get("time_steps", DEFAULTS["time_steps"])
    _pos_int(t_steps, "time_steps")
    if t_steps > MAX_TIME_STEPS:
        raise InputError(f"time_steps: accepted 1..{MAX_TIME_STEPS}, got {t_steps}")
    encoding = raw.get("encoding", DEFAULTS["encoding"])
    if encoding not in ENCODINGS:
        raise InputError(f"encoding: accepted {list(ENCODINGS)}, got {encoding!r}")
    events = _merge(DEFAULTS["events"], raw.get("events"), "events")
    _pos_int(events["max_count"], "events.max_count")
    if events["max_count"] > 255:
        raise InputError(f"events.max_count: accepted 1..255 (counts above it are clipped), got {events['max_count']}")
    if events["layout"] not in FRAME_LAYOUTS:
        raise InputError(f"events.layout: accepted {list(FRAME_LAYOUTS)} (a sample's axes: T, H, W, C, or tonic's "
                         f"T, C, H, W), got {events['layout']!r}")
    neuron = _merge(DEFAULTS["neuron"], raw.get("neuron"), "neuron")
    quant = _merge(DEFAULTS["quant"], raw.get("quant"), "quant")
    for key in ("bits", "first_bits", "last_bits"):
        check_bits(quant[key], f"quant.{key}")
    if quant["gamma"] not in GAMMA_MODES:
        raise InputError(f"quant.gamma: accepted {list(GAMMA_MODES)}, got {quant['gamma']!r}")
    if not isinstance(quant["frac_bits"], int) or not 0 <= quant["frac_bits"] <= 12:
        raise InputError(f"quant.frac_bits: accepted an integer in 0..12, got {quant['frac_bits']!r}")
    train = _merge(DEFAULTS["train"], raw.get("train"), "train")
    _pos_int(train["epochs"], "train.epochs", lo=0)
    _pos_int(train["batch_size"], "train.batch_size")
    _check_recipe(train)
    if encoding == "events" and (train["shift"] or train["rotate"]):
        raise InputError("train.shift / train.rotate: the augmentation moves images; with encoding: events "
                         "accepted 0 and 0")
    if train["init"] is not None:
        init = train["init"]
        if not isinstance(init, str) or not init.endswith(".npz"):
            raise InputError(f"train.init: expected the path of a weights .npz (qpsnn.model.weights) or none, "
                             f"got {init!r}")
        train["init"] = resolve_path(init, source)
        if train["init"] is None:
            raise InputError(f"train.init: file not found: {init}")
    verify = _merge(DEFAULTS["verify"], raw.get("verify"), "verify")
    rtl = _merge(DEFAULTS["rtl"], raw.get("rtl"), "rtl")
    if rtl["mode"] not in ("event", "dense"):
        raise InputError(f"rtl.mode: accepted ['event', 'dense'], got {rtl['mode']!r}")
    if rtl["part"] is not None and rtl["part"] not in PARTS:
        raise InputError(f"rtl.part: accepted {sorted(PARTS)} (or none), got {rtl['part']!r}")
    if rtl["clock_mhz"] is not None:
        rtl["clock_mhz"] = check_clock(rtl["clock_mhz"], "rtl.clock_mhz")
    check_chunk(t_steps, rtl["time_chunk"])
    check_fold_target(rtl)
    _pos_int(verify["hls_images"], "verify.hls_images", lo=0)
    _pos_int(verify["rtl_images"], "verify.rtl_images", lo=0)
    _pos_int(verify["netlist_images"], "verify.netlist_images", lo=1)
    _pos_int(verify["board_images"], "verify.board_images", lo=1)
    layers_raw = raw.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise InputError("layers: expected a non-empty list of layers, each with a 'type' in "
                         f"{list(LAYER_TYPES)}")
    layers = [_check_layer(i, layer, neuron) for i, layer in enumerate(layers_raw)]
    _check_structure(layers)
    for i, layer in enumerate(layers):
        lanes = layer.get("lanes")
        if lanes is not None and (isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1):
            raise InputError(f"layers[{i}] lif.lanes (neurons updated per cycle): accepted an integer from 1 "
                             f"to the layer's neurons, got {lanes!r}")
    counts: dict[str, int] = {}
    for layer in layers:
        if layer.get("name") is None:
            n = counts.get(layer["type"], 0)
            counts[layer["type"]] = n + 1
            layer["name"] = f"{layer['type']}{n}"
    names = [layer["name"] for layer in layers]
    if len(set(names)) != len(names):
        raise InputError(f"layers: layer names must be unique, got {names}")
    prune = _check_prune(_merge(DEFAULTS["prune"], raw.get("prune"), "prune"), layers)
    reference = _check_reference(raw.get("reference"), source)
    return Spec(name=name, data=data, time_steps=t_steps, encoding=encoding, events=events, neuron=neuron, quant=quant,
                train=train, verify=verify, rtl=rtl, prune=prune, layers=layers, source=source,
                reference=reference)


REFERENCE_KEYS = {"nir": None, "dt": None, "scheme": "euler", "reset": "zero", "strict": True, "if_per_step": False}


def _check_reference(raw: Any, source: str) -> dict | None:
    """reference: the NIR graph the spec was imported from and how it was discretized."""
    if raw is None:
        return None
    ref = _merge(REFERENCE_KEYS, raw, "reference")
    if not isinstance(ref["nir"], str):
        raise InputError(f"reference.nir: expected the path of the .nir graph, got {ref['nir']!r}")
    found = resolve_path(ref["nir"], source)
    if found is None:
        raise InputError(f"reference.nir: file not found: {ref['nir']}")
    ref["nir"] = found
    _number(ref["dt"], "reference.dt", 1e-12, 1e6, "the time step in seconds, above 0")
    if ref["scheme"] not in ("euler", "exact"):
        raise InputError(f"reference.scheme: accepted ['euler', 'exact'], got {ref['scheme']!r}")
    if ref["reset"] not in ("subtract", "zero"):
        raise InputError(f"reference.reset: accepted ['subtract', 'zero'], got {ref['reset']!r}")
    for key in ("strict", "if_per_step"):
        if not isinstance(ref[key], bool):
            raise InputError(f"reference.{key}: expected true or false, got {ref[key]!r}")
    return ref


def prunable_layers(layers: list) -> list[str]:
    """Hidden convolutions (each followed by a LIF): their output channels can be removed."""
    return [layer["name"] for i, layer in enumerate(layers)
            if layer["type"] == "conv" and i + 1 < len(layers) and layers[i + 1]["type"] == "lif"]


def kept_channels(n: int, ratio: float) -> int:
    """METHOD.md: keep the top round((1 - r) * n) channels."""
    return int(round((1.0 - ratio) * n))


def after_pruning(spec: Spec) -> Spec:
    """The spec with each pruned conv's filters reduced to the channels it keeps: the shapes
    the hardware will be built for (to check the parallelism knobs before any training)."""
    ratios = spec.prune["ratios"]
    layers = [dict(layer, filters=kept_channels(layer["filters"], ratios[layer["name"]]))
              if layer["name"] in ratios else layer for layer in spec.layers]
    return dataclasses.replace(spec, layers=layers)


def check_ratios(ratios: dict, layers: list) -> None:
    """Pruning ratios (layer name -> ratio): each a prunable layer, in [0, 1), leaving at least
    one channel, and a number of kept channels its pe divides."""
    accepted = prunable_layers(layers)
    by_name = {layer["name"]: layer for layer in layers}
    for name, ratio in ratios.items():
        if name not in accepted:
            raise InputError(f"prune.ratios: {name!r} is not a prunable layer; accepted: the hidden conv "
                             f"layers {accepted}" + ("" if name in by_name else " (no layer has that name)"))
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
            raise InputError(f"prune.ratios.{name}: expected a ratio in [0, 1), got {ratio!r}")
        layer = by_name[name]
        keep = kept_channels(layer["filters"], ratio)
        if keep < 1:
            raise InputError(f"prune.ratios.{name}: ratio {ratio} would leave no channel of its "
                             f"{layer['filters']}; accepted ratios leave at least one "
                             f"(below {1 - 0.5 / layer['filters']:.3f})")
        if layer["pe"] and keep % layer["pe"]:
            raise InputError(f"prune.ratios.{name}: {keep} channels are kept, which its pe {layer['pe']} "
                             "does not divide; choose a ratio or a pe that fits")


def _check_prune(prune: dict, layers: list) -> dict:
    if prune["method"] not in PRUNE_METHODS:
        raise InputError(f"prune.method: accepted {list(PRUNE_METHODS)}, got {prune['method']!r}")
    if prune["order"] not in PRUNE_ORDERS:
        raise InputError(f"prune.order: accepted {list(PRUNE_ORDERS)}, got {prune['order']!r}")
    eps = prune["eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < 1:
        raise InputError(f"prune.eps: expected a number in [0, 1) (singular values above it count "
                         f"towards the rank), got {eps!r}")
    _pos_int(prune["batches"], "prune.batches")
    _pos_int(prune["batch_size"], "prune.batch_size")
    _pos_int(prune["finetune_epochs"], "prune.finetune_epochs", lo=0)
    _pos_int(prune["seed"], "prune.seed", lo=0)
    ratios = prune["ratios"]
    if ratios is None:
        ratios = prune["ratios"] = {}
    if not isinstance(ratios, dict):
        raise InputError(f"prune.ratios: expected a mapping layer name -> ratio in [0, 1), got {ratios!r}")
    check_ratios(ratios, layers)
    return prune


def load_spec(path: str) -> Spec:
    if not os.path.isfile(path):
        raise InputError(f"spec file not found: {path} (expected a YAML file, see examples/)")
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc.__class__.__name__}: {exc})") from None
    return parse_spec(raw, source=path)


def infer_shapes(spec: Spec, input_shape) -> list[tuple]:
    """Output shape of every layer for an input shape (H, W, C); a layer that cannot be built
    on its input raises InputError naming it."""
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3:
        raise InputError(f"input shape must be (H, W, C), got {shape}")
    shapes = []
    beat = shape[2]        # elements per beat of the stream: a pixel's channels, or a flat layer
    for layer in spec.layers:
        kind, name = layer["type"], layer["name"]
        if kind in ("conv", "dense") and layer.get("simd") and beat % layer["simd"]:
            raise InputError(f"layer {name!r}: simd {layer['simd']} (inputs per cycle) must divide the "
                             f"{beat} elements of each of its input beats (the channels of a pixel, or "
                             "a flat input's length)")
        if kind in ("conv", "dense"):
            beat = layer["filters"] if kind == "conv" else layer["units"]
        if kind == "lif" and layer.get("lanes") and layer["lanes"] > beat:
            raise InputError(f"layer {name!r}: lanes {layer['lanes']} (neurons updated per cycle) is more than "
                             f"its {beat} neurons per position; accepted: 1..{beat}")
        if kind == "conv":
            k, st = layer["kernel"], layer["stride"]
            h, w, _ = shape
            oh, ow = (conv_output(size, k, st, layer["padding"], axis) for axis, size in enumerate((h, w)))
            if oh < 1 or ow < 1:
                raise InputError(f"layer {name!r}: a {k}x{k} conv with padding {layer['padding']!r} does not fit its "
                                 f"{h}x{w} input; use padding 'same' or a smaller kernel")
            shape = (oh, ow, layer["filters"])
        elif kind in ("maxpool", "sumpool"):
            h, w, c = shape
            p = layer["size"]
            if h % p or w % p:
                raise InputError(f"layer {name!r}: {kind} {p}x{p} needs an input whose height and width "
                                 f"divide by {p}, got {h}x{w}")
            shape = (h // p, w // p, c)
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            if len(shape) != 1:
                raise InputError(f"layer {name!r}: 'dense' needs a flat input; put 'flatten' before it")
            shape = (layer["units"],)
        shapes.append(shape)
    return shapes


def check_shapes(spec: Spec, input_shape) -> None:
    """Every layer built on its input, in the network as specified and as pruned (the shapes the
    hardware is built for, which the simd knobs must fit): InputError naming the first that is not."""
    infer_shapes(spec, input_shape)
    infer_shapes(after_pruning(spec), input_shape)


def check_with_data(spec: Spec) -> tuple[int, int, int]:
    """The checks of a spec that need its data set but no training and no images loaded: the
    train / hold-out split, a readout output per class, and every layer on the image shape (known for the built-in sets, read
    from a .npz's array headers and labels). `qpsnn validate` runs them, and `qpsnn flow` and
    every step run them before any work: a spec validate accepts is not refused later at a spec
    check, and one it refuses is refused by the flow with the same message. Returns the image
    (or event frame) shape (H, W, C) the layers were checked on."""
    dataset = spec.data["dataset"]
    shape, counts = dataset_layout(dataset, spec.events["layout"])
    if spec.encoding == "events":
        if len(shape) != 4:
            raise InputError(f"encoding: events takes event frames, (N, T, H, W, C) counts; {dataset} holds images "
                             f"{shape}; accepted: a .npz of frames, or encoding: direct")
        if shape[0] != spec.time_steps:
            raise InputError(f"time_steps: {spec.time_steps}, but {dataset}'s samples have {shape[0]} frames; accepted: "
                             "time_steps equal to the frames per sample")
        shape = shape[1:]
    elif len(shape) == 4:
        raise InputError(f"{dataset} holds event frames {shape} (T, H, W, C); accepted with encoding: events")
    if not (dataset.endswith(".npz") and npz_is_split(dataset)):     # a file's own hold-out is not split
        check_split(dataset, counts, spec.data["test_fraction"])
    last = [layer for layer in spec.layers if layer["type"] == "dense"][-1]
    if last["units"] < len(counts):
        raise InputError(f"layer {last['name']!r}: {last['units']} units, but the readout needs one per class "
                         f"and {dataset} has {len(counts)} classes (labels 0..{len(counts) - 1}); accepted: "
                         f"units >= {len(counts)}")
    check_shapes(spec, shape)
    return tuple(shape)
