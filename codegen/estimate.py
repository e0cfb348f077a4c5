"""Analytic cycle model of the generated accelerator, layer by layer (in the spirit of FINN:
each layer knows its own cycles; the network's latency is their sum, its throughput is set
by the slowest).

An accumulate engine spends, per output position, one cycle on an all-zero input element in
event mode, N_OUT/PE cycles on any other element (every element in dense mode), and a few
cycles to form and hand over the currents. Which elements are zero is data: the model takes
the golden model's spikes for the images, so it predicts the cycles of those images.
A conv_window holds a whole map before its first window, so one image passes the layers one
after another: latency = input fill + the sum of the layers' cycles.
"""

from __future__ import annotations

import numpy as np

from qpsnn.model.deploy import Deploy
from qpsnn.model.golden import GoldenTrace, im2col, maxpool

POSITION_OVERHEAD = 3   # cycles per output position: drain the ROM stage, present, hand over
IMAGE_OVERHEAD = 8      # per image: LIF/readout registers and the output beat


def layer_inputs(deploy: Deploy, images: np.ndarray, trace: GoldenTrace) -> dict:
    """Weight layer name -> its input elements (N, positions, elements): nonzero where any of
    the element's T spikes (or its pixel value) is nonzero."""
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


def cycle_model(deploy: Deploy, layer_pe: dict, images: np.ndarray, trace: GoldenTrace,
                mode: str = "event") -> dict:
    """Predicted cycles per image: per weight layer (mean over the images) and the total."""
    inputs = layer_inputs(deploy, images, trace)
    per_layer = {}
    total = np.full(len(images), float(np.prod(deploy.meta["input"]["shape"][:2]) + IMAGE_OVERHEAD))
    for layer in deploy.layers:
        if layer["type"] not in ("conv", "dense"):
            continue
        n_out = deploy.array(layer["weights"]).shape[-1]
        groups = n_out // layer_pe[layer["name"]]
        elems = inputs[layer["name"]]                         # (N, positions, elements)
        nonzero = (elems != 0).sum(axis=2) if mode == "event" else np.full(elems.shape[:2], elems.shape[2])
        zeros = elems.shape[2] - nonzero
        cycles = (nonzero * groups + zeros + POSITION_OVERHEAD).sum(axis=1)   # (N,)
        per_layer[layer["name"]] = float(cycles.mean())
        total += cycles
    bottleneck = max(per_layer, key=per_layer.get)
    return {"cycles_per_layer": per_layer, "cycles_per_image": float(total.mean()),
            "cycles_per_image_each": total, "bottleneck": bottleneck}
