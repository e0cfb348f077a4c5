"""NIR in and out: `qpsnn import-nir` / `qpsnn.import_nir` (a graph -> a spec and its weights
beside it), `qpsnn.from_nir` (a graph -> an accelerator in a flow directory, as `convert` does
for a Keras model), `qpsnn export-nir` / `qpsnn.export_nir` (a flow directory's network -> a
graph). The conversions are model/nir_frontend.py's; the float reference model/nir_reference.py's.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import yaml

from qpsnn.errors import InputError

QUANT_DEFAULTS = {"bits": 4, "first_bits": 8, "last_bits": 8}


def _imported(nir_path: str, time_steps: int, dt, scheme, reset, data, exporter: str, per_layer_mean: bool):
    """The front end's result for a graph and the data set it will run on."""
    from qpsnn.model.data import dataset_layout
    from qpsnn.model.nir_frontend import default_dataset, spec_from_nir

    if not isinstance(time_steps, int) or isinstance(time_steps, bool) or time_steps < 1:
        raise InputError(f"--time-steps: expected a positive integer (NIR stores no number of steps), got "
                         f"{time_steps!r}")
    image_shape = dataset_layout(os.path.abspath(data) if data.endswith(".npz") else data)[0] if data else None
    events = image_shape is not None and len(image_shape) == 4      # event frames (T, H, W, C): their counts in
    if events:
        if image_shape[0] != time_steps:
            raise InputError(f"--time-steps {time_steps}: the data set's samples have {image_shape[0]} frames; "
                             "accepted: the frames per sample")
        image_shape = image_shape[1:]
    made = spec_from_nir(nir_path, time_steps, dt, scheme, reset, exporter, image_shape, per_layer_mean)
    made["encoding"] = "events" if events else "direct"
    if data is None:
        shape = made["image_shape"]
        data = default_dataset((shape[2], shape[0], shape[1]))
        if data is None:
            raise InputError(f"--data: the graph takes {shape[0]}x{shape[1]}x{shape[2]} images (H x W x C), which "
                             "no built-in data set has; give a .npz of them (see README, data)")
    made["dataset"] = os.path.abspath(data) if data.endswith(".npz") else data
    return made


def _raw(made: dict, name: str, nir_path: str, bits: dict | None, epochs: int) -> dict:
    disc = made["discretization"]
    events = made["encoding"] == "events"
    # event frames go in as their counts (max_count 255: as the graph sees them; a smaller one clips)
    return {"name": name, "data": {"dataset": made["dataset"]}, **{k: v for k, v in made["keys"].items()
                                                                      if k != "train"},
            **({"encoding": "events", "events": {"max_count": 255}} if events else {}),
            "quant": {**QUANT_DEFAULTS, **made["keys"].get("quant", {}), **(bits or {})},
            "train": {"epochs": epochs, **made["keys"]["train"]},
            "reference": {"nir": os.path.abspath(nir_path), "dt": disc["dt"], "scheme": disc["scheme"],
                          "reset": disc["reset"], "strict": disc["strict"], "if_per_step": disc["if_per_step"]}}


