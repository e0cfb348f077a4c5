"""NIR import and export: graphs written in snnTorch's, Norse's and Sinabs' (IF, no bias, SumPool2d) conventions
(tests/nir_graphs.py) through `qpsnn import-nir` and the flow, the HLS C-sim and the RTL bit for
bit against the golden model; the import checked against the graph itself by the float reference
simulator (independent of the importer's layout conversion); every refusal; the round trip
through `qpsnn export-nir` back to the same integer network."""

import os

import numpy as np
import pytest
import yaml

import nir
from helpers import trained
from nir_graphs import write_graph
from qpsnn.cli import main
from qpsnn.flow import run_flow
from qpsnn.spec import load_spec

NET = {
    "name": "nir_net",
    "data": {"dataset": "digits", "test_fraction": 0.25, "seed": 0},
    "time_steps": 3,
    "neuron": {"tau": 0.5, "threshold": 1.0, "reset": "soft"},
    "train": {"epochs": 8, "batch_size": 32, "lr": 0.01, "seed": 3, "batch_norm": False},
    "layers": [{"type": "conv", "filters": 4, "kernel": 3, "padding": [1, 1]}, {"type": "lif", "strict": True},
               {"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "lif", "strict": True},
               {"type": "dense", "units": 10}, {"type": "readout"}],
}
# each exporter's neurons: (decay per step, reset the preset assumes)
EXPORTERS = {"snntorch": 0.875, "norse": 0.5, "sinabs": 1.0}   # 0.875: the complement leak, 1 - 2^-3
VERIFY = {"hls_images": 10, "rtl_images": 10}


@pytest.fixture(scope="module")
def weights():
    from qpsnn.model.weights import model_weights
    spec, _, model, _ = trained(NET)
    return model_weights(model, spec)


def import_graph(tmp, graph, exporter, extra=()):
    spec = str(tmp / "net.yaml")
    code = main(["import-nir", "--nir", str(graph), "--out", spec, "--time-steps", "3", "--from", exporter,
                 "--data", "digits", *extra])
    return code, spec


@pytest.fixture(scope="module", params=list(EXPORTERS))
def imported(request, weights, tmp_path_factory):
    exporter = request.param
    tmp = tmp_path_factory.mktemp(f"nir_{exporter}")
    graph = tmp / "net.nir"
    # Sinabs' family: no bias, a sum pool after the first neuron
    write_graph(str(graph), exporter, weights, (8, 8, 1), EXPORTERS[exporter], 1.0, bias=exporter != "sinabs",
                pool=exporter == "sinabs")
    code, spec_path = import_graph(tmp, graph, exporter)
    assert code == 0
    raw = yaml.safe_load(open(spec_path))
    raw["verify"] = VERIFY
    raw["data"]["test_fraction"] = 0.25           # the split the weights were trained on
    yaml.safe_dump(raw, open(spec_path, "w"))
    spec = load_spec(spec_path)
    report = run_flow(spec, str(tmp / "out"), synth=False)
    return exporter, tmp, spec, report


@pytest.mark.slow(seconds=60)
def test_imported_graph_bit_exact(imported):
    exporter, tmp, spec, report = imported
    assert report["bit_exact"]["hls_csim"] == {"images": VERIFY["hls_images"], "mismatches": 0}
    assert report["bit_exact"]["rtl"]["mismatches"] == 0 and report["bit_exact"]["rtl"]["images"] == VERIFY["rtl_images"]
    assert report["latency"]["images_cycles_differ"] == 0
    # the conventions as mapped: the leak, the reset, the firing rule of each exporter
    lifs = [layer for layer in spec.layers if layer["type"] == "lif"]
    assert all(layer["tau"] == EXPORTERS[exporter] for layer in lifs)
    assert all(layer["reset"] == ("hard" if exporter == "norse" else "soft") for layer in lifs)
    assert all(layer["strict"] == (exporter != "sinabs") for layer in lifs)
    assert [layer["type"] for layer in spec.layers].count("sumpool") == (exporter == "sinabs")
    # Sinabs' zero biases: layers without bias, no bias ROM in the accelerator
    weight_layers = [layer for layer in spec.layers if layer["type"] in ("conv", "dense")]
    assert all(layer["bias"] == (exporter != "sinabs") for layer in weight_layers)
    top = (tmp / "out" / "rtl" / f"qpsnn_{spec.name}.v").read_text()
    assert top.count(".HAS_BIAS(0)") == (len(weight_layers) if exporter == "sinabs" else 0)
    acc = report["accuracy"]
    assert 0 <= acc["reference"] <= 1 and 0 <= acc["reference_golden_agreement"] <= 1
    assert max(report["firing_rate"].values()) > 0


def test_import_equals_the_graph_in_float(imported):
    """The imported network unquantized (Keras, channels last, the gain folded into the weights)
    and the graph simulated by the reference (NIR's layout, its own parameters) classify alike:
    the permutation at the flatten, the padding, the gains and the leak are mapped exactly (the
    two differ only in float32 vs float64 at a threshold)."""
    from qpsnn.model.builder import build_model
    from qpsnn.model.data import load_dataset
    from qpsnn.model.nir_reference import simulate
    from qpsnn.model.train import float_predict
    from qpsnn.model.weights import read_weights, set_model_weights
    _, _, spec, _ = imported
    data = load_dataset("digits", 0.25, 0)
    model = build_model(spec, data.input_shape, quantized=False)
    set_model_weights(model, spec, read_weights(spec.train["init"], spec, data.input_shape))
    ref = spec.reference
    reference = simulate(ref["nir"], data.x_test, spec.time_steps, ref["dt"], ref["scheme"], ref["reset"],
                         ref["strict"], ref["if_per_step"])
    assert np.mean(float_predict(model, data.x_test) == reference) >= 0.99


def test_export_nir_round_trip(imported):
    """A flow's network exported to NIR and imported again (`--from qpsnn`) is the same integer
    network: every weight code, bias and threshold; the exported graph simulated in float gives
    the golden model's classes (its membranes are not floored by the leak's shift: nearly all)."""
    from qpsnn.model.data import load_dataset
    from qpsnn.model.deploy import Deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.model.nir_reference import simulate
    exporter, tmp, spec, _ = imported
    back = tmp / "back.nir"
    assert main(["export-nir", "--out", str(tmp / "out"), "--nir", str(back)]) == 0
    (tmp / "again").mkdir()
    code, spec_path = import_graph(tmp / "again", back, "qpsnn")
    assert code == 0
    again = load_spec(spec_path)
    run_flow(again, str(tmp / "again_out"), hls=False, rtl=False)
    first, second = Deploy.load(str(tmp / "out" / "deploy")), Deploy.load(str(tmp / "again_out" / "deploy"))
    integer = [k for k in first.arrays if not k.endswith(".scale")]
    assert sorted(integer) == sorted(k for k in second.arrays if not k.endswith(".scale"))
    for key in integer:
        assert np.array_equal(first.arrays[key], second.arrays[key]), key
    data = load_dataset("digits", 0.25, 0)
    meta = nir.read(str(back)).metadata["qpsnn"]
    reference = simulate(str(back), data.x_test, spec.time_steps, float(meta["dt"]), "euler", str(meta["reset"]),
                         strict=False)
    agree = np.mean(reference == run_golden(first, data.x_test).prediction)
    assert agree >= (1.0 if EXPORTERS[exporter] == 1.0 else 0.97), agree


# ---- refusals: one message naming the node, exit 2, nothing written ----

def mlp_nodes(**changes):
    """A valid flat graph (64 -> 16 LIF -> 10) for digits, in snnTorch's conventions."""
    rng = np.random.default_rng(0)
    dt, tau = 1e-4, 2e-4
    shape = (16,)
    nodes = {"input": nir.Input(input_type={"input": np.array([64])}),
             "fc": nir.Affine(weight=rng.normal(0, 0.2, (16, 64)), bias=np.zeros(16)),
             "lif": nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / dt), v_leak=np.zeros(shape),
                            v_threshold=np.ones(shape)),
             "out": nir.Affine(weight=rng.normal(0, 0.2, (10, 16)), bias=np.zeros(10)),
             "output": nir.Output(output_type={"output": np.array([10])})}
    nodes.update(changes)
    return nodes


