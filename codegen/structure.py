"""The generated RTL's structure, read back with pyverilog and checked against the deploy form.

The top level is parsed (pyverilog, with Icarus Verilog as its preprocessor): its instances,
their parameters, the stream wires between them and their widths, and the memories each
instance loads with $readmemh (words x bits). The expected structure is derived here from the
deploy form alone (layer shapes, bit widths, time steps) and the parallelism the design was
built with, not from the generator's own stage list, so a generator bug shows as a difference:
every layer present with its instances in stream order, each stage's parameters, every stream
wire as wide as the values it carries, every weight ROM holding exactly the layer's codes.

The hardware library modules use SystemVerilog size casts (`W'(x)`), which pyverilog's
Verilog-2005 grammar does not take; they are listed from their declarations, and Verilator's
lint (which the flow runs on the whole design) is what elaborates them.
"""

from __future__ import annotations

import math
import os
import re
import tempfile

import numpy as np

from qpsnn.codegen.element_stream import line_buffer_rows

PYVERILOG_INSTALL = "pip install pyverilog (in requirements.txt) and sudo apt-get install iverilog"


def parse_top(path: str) -> dict:
    """pyverilog's view of a generated top: {"module", "instances": [{name, module, params,
    ports}], "wires": {name: width}}."""
    from pyverilog.vparser import ast as vast
    from pyverilog.vparser.parser import VerilogCodeParser

    with tempfile.TemporaryDirectory() as tmp:      # the preprocessor output and parser tables
        parser = VerilogCodeParser([path], preprocess_output=os.path.join(tmp, "pp.v"), outputdir=tmp,
                                   debug=False)
        tree = parser.parse()
    (module,) = tree.description.definitions
    instances, wires = [], {}
    for item in module.items:
        if isinstance(item, vast.InstanceList):
            params = {p.paramname: _constant(p.argname) for p in item.parameterlist}
            for inst in item.instances:
                ports = {p.portname: str(p.argname) for p in inst.portlist}
                instances.append({"name": inst.name, "module": item.module, "params": params, "ports": ports})
        elif isinstance(item, vast.Decl):
            for decl in item.list:
                if isinstance(decl, (vast.Wire, vast.Input, vast.Output)):
                    width = 1 if decl.width is None else int(decl.width.msb.value) - int(decl.width.lsb.value) + 1
                    wires[decl.name] = width
    return {"module": module.name, "instances": instances, "wires": wires}


def _constant(node):
    """A parameter value of the top: a string (a memory file) or a decimal integer."""
    from pyverilog.vparser import ast as vast
    return node.value if isinstance(node, vast.StringConst) else int(node.value)


def declared_modules(sources: list[str]) -> dict:
    """module name -> the file that declares it."""
    out = {}
    for path in sources:
        with open(path) as fh:
            for name in re.findall(r"^\s*module\s+(\w+)", fh.read(), flags=re.M):
                out[name] = os.path.basename(path)
    return out


def memory_shape(path: str) -> tuple[int, int]:
    """(words, bits) of a $readmemh file: one hex word per line; bits = 4 x its hex digits."""
    with open(path) as fh:
        words = [line.strip() for line in fh if line.strip() and not line.startswith("//")]
    return len(words), 4 * max(len(w) for w in words)