def import_nir(nir_path: str, out_spec: str, time_steps: int, dt: float | None = None, reset: str | None = None,
               scheme: str | None = None, data: str | None = None, exporter: str = "generic",
               per_layer_mean: bool = False, bits: dict | None = None, epochs: int = 0,
               force: bool = False) -> dict:
    """Write SPEC (YAML) and its weights (SPEC's name with .weights.npz) from an NIR graph: an
    ordinary spec that `qpsnn flow --spec SPEC` takes. epochs 0: post-training quantization of
    the graph's weights; above 0, quantization-aware fine-tuning from them on the data set.
    Returns {'spec', 'weights', 'notes'}; nothing is written when a check fails."""
    from qpsnn.api import load_checked
    from qpsnn.model.weights import write_weights
    from qpsnn.spec import identifier

    if not out_spec.endswith((".yaml", ".yml")):
        raise InputError(f"--out: {out_spec}: expected the path of the spec to write (.yaml)")
    stem = os.path.splitext(os.path.basename(out_spec))[0]
    weights_name = f"{stem}.weights.npz"
    directory = os.path.dirname(os.path.abspath(out_spec))
    weights_path = os.path.join(directory, weights_name)
    for path in (out_spec, weights_path):
        if os.path.exists(path) and not force:
            raise InputError(f"--out: {path} exists; give another path, or --force to replace it")
    made = _imported(nir_path, time_steps, dt, scheme, reset, data, exporter, per_layer_mean)
    raw = _raw(made, identifier(stem, "nir"), nir_path, bits, epochs)
    raw["train"]["init"] = weights_name
    os.makedirs(directory, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".import-nir-", dir=directory)
    try:
        write_weights(os.path.join(staging, weights_name), made["arrays"])
        staged_spec = os.path.join(staging, os.path.basename(out_spec))
        with open(staged_spec, "w") as fh:
            fh.write(f"# imported from {os.path.abspath(nir_path)} by qpsnn import-nir "
                     f"({made['discretization']})\n")
            yaml.safe_dump(raw, fh, sort_keys=False)
        load_checked(staged_spec)
        os.replace(os.path.join(staging, weights_name), weights_path)
        os.replace(staged_spec, os.path.abspath(out_spec))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for note in made["notes"]:
        print(f"[qpsnn] note: {note}", flush=True)
    return {"spec": os.path.abspath(out_spec), "weights": weights_path, "notes": made["notes"],
            "discretization": made["discretization"]}


def from_nir(nir_path: str, output_dir: str, time_steps: int, data: str | None = None, dt: float | None = None,
             reset: str | None = None, scheme: str | None = None, exporter: str = "generic",
             per_layer_mean: bool = False, config: dict | None = None):
    """An NIR graph -> an accelerator in output_dir (its spec and weights in output_dir/source),
    built up to the deploy form; `config` as for qpsnn.convert (quant bits, train.epochs for
    fine-tuning, prune ratios, per-layer knobs)."""
    from qpsnn.api import Accelerator, _raw_spec, write_source

    made = _imported(nir_path, time_steps, dt, scheme, reset, data, exporter, per_layer_mean)
    raw = _raw(made, "nir_model", nir_path, None, 0)
    keys = {"time_steps": raw["time_steps"], "quant": raw["quant"], "train": raw["train"], "layers": raw["layers"]}
    spec_raw = _raw_spec(keys, config or {}, (config or {}).get("name", "nir_model"))
    spec_raw["reference"] = raw["reference"]
    for key in ("encoding", "events"):
        if key in raw:
            spec_raw[key] = raw[key]
    for note in made["notes"]:
        print(f"[qpsnn] note: {note}", flush=True)
    spec = write_source(output_dir, spec_raw, made["arrays"], made["dataset"])
    acc = Accelerator(spec, output_dir)
    acc.build()
    return acc


