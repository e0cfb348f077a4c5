"""An NIR graph (the Neuromorphic Intermediate Representation, PyPI `nir`) read as a chain of
nodes from its input to its output, and its neurons discretized at a time step dt.

NIR is continuous time (METHOD.md section 8): LIF `tau dv/dt = (v_leak - v) + r I`, a spike when
`v > v_threshold`, then `v <- v_reset`; IF `dv/dt = r I`; LI the LIF without threshold;
CubaLIF a LIF behind a synaptic current `tau_syn dI/dt = -I + w_in S`. A graph stores no dt, no
number of steps and no subtractive reset, so the same file means different step equations for
different exporters: `PRESETS` holds each one's dt, scheme and reset, which options override.

Both the importer (model/nir_frontend.py) and the float reference simulator
(model/nir_reference.py) read graphs through this module; numpy and nir only.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from qpsnn.errors import InputError

# What each exporter's graph means (read in their sources: snnTorch 0.9.4 export_nir.py and
# _neurons/leaky.py, Norse 1.1 export_nir.py and functional/, Sinabs 3.1 nir.py and layers/):
# the time step its neurons were exported at, the scheme that gives back the step equation it
# ran, the reset its neurons use by default (a graph does not record it), whether a spike needs
# v above the threshold (strict) or at it, and whether an IF adds its input once per step
# (Norse's IAFCell and Sinabs' IAF) rather than r * dt of it (NIR's ODE under Euler).
PRESETS = {
    # Leaky(beta) exports tau = dt / (1 - beta), r = tau / dt at dt = 1e-4: Euler gives back
    # v <- beta v + I; reset by subtraction by default (with reset_delay: the subtraction lands
    # after the next step's leak, ours before it; equal when beta = 1); spikes when v > threshold
    "snntorch": {"dt": 1e-4, "scheme": "euler", "reset": "subtract", "strict": True, "if_per_step": False},
    # LIFBoxCell as LIF (tau in seconds, r = 1) at its default dt = 1e-3, forward Euler; reset
    # to v_reset = 0; IAFCell adds its input once per step; spikes when v > threshold
    "norse": {"dt": 1e-3, "scheme": "euler", "reset": "zero", "strict": True, "if_per_step": True},
    # IAF as IF with r = 1 per step, LIF with tau in steps and r = 1 (alpha = exp(-1/tau), its
    # norm_input default: v <- alpha v + (1 - alpha) I): dt = 1, the exact exponential; reset by
    # subtraction; a spike at v >= threshold (MultiSpike's several spikes per step are not modelled)
    "sinabs": {"dt": 1.0, "scheme": "exact", "reset": "subtract", "strict": False, "if_per_step": True},
    # NIR's own semantics: the user gives dt (and the scheme and reset if they differ)
    "generic": {"dt": None, "scheme": "euler", "reset": "zero", "strict": True, "if_per_step": False},
    # qpsnn export-nir: dt and the reset from the graph's metadata; a spike at v >= threshold
    "qpsnn": {"dt": None, "scheme": "euler", "reset": None, "strict": False, "if_per_step": False},
}
SCHEMES = ("euler", "exact")
RESETS = ("subtract", "zero")          # spec reset: soft, hard
NEURONS = ("LIF", "IF", "LI", "CubaLIF")
WEIGHTS = ("Conv2d", "Affine", "Linear")
POOLS = ("SumPool2d", "AvgPool2d")
ACCEPTED_NODES = ("Input, Output, Conv2d, Affine, Linear, Scale, Flatten, SumPool2d and AvgPool2d (2x2, stride 2), "
                  "LIF, IF, LI (a membrane readout), CubaLIF (tau_syn <= dt)")


@dataclass
class Step:
    """A neuron node discretized at dt: v <- decay * v + gain * I (I the input current), a spike
    when v > threshold (one per output channel; None: a readout, LI), then the reset."""
    decay: float
    gain: float
    threshold: np.ndarray | None
    notes: list


def preset_of(graph, exporter: str) -> dict:
    """The exporter's conventions; qpsnn's own graphs carry theirs in the graph's metadata."""
    if exporter not in PRESETS:
        raise InputError(f"--from: {exporter!r}; accepted: {sorted(PRESETS)}")
    preset = dict(PRESETS[exporter])
    if exporter == "qpsnn":
        meta = (getattr(graph, "metadata", None) or {}).get("qpsnn")
        if not isinstance(meta, dict) or "dt" not in meta or "reset" not in meta:
            raise InputError("--from qpsnn: the graph's metadata holds no qpsnn entry (dt, reset): it was not written "
                             "by `qpsnn export-nir`; name its exporter with --from, or give --dt")
        preset.update(dt=float(meta["dt"]), reset=str(meta["reset"]))
    return preset