def expected_stages(deploy, layer_pe: dict, layer_simd: dict, layer_lanes: dict | None = None,
                    time_chunk: int | None = None) -> list[tuple[str, str, dict, int | None]]:
    """From the deploy form: (instance, module, parameters it must have, width of its output
    stream or None where the width is the generator's own choice) in stream order;
    `time_chunk`: the steps of a pass (default: all T)."""
    T = time_chunk or deploy.meta["time_steps"]      # the steps of a beat
    passes = deploy.meta["time_steps"] // T
    out = []
    stream_shape = deploy.meta["input"]["shape"]     # what the stream carries: a flatten changes nothing
    for layer in deploy.layers:
        kind, name = layer["type"], layer["name"]
        if kind != "flatten":
            beat_shape, stream_shape = stream_shape, layer["out_shape"]
        if kind in ("conv", "dense"):
            n_out = layer["out_shape"][-1]
            fan_in = (layer["kernel"] ** 2 * layer["in_shape"][-1] if kind == "conv"
                      else int(np.prod(layer["in_shape"])))
            steps = 1 if layer["input"] == "analog" else T
            simd = layer_simd.get(name, 1)
            engine_pe = layer_pe[name]
            if kind == "conv":
                (h, w), (oh, ow) = layer["in_shape"][:2], layer["out_shape"][:2]
                out.append((f"u_{name}_window", "conv_window",
                            {"H": h, "W": w, "C": layer["in_shape"][-1] // simd, "K": layer["kernel"],
                             "STRIDE": layer["stride"], "PAD_T": layer["padding"][0], "PAD_L": layer["padding"][2],
                             "OH": oh, "OW": ow,
                             "ROWS": line_buffer_rows(layer["kernel"], layer["stride"], h)}, None))
            else:
                channels = beat_shape[-1]         # a dense layer takes its input a pixel (or a vector) a beat
                beats = fan_in // channels
                out.append((f"u_{name}_serial", "vector_serializer",
                            {"N": channels // simd, "BEATS": beats}, None))
            out.append((f"u_{name}_engine", "accumulate_engine",
                        {"N_IN": fan_in, "N_OUT": n_out, "PE": layer_pe[name], "SIMD": simd, "T_IN": steps,
                         "IN_BITS": layer["input_bits"], "W_BITS": layer["bits"], "FRAC_BITS": layer["frac_bits"],
                         "OUT_BITS": layer["out_bits"], "WEIGHT_FILE": f"{name}_weights.mem",
                         **({"HAS_BIAS": 1, "BIAS_FILE": f"{name}_bias.mem"}
                            if np.any(deploy.array(layer["bias"])) else {"HAS_BIAS": 0})},
                        steps * n_out * layer["out_bits"]))
        elif kind == "lif":
            n = layer["out_shape"][-1]
            out.append((f"u_{name}", "lif_layer",
                        {"N": n, "T": T, "LEAK_SHIFT": layer["leak_shift"],
                         "LEAK_COMPLEMENT": int(layer.get("leak_complement", False)),
                         "SOFT_RESET": int(layer["reset"] == "soft"),
                         # the generator's default: the PE of the engine feeding it
                         "LANES": (layer_lanes or {}).get(name, engine_pe), "CHUNKS": passes,
                         "POSITIONS": int(np.prod(layer["out_shape"][:-1])),
                         "THRESHOLD_FILE": f"{name}_threshold.mem"},
                        n * T))
        elif kind == "maxpool":
            h, w = layer["in_shape"][:2]
            c = layer["in_shape"][-1]
            out.append((f"u_{name}", "pool2", {"H": h, "W": w, "N": c * T, "IN_BITS": 1, "SUM": 0}, c * T))
        elif kind == "sumpool":
            h, w = layer["in_shape"][:2]
            c = layer["in_shape"][-1]
            out.append((f"u_{name}", "pool2", {"H": h, "W": w, "N": c * T, "IN_BITS": layer["in_bits"], "SUM": 1},
                        c * T * layer["out_bits"]))
        elif kind == "readout":
            out.append(("u_readout", "readout",
                        {"K": layer["out_shape"][-1], "T": T, "SPIKES": int(layer.get("mode") == "spikes"),
                         "CHUNKS": passes}, None))
    return out


def check_structure(rtl_dir: str, top: str, deploy, layer_pe: dict, layer_simd: dict,
                    layer_lanes: dict | None = None, time_chunk: int | None = None) -> dict:
    """Parse `rtl_dir/top.v` and compare it with the deploy form. Returns {"modules",
    "instances", "memories", "rom_bits", "problems"}: problems empty when every layer is present
    in stream order with the parameters, stream widths and weight ROMs its shape implies."""
    sources = sorted(os.path.join(rtl_dir, f) for f in os.listdir(rtl_dir) if f.endswith(".v"))
    parsed = parse_top(os.path.join(rtl_dir, f"{top}.v"))
    declared = declared_modules(sources)
    problems = []
    if parsed["module"] != top:
        problems.append(f"{top}.v declares module {parsed['module']}, not {top}")
    got = {inst["name"]: inst for inst in parsed["instances"]}
    expected = expected_stages(deploy, layer_pe, layer_simd, layer_lanes, time_chunk)
    names = [inst["name"] for inst in parsed["instances"]]
    if names != [e[0] for e in expected]:
        problems.append(f"instances in stream order: expected {[e[0] for e in expected]}, found {names}")
    for inst in parsed["instances"]:
        if inst["module"] not in declared:
            problems.append(f"{inst['name']}: module {inst['module']} is declared in no source file")
    previous_out = "st0_data"       # the top's input stream
    for name, module, params, width in expected:
        inst = got.get(name)
        if inst is None:
            problems.append(f"{name} ({module}) missing")
            continue
        if inst["module"] != module:
            problems.append(f"{name}: module {inst['module']}, expected {module}")
        for key, value in params.items():
            if inst["params"].get(key) != value:
                problems.append(f"{name}: {key} = {inst['params'].get(key)}, expected {value}")
        data_in, data_out = inst["ports"].get("s_axis_tdata"), inst["ports"].get("m_axis_tdata")
        # the stream: each stage reads what the one before it writes (the first reads the top's input)
        if data_in != previous_out:
            problems.append(f"{name}: reads {data_in}, expected {previous_out}")
        previous_out = data_out
        if width is not None and parsed["wires"].get(data_out) != width:
            problems.append(f"{name}: output stream {data_out} is {parsed['wires'].get(data_out)} bits, "
                            f"expected {width}")
    memories = {}
    for inst in parsed["instances"]:
        for key, value in inst["params"].items():
            if key.endswith("_FILE"):
                path = os.path.join(rtl_dir, value)
                if not os.path.exists(path):
                    problems.append(f"{inst['name']}: {key} {value} does not exist")
                    continue
                words, bits = memory_shape(path)
                memories[value] = {"instance": inst["name"], "words": words, "bits": bits}
    for layer in deploy.layers:
        if layer["type"] not in ("conv", "dense") or f"{layer['name']}_weights.mem" not in memories:
            continue
        mem = memories[f"{layer['name']}_weights.mem"]
        codes = int(np.prod(deploy.array(layer["weights"]).shape))
        lanes = layer_pe[layer["name"]] * layer_simd.get(layer["name"], 1)
        want_words, want_bits = codes // lanes, 4 * math.ceil(lanes * layer["bits"] / 4)
        if (mem["words"], mem["bits"]) != (want_words, want_bits):
            problems.append(f"{layer['name']}_weights.mem: {mem['words']} words x {mem['bits']} bits, expected "
                            f"{want_words} x {want_bits} ({codes} {layer['bits']}-bit codes, {lanes} per word)")
    rom_bits = sum(m["words"] * m["bits"] for m in memories.values())
    return {"parser": "pyverilog", "modules": sorted(declared), "instances": len(parsed["instances"]),
            "memories": memories, "rom_bits": rom_bits, "problems": problems}
