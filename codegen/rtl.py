"""Deploy form -> Verilog top level, weight memories ($readmemh) and a copy of the hw library.

The top is a chain of streaming stages from our hardware library (hw/rtl); this module
decides the chain and each stage's parameters, the template (templates/top.v.j2) writes it.

Streams are pixel-major: a spike element carries the steps of one pass of one neuron, so
every layer handles a pass in one sweep. A window of T steps is streamed as T / time_chunk
passes of time_chunk steps each (one pass when T fits: time_chunk = T); only the LIF layers
(their membranes, in block RAM between passes) and the readout (its sums) know of passes, the
rest sees each pass as an image. Between stages (S = the steps of a pass):
  pixels   one beat per pixel, C elements of EB bits (8-bit analog values, or S spikes)
  vector   one beat with the N elements of a flat layer
  currents one beat per position with the S (or 1, direct encoding) x N currents
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
from qpsnn.codegen.element_stream import index_bits, line_buffer_rows
from qpsnn.codegen import hw_choices
from qpsnn.errors import InputError
from qpsnn.model.deploy import Deploy, signed_width
from qpsnn.spec import check_chunk

HW_RTL = Path(__file__).resolve().parent.parent / "hw" / "rtl"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SUPPORTED = ("conv", "maxpool", "sumpool", "flatten", "dense", "lif", "readout")
MAX_PE = 16
# a large engine's enables are copied, each copy driving at most this many flip-flops
# (accumulate_engine's FANOUT; codegen.hw_choices.large_engine)
ENGINE_FANOUT = 256


@dataclass
class Stage:
    module: str
    instance: str
    comment: str
    out_width: int
    params: list = field(default_factory=list)
    user_bits: int = 0      # a tuser sideband on the output (the readout's class)
    last_bit: bool = False  # a tlast on the output (the readout's last pass of an image)
    layer: str = ""         # the deploy-form layer this stage belongs to
    facts: dict = field(default_factory=dict)   # what synthesis sees in the memory files' contents

    def numeric_params(self) -> dict:
        """What the module's size depends on: the parameters without the file names, and the
        facts about the files' contents that synthesis uses."""
        return {**{k: v for k, v in self.params if not isinstance(v, str)}, **self.facts}


@dataclass
class Stream:
    """What flows out of the last stage: `positions` beats per image of `count` elements."""
    kind: str               # pixels | vector | currents
    count: int              # elements (pixels, vector) or neurons (currents) per beat
    elem_bits: int          # bits per element (pixels, vector)
    steps: int = 1          # currents: time steps per beat (1 = the same at every step)
    shape: tuple = ()       # (H, W) of a pixel stream or of the currents' positions


@dataclass
class RtlDesign:
    top: str
    files: dict            # file name -> text (Verilog and .mem)
    library: list          # hw/rtl modules used
    stages: list
    layer_pe: dict         # weight layer name -> PE
    layer_simd: dict       # weight layer name -> SIMD
    layer_lanes: dict      # LIF layer name -> neurons updated per cycle
    value_bits: int        # a readout value (a current, or 2 for a spike)
    lane: int
    n_classes: int
    class_bits: int
    probes: list = field(default_factory=list)  # LIF outputs: layer, stage signal, neurons, steps, positions
    mode: str = "event"
    layer_rows: dict = field(default_factory=dict)   # conv layer name -> its window's line buffer rows
    input_bits: int = 8    # an input value: an 8-bit pixel code, or an event count (S per element)
    time_chunk: int = 1    # S: the steps of one pass
    passes: int = 1        # T / S: an image streams through this many times

    def knobs(self) -> dict:
        """The hardware knobs as built: pe and simd of each weight layer, lanes of each LIF."""
        return {"pe": self.layer_pe, "simd": self.layer_simd, "lanes": self.layer_lanes}

    def sources(self, rtl_dir: str) -> list[str]:
        return [os.path.join(rtl_dir, f"{m}.v") for m in self.library] + [os.path.join(rtl_dir, f"{self.top}.v")]


