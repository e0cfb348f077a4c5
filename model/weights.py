"""A network's float weights as a file of its own: what a front end (a user's Keras model, an NIR
graph) hands to the flow, and what `train.init` in a spec starts from.

One .npz, one array per weight, keyed `<layer>/<weight>` with the spec's layer names and the
Keras layout of the model `build_model` makes from the spec:

    <conv>/kernel      (kh, kw, in, out)     <dense>/kernel   (in, out)
    <layer>/bias       (out,)                a layer with `bias: false` has none
    <layer>_bn/gamma, beta, moving_mean, moving_variance   (out,)   the batch norm before its LIF

Light on purpose (numpy only): the front ends write it without TensorFlow.
"""

from __future__ import annotations

import hashlib

import numpy as np

from qpsnn.errors import InputError

WEIGHT_KINDS = ("conv", "dense")
BATCH_NORM_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")
ACCEPTED = ("a .npz of float arrays keyed <layer>/kernel, <layer>/bias and, for a batch norm before a LIF, "
            "<layer>_bn/gamma, beta, moving_mean, moving_variance (qpsnn.model.weights)")


def weight_names(layer: dict) -> tuple[str, ...]:
    """A conv or dense layer's weights, in Keras' order: its kernel, and its bias unless `bias: false`."""
    return ("kernel", "bias") if layer["bias"] else ("kernel",)


def file_digest(path: str) -> str:
    """16 hex digits of the SHA-256 of a file's bytes: part of the keys of what is made from it."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def expected_shapes(spec, input_shape) -> dict[str, tuple]:
    """The shape of every array a weights file for `spec` on inputs of `input_shape` holds."""
    from qpsnn.model.builder import batch_norm_name, normalized_layers
    from qpsnn.spec import infer_shapes

    shapes = {}
    normalized = set(normalized_layers(spec))
    previous = tuple(input_shape)
    for layer, out in zip(spec.layers, infer_shapes(spec, input_shape)):
        name = layer["name"]
        if layer["type"] == "conv":
            k = layer["kernel"]
            shapes[f"{name}/kernel"] = (k, k, previous[-1], layer["filters"])
        elif layer["type"] == "dense":
            shapes[f"{name}/kernel"] = (previous[0], layer["units"])
        if layer["type"] in WEIGHT_KINDS:
            if "bias" in weight_names(layer):
                shapes[f"{name}/bias"] = (out[-1],)
            if name in normalized:
                for weight in BATCH_NORM_WEIGHTS:
                    shapes[f"{batch_norm_name(name)}/{weight}"] = (out[-1],)
        previous = out
    return shapes


def read_weights(path: str, spec, input_shape) -> dict[str, np.ndarray]:
    """The arrays of a weights file, checked against the spec's layers: every array the spec's
    model needs is there with its shape, finite; nothing else is."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k], np.float32) for k in f.files}
    except Exception as exc:
        raise InputError(f"train.init: cannot read {path} ({exc.__class__.__name__}: {exc}); expected "
                         f"{ACCEPTED}") from None
    shapes = expected_shapes(spec, input_shape)
    missing = sorted(set(shapes) - set(arrays))
    extra = sorted(set(arrays) - set(shapes))
    if missing or extra:
        raise InputError(f"train.init: {path} does not fit the spec's layers: missing {missing}, not in the spec "
                         f"{extra}; expected {ACCEPTED}")
    for key, shape in shapes.items():
        if arrays[key].shape != shape:
            raise InputError(f"train.init: {path}: {key} has shape {arrays[key].shape}, the spec's layer needs "
                             f"{shape}")
        if not np.all(np.isfinite(arrays[key])):
            raise InputError(f"train.init: {path}: {key} holds values that are not finite")
    return arrays


def write_weights(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Float32 arrays, written whole or not at all."""
    from qpsnn.files import write_npz
    write_npz(path, {k: np.asarray(v, np.float32) for k, v in arrays.items()})


def model_weights(model, spec) -> dict[str, np.ndarray]:
    """The weights of a model `build_model` made from `spec`, as a weights file holds them."""
    from qpsnn.model.builder import batch_norm_of

    arrays = {}
    for layer in spec.layers:
        if layer["type"] not in WEIGHT_KINDS:
            continue
        arrays.update({f"{layer['name']}/{weight}": value for weight, value
                       in zip(weight_names(layer), model.get_layer(layer["name"]).get_weights())})
        bn = batch_norm_of(model, layer["name"])
        if bn is not None:
            for weight, value in zip(BATCH_NORM_WEIGHTS, bn.get_weights()):
                arrays[f"{bn.name}/{weight}"] = value
    return arrays


def kernel_and_bias(model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A conv or dense layer's kernel and bias, zeros for a layer without one (`bias: false`)."""
    layer = model.get_layer(name)
    weights = [np.asarray(v, np.float32) for v in layer.get_weights()]
    return weights[0], weights[1] if layer.use_bias else np.zeros(weights[0].shape[-1], np.float32)


def set_model_weights(model, spec, arrays: dict[str, np.ndarray]) -> None:
    """Give a model `build_model` made from `spec` the weights of a checked weights file."""
    from qpsnn.model.builder import batch_norm_of

    for layer in spec.layers:
        if layer["type"] not in WEIGHT_KINDS:
            continue
        name = layer["name"]
        model.get_layer(name).set_weights([arrays[f"{name}/{weight}"] for weight in weight_names(layer)])
        bn = batch_norm_of(model, name)
        if bn is not None:
            bn.set_weights([arrays[f"{bn.name}/{weight}"] for weight in BATCH_NORM_WEIGHTS])
