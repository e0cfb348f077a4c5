"""Deploy form -> Verilog top level, weight memories ($readmemh) and a copy of the hw library.

The top is a chain of streaming stages from our hardware library (hw/rtl); this module
decides the chain and each stage's parameters, the template (templates/top.v.j2) writes it.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

import qpsnn
from qpsnn.errors import InputError
from qpsnn.model.deploy import Deploy, signed_width

HW_RTL = Path(__file__).resolve().parent.parent / "hw" / "rtl"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SUPPORTED = ("flatten", "dense", "lif", "readout")
MAX_PE = 16


@dataclass
class Stage:
    module: str
    instance: str
    comment: str
    out_width: int
    params: list = field(default_factory=list)


@dataclass
class RtlDesign:
    top: str
    files: dict            # file name -> text (Verilog and .mem)
    library: list          # hw/rtl modules used
    stages: list
    layer_pe: dict         # weight layer name -> PE
    out_bits: int
    lane: int
    n_classes: int


def default_pe(n_out: int) -> int:
    """Outputs updated per cycle: the largest divisor of n_out up to MAX_PE."""
    return max(d for d in range(1, min(n_out, MAX_PE) + 1) if n_out % d == 0)


def hex_words(values, width: int) -> str:
    """Two's-complement hex words, one per line, for $readmemh."""
    digits = math.ceil(width / 4)
    mask = (1 << width) - 1
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in values)


def weight_words(codes: np.ndarray, pe: int, bits: int) -> list[int]:
    """ROM word at address i*G + g packs codes[i, g*PE + p] at bits [p*bits +: bits]."""
    n_in, n_out = codes.shape
    words = []
    for i in range(n_in):
        for g in range(n_out // pe):
            word = 0
            for p in range(pe):
                word |= int(codes[i, g * pe + p]) << (p * bits)
            words.append(word)
    return words


def check_supported(layers: list[dict]) -> None:
    """Layers of a spec or a deploy form: InputError naming the first one the RTL cannot build."""
    for layer in layers:
        if layer["type"] not in SUPPORTED:
            raise InputError(f"rtl: layer {layer['name']!r} of type {layer['type']!r} cannot be built in "
                             f"hardware yet; supported layer types: {list(SUPPORTED)} "
                             "(use --no-rtl for the hls4ml path alone)")


def design(deploy: Deploy, pe: dict | None = None) -> RtlDesign:
    check_supported(deploy.layers)
    pe = dict(pe or {})
    T = deploy.time_steps
    top = f"qpsnn_{deploy.meta['name']}"
    files: dict[str, str] = {}
    stages: list[Stage] = []
    layer_pe: dict[str, int] = {}
    width = 8  # width of the stream feeding the next stage
    out_bits = 0
    layers = deploy.layers
    for idx, layer in enumerate(layers):
        kind, name = layer["type"], layer["name"]
        if kind == "dense":
            n_in, n_out = deploy.array(layer["weights"]).shape
            p = pe.get(name, default_pe(n_out))
            if n_out % p:
                raise InputError(f"rtl: parallelism of {name!r} must divide its {n_out} outputs, got {p}")
            layer_pe[name] = p
            analog = layer["input"] == "analog"
            if not analog:
                stages.append(Stage("vector_serializer", f"u_{name}_serial",
                                    f"{name}: spike vector of one step -> {n_in} elements", 1,
                                    [("N", n_in), ("ELEM_BITS", 1)]))
            bias = deploy.array(layer["bias"])
            bias_bits = signed_width(int(np.abs(bias).max()))
            out_bits = layer["out_bits"]
            files[f"{name}_weights.mem"] = hex_words(weight_words(deploy.array(layer["weights"]), p, layer["bits"]),
                                                     p * layer["bits"])
            files[f"{name}_bias.mem"] = hex_words(bias, bias_bits)
            stages.append(Stage("accumulate_engine", f"u_{name}_engine",
                                f"{name}: {n_in} -> {n_out}, {layer['bits']}-bit ReScaW codes, PE={p}",
                                n_out * out_bits,
                                [("N_IN", n_in), ("N_OUT", n_out), ("PE", p), ("IN_BITS", layer["input_bits"]),
                                 ("W_BITS", layer["bits"]), ("S", layer["offset_s"]),
                                 ("FRAC_BITS", layer["frac_bits"]), ("OUT_BITS", out_bits),
                                 ("BIAS_BITS", bias_bits), ("WEIGHT_FILE", f'"{name}_weights.mem"'),
                                 ("BIAS_FILE", f'"{name}_bias.mem"')]))
            if analog:
                stages.append(Stage("repeat_stream", f"u_{name}_repeat",
                                    f"{name}: direct encoding, the current once per time step",
                                    n_out * out_bits, [("WIDTH", n_out * out_bits), ("T", T)]))
            width = n_out * out_bits
        elif kind == "lif":
            theta = deploy.array(layer["threshold"])
            n = int(np.prod(layer["out_shape"]))
            u_bits = max(layer["membrane_bits"], out_bits)
            files[f"{name}_threshold.mem"] = hex_words(theta, u_bits)
            stages.append(Stage("lif_layer", f"u_{name}", f"{name}: {n} LIF neurons, tau = 2^-{layer['leak_shift']}, "
                                f"{layer['reset']} reset", n,
                                [("N", n), ("C", len(theta)), ("T", T), ("X_BITS", out_bits), ("U_BITS", u_bits),
                                 ("LEAK_SHIFT", layer["leak_shift"]),
                                 ("SOFT_RESET", int(layer["reset"] == "soft")),
                                 ("THRESHOLD_FILE", f'"{name}_threshold.mem"')]))
            width = n
    del width
    n_classes = int(layers[-1]["out_shape"][0])
    lane = 8 * math.ceil(out_bits / 8)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    text = env.get_template("top.v.j2").render(
        version=qpsnn.__version__, name=deploy.meta["name"], digest=deploy.digest(), top=top, T=T,
        n_pixels=int(np.prod(deploy.meta["input"]["shape"])), n_classes=n_classes, lane=lane,
        out_bits=out_bits, stages=stages, last=len(stages), step_bits=max(1, math.ceil(math.log2(T))) if T > 1 else 1)
    files[f"{top}.v"] = text
    library = sorted({st.module for st in stages} | {"lif_unit"})
    return RtlDesign(top, files, library, stages, layer_pe, out_bits, lane, n_classes)


def write(rtl: RtlDesign, out_dir: str) -> list[str]:
    """Write the design (top, memories, library copy) into out_dir; returns the Verilog sources."""
    os.makedirs(out_dir, exist_ok=True)
    for fname, text in rtl.files.items():
        with open(os.path.join(out_dir, fname), "w") as fh:
            fh.write(text)
    sources = []
    for module in rtl.library:
        dst = os.path.join(out_dir, f"{module}.v")
        shutil.copyfile(HW_RTL / f"{module}.v", dst)
        sources.append(dst)
    sources.append(os.path.join(out_dir, f"{rtl.top}.v"))
    return sources
