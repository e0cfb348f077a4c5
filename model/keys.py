"""What a trained model depends on, as short content keys: they name checkpoints, cached
models and the flow's step results. Light on purpose (no TensorFlow): a step's currency is
judged before anything heavy is imported."""

from __future__ import annotations

import hashlib
import json

from qpsnn.model.data import data_identity
from qpsnn.spec import Spec

HARDWARE_KNOBS = ("pe", "simd", "lanes")     # layer keys that change the hardware, not the weights


def digest(value) -> str:
    """16 hex digits of the SHA-256 of `value` as canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def layers_without_knobs(spec_dict: dict) -> list:
    """The layers as training sees them. `bias: true`, what every layer had before the key
    existed, is left out: models trained before it stay current."""
    return [{k: v for k, v in layer.items() if k not in HARDWARE_KNOBS and not (k == "bias" and v is True)}
            for layer in spec_dict["layers"]]


def data_part(spec_dict: dict) -> dict:
    """The data section of a spec, which images its data set name stands for here, and the
    content of the weights the training starts from (train.init), when given: a front end that
    writes new weights or images to the same path makes a new model."""
    from qpsnn.model.weights import file_digest

    init = spec_dict["train"].get("init")
    return {"data": spec_dict["data"], "images": data_identity(spec_dict["data"]["dataset"]),
            "init": file_digest(init) if init else None}


def input_part(spec_dict: dict) -> dict:
    """How the network takes its input: images at every step, or event frames (their clipping
    and layout), which the trained weights depend on."""
    return {"encoding": spec_dict["encoding"], "events": spec_dict["events"]} \
        if spec_dict["encoding"] != "direct" else {}


def training_key(spec: Spec) -> str:
    """What a checkpoint depends on: everything that changes the trained weights except the
    epoch counts (so a run may be resumed with more epochs) and the hardware knobs."""
    d = spec.to_dict()
    train = {k: v for k, v in d["train"].items() if k != "epochs"}
    prune = {k: v for k, v in d["prune"].items() if k != "finetune_epochs"}
    key = {**data_part(d), "time_steps": d["time_steps"], "quant": d["quant"], "neuron": d["neuron"],
           "train": train, "prune": prune, "layers": layers_without_knobs(d), **input_part(d)}
    return digest(key)


def first_quantized(spec: Spec) -> bool:
    """Whether the first training is quantization-aware: always, but when the pruning comes
    first (prune.order 'prune_first'), where quantization starts at the fine-tuning."""
    return not spec.prune["ratios"] or spec.prune["order"] == "quantize_first"


def trained_key(spec: Spec) -> str:
    """What the first training's model depends on: not the pruning (ratios, method, scoring,
    fine-tuning), so that a change of those prunes the same trained model again, and not the
    hardware knobs; the epochs and the code version are in it."""
    import qpsnn
    d = spec.to_dict()
    key = {**data_part(d), "time_steps": d["time_steps"], "quant": d["quant"], "neuron": d["neuron"],
           "train": d["train"], "layers": layers_without_knobs(d), "quantized": first_quantized(spec),
           "version": qpsnn.__version__, **input_part(d)}
    return digest(key)


def model_key(spec: Spec) -> str:
    """What a finished (trained, pruned, fine-tuned) model depends on: the training key, the
    epoch counts, the neuron defaults and the code version. The hardware knobs are not in it,
    so a flow rerun with other `pe`/`simd` reuses the model."""
    import qpsnn
    d = spec.to_dict()
    key = {"training": training_key(spec), "epochs": d["train"]["epochs"],
           "finetune_epochs": d["prune"]["finetune_epochs"], "neuron": d["neuron"], "version": qpsnn.__version__}
    return digest(key)
