"""Front end: a Keras/QKeras spiking model the user built and trained in their own code ->
the spec's layers and a weights file (qpsnn.model.weights), which the flow takes like any other.

The model is a chain of the layers qpsnn maps, in the time-in-batch layout of qpsnn's own models
(qpsnn.model.lif): QConv2D / QDense with a qpsnn.ReScaW kernel quantizer, BatchNormalization
between a hidden weight layer and its LIF, qpsnn.RepeatTime(T) once before the first LIF (direct
encoding), qpsnn.LIF, MaxPooling2D(2), Flatten, Dropout (nothing at inference), and
qpsnn.TimeMean(T) last (the readout). Anything else raises one InputError naming the layer, its
type and what is accepted, before anything is written.
"""

from __future__ import annotations

import numpy as np

from qpsnn.errors import InputError
from qpsnn.model.lif import LIF, RepeatTime, TimeMean
from qpsnn.model.rescaw import ReScaW
from qpsnn.model.weights import BATCH_NORM_WEIGHTS
from qpsnn.spec import identifier

ACCEPTED = ("QConv2D / QDense with kernel_quantizer=qpsnn.ReScaW(bits) (a ZeroPadding2D before a 'valid' QConv2D: "
            "explicit padding), BatchNormalization between a hidden "
            "weight layer and its qpsnn.LIF, qpsnn.RepeatTime(T) once before the first LIF, qpsnn.LIF, "
            "MaxPooling2D(2), Flatten, Dropout, and qpsnn.TimeMean(T) last")


def _refuse(layer, problem: str) -> InputError:
    return InputError(f"layer {layer.name!r} ({type(layer).__name__}): {problem}; accepted: {ACCEPTED}")


