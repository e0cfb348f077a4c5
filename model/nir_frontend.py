"""Front end: an NIR graph -> the spec's layers and a weights file (qpsnn.model.weights), in
qpsnn's conventions (channels last, Keras kernel layouts, the neuron's input gain folded into the
weight layer before it), which the flow takes like any other spec.

    Conv2d -> LIF/IF/CubaLIF        conv (explicit padding, stride), lif
    Flatten                         flatten: the next layer's inputs permuted from NIR's channels-
                                    first order (c, y, x) to channels-last (y, x, c), exactly
    Affine/Linear -> LIF/IF         dense, lif
    Affine/Linear [-> LI] -> Output the last dense layer and the membrane readout
    Affine/Linear -> LIF/IF -> Output   the last dense layer, its LIF, the spike-count readout
    Scale                           folded into the weight layer before it
    SumPool2d, AvgPool2d (2x2)      sumpool (an average's 1/4 folded into the next weight layer)

Each neuron is discretized at dt (model/nir_graph.py): v <- decay v + gain I, a spike when
v > threshold (strict: `lif.strict`), reset by subtraction (soft) or to 0 (hard). The gain goes
into the weights and bias before the neuron; the decay becomes the hardware's leak, exact for
2^-k (1: IF, 1/2, 1/4, ...) and 1 - 2^-k (3/4, 7/8, ...: snnTorch's usual betas); otherwise the
nearest of them, and the deviation is reported.
The input is taken to be the image scaled to [0, 1] (pixel codes / 255), fed at every step.
"""

from __future__ import annotations

import math

import numpy as np

from qpsnn.errors import InputError
from qpsnn.model import nir_graph as ng


def nearest_leak(decay: float) -> tuple[float, float]:
    """The hardware leak (spec tau: 2^-k or 1 - 2^-k) nearest to a decay in [0, 1], and its
    deviation tau - decay."""
    from qpsnn.spec import leak_forms
    tau = min(leak_forms(), key=lambda t: (abs(t - decay), t))
    return tau, tau - decay


def default_dataset(shape_chw: tuple) -> str | None:
    """A built-in data set whose images the graph's input takes, when it is one."""
    size = int(np.prod(shape_chw))
    if tuple(shape_chw) in ((1, 28, 28), (28, 28)) or (len(shape_chw) == 1 and size == 784):
        return "mnist"
    if tuple(shape_chw) in ((1, 8, 8), (8, 8)) or (len(shape_chw) == 1 and size == 64):
        return "digits"
    return None