def export_nir(output_dir: str, nir_path: str, dt: float = 1e-4) -> dict:
    """The network of a flow directory (its deploy form: what the hardware computes) as an NIR
    graph: each weight layer in integer units of its current (2^F (2 W_int - s), times 255 for
    the first layer, whose NIR input is the image scaled to [0, 1]; the integer bias), each LIF as
    NIR's LIF at dt with forward Euler giving back its leak (tau = dt / (1 - decay), r = tau / dt;
    no leak: IF with r = 1 / dt) and its per-channel integer threshold. The graph's
    metadata names what NIR cannot hold: qpsnn's reset (subtract or zero), that a spike fires at
    or above the threshold, dt and the scheme (`--from qpsnn` reads them back). Refused, naming
    the layer: max-pool (no NIR primitive) and TensorFlow's asymmetric 'same' padding."""
    import nir

    from qpsnn.model.deploy import Deploy
    from qpsnn.spec import leak_decay

    deploy_dir = os.path.join(output_dir, "deploy")
    if not os.path.isfile(os.path.join(deploy_dir, "deploy.json")):
        raise InputError(f"--out: {output_dir} holds no deploy form (DIR/deploy); run `qpsnn export` or `qpsnn flow` "
                         "first")
    if not (isinstance(dt, (int, float)) and dt > 0):
        raise InputError(f"--dt: expected a time step in seconds above 0, got {dt!r}")
    deploy = Deploy.load(deploy_dir)
    nodes: dict = {}
    order: list[str] = []
    h, w, c = deploy.meta["input"]["shape"]
    nodes["input"] = nir.Input(input_type={"input": np.array([c, h, w])})
    order.append("input")
    shape = (c, h, w)
    flat_from = None
    resets = {}
    for layer in deploy.layers:
        kind, name = layer["type"], layer["name"]
        if kind in ("conv", "dense"):
            codes = deploy.array(layer["weights"]).astype(np.float64)
            unit = (1 << layer["frac_bits"]) * (255.0 if layer["input"] == "analog" else 1.0)
            weight = unit * (2.0 * codes - layer["offset_s"])
            bias = deploy.array(layer["bias"]).astype(np.float64)
            if kind == "conv":
                pt, pb, pl, pr = layer["padding"]
                if pt != pb or pl != pr:
                    raise InputError(f"layer {name!r}: padding {layer['padding']} (TensorFlow's 'same' at stride "
                                     f"{layer['stride']}) differs top to bottom; NIR's Conv2d pads both sides alike")
                nodes[name] = nir.Conv2d(input_shape=(shape[1], shape[2]), weight=weight.transpose(3, 2, 0, 1),
                                         stride=layer["stride"], padding=(pt, pl), dilation=1, groups=1, bias=bias)
                shape = (layer["out_shape"][2], layer["out_shape"][0], layer["out_shape"][1])
            else:
                if flat_from is not None:      # qpsnn's flat inputs are channels last, NIR's channels first
                    from qpsnn.model.nir_frontend import chw_to_hwc_rows
                    rows = np.empty_like(chw_to_hwc_rows(0, flat_from))
                    rows[chw_to_hwc_rows(0, flat_from)] = np.arange(len(rows))
                    weight = weight[rows]
                    flat_from = None
                nodes[name] = nir.Affine(weight=weight.T, bias=bias)
                shape = (layer["out_shape"][0],)
        elif kind == "lif":
            k = layer["leak_shift"]
            decay = leak_decay(k, layer.get("leak_complement", False))
            theta = deploy.array(layer["threshold"]).astype(np.float64)
            full = np.broadcast_to(theta.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()
            if decay == 1.0:
                nodes[name] = nir.IF(r=np.full(shape, 1.0 / dt), v_threshold=full, v_reset=np.zeros(shape))
            else:
                tau = dt / (1.0 - decay)
                nodes[name] = nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / dt), v_leak=np.zeros(shape),
                                      v_threshold=full, v_reset=np.zeros(shape))
            resets[name] = "subtract" if layer["reset"] == "soft" else "zero"
        elif kind == "maxpool":
            raise InputError(f"layer {name!r}: max-pool has no NIR primitive (NIR pools by sum or average); a "
                             "network with max-pool cannot be exported")
        elif kind == "sumpool":
            nodes[name] = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        elif kind == "flatten":
            if len(shape) == 3:
                flat_from = shape
                nodes[name] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
                shape = (int(np.prod(shape)),)
            else:
                continue
        elif kind == "readout":
            continue
        order.append(name)
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    order.append("output")
    if len(set(resets.values())) > 1:
        raise InputError(f"the network's LIF layers reset differently ({resets}); NIR's graph-wide metadata holds one "
                         "reset: export a network whose LIFs share it")
    reset = next(iter(resets.values()), "zero")
    weight_layers = [layer for layer in deploy.layers if layer["type"] in ("conv", "dense")]
    quant = {"first_bits": weight_layers[0]["bits"], "last_bits": weight_layers[-1]["bits"],
             "bits": weight_layers[1]["bits"] if len(weight_layers) > 2 else weight_layers[0]["bits"],
             "frac_bits": weight_layers[0]["frac_bits"]}
    metadata = {"qpsnn": {"dt": dt, "quant": quant, "scheme": "euler", "reset": reset, "fire": "at_or_above",
                          "input": "image / 255 at every step", "time_steps": deploy.time_steps,
                          "readout": next(layer["mode"] for layer in deploy.layers if layer["type"] == "readout")}}
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])), metadata=metadata)
    tmp = f"{nir_path}.tmp"
    nir.write(tmp, graph)
    os.replace(tmp, nir_path)
    return {"nir": os.path.abspath(nir_path), "nodes": order, "metadata": metadata["qpsnn"]}