CHAIN = ["input", "fc", "lif", "out", "output"]


def conv_graph(**conv_changes):
    rng = np.random.default_rng(1)
    conv = dict(input_shape=(8, 8), weight=rng.normal(0, 0.2, (2, 1, 3, 3)), stride=1, padding=(1, 1), dilation=1,
                groups=1, bias=np.zeros(2))
    conv.update(conv_changes)
    shape = (2, 8, 8)
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 8, 8])}), "conv": nir.Conv2d(**conv),
             "lif": nir.IF(r=np.ones(shape), v_threshold=np.ones(shape)),
             "flat": nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0),
             "out": nir.Affine(weight=rng.normal(0, 0.2, (10, 128)), bias=np.zeros(10)),
             "output": nir.Output(output_type={"output": np.array([10])})}
    return nodes, ["input", "conv", "lif", "flat", "out", "output"]


def pooled_conv_graph(kernel):
    nodes, order = conv_graph()
    nodes["pool"] = nir.SumPool2d(kernel_size=np.array([kernel, kernel]), stride=np.array([kernel, kernel]),
                                  padding=np.array([0, 0]))
    return nodes, order[:3] + ["pool"] + order[3:]


def cuba(tau_syn):
    shape = (16,)
    return nir.CubaLIF(tau_syn=np.full(shape, tau_syn), tau_mem=np.full(shape, 2e-4), r=np.full(shape, 2.0),
                       v_leak=np.zeros(shape), v_threshold=np.ones(shape), w_in=np.ones(shape))