def chw_to_hwc_rows(n_out: int, shape_chw: tuple) -> np.ndarray:
    """The permutation p with hwc_index -> chw_index: a dense kernel (in, out) written for
    NIR's channels-first flat inputs reads qpsnn's channels-last ones as kernel[p]."""
    c, h, w = shape_chw
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def spec_from_nir(path: str, time_steps: int, dt: float | None = None, scheme: str | None = None,
                  reset: str | None = None, exporter: str = "generic", image_shape: tuple | None = None,
                  per_layer_mean: bool = False) -> dict:
    """The spec's keys (time_steps, train.batch_norm, layers), the weights file's arrays, the
    notes the import must print (deviations, assumptions), the data set image shape (H, W, C)
    and the discretization used: {'keys', 'arrays', 'notes', 'image_shape', 'discretization'}.
    InputError naming the first node that cannot be mapped."""
    graph = ng.read_graph(path)
    preset = ng.preset_of(graph, exporter)
    dt = preset["dt"] if dt is None else dt
    scheme = scheme or preset["scheme"]
    reset = reset or preset["reset"]
    if dt is None:
        raise InputError(f"--dt: the time step is needed to discretize the graph (NIR stores none); give --dt "
                         f"SECONDS, or --from one of {sorted(set(ng.PRESETS) - {'generic'})} for its exporter's")
    if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
        raise InputError(f"--dt: expected a time step in seconds above 0, got {dt!r}")
    if scheme not in ng.SCHEMES:
        raise InputError(f"--scheme: {scheme!r}; accepted: {list(ng.SCHEMES)}")
    if reset not in ng.RESETS:
        raise InputError(f"--reset: {reset!r}; accepted: {list(ng.RESETS)}")
    nodes = ng.chain(graph)
    shape = ng.input_shape(nodes)
    if shape is None and image_shape is not None:
        shape = (image_shape[2], image_shape[0], image_shape[1])
    if shape is None:
        raise InputError("the graph's Input declares no shape; give --data (its images' shape is the input's)")
    if len(shape) == 2:
        shape = (1,) + shape
    notes: list[str] = []
    layers: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    pending = None           # the weight layer whose neuron is still to come
    flat_from = None         # the channels-first shape a Flatten flattened
    hwc = (shape[1], shape[2], shape[0]) if len(shape) == 3 else None
    if image_shape is not None and len(shape) == 3 and tuple(image_shape) != hwc:
        raise InputError(f"the graph's input is {shape} (C, H, W), the data set's images are {tuple(image_shape)} "
                         "(H, W, C); accepted: the same image shape")
    if len(shape) == 1:      # a flat input: the images flattened channels first (NIR's order)
        if image_shape is None:
            dataset_shape = {784: (28, 28, 1), 64: (8, 8, 1)}.get(shape[0])
            if dataset_shape is None:
                raise InputError(f"the graph's input is flat ({shape[0]},); give --data for the images' shape")
            image_shape = dataset_shape
        if int(np.prod(image_shape)) != shape[0]:
            raise InputError(f"the graph's flat input has {shape[0]} values, the data set's images "
                             f"{tuple(image_shape)} have {int(np.prod(image_shape))}")
        hwc = tuple(image_shape)
        flat_from = (hwc[2], hwc[0], hwc[1])
        layers.append({"type": "flatten", "name": "flatten0"})
        shape = (shape[0],)

    def name_of(kind: str) -> str:
        n = counts.get(kind, 0)
        counts[kind] = n + 1
        return f"{kind}{n}"

    last_kind = None
    pool_gain = 1.0          # an average pool's 1/4, for the next weight layer's kernel
    for node_name, node in nodes[1:]:
        kind = ng.node_type(node)
        if kind in ng.WEIGHTS:
            if pending is not None:
                raise InputError(f"node {node_name!r} ({kind}) follows the weight layer {pending['node']!r} without "
                                 "a neuron between them; accepted: each hidden weight layer followed by a LIF, IF or "
                                 "CubaLIF")
            weight = np.asarray(node.weight, np.float64)
            if kind == "Conv2d":
                if len(shape) != 3:
                    raise InputError(f"node {node_name!r} (Conv2d) after a Flatten; accepted: convolutions first")
                geometry = ng.conv_params(node_name, node)
                if weight.shape[1] != shape[0]:
                    raise InputError(f"node {node_name!r} (Conv2d): {weight.shape[1]} input channels, its input has "
                                     f"{shape[0]}")
                k, st, (ph, pw) = geometry["kernel"], geometry["stride"], geometry["padding"]
                shape = (weight.shape[0], ng.conv_out(shape[1], k, st, ph), ng.conv_out(shape[2], k, st, pw))
                entry = {"type": "conv", "filters": int(weight.shape[0]), **geometry}
                kernel = weight.transpose(2, 3, 1, 0)                 # (kh, kw, in, out)
            else:
                if len(shape) != 1:
                    raise InputError(f"node {node_name!r} ({kind}) on a {len(shape)}-d input; put a Flatten before it")
                if weight.ndim != 2 or weight.shape[1] != shape[0]:
                    raise InputError(f"node {node_name!r} ({kind}): weight of shape {weight.shape}, its input has "
                                     f"{shape[0]} values; expected (out, {shape[0]})")
                kernel = weight.T                                     # (in, out)
                if flat_from is not None:
                    kernel = kernel[chw_to_hwc_rows(kernel.shape[1], flat_from)]
                    flat_from = None
                shape = (weight.shape[0],)
                entry = {"type": "dense", "units": int(weight.shape[0])}
            entry["name"] = name_of(entry["type"])
            kernel, pool_gain = kernel * pool_gain, 1.0
            pending = {"node": node_name, "entry": entry, "kernel": kernel,
                       "bias": ng.bias_of(node, entry.get("filters", entry.get("units")))}
            layers.append(entry)
        elif kind == "Scale":
            if pending is None:
                raise InputError(f"node {node_name!r} (Scale): accepted only right after a weight layer (folded into it)")
            scale = np.asarray(node.scale, np.float64).reshape(-1)
            n_out = pending["kernel"].shape[-1]
            if scale.size == 1:
                scale = np.full(n_out, scale[0])
            elif np.asarray(node.scale).size != n_out and np.asarray(node.scale).ndim == 3:
                per = np.asarray(node.scale, np.float64).reshape(n_out, -1)
                if np.ptp(per, axis=1).max() > 0:
                    raise InputError(f"node {node_name!r} (Scale): differs within a channel; accepted: one per channel")
                scale = per[:, 0]
            if scale.size != n_out:
                raise InputError(f"node {node_name!r} (Scale): {scale.size} values for {n_out} outputs")
            pending["kernel"] = pending["kernel"] * scale
            pending["bias"] = pending["bias"] * scale
        elif kind in ng.POOLS:
            ng.pool_params(node_name, node)
            if pending is not None or len(shape) != 3 or last_kind not in ng.NEURONS + ng.POOLS:
                raise InputError(f"node {node_name!r} ({kind}): accepted on a neuron's spikes (or a pool's sums), "
                                 "before the Flatten")
            if shape[1] % 2 or shape[2] % 2:
                raise InputError(f"node {node_name!r} ({kind}): a {shape[1]}x{shape[2]} map; accepted: even sides")
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
            layers.append({"type": "sumpool", "size": 2, "name": name_of("sumpool")})
            if kind == "AvgPool2d":      # the sum's 1/4 goes into the next weight layer's kernel
                pool_gain *= 0.25
        elif kind == "Flatten":
            if len(shape) != 3:
                raise InputError(f"node {node_name!r} (Flatten): its input is already flat")
            if pending is not None:
                raise InputError(f"node {node_name!r} (Flatten) between a weight layer and its neuron")
            flat_from = shape
            shape = (int(np.prod(shape)),)
            layers.append({"type": "flatten", "name": name_of("flatten")})
        elif kind in ng.NEURONS:
            if pending is None:
                raise InputError(f"node {node_name!r} ({kind}): a neuron must follow a weight layer (Conv2d, Affine, "
                                 "Linear)")
            channels = pending["kernel"].shape[-1]
            step = ng.discretize(node_name, node, float(dt), scheme, channels, per_layer_mean, preset["if_per_step"])
            notes += step.notes
            # the gain, and each channel's threshold relative to the layer's (the whole neuron
            # scaled: its spikes, under either reset, do not change), go into the weights
            scale = step.gain * (1.0 if step.threshold is None else step.threshold.max() / step.threshold)
            pending["kernel"] = pending["kernel"] * scale
            pending["bias"] = pending["bias"] * scale
            tau, deviation = nearest_leak(step.decay)
            if kind == "LI":
                if nodes[nodes.index((node_name, node)) + 1][1].__class__.__name__ != "Output":
                    raise InputError(f"node {node_name!r} (LI): accepted only as the readout, right before the Output")
                if step.decay != 1.0:
                    notes.append(f"{node_name}: the LI readout leaks ({step.decay:.6g} per step); the accelerator's "
                                 "membrane readout sums the currents without a leak (the argmax of an LI's last "
                                 "membrane equals it when decay = 1)")
            else:
                if abs(deviation) > 1e-9:
                    notes.append(f"{node_name}: leak {step.decay:.6g} per step taken as {tau:g}, {deviation:+.4g} "
                                 "off: the hardware's leaks are 2^-k and 1 - 2^-k (a shift); the reference "
                                 "simulation keeps the exact leak")
                layers.append({"type": "lif", "name": name_of("lif"), "tau": tau,
                               "threshold": float(step.threshold.max()), "reset": "soft" if reset == "subtract" else "hard",
                               "strict": preset["strict"]})
            _close(pending, arrays)
            pending = None
        elif kind == "Output":
            if pending is not None:
                _close(pending, arrays)
            readout = "spikes" if last_kind in ng.NEURONS and last_kind != "LI" else "membrane"
            layers.append({"type": "readout", "mode": readout, "name": "readout"})
        last_kind = kind
    if image_shape is None and hwc is not None:
        image_shape = hwc
    layers = _with_flatten(layers)
    keys = {"time_steps": int(time_steps), "train": {"batch_norm": False}, "layers": layers}
    if exporter == "qpsnn" and isinstance(graph.metadata["qpsnn"].get("quant"), dict):
        # its weights are the codes' grid, 2^F (2 W_int - s) per channel: quantized again at the
        # same bits with gamma = max |W| (s units), each channel with a code at 0 or s gets its
        # codes back exactly, and with the same frac_bits its integer bias and threshold
        keys["quant"] = {**{k: int(v) for k, v in graph.metadata["qpsnn"]["quant"].items()}, "gamma": "max"}
    return {"keys": keys,
            "arrays": arrays, "notes": notes, "image_shape": tuple(int(v) for v in image_shape),
            "discretization": {"dt": float(dt), "scheme": scheme, "reset": reset, "exporter": exporter,
                               "strict": preset["strict"], "if_per_step": preset["if_per_step"]}}


def _close(pending: dict, arrays: dict) -> None:
    """A weight layer's arrays, once its scales are folded in; without a bias (none in the graph,
    or all zeros) the layer is `bias: false`, no bias ROM or adder in the accelerator."""
    name = pending["entry"]["name"]
    arrays[f"{name}/kernel"] = pending["kernel"].astype(np.float32)
    pending["entry"]["bias"] = bool(np.any(pending["bias"]))
    if pending["entry"]["bias"]:
        arrays[f"{name}/bias"] = np.asarray(pending["bias"], np.float32)


def _with_flatten(layers: list) -> list:
    """The spec wants a flatten before the first dense layer even when the input is flat."""
    kinds = [layer["type"] for layer in layers]
    if "flatten" not in kinds and "dense" in kinds:
        layers = [{"type": "flatten", "name": "flatten0"}] + layers
    return layers