def default_pe(n_out: int) -> int:
    """Outputs updated per cycle: the largest divisor of n_out up to MAX_PE."""
    return max(d for d in range(1, min(n_out, MAX_PE) + 1) if n_out % d == 0)


def hex_words(values, width: int) -> str:
    """Two's-complement hex words, one per line, for $readmemh."""
    digits = math.ceil(width / 4)
    mask = (1 << width) - 1
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in values)


def weight_words(codes: np.ndarray, pe: int, bits: int, simd: int = 1) -> list[int]:
    """ROM word at address r*G + g (r = a group of SIMD inputs) packs codes[r*SIMD + j, g*PE + p]
    at bits [(j*PE + p)*bits +: bits]."""
    n_in, n_out = codes.shape
    words = []
    for r in range(n_in // simd):
        for g in range(n_out // pe):
            word = 0
            for j in range(simd):
                for p in range(pe):
                    word |= int(codes[r * simd + j, g * pe + p]) << ((j * pe + p) * bits)
            words.append(word)
    return words


def check_supported(layers: list[dict]) -> None:
    """Layers of a spec or a deploy form: InputError naming the first one the RTL cannot build."""
    for layer in layers:
        if layer["type"] not in SUPPORTED:
            raise InputError(f"rtl: layer {layer['name']!r} of type {layer['type']!r} cannot be built in "
                             f"hardware; supported layer types: {list(SUPPORTED)}")


def _quote(name: str) -> str:
    return f'"{name}"'


RTL_MODES = ("event", "dense")
# library modules that other library modules instantiate
SUBMODULES = {"lif_layer": ("lif_unit",), "conv_window": ("element_serializer",),
              "accumulate_engine": ("registered_product", "adder_tree"), "readout": ("adder_tree",),
              "vector_serializer": ("element_serializer",), "uart_link": ("uart_rx", "uart_tx")}


def design(deploy: Deploy, pe: dict | None = None, mode: str = "event", simd: dict | None = None,
           lanes: dict | None = None, time_chunk: int | None = None) -> RtlDesign:
    """`pe`: weight layer name -> outputs per cycle (default: default_pe); `simd`: weight layer
    name -> inputs per element (default 1); `lanes`: LIF layer name -> neurons updated per cycle
    (default: the PE of the engine feeding it, so the LIF keeps the pace the engine was given);
    `mode`: 'event' skips all-zero elements in one cycle, 'dense' spends the full work on every
    element."""
    check_supported(deploy.layers)
    if mode not in RTL_MODES:
        raise InputError(f"rtl mode: accepted {list(RTL_MODES)}, got {mode!r}")
    pe, simd, lif_lanes = dict(pe or {}), dict(simd or {}), dict(lanes or {})
    T = check_chunk(deploy.time_steps, time_chunk)      # the steps of a beat: one pass
    passes = deploy.time_steps // T
    top = f"qpsnn_{deploy.meta['name']}"
    files: dict[str, str] = {}
    stages: list[Stage] = []
    layer_pe: dict[str, int] = {}
    layer_simd: dict[str, int] = {}
    layer_lanes: dict[str, int] = {}
    layer_rows: dict[str, int] = {}
    probes: list[dict] = []
    engine_pe = 1
    h, w, c = deploy.meta["input"]["shape"]
    # a pixel beat: C 8-bit codes, or C elements of T event counts (deploy input bits each)
    events = deploy.meta["input"].get("encoding") == "events"
    input_bits = deploy.meta["input"]["bits"]
    input_steps = T if events else 1
    stream = Stream("pixels", c, input_steps * input_bits, shape=(h, w))
    out_bits = 0
    for layer in deploy.layers:
        kind, name = layer["type"], layer["name"]
        first_stage = len(stages)
        if kind in ("conv", "dense"):
            codes = deploy.array(layer["weights"])
            codes = codes.reshape(-1, codes.shape[-1])
            n_in, n_out = codes.shape
            p = pe.get(name, default_pe(n_out))
            if n_out % p:
                raise InputError(f"rtl: parallelism of {name!r} must divide its {n_out} outputs, got {p}")
            layer_pe[name] = p
            engine_pe = p     # what a LIF layer after it keeps pace with
            if layer["offset_s"] != 2 ** layer["bits"] - 1:      # the engine computes S x as a shift
                raise InputError(f"deploy form: {name!r} has ReScaW offset {layer['offset_s']}, expected "
                                 f"2^{layer['bits']} - 1 for its {layer['bits']}-bit codes")
            q = simd.get(name, 1)
            if stream.count % q:
                raise InputError(f"rtl: simd (inputs per cycle) of {name!r} must divide the {stream.count} "
                                 f"elements of each of its input beats, got {q}")
            layer_simd[name] = q
            analog = layer["input"] == "analog"
            # the producer sees groups of SIMD elements as its elements
            elem_bits, groups = stream.elem_bits * q, stream.count // q
            skip = int(mode == "event")
            idx_bits = index_bits(n_in // q)
            element_beat = 1 + idx_bits + elem_bits     # {last, index, element}
            if kind == "conv":
                (ih, iw), (oh, ow) = stream.shape, tuple(layer["out_shape"][:2])
                pt, _, pl, _ = layer["padding"]
                layer_rows[name] = line_buffer_rows(layer["kernel"], layer["stride"], ih)
                stages.append(Stage("conv_window", f"u_{name}_window",
                                    f"{name}: {layer['kernel']}x{layer['kernel']} windows, stride {layer['stride']}, "
                                    + ("non-zero elements only" if skip else "every element"),
                                    element_beat,
                                    [("H", ih), ("W", iw), ("C", groups), ("ELEM_BITS", elem_bits),
                                     ("K", layer["kernel"]), ("STRIDE", layer["stride"]), ("PAD_T", pt),
                                     ("PAD_L", pl), ("OH", oh), ("OW", ow), ("SKIP_ZEROS", skip),
                                     ("ROWS", layer_rows[name]), ("INDEX_BITS", idx_bits)]))
                positions = (oh, ow)
            else:
                vectors = int(np.prod(stream.shape)) if stream.shape else 1
                stages.append(Stage("vector_serializer", f"u_{name}_serial",
                                    f"{name}: {vectors} beat(s) of {groups} elements -> "
                                    + ("the non-zero elements" if skip else "every element"),
                                    element_beat, [("N", groups), ("ELEM_BITS", elem_bits),
                                                   ("BEATS", vectors), ("SKIP_ZEROS", skip),
                                                   ("INDEX_BITS", idx_bits)]))
                positions = ()
            steps = 1 if analog else T        # an image's current is computed once
            bias = deploy.array(layer["bias"])
            bias_bits = signed_width(int(np.abs(bias).max()))
            has_bias = int(np.any(bias))
            out_bits = layer["out_bits"]
            files[f"{name}_weights.mem"] = hex_words(weight_words(codes, p, layer["bits"], q), q * p * layer["bits"])
            if has_bias:
                files[f"{name}_bias.mem"] = hex_words(bias, bias_bits)
            stages.append(Stage("accumulate_engine", f"u_{name}_engine",
                                f"{name}: {n_in} inputs -> {n_out} outputs, {layer['bits']}-bit ReScaW codes, "
                                f"PE={p}, SIMD={q}",
                                steps * n_out * out_bits,
                                [("N_IN", n_in), ("N_OUT", n_out), ("PE", p), ("SIMD", q), ("T_IN", steps),
                                 ("IN_BITS", layer["input_bits"]), ("W_BITS", layer["bits"]),
                                 ("FRAC_BITS", layer["frac_bits"]),
                                 ("OUT_BITS", out_bits), ("BIAS_BITS", bias_bits),
                                 ("SKIP_ZEROS", skip), ("HAS_BIAS", has_bias),
                                 ("WEIGHT_FILE", _quote(f"{name}_weights.mem"))]
                                + [("BIAS_FILE", _quote(f"{name}_bias.mem"))] * has_bias
                                + [("INDEX_BITS", idx_bits)]
                                + [("FANOUT", ENGINE_FANOUT), ("ROM_BLOCK_RAM", 1)] * hw_choices.large_engine(steps, p, q)))
            stream = Stream("currents", n_out, 0, steps=steps, shape=positions)
        elif kind == "lif":
            theta = deploy.array(layer["threshold"])
            n = stream.count
            u_bits = max(layer["membrane_bits"], out_bits)
            files[f"{name}_threshold.mem"] = hex_words(theta, u_bits)
            lanes_here = lif_lanes.get(name, engine_pe)
            if not 1 <= lanes_here <= n:
                raise InputError(f"rtl: lanes (neurons updated per cycle) of {name!r} must be in 1..{n} "
                                 f"(its neurons), got {lanes_here}")
            layer_lanes[name] = lanes_here
            positions = int(np.prod(stream.shape)) if stream.shape else 1
            stages.append(Stage("lif_layer", f"u_{name}",
                                f"{name}: {n} LIF neurons x {T} steps"
                                + (f" x {passes} passes (membranes in RAM)" if passes > 1 else "") + ", tau = "
                                + ("1 - " if layer.get("leak_complement") else "") + f"2^-{layer['leak_shift']}, "
                                f"{layer['reset']} reset, {lanes_here} updated per cycle", n * T,
                                [("N", n), ("C", len(theta)), ("T", T), ("X_STEPS", stream.steps),
                                 ("X_BITS", out_bits), ("U_BITS", u_bits), ("LEAK_SHIFT", layer["leak_shift"]),
                                 ("LEAK_COMPLEMENT", int(layer.get("leak_complement", False))),
                                 ("SOFT_RESET", int(layer["reset"] == "soft")), ("LANES", lanes_here),
                                 ("CHUNKS", passes), ("POSITIONS", positions), ("FLAT_PICK", hw_choices.LIF_FLAT_PICK),
                                 ("THRESHOLD_FILE", _quote(f"{name}_threshold.mem"))],
                                facts={"THETA_SHARED_BITS": theta_shared_bits(theta, n, lanes_here, out_bits, u_bits)}))
            stream = Stream("pixels" if stream.shape else "vector", n, T, shape=stream.shape)
            probes.append({"layer": name, "signal": f"st{len(stages)}", "neurons": n, "steps": T,
                           "passes": passes, "positions": list(stream.shape) or [1]})
        elif kind == "maxpool":
            ih, iw = stream.shape
            stages.append(Stage("pool2", f"u_{name}", f"{name}: 2x2 max-pool of spikes (OR)",
                                stream.count * stream.elem_bits,
                                [("H", ih), ("W", iw), ("N", stream.count * stream.elem_bits), ("IN_BITS", 1),
                                 ("SUM", 0)]))
            stream = Stream("pixels", stream.count, stream.elem_bits, shape=(ih // 2, iw // 2))
        elif kind == "sumpool":
            ih, iw = stream.shape
            value_bits = stream.elem_bits // T           # a spike, or a count of a sum pool before
            stages.append(Stage("pool2", f"u_{name}", f"{name}: 2x2 sum pool (counts of {value_bits + 2} bits)",
                                stream.count * T * (value_bits + 2),
                                [("H", ih), ("W", iw), ("N", stream.count * T), ("IN_BITS", value_bits),
                                 ("SUM", 1)]))
            stream = Stream("pixels", stream.count, T * (value_bits + 2), shape=(ih // 2, iw // 2))
        # flatten: the pixel stream already is the flattened order (H, W, C); dense serializes it
        for st in stages[first_stage:]:
            st.layer = name
    spikes = deploy.layers[-1].get("mode") == "spikes"
    if stream.kind != ("vector" if spikes else "currents"):
        raise InputError("rtl: the network must end with a dense layer and its readout "
                         "(mode 'spikes': a dense layer, a lif layer and the readout)")
    n_classes = stream.count
    # a spike is a lane value 0/1: two bits keep it non-negative in the readout's signed sums
    value_bits = 2 if spikes else out_bits
    lane = 8 * math.ceil(value_bits / 8)
    class_bits = max(1, math.ceil(math.log2(n_classes)))
    stages.append(Stage("readout", "u_readout",
                        f"readout: {n_classes} classes x {T} steps" + (f" x {passes} passes" if passes > 1 else "")
                        + ", class = argmax of the "
                        + ("spike count" if spikes else "summed membrane"),
                        T * n_classes * lane,
                        [("K", n_classes), ("T", T), ("STEPS", T if spikes else stream.steps),
                         ("BITS", value_bits), ("LANE", lane), ("CLASS_BITS", class_bits),
                         ("SPIKES", int(spikes)), ("CHUNKS", passes)], user_bits=class_bits,
                        layer=deploy.layers[-1]["name"], last_bit=True))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    text = env.get_template("top.v.j2").render(
        version=qpsnn.__version__, name=deploy.meta["name"], digest=deploy.digest(), top=top, T=T, passes=passes,
        in_channels=c, in_bits=c * input_steps * input_bits, n_pixels=h * w,
        in_element="8-bit channels" if not events else f"channels of {T} counts of {input_bits} bit(s)", n_classes=n_classes, lane=lane, spikes=spikes,
        class_bits=class_bits, stages=stages, last=len(stages))
    files[f"{top}.v"] = text
    used = {st.module for st in stages}
    library = sorted(used.union(*(SUBMODULES.get(m, ()) for m in used)))
    return RtlDesign(top, files, library, stages, layer_pe, layer_simd, layer_lanes, value_bits, lane, n_classes,
                     class_bits, probes, mode, layer_rows, input_bits, T, passes)


KNOBS = ("pe", "simd", "lanes")


def theta_shared_bits(theta: np.ndarray, n: int, lanes: int, x_bits: int, u_bits: int) -> int:
    """Flip-flops synthesis shares between a LIF layer's registered x and x - theta (stage B
    of lif_layer holds both per lane): below the lowest set bit of every threshold the lane
    meets, nothing is borrowed, so those bits of x - theta are x's own and one flip-flop
    serves both (all U_BITS + 1 if every threshold of the lane is 0, which a lane past the
    last neuron meets as well)."""
    def low_zero_bits(value: int) -> int:
        return u_bits + 1 if value == 0 else min((value & -value).bit_length() - 1, x_bits)
    groups = -(-n // lanes)
    total = 0
    for lane in range(lanes):
        met = [int(theta[(g * lanes + lane) % len(theta)]) if g * lanes + lane < n else 0 for g in range(groups)]
        total += min(low_zero_bits(v) for v in met)
    return total


def spec_design(deploy: Deploy, spec, mode: str | None = None, time_chunk: int | None = None,
                **overrides) -> RtlDesign:
    """The design a spec asks for: its RTL mode (or `mode`), its steps per pass (or
    `time_chunk`) and its layers' knobs, each knob's {layer: value} in `overrides` laid over
    the spec's."""
    from qpsnn.spec import layer_knob
    knobs = {k: {**layer_knob(spec, k), **(overrides.get(k) or {})} for k in KNOBS}
    return design(deploy, mode=mode or spec.rtl["mode"], time_chunk=time_chunk or spec.rtl["time_chunk"], **knobs)


def flow_design(deploy: Deploy, spec, report: dict, mode: str | None = None, **overrides) -> RtlDesign:
    """The design a flow built: the spec's, with the knobs its fold chose (report["folding"],
    a spec with rtl.target_images_per_s or lut_budget), each knob's {layer: value} in
    `overrides` laid over those."""
    folded = (report.get("folding") or {}).get("knobs", {})
    knobs = {k: {**folded.get(k, {}), **(overrides.get(k) or {})} for k in KNOBS}
    return spec_design(deploy, spec, mode=mode, **knobs)


def write(rtl: RtlDesign, out_dir: str) -> list[str]:
    """Write the design (top, memories, library copy) into out_dir; returns the Verilog sources."""
    os.makedirs(out_dir, exist_ok=True)
    for fname, text in rtl.files.items():
        with open(os.path.join(out_dir, fname), "w") as fh:
            fh.write(text)
    for module in rtl.library:
        shutil.copyfile(HW_RTL / f"{module}.v", os.path.join(out_dir, f"{module}.v"))
    return rtl.sources(out_dir)