def lif_with(**fields):
    shape = (16,)
    base = dict(tau=np.full(shape, 2e-4), r=np.full(shape, 2.0), v_leak=np.zeros(shape), v_threshold=np.ones(shape))
    base.update(fields)
    return nir.LIF(**base)


REFUSALS = {
    "fan-out": (mlp_nodes(), CHAIN, [("fc", "out")], "'fc'", "fan-out"),
    "recurrent edge": (mlp_nodes(), CHAIN, [("lif", "fc")], "'fc'", "fan-in"),
    "delay": (mlp_nodes(lif=nir.Delay(delay=np.ones(16))), CHAIN, [], "'lif'", "Delay"),
    "slow synapse": (mlp_nodes(lif=cuba(5e-4)), CHAIN, [], "'lif'", "tau_syn"),
    "v_reset": (mlp_nodes(lif=lif_with(v_reset=np.full(16, 0.5))), CHAIN, [], "'lif'", "v_reset"),
    "v_leak": (mlp_nodes(lif=lif_with(v_leak=np.full(16, 0.1))), CHAIN, [], "'lif'", "v_leak"),
    "per-neuron tau": (mlp_nodes(lif=lif_with(tau=np.linspace(2e-4, 4e-4, 16))), CHAIN, [], "'lif'", "tau differs"),
    "unknown node": (mlp_nodes(lif=nir.Threshold(threshold=np.ones(16))), CHAIN, [], "'lif'", "Threshold"),
    "dilation": (*conv_graph(dilation=2), [], "'conv'", "dilation"),
    "groups": (*conv_graph(groups=2, weight=np.ones((2, 1, 3, 3))), [], "'conv'", "groups"),
    "pool 3x3": (*pooled_conv_graph(3), [], "'pool'", "kernel (3, 3)"),
    "cut graph": (mlp_nodes(), ["input", "fc", "lif"], [], "'lif'", "cut"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_import_refusals(tmp_path, capsys, case):
    nodes, order, extra_edges, node_name, word = REFUSALS[case]
    graph = tmp_path / "g.nir"
    nir.write(str(graph), nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])) + extra_edges,
                                       type_check=False))
    code, spec = import_graph(tmp_path, graph, "snntorch")
    err = capsys.readouterr().err
    assert code == 2 and err.count("qpsnn: error:") == 1, err
    assert node_name in err and word in err, err
    assert sorted(os.listdir(tmp_path)) == ["g.nir"]        # nothing written


