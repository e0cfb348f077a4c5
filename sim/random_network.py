"""Seeded random networks for property-style checks: random shapes, layer mixes, bit widths
2..8, T 1..8, neurons, parallelism and RTL mode, with a random data set to match.

A network is a spec (a plain dict, as a user would write it) plus an .npz data set whose
image shape and classes fit it; every choice is a valid one (shapes are checked with the
same `infer_shapes` the flow uses), so whatever fails downstream is a bug, not bad input.
"""

from __future__ import annotations

import os

import numpy as np

from qpsnn.errors import InputError
from qpsnn.spec import infer_shapes, parse_spec


def _divisor(rng: np.random.Generator, n: int, proper: bool = False) -> int:
    """A random divisor of n (below n when `proper`)."""
    return int(rng.choice([d for d in range(1, n if proper else n + 1) if n % d == 0]))


def _conv_block(rng: np.random.Generator) -> list[dict]:
    kernel = int(rng.choice([1, 3, 5]))
    padding = str(rng.choice(["same", "valid", "explicit"]))
    conv = {"type": "conv", "filters": int(rng.integers(1, 7)), "kernel": kernel,
            "stride": int(rng.choice([1, 2])),
            "padding": [int(v) for v in rng.integers(0, (kernel - 1) // 2 + 1, 2)] if padding == "explicit"
            else padding}
    lif = {"type": "lif", "threshold": float(rng.choice([0.25, 0.5, 1.0])),
           "tau": float(rng.choice([1.0, 0.5, 0.25, 0.75, 0.875])), "reset": str(rng.choice(["hard", "soft"])),
           "strict": bool(rng.random() < 0.3)}
    block = [conv, lif]
    if rng.random() < 0.4:     # an odd number of filters pools by sum (no draw of its own: the seeds keep their networks)
        block.append({"type": "sumpool" if conv["filters"] % 2 else "maxpool", "size": 2})
    return block


def random_network(seed: int, data_dir: str) -> dict:
    """A random valid spec (dict) whose data set, a random .npz, is written into data_dir."""
    rng = np.random.default_rng(seed)
    h, w, c = int(rng.integers(4, 11)), int(rng.integers(4, 11)), int(rng.integers(1, 4))
    n_classes = int(rng.integers(2, 7))
    layers: list[dict] = []
    for _ in range(int(rng.integers(0, 3))):
        block = _conv_block(rng)
        trial = {"layers": layers + block + [{"type": "flatten"}, {"type": "dense", "units": n_classes},
                                             {"type": "readout"}]}
        try:
            infer_shapes(parse_spec(dict(trial), "<random>"), (h, w, c))
        except InputError:
            continue          # does not fit the map that is left: fewer convs
        layers += block
    layers.append({"type": "flatten"})
    if rng.random() < 0.6:
        layers += [{"type": "dense", "units": int(rng.integers(2, 13))},
                   {"type": "lif", "threshold": float(rng.choice([0.25, 0.5, 1.0])),
                    "reset": str(rng.choice(["hard", "soft"]))}]
    layers += [{"type": "dense", "units": n_classes}, {"type": "readout"}]
    for layer in layers:
        if layer["type"] in ("conv", "dense") and rng.random() < 0.5:
            layer["pe"] = _divisor(rng, layer.get("filters") or layer["units"])

    # images: sparse random pixel codes, every class present
    n = 24 * n_classes
    x = rng.integers(0, 256, size=(n, h, w, c)) * (rng.random((n, h, w, c)) < 0.6)
    y = np.arange(n) % n_classes
    os.makedirs(data_dir, exist_ok=True)
    data_path = os.path.join(data_dir, f"random_{seed}.npz")
    np.savez(data_path, x=x.astype(np.uint8), y=y)

    bits = [int(v) for v in rng.integers(2, 9, size=3)]
    spec = {
        "name": f"random_{seed}",
        "data": {"dataset": data_path, "test_fraction": 0.25, "seed": seed},
        "time_steps": int(rng.integers(1, 9)),
        "neuron": {"tau": float(rng.choice([1.0, 0.5, 0.25, 0.75])), "threshold": 0.5, "reset": "hard"},
        "quant": {"bits": bits[0], "first_bits": bits[1], "last_bits": bits[2],
                  "gamma": str(rng.choice(["mean", "max"])), "frac_bits": int(rng.integers(0, 7))},
        "train": {"epochs": 0, "seed": seed},
        "verify": {"hls_images": 0, "rtl_images": 12},
        "rtl": {"mode": str(rng.choice(["event", "dense"]))},
        "layers": layers,
    }
    if rng.random() < 0.4:    # drawn last, so the choices above stay those of earlier versions
        layers[-1]["mode"] = "spikes"
        layers.insert(-1, {"type": "lif", "threshold": float(rng.choice([0.25, 0.5, 1.0]))})
    beat = c                 # elements per input beat of each weight layer: its simd divides it
    for layer in layers:
        if layer["type"] in ("conv", "dense"):
            if rng.random() < 0.5:
                layer["simd"] = _divisor(rng, beat)
            beat = layer.get("filters") or layer["units"]
    steps = spec["time_steps"]
    if steps > 1 and rng.random() < 0.4:    # a window in passes: the membranes kept between them
        spec["rtl"]["time_chunk"] = _divisor(rng, steps, proper=True)
    for layer in layers:
        if layer["type"] in ("conv", "dense") and rng.random() < 0.3:
            layer["bias"] = False     # no bias variable in the model (its batch norm's shift is still one)
    return spec
