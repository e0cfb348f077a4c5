"""Analytic cycle model of the generated accelerator, layer by layer (in the spirit of FINN:
each layer knows its own cycles; the network's latency follows from how the layers overlap,
its throughput is set by the slowest).

An accumulate engine spends, per output position, one cycle on an all-zero input element in
event mode, G = N_OUT/PE cycles on any other element (every element in dense mode), then
two cycles to drain its ROM stage and present the currents, and one more when the last
element was not skipped. Which elements are zero is data: the model takes the golden model's
spikes for the images, so it predicts the cycles of exactly those images.

Overlap: a conv_window holds a whole map before its first window, so a conv layer starts
when its input stream has ended; a dense layer consumes its input while it streams, so it
ends when both its own work and its input are done (plus the work of the last input beat).
"""

from __future__ import annotations

import numpy as np

from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import GoldenTrace, im2col, maxpool

DRAIN_CYCLES = 2        # per position: ROM stage drained, currents presented
STAGE_CYCLES = 1        # a beat handed on through a register stage (LIF, max-pool, window write,
                        # vector serializer)
READOUT_CYCLES = 3      # readout: take the beat, present and hand over the output (plus one per class)
NOMINAL_CLOCK_MHZ = 100.0   # the clock the microseconds and frames per second assume


def layer_inputs(deploy: Deploy, images: np.ndarray, trace: GoldenTrace) -> dict:
    """Weight layer name -> its input elements (N, positions, elements) in the order the
    engine takes them: nonzero where any of the element's T spikes (or its pixel) is."""
    x = images.astype(np.int64)
    timed = False
    out = {}
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            active = x if not timed else x.max(axis=1)       # element active at any step
            if kind == "conv":
                cols = im2col(active, layer["kernel"], layer["stride"], layer["padding"])
                out[layer["name"]] = cols.reshape(len(images), -1, cols.shape[-1])
            else:
                out[layer["name"]] = active.reshape(len(images), 1, -1)
            timed = True
        elif kind == "lif":
            x = trace.spikes[layer["name"]]
        elif kind == "maxpool":
            x = maxpool(x, layer["size"])
        elif kind == "flatten" and timed:
            x = x.reshape(x.shape[0], x.shape[1], -1)
    return out


def element_cycles(elems: np.ndarray, groups: int, mode: str) -> np.ndarray:
    """Cycles the engine spends taking each element: (N, positions, elements)."""
    if mode == "dense":
        return np.full(elems.shape, groups)
    return np.where(elems != 0, groups, 1)


def position_overhead(elems: np.ndarray, mode: str) -> np.ndarray:
    """Cycles per position after its last element, (N, positions): the drain, and one more
    when the last element was worked on (its accumulate is still in flight)."""
    last_worked = (elems[:, :, -1] != 0) if mode == "event" else np.ones(elems.shape[:2], bool)
    return DRAIN_CYCLES + last_worked


def cycle_model(deploy: Deploy, layer_pe: dict, images: np.ndarray, trace: GoldenTrace,
                mode: str = "event") -> dict:
    """Predicted cycles per image: each weight layer's own cycles and the network latency
    (mean over the images), and the bottleneck layer."""
    inputs = layer_inputs(deploy, images, trace)
    n = len(images)
    h, w, c = deploy.meta["input"]["shape"]
    # the stream feeding the next layer: the cycles its first and last beats can be taken
    # (the input: one pixel per cycle from cycle 0), and its elements per beat
    first, last, beat_elems = np.zeros(n), np.full(n, float(h * w - 1)), c
    per_layer = {}
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("lif", "maxpool"):
            first, last = first + STAGE_CYCLES, last + STAGE_CYCLES
            continue
        if kind not in ("conv", "dense"):
            continue
        n_out = deploy.array(layer["weights"]).shape[-1]
        groups = n_out // layer_pe[layer["name"]]
        elems = inputs[layer["name"]]
        per_element = element_cycles(elems, groups, mode)                 # (N, positions, elements)
        overhead = position_overhead(elems, mode)                         # (N, positions)
        per_position = per_element.sum(axis=2) + overhead
        cycles = per_position.sum(axis=1)
        per_layer[layer["name"]] = float(cycles.mean())
        if kind == "conv":     # the window waits for the whole map, then feeds the engine
            start = last + STAGE_CYCLES
            done_first, done = start + per_position[:, 0], start + cycles
        else:                  # consumes its input as it streams: the last beat's work remains
            if beat_elems > 1:     # a vector_serializer splits the beats
                first, last = first + STAGE_CYCLES, last + STAGE_CYCLES
            tail = per_element[:, -1, -beat_elems:].sum(axis=1) + overhead[:, -1]
            done = np.maximum(first + cycles, last + tail)
            done_first = done
        # the engine's cycles end with the handshake of its output beat: available one before
        first, last = done_first - 1, done - 1
        beat_elems = n_out
    n_classes = beat_elems
    latency = last + READOUT_CYCLES + n_classes
    # back to back, an image enters when the slowest layer (or the input stream) is free
    interval = max(max(per_layer.values()), h * w)
    return {"cycles_per_layer": per_layer, "cycles_per_image": float(latency.mean()),
            "cycles_per_image_each": latency, "bottleneck": max(per_layer, key=per_layer.get),
            "clock_mhz": NOMINAL_CLOCK_MHZ,
            "estimated_latency_ns": float(latency.mean()) * 1e3 / NOMINAL_CLOCK_MHZ,
            "estimated_throughput_fps": NOMINAL_CLOCK_MHZ * 1e6 / interval}