def read_graph(path: str):
    """The graph of a .nir file, or InputError saying what the file is not."""
    import nir
    if not os.path.isfile(path):
        raise InputError(f"--nir: file not found: {path}")
    try:
        # the structure and the shapes are checked here, node by node, with messages naming the node
        return nir.read(path, type_check=False)
    except Exception as exc:
        raise InputError(f"--nir: {path} is not an NIR graph that nir reads ({exc.__class__.__name__}: {exc}); "
                         "expected an HDF5 file written by nir.write (snnTorch, Norse, Sinabs, Lava, Rockpool "
                         "export_to_nir / to_nir)") from None


def node_type(node) -> str:
    return type(node).__name__


def chain(graph) -> list[tuple[str, object]]:
    """(name, node) from the graph's Input to its Output, every node on that one path: refused
    (InputError naming the node) for a fan-in or fan-out above one, a cycle, a node off the
    path (an exporter drops what it cannot export and may leave the graph cut), a subgraph."""
    nodes = graph.nodes
    for name, node in nodes.items():
        if node_type(node) == "NIRGraph":
            raise InputError(f"node {name!r} (NIRGraph): nested graphs are not accepted; flatten the graph first")
    inputs = [n for n, node in nodes.items() if node_type(node) == "Input"]
    outputs = [n for n, node in nodes.items() if node_type(node) == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise InputError(f"the graph has {len(inputs)} Input and {len(outputs)} Output nodes; accepted: one of each")
    succ: dict[str, list] = {n: [] for n in nodes}
    pred: dict[str, list] = {n: [] for n in nodes}
    for a, b in graph.edges:
        if a not in nodes or b not in nodes:
            raise InputError(f"edge ({a!r}, {b!r}) names a node the graph does not hold")
        succ[a].append(b)
        pred[b].append(a)
    for n in nodes:
        if len(succ[n]) > 1:
            raise InputError(f"node {n!r} ({node_type(nodes[n])}): fan-out {len(succ[n])} (to {succ[n]}); accepted: "
                             "a chain, each node feeding one other")
        if len(pred[n]) > 1:
            raise InputError(f"node {n!r} ({node_type(nodes[n])}): fan-in {len(pred[n])} (from {pred[n]}); accepted: "
                             "a chain, without recurrent edges or merges")
    path, seen = [inputs[0]], {inputs[0]}
    while succ[path[-1]]:
        nxt = succ[path[-1]][0]
        if nxt in seen:
            raise InputError(f"node {nxt!r} ({node_type(nodes[nxt])}): a cycle (a recurrent edge); accepted: a "
                             "feed-forward chain")
        path.append(nxt)
        seen.add(nxt)
    if path[-1] != outputs[0]:
        raise InputError(f"the chain from {inputs[0]!r} ends at {path[-1]!r}, not at the Output {outputs[0]!r}: the "
                         "graph is cut (an exporter drops modules it cannot export, with a printed warning)")
    off = sorted(set(nodes) - seen)
    if off:
        raise InputError(f"node {off[0]!r} ({node_type(nodes[off[0]])}) is not on the path from input to output "
                         f"(nodes off the path: {off})")
    for n in path:
        if node_type(nodes[n]) not in ("Input", "Output", "Flatten", "Scale") + WEIGHTS + NEURONS + POOLS:
            raise InputError(f"node {n!r} ({node_type(nodes[n])}): not accepted; accepted: {ACCEPTED_NODES}")
    return [(n, nodes[n]) for n in path]


def uniform(name: str, node, field: str, allow_per_neuron: bool = False) -> float:
    """One value of a per-neuron parameter (per_channel's rule over the whole layer): refused
    when the layer's neurons differ (the hardware has one per layer), unless allow_per_neuron
    takes their mean."""
    return float(per_channel(name, node, field, 1, allow_per_neuron)[0])


def discretize(name: str, node, dt: float, scheme: str, channels: int, allow_per_neuron: bool = False,
               if_per_step: bool = False) -> Step:
    """The step equation of a neuron node at dt. Refused: v_leak or v_reset other than 0, a
    CubaLIF whose synapse is slower than a step, an Euler step longer than tau."""
    kind = node_type(node)
    notes = []
    get = lambda field: uniform(name, node, field, allow_per_neuron)   # noqa: E731
    for field in ("v_leak", "v_reset"):
        if getattr(node, field, None) is not None and np.any(np.asarray(getattr(node, field)) != 0):
            raise InputError(f"node {name!r} ({kind}): {field} other than 0; accepted: {field} = 0 (the hardware's "
                             "membrane rests and resets at 0)")
    gain_in = 1.0
    if kind == "CubaLIF":
        tau_syn = get("tau_syn")
        if tau_syn > dt * (1 + 1e-9):
            raise InputError(f"node {name!r} (CubaLIF): tau_syn {tau_syn:g} is above dt {dt:g}: a synaptic current "
                             "that outlasts a step has no counterpart in the hardware; accepted: tau_syn <= dt")
        w_in = get("w_in") if np.ndim(node.w_in) else float(node.w_in)
        gain_in = w_in
        notes.append(f"{name}: CubaLIF's synaptic current taken as instantaneous (tau_syn {tau_syn:g} <= dt {dt:g}"
                     + ("" if math.isclose(tau_syn, dt) else "; exact only at tau_syn = dt") + ")")
    r = get("r")
    if kind == "IF":
        decay, gain = 1.0, r * (1.0 if if_per_step else dt)
    else:
        tau = get("tau_mem" if kind == "CubaLIF" else "tau")
        if tau <= 0:
            raise InputError(f"node {name!r} ({kind}): tau {tau:g}; accepted: tau > 0")
        if scheme == "euler":
            if dt > tau * (1 + 1e-12):
                raise InputError(f"node {name!r} ({kind}): dt {dt:g} is longer than tau {tau:g}: forward Euler "
                                 "would flip the membrane's sign each step; give a smaller --dt or --scheme exact")
            decay, gain = 1.0 - dt / tau, r * dt / tau
        else:
            decay = math.exp(-dt / tau)
            gain = r * (1.0 - decay)
    threshold = None if kind == "LI" else per_channel(name, node, "v_threshold", channels, allow_per_neuron)
    if threshold is not None and threshold.min() <= 0:
        raise InputError(f"node {name!r} ({kind}): v_threshold {threshold.min():g}; accepted: thresholds above 0")
    return Step(decay=decay, gain=gain * gain_in, threshold=threshold, notes=notes)


def per_channel(name: str, node, field: str, channels: int, allow_per_neuron: bool = False) -> np.ndarray:
    """A per-neuron parameter as one value per output channel (the first axis of a channels-first
    shape): refused when it differs within a channel, unless allow_per_neuron takes the mean."""
    values = np.asarray(getattr(node, field), np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(f"node {name!r} ({node_type(node)}): {field} holds values that are not finite")
    if values.size == 0:
        raise InputError(f"node {name!r} ({node_type(node)}): {field} is empty")
    if values.size == 1:
        return np.full(channels, float(values.ravel()[0]))
    if values.size % channels:
        raise InputError(f"node {name!r} ({node_type(node)}): {values.size} values of {field} for {channels} channels")
    rows = values.reshape(channels, -1)
    if np.ptp(rows, axis=1).max() > 1e-9 * max(1.0, float(np.abs(rows).max())) and not allow_per_neuron:
        raise InputError(f"node {name!r} ({node_type(node)}): {field} differs within a channel"
                         + (" (the layer has one)" if channels == 1 else "") + f" ({values.min():g} .. "
                         f"{values.max():g}); accepted: one value per channel (--per-layer-mean takes their mean)")
    return rows.mean(axis=1)


def conv_params(name: str, node) -> dict:
    """A Conv2d's kernel size, stride and padding ([ph, pw]), or InputError naming what the
    hardware does not take."""
    weight = np.asarray(node.weight)
    if weight.ndim != 4:
        raise InputError(f"node {name!r} (Conv2d): weight of shape {weight.shape}; expected (C_out, C_in, kH, kW)")
    kh, kw = weight.shape[2:]
    pair = lambda v: tuple(int(x) for x in np.broadcast_to(np.asarray(v).ravel(), (2,)))  # noqa: E731
    stride, dilation = pair(node.stride), pair(node.dilation)
    if kh != kw or kh not in (1, 3, 5):
        raise InputError(f"node {name!r} (Conv2d): kernel {kh}x{kw}; accepted: square kernels 1, 3 or 5")
    if stride[0] != stride[1] or stride[0] not in (1, 2):
        raise InputError(f"node {name!r} (Conv2d): stride {stride}; accepted: 1 or 2 in both axes")
    if dilation != (1, 1) or int(np.asarray(node.groups)) != 1:
        raise InputError(f"node {name!r} (Conv2d): dilation {dilation}, groups {node.groups}; accepted: 1 and 1")
    padding = node.padding
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0)
        elif padding == "same" and stride[0] == 1:
            pads = ((kh - 1) // 2, (kw - 1) // 2)      # PyTorch's 'same' (stride 1, odd kernel)
        else:
            raise InputError(f"node {name!r} (Conv2d): padding {padding!r} with stride {stride[0]}; accepted: "
                             "'valid', 'same' with stride 1, or zeros either side")
    else:
        pads = pair(padding)
    if not all(0 <= p <= (kh - 1) // 2 for p in pads):
        raise InputError(f"node {name!r} (Conv2d): padding {pads}; accepted: 0..{(kh - 1) // 2} either side (up to "
                         "'same')")
    return {"kernel": int(kh), "stride": stride[0], "padding": [int(p) for p in pads]}


def pool_params(name: str, node) -> None:
    """A pool the hardware has: 2x2, stride 2, no padding; InputError otherwise."""
    pair = lambda v: tuple(int(x) for x in np.broadcast_to(np.asarray(v).ravel(), (2,)))  # noqa: E731
    if pair(node.kernel_size) != (2, 2) or pair(node.stride) != (2, 2) or pair(node.padding) != (0, 0):
        raise InputError(f"node {name!r} ({node_type(node)}): kernel {pair(node.kernel_size)}, stride "
                         f"{pair(node.stride)}, padding {pair(node.padding)}; accepted: 2x2, stride 2, no padding")


def conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def bias_of(node, n_out: int) -> np.ndarray:
    """A weight node's bias as a vector (Linear has none; an exporter may write a scalar 0)."""
    bias = getattr(node, "bias", None)
    if bias is None:
        return np.zeros(n_out)
    return np.broadcast_to(np.asarray(bias, np.float64).ravel(), (n_out,)).copy() if np.size(bias) in (1, n_out) \
        else np.asarray(bias, np.float64)


def input_shape(nodes: list) -> tuple[int, ...] | None:
    """The graph's input shape (channels first, no batch axis) as its Input node declares it."""
    _, node = nodes[0]
    shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
    if shape is None:
        return None
    shape = tuple(int(v) for v in np.asarray(shape).ravel())
    return shape