def test_import_refuses_a_file_that_is_not_nir(tmp_path, capsys):
    graph = tmp_path / "g.nir"
    graph.write_bytes(b"not an hdf5 file")
    code, _ = import_graph(tmp_path, graph, "snntorch")
    err = capsys.readouterr().err
    assert code == 2 and "not an NIR graph" in err and err.count("qpsnn: error:") == 1
    assert sorted(os.listdir(tmp_path)) == ["g.nir"]


def test_import_keeps_an_existing_spec(tmp_path, capsys, weights):
    graph = tmp_path / "net.nir"
    write_graph(str(graph), "snntorch", weights, (8, 8, 1), 0.5, 1.0)
    (tmp_path / "net.yaml").write_text("mine\n")
    code, _ = import_graph(tmp_path, graph, "snntorch")
    assert code == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "net.yaml").read_text() == "mine\n"


def test_event_graph_imports_on_event_frames(tmp_path):
    """A Sinabs-style event network (IF, SumPool2d, no bias) imported with a data set of event
    frames: the spec takes them as counts (encoding: events), and the imported network classifies
    as the graph does, simulated on the same frames (unquantized, float)."""
    from test_events import digit_events

    from qpsnn.model.builder import build_model
    from qpsnn.model.data import load_spec_data
    from qpsnn.model.nir_reference import simulate
    from qpsnn.model.train import float_predict
    from qpsnn.model.weights import read_weights, set_model_weights
    digit_events(tmp_path / "events.npz")                 # (N, 4, 8, 8, 2) counts
    rng = np.random.default_rng(5)
    shape = (4, 8, 8)
    nodes = {"input": nir.Input(input_type={"input": np.array([2, 8, 8])}),
             "conv": nir.Conv2d(input_shape=(8, 8), weight=rng.normal(0, 0.4, (4, 2, 3, 3)), stride=1, padding=(1, 1),
                                dilation=1, groups=1, bias=np.zeros(4)),
             "if0": nir.IF(r=np.ones(shape), v_threshold=np.ones(shape)),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0),
             "fc": nir.Affine(weight=rng.normal(0, 0.3, (10, 64)), bias=np.zeros(10)),
             "output": nir.Output(output_type={"output": np.array([10])})}
    order = ["input", "conv", "if0", "pool", "flat", "fc", "output"]
    nir.write(str(tmp_path / "ev.nir"), nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))))
    assert main(["import-nir", "--nir", str(tmp_path / "ev.nir"), "--out", str(tmp_path / "ev.yaml"), "--time-steps",
                 "4", "--from", "sinabs", "--data", str(tmp_path / "events.npz")]) == 0
    spec = load_spec(str(tmp_path / "ev.yaml"))
    assert spec.encoding == "events" and [layer["type"] for layer in spec.layers][:3] == ["conv", "lif", "sumpool"]
    data = load_spec_data(spec)
    model = build_model(spec, data.input_shape, quantized=False)
    set_model_weights(model, spec, read_weights(spec.train["init"], spec, data.input_shape))
    ref = spec.reference
    reference = simulate(ref["nir"], data.x_test, 4, ref["dt"], ref["scheme"], ref["reset"], ref["strict"],
                         ref["if_per_step"])
    assert len(set(reference.tolist())) > 1                       # the check compares real decisions
    assert np.mean(float_predict(model, data.x_test) == reference) >= 0.99
