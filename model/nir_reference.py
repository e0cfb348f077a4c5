"""The float reference: an NIR graph simulated as it is, at dt, in numpy float64 and NIR's own
layout (channels first), independent of the importer's conversion to qpsnn's layout and of the
quantization. Its classes next to the golden model's show what the import costs: the leak rounded
to a power of two, the quantized weights, the fixed-point threshold and bias.

Per step t of T, the image scaled to [0, 1] (pixel codes / 255), or the step's event frame (its
counts), is the input; each neuron keeps
its own parameters (per neuron, as the graph holds them):
    LIF / CubaLIF (tau_syn <= dt: an instantaneous synapse)  v <- a v + g I (Euler: a = 1 - dt/tau,
        g = r dt/tau; exact: a = exp(-dt/tau), g = r (1 - a)); spike when v > v_threshold (or
        v >= v_threshold, an exporter's rule); reset: v - v_threshold (subtract) or 0 (zero)
    IF      v <- v + r dt I (or r I per step, an exporter's rule)
    LI      v <- a v + g I, no spike (the readout's membrane)
The class: the argmax of the output's spike count, of an LI readout's last membrane, or of a
weight layer's outputs summed over the steps; the lowest class on ties.
"""

from __future__ import annotations

import math

import numpy as np

from qpsnn.model import nir_graph as ng


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, pads: tuple) -> np.ndarray:
    """x (M, C, H, W) * weight (O, C, k, k) + bias, zero padding pads (rows, cols) either side."""
    ph, pw = pads
    k = weight.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (xp.shape[2] - k) // stride + 1
    ow = (xp.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], weight.shape[0], oh, ow))
    for a in range(k):
        for b in range(k):
            patch = xp[:, :, a:a + stride * oh:stride, b:b + stride * ow:stride]
            out += np.einsum("mchw,oc->mohw", patch, weight[:, :, a, b])
    return out + bias[None, :, None, None]


def _param(node, field, shape):
    """A neuron parameter over the layer's shape: one value, one per channel, or one per neuron."""
    value = np.asarray(getattr(node, field), np.float64)
    if value.ndim == 1 and len(shape) == 3 and value.size == shape[0]:
        value = value[:, None, None]
    return np.broadcast_to(value, shape)


def simulate(path: str, images: np.ndarray, time_steps: int, dt: float, scheme: str, reset: str,
             strict: bool = True, if_per_step: bool = False, batch: int = 256) -> np.ndarray:
    """The class of each image (uint8 codes (N, H, W, C)) under the graph's semantics at dt
    (strict: a spike when v > threshold, else at v >= threshold; if_per_step: an IF adds r I per
    step, not r dt I; the exporters' conventions, model/nir_graph.py PRESETS)."""
    nodes = ng.chain(ng.read_graph(path))
    rule = {"dt": dt, "scheme": scheme, "reset": reset, "strict": strict, "if_per_step": if_per_step}
    out = [_simulate(nodes, images[i:i + batch], time_steps, rule) for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _simulate(nodes, images, T, rule) -> np.ndarray:
    images = np.asarray(images, np.float64)
    declared = ng.input_shape(nodes)
    if images.ndim == 5:        # event frames (N, T, H, W, C): step t's counts, channels first
        steps = [images[:, t].transpose(0, 3, 1, 2) for t in range(T)]
    else:                       # an image: scaled to [0, 1], the same at every step
        steps = [images.transpose(0, 3, 1, 2) / 255.0] * T
    if declared is not None and len(declared) == 1:
        steps = [x.reshape(len(x), -1) for x in steps]
    state: dict = {}
    score = None
    last = None
    for t in range(T):
        x = steps[t]
        for name, node in nodes[1:]:
            kind = ng.node_type(node)
            if kind == "Conv2d":
                geometry = ng.conv_params(name, node)
                weight = np.asarray(node.weight, np.float64)
                x = conv2d(x, weight, ng.bias_of(node, weight.shape[0]), geometry["stride"], geometry["padding"])
            elif kind in ("Affine", "Linear"):
                weight = np.asarray(node.weight, np.float64)
                x = x @ weight.T + ng.bias_of(node, weight.shape[0])
            elif kind == "Scale":
                x = x * np.asarray(node.scale, np.float64)
            elif kind == "Flatten":
                x = x.reshape(len(x), -1)
            elif kind in ng.POOLS:
                m, c, h, w = x.shape
                blocks = x.reshape(m, c, h // 2, 2, w // 2, 2)
                x = blocks.sum(axis=(3, 5)) if kind == "SumPool2d" else blocks.mean(axis=(3, 5))
            elif kind in ng.NEURONS:
                x = _neuron(name, node, x, state, rule)
            if kind != "Output":
                last = kind
        if last in ("LI",):
            score = x                                   # the last membrane
        else:
            score = x if score is None else score + x   # spike counts, or summed currents
    return np.argmax(score, axis=1)


def _neuron(name, node, current, state, rule):
    dt = rule["dt"]
    kind = ng.node_type(node)
    shape = current.shape[1:]
    v = state.get(name, np.zeros_like(current))
    if kind == "CubaLIF":
        current = current * _param(node, "w_in", shape)
    r = _param(node, "r", shape)
    if kind == "IF":
        v = v + r * (1.0 if rule["if_per_step"] else dt) * current
    else:
        tau = _param(node, "tau_mem" if kind == "CubaLIF" else "tau", shape)
        if rule["scheme"] == "euler":
            a, g = 1.0 - dt / tau, r * dt / tau
        else:
            a = np.exp(-dt / tau)
            g = r * (1.0 - a)
        v = a * v + g * current
    if kind == "LI":
        state[name] = v
        return v
    theta = _param(node, "v_threshold", shape)
    spikes = (v > theta if rule["strict"] else v >= theta).astype(np.float64)
    v = v - theta * spikes if rule["reset"] == "subtract" else v * (1.0 - spikes)
    state[name] = v
    return spikes


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b)) if len(a) else math.nan