def _chain(model) -> list:
    """The model's layers in order, each taking the one before it (InputLayer left out)."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    previous = None
    for layer in layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        inbound = nodes[0].inbound_layers if nodes else []
        inbound = inbound if isinstance(inbound, list) else [inbound]
        inbound = [x for x in inbound if type(x).__name__ != "InputLayer"]
        if len(nodes) > 1 or len(inbound) > (previous is not None) or (previous is not None and inbound != [previous]):
            raise _refuse(layer, "the model must be a chain (each layer takes the one before it; no branches, "
                                 "merges or shared layers)")
        previous = layer
    return layers


def _quantizer(layer) -> ReScaW:
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    if not isinstance(quantizer, ReScaW):
        raise _refuse(layer, f"kernel_quantizer is {quantizer!s}, not qpsnn.ReScaW (e.g. "
                             "kernel_quantizer=qpsnn.ReScaW(bits=4))")
    if getattr(layer, "bias_quantizer_internal", None) is not None:
        raise _refuse(layer, "a bias quantizer: the bias is folded into the neuron's fixed point (leave "
                             "bias_quantizer unset)")
    activation = getattr(layer.activation, "__name__", str(layer.activation))
    if activation != "linear":
        raise _refuse(layer, f"activation {activation!r}: the neuron is the next qpsnn.LIF (leave activation "
                             "unset)")
    return quantizer


def _weight_layer(layer) -> tuple[dict, list, ReScaW]:
    """(spec layer, [kernel] or [kernel, bias], quantizer) of a QConv2D or QDense."""
    quantizer = _quantizer(layer)
    weights = [np.asarray(layer.kernel.numpy(), np.float32)]
    if layer.use_bias:
        weights.append(np.asarray(layer.bias.numpy(), np.float32))
    if type(layer).__name__ == "QConv2D":
        kh, kw = layer.kernel_size
        sh, sw = layer.strides
        if kh != kw or kh not in (1, 3, 5):
            raise _refuse(layer, f"kernel {kh}x{kw}: accepted square kernels 1, 3 or 5")
        if sh != sw or sh not in (1, 2):
            raise _refuse(layer, f"strides {layer.strides}: accepted 1 or 2 in both axes")
        if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
            raise _refuse(layer, "dilation or groups other than 1")
        if layer.data_format != "channels_last":
            raise _refuse(layer, "data_format channels_first: accepted channels_last (Keras' default)")
        spec = {"type": "conv", "filters": int(layer.filters), "kernel": int(kh), "stride": int(sh),
                "padding": layer.padding}
    else:
        spec = {"type": "dense", "units": int(layer.units)}
    spec["bias"] = bool(layer.use_bias)
    return spec, weights, quantizer


def _batch_norm(layer) -> list:
    if layer.axis not in ([-1], [3], [1]) or getattr(layer, "renorm", False):
        raise _refuse(layer, "a batch norm over an axis other than the channels (the last), or with renorm")
    n = int(layer.moving_mean.shape[0])
    gamma = layer.gamma.numpy() if layer.scale else np.ones(n, np.float32)
    beta = layer.beta.numpy() if layer.center else np.zeros(n, np.float32)
    return [np.asarray(v, np.float32) for v in (gamma, beta, layer.moving_mean.numpy(), layer.moving_variance.numpy())]


def spec_name(name: str, used: set) -> str:
    """A Keras layer name as a spec layer name (an identifier, unique)."""
    clean = identifier(name, "layer")
    out, n = clean, 1
    while out in used or out.endswith("_bn"):
        out, n = f"{clean}_{n}", n + 1
    used.add(out)
    return out


def spec_from_keras(model, time_steps: int | None = None) -> tuple[dict, dict]:
    """(the spec's keys made from the model: time_steps, quant (but frac_bits), train.batch_norm,
    layers; the weights file's arrays). InputError naming the first layer qpsnn cannot map."""
    layers = _chain(model)
    if not layers:
        raise InputError(f"the model has no layers; accepted: {ACCEPTED}")
    T = time_steps
    spec_layers, arrays, quantizers, normalized = [], {}, [], []
    used: set = set()
    repeated = False
    pending_bn = None            # (keras layer, weight layer name) waiting for its LIF
    pending_pad = None           # (keras layer, [ph, pw]) of a ZeroPadding2D waiting for its conv
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        if isinstance(layer, (LIF, RepeatTime, TimeMean)):
            if T is None:
                T = layer.time_steps
            if layer.time_steps != T:
                raise _refuse(layer, f"time_steps {layer.time_steps}, but the model runs {T} time steps "
                                     "(every LIF, RepeatTime and TimeMean, and convert's time_steps, must agree)")
        if kind in ("QConv2D", "QDense"):
            if pending_bn is not None:
                raise _refuse(pending_bn[0], "a BatchNormalization not followed by a qpsnn.LIF")
            entry, weights, quantizer = _weight_layer(layer)
            if pending_pad is not None:
                if entry["type"] != "conv" or entry["padding"] != "valid":
                    raise _refuse(pending_pad[0], "a ZeroPadding2D not followed by a QConv2D with padding 'valid'")
                entry["padding"] = pending_pad[1]
                pending_pad = None
            entry["name"] = spec_name(layer.name, used)
            arrays.update({f"{entry['name']}/{weight}": value for weight, value in zip(("kernel", "bias"), weights)})
            quantizers.append((layer, quantizer))
            spec_layers.append(entry)
        elif kind in ("Conv2D", "Dense", "Conv1D", "DepthwiseConv2D", "SeparableConv2D"):
            raise _refuse(layer, f"an unquantized {kind}: use Q{kind} from QKeras with "
                                 "kernel_quantizer=qpsnn.ReScaW(bits)")
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            if top != bottom or left != right or pending_pad is not None:
                raise _refuse(layer, f"padding {layer.padding}: accepted the same zeros top and bottom, left and right")
            pending_pad = (layer, [int(top), int(left)])
        elif kind == "BatchNormalization":
            if not spec_layers or spec_layers[-1]["type"] not in ("conv", "dense") or pending_bn is not None:
                raise _refuse(layer, "a BatchNormalization not directly after a QConv2D or QDense")
            pending_bn = (layer, spec_layers[-1]["name"])
            for weight, value in zip(BATCH_NORM_WEIGHTS, _batch_norm(layer)):
                arrays[f"{pending_bn[1]}_bn/{weight}"] = value
        elif isinstance(layer, RepeatTime):
            if repeated or any(e["type"] == "lif" for e in spec_layers):
                raise _refuse(layer, "RepeatTime must come once, before the first LIF (direct encoding)")
            repeated = True
        elif isinstance(layer, LIF):
            if not repeated:
                raise _refuse(layer, "a LIF before qpsnn.RepeatTime: the time steps start at RepeatTime")
            if not spec_layers or spec_layers[-1]["type"] not in ("conv", "dense"):
                raise _refuse(layer, "a LIF must follow a QConv2D or QDense (through its batch norm)")
            if pending_bn is not None:
                normalized.append(pending_bn[1])
                pending_bn = None
            spec_layers.append({"type": "lif", "name": spec_name(layer.name, used), "tau": layer.tau,
                                "threshold": layer.threshold, "reset": layer.reset, "strict": layer.strict})
        elif kind == "MaxPooling2D":
            if tuple(layer.pool_size) != (2, 2) or tuple(layer.strides) != (2, 2) or layer.padding != "valid":
                raise _refuse(layer, f"pool_size {layer.pool_size}, strides {layer.strides}, padding "
                                     f"{layer.padding!r}: accepted MaxPooling2D(2) (strides 2, padding 'valid')")
            spec_layers.append({"type": "maxpool", "size": 2, "name": spec_name(layer.name, used)})
        elif kind == "Flatten":
            spec_layers.append({"type": "flatten", "name": spec_name(layer.name, used)})
        elif kind == "Dropout":
            continue            # nothing at inference
        elif isinstance(layer, TimeMean):
            if i != len(layers) - 1:
                raise _refuse(layer, "TimeMean is the readout: it must be the last layer")
            spikes = bool(spec_layers) and spec_layers[-1]["type"] == "lif"
            spec_layers.append({"type": "readout", "mode": "spikes" if spikes else "membrane",
                                "name": spec_name(layer.name, used)})
        else:
            raise _refuse(layer, "a layer qpsnn does not map to its hardware")
        if pending_pad is not None and kind not in ("ZeroPadding2D", "RepeatTime"):
            raise _refuse(pending_pad[0], "a ZeroPadding2D not followed by a QConv2D with padding 'valid'")
        if pending_bn is not None and kind not in ("BatchNormalization", "RepeatTime") and layer is not pending_bn[0]:
            raise _refuse(pending_bn[0], "a BatchNormalization not followed by a qpsnn.LIF")
    if not spec_layers or spec_layers[-1]["type"] != "readout":
        raise _refuse(layers[-1], "the model must end with qpsnn.TimeMean (the readout)")
    if not repeated:
        raise InputError(f"the model has no qpsnn.RepeatTime (direct encoding: the image at every time step); "
                         f"accepted: {ACCEPTED}")
    return _spec_keys(spec_layers, quantizers, normalized, T), arrays


def _spec_keys(spec_layers: list, quantizers: list, normalized: list, T: int) -> dict:
    """The quantization and batch norm keys of the spec, which are one per network in a spec:
    refused, naming the layer, where the model differs within it."""
    from qpsnn.model.builder import normalized_layers
    from qpsnn.spec import parse_spec

    first_layer, first = quantizers[0]
    last_layer, last = quantizers[-1]
    hidden = quantizers[1:-1]
    for layer, q in quantizers:
        if q.gamma != first.gamma:
            raise _refuse(layer, f"ReScaW gamma {q.gamma!r}, but {first_layer.name!r} has {first.gamma!r}: one "
                                 "gamma mode per network")
    for layer, q in quantizers[:-1]:
        if not q.per_channel and len(quantizers) > 1:
            raise _refuse(layer, "ReScaW(per_channel=False) on a hidden layer: hidden layers scale per channel "
                                 "(the default)")
    if last.per_channel:
        raise _refuse(last_layer, "ReScaW(per_channel=True) on the readout layer: its classes must share one "
                                  "scale to be compared; use qpsnn.ReScaW(bits, per_channel=False)")
    if hidden and any(q.bits != hidden[0][1].bits for _, q in hidden):
        layer = next(layer for layer, q in hidden if q.bits != hidden[0][1].bits)
        raise _refuse(layer, f"{_quantizer(layer).bits} bits, but {hidden[0][0].name!r} has {hidden[0][1].bits}: "
                             "the hidden layers share one width (the first and the readout layer have their own)")
    quant = {"bits": hidden[0][1].bits if hidden else first.bits, "gamma": first.gamma,
             "first_bits": first.bits, "last_bits": last.bits}
    keys = {"time_steps": int(T), "quant": quant, "train": {"batch_norm": bool(normalized)}, "layers": spec_layers}
    spec = parse_spec({**keys, "data": {"dataset": "digits"}}, "<your model>")
    wanted = set(normalized_layers(spec))
    if normalized and wanted != set(normalized):
        name = sorted(wanted - set(normalized))[0]
        raise InputError(f"layer {name!r}: no BatchNormalization before its LIF, while others have one: put one "
                         "between every hidden QConv2D/QDense and its LIF, or none")
    return keys
