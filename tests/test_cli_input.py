"""Bad input: one clear message naming the problem and what is accepted, exit code 2, and no
output directory (or the previous one untouched)."""

import copy
import json
import os

import numpy as np
import pytest
import yaml

from helpers import MLP_SPEC
from qpsnn.cli import main
from qpsnn.spec import parse_spec


def write_spec(tmp_path, raw, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def with_layer(i, **changes):
    raw = copy.deepcopy(MLP_SPEC)
    raw["layers"][i].update(changes)
    return raw


BAD = [
    ("unknown layer", with_layer(1, type="attention"), ["unknown layer type 'attention'", "accepted"]),
    ("bits 9", dict(MLP_SPEC, quant={"bits": 9}), ["bits must be an integer in 2..8", "9"]),
    ("bits 1", dict(MLP_SPEC, quant={"first_bits": 1}), ["quant.first_bits", "2..8"]),
    ("leak 0.3", dict(MLP_SPEC, neuron={"tau": 0.3}), ["2^-k", "1 - 2^-k", "0.3"]),
    ("layer leak 3", with_layer(2, tau=3), ["2^-k", "layers[2]"]),
    ("missing data file", dict(MLP_SPEC, data={"dataset": "nowhere/data.npz"}), ["file not found", "nowhere/data.npz"]),
    ("no readout", dict(MLP_SPEC, layers=MLP_SPEC["layers"][:-1]), ["must end with", "readout"]),
    ("dense without lif", dict(MLP_SPEC, layers=[MLP_SPEC["layers"][i] for i in (0, 1, 3, 5, 6)]), ["followed by 'lif'"]),
    ("unknown key", dict(MLP_SPEC, quantization={}), ["unknown key", "quantization"]),
    ("pe not a divisor", with_layer(1, pe=5), ["dense.pe", "divisor of its 24 outputs"]),
    ("rtl mode", dict(MLP_SPEC, rtl={"mode": "sparse"}), ["rtl.mode", "event"]),
    ("lr schedule", dict(MLP_SPEC, train=dict(MLP_SPEC["train"], schedule="step")), ["train.schedule", "cosine"]),
    ("batch norm", dict(MLP_SPEC, train=dict(MLP_SPEC["train"], batch_norm="yes")), ["train.batch_norm", "true or false"]),
    ("shift", dict(MLP_SPEC, train=dict(MLP_SPEC["train"], shift=1.5)), ["train.shift", "0..8"]),
    ("rotate", dict(MLP_SPEC, train=dict(MLP_SPEC["train"], rotate=90)), ["train.rotate", "[0, 45]"]),
    ("weight decay", dict(MLP_SPEC, train=dict(MLP_SPEC["train"], weight_decay=-1)), ["train.weight_decay", "[0, 1]"]),
    ("unknown part", dict(MLP_SPEC, rtl={"part": "xc7a12345"}), ["rtl.part", "xc7a35t"]),
    ("board images 0", dict(MLP_SPEC, verify={"board_images": 0}), ["verify.board_images", "0"]),
    ("simd 0", with_layer(1, simd=0), ["dense.simd", "positive integer"]),
    ("clock 0", dict(MLP_SPEC, rtl={"clock_mhz": 0}), ["rtl.clock_mhz", "1..1000", "got 0"]),
    ("lif lanes 0", with_layer(2, lanes=0), ["lif.lanes", "got 0"]),
    ("lif stages, a knob of before", with_layer(2, stages=2), ["lif.stages", "no longer a knob", "lanes"]),
    ("lanes on a dense layer", with_layer(1, lanes=2), ["unknown key", "lanes"]),
    ("lif lanes above its neurons", with_layer(2, lanes=1000), ["lanes 1000", "neurons", "accepted: 1.."]),
    # dense1 takes beats of dense0's 24 spikes: 5 does not divide them
    ("simd not a divisor", with_layer(3, simd=5), ["'dense1'", "simd 5", "24 elements"]),
    # after pruning conv0 keeps 3 of 6 channels, which conv1's simd 2 does not divide
    ("simd after pruning", dict(MLP_SPEC, prune={"ratios": {"conv0": 0.5}}, layers=[
        {"type": "conv", "filters": 6}, {"type": "lif"}, {"type": "conv", "filters": 4, "simd": 2},
        {"type": "lif"}] + MLP_SPEC["layers"]), ["'conv1'", "simd 2", "3 elements"]),
    ("readout mode", dict(MLP_SPEC, layers=MLP_SPEC["layers"][:-1] + [{"type": "readout", "mode": "rate"}]),
     ["readout.mode", "'spikes'"]),
    ("spike readout without lif", dict(MLP_SPEC, layers=MLP_SPEC["layers"][:-1] + [{"type": "readout", "mode": "spikes"}]),
     ["must end with ['dense', 'lif', 'readout']"]),
    ("bias not a bool", with_layer(1, bias=0), ["dense.bias", "true", "false", "got 0"]),
    ("kernel 4", dict(MLP_SPEC, layers=[{"type": "conv", "filters": 2, "kernel": 4}] + MLP_SPEC["layers"]),
     ["conv.kernel", "1, 3 or 5"]),
    # digits' 8x8 -> 6x6 (a 'valid' 3x3 conv) -> 3x3 (max-pool): the second max-pool gets an odd map
    ("max-pool of an odd map", dict(MLP_SPEC, layers=[
        {"type": "conv", "filters": 2, "padding": "valid"}, {"type": "lif"}, {"type": "maxpool"},
        {"type": "conv", "filters": 2}, {"type": "lif"}, {"type": "maxpool"}] + MLP_SPEC["layers"]),
     ["'maxpool1'", "got 3x3", "divide by 2"]),
    ("fewer outputs than classes", with_layer(5, units=4), ["'dense2'", "4 units", "10 classes", "units >= 10"]),
    # 0.4% of digits' 1,797 images is 8 for the hold-out, fewer than its 10 classes
    ("hold-out smaller than the classes", dict(MLP_SPEC, data=dict(MLP_SPEC["data"], test_fraction=0.004)),
     ["data.test_fraction", "8 for the hold-out", "10 classes", "accepted: a fraction in"]),
]


@pytest.mark.parametrize("label,raw,words", BAD, ids=[b[0] for b in BAD])
def test_bad_spec_exit_2_no_output(tmp_path, capsys, label, raw, words):
    """Refused by the flow before any work, and by `qpsnn validate` with the same message."""
    out = tmp_path / "out"
    spec = write_spec(tmp_path, raw)
    code = main(["flow", "--spec", spec, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("qpsnn: error:"), err
    for word in words:
        assert word in err, err
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".out")], "temporary output left behind"
    assert main(["validate", "--spec", spec]) == 2
    assert capsys.readouterr().err == err


def test_missing_spec_file(tmp_path, capsys):
    assert main(["flow", "--spec", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "spec file not found" in capsys.readouterr().err


def test_not_yaml(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("layers: [unclosed\n")
    assert main(["validate", "--spec", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


TWO_CLASSES = np.arange(20) % 2


@pytest.mark.parametrize("content,word,at_validate", [
    ({"x": np.zeros((20, 4, 4), np.uint8)}, "missing key", True),
    ({"x": np.zeros((20, 4, 4), np.uint8), "y": np.zeros(19, np.int64)}, "same N", True),
    ({"x": np.zeros((20, 4, 4), np.uint8), "y": np.full(20, 0.5)}, "labels must be integers", True),
    ({"x": np.zeros((20, 4, 4), np.uint8), "y": TWO_CLASSES - 1}, "labels must be integers >= 0", True),
    ({"x": np.zeros((20, 4, 4), np.uint8), "y": np.r_[TWO_CLASSES[:19], 2]}, "a class has a single image", True),
    # the pixel values are known only once the images are read: the flow's data step
    ({"x": np.full((20, 4, 4), 300), "y": TWO_CLASSES}, "0..255", False),
])
def test_bad_npz_exit_2_previous_output_kept(tmp_path, capsys, content, word, at_validate):
    """A data file the flow refuses (exit 2, the previous DIR kept, nothing written); `qpsnn
    validate` refuses it with the same message when its headers and labels show the problem."""
    data = tmp_path / "data.npz"
    np.savez(data, **content)
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("keep me")
    raw = dict(MLP_SPEC, data={"dataset": str(data)})
    spec = write_spec(tmp_path, raw)
    assert main(["flow", "--spec", spec, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert word in err and err.count("qpsnn: error:") == 1, err
    assert (out / "previous.txt").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["data.npz", "out", "spec.yaml"]
    if at_validate:
        assert main(["validate", "--spec", spec]) == 2
        assert capsys.readouterr().err == err


def test_truncated_npz(tmp_path, capsys):
    data = tmp_path / "data.npz"
    np.savez(data, x=np.zeros((20, 4, 4), np.uint8), y=np.zeros(20, np.int64))
    data.write_bytes(data.read_bytes()[:50])
    raw = dict(MLP_SPEC, data={"dataset": str(data)})
    assert main(["flow", "--spec", write_spec(tmp_path, raw), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_shape_that_does_not_fit(tmp_path, capsys):
    raw = copy.deepcopy(MLP_SPEC)
    raw["layers"] = [{"type": "conv", "filters": 2, "kernel": 5, "padding": "valid"}, {"type": "lif"},
                     {"type": "maxpool"}, {"type": "conv", "filters": 2, "kernel": 5, "padding": "valid"},
                     {"type": "lif"}, {"type": "flatten"}, {"type": "dense", "units": 10}, {"type": "readout"}]
    spec = write_spec(tmp_path, raw)
    assert main(["flow", "--spec", spec, "--out", str(tmp_path / "o"), "--no-rtl"]) == 2
    err = capsys.readouterr().err
    assert "'conv1'" in err
    assert not (tmp_path / "o").exists()
    assert main(["validate", "--spec", spec]) == 2
    assert capsys.readouterr().err == err


ODD_POOL_LAYERS = [{"type": "conv", "filters": 2}, {"type": "lif"}, {"type": "maxpool"}, {"type": "flatten"},
                   {"type": "dense", "units": 2}, {"type": "readout"}]


def test_validate_takes_an_npz_shape_from_its_headers(tmp_path, capsys, monkeypatch):
    """A max-pool over a .npz's 13x13 images: `qpsnn validate` refuses it from the array headers
    (reading the images is made to fail here) with the message and exit code the flow gives;
    on 12x12 images it accepts the same layers."""
    from numpy.lib.npyio import NpzFile

    for side in (13, 12):
        np.savez(tmp_path / f"images{side}.npz", x=np.zeros((20, side, side), np.uint8), y=TWO_CLASSES)
    odd = write_spec(tmp_path, dict(MLP_SPEC, data={"dataset": str(tmp_path / "images13.npz")},
                                    layers=ODD_POOL_LAYERS), "odd.yaml")
    even = write_spec(tmp_path, dict(MLP_SPEC, data={"dataset": str(tmp_path / "images12.npz")},
                                     layers=ODD_POOL_LAYERS), "even.yaml")
    assert main(["flow", "--spec", odd, "--out", str(tmp_path / "o"), "--no-rtl", "--no-hls"]) == 2
    err = capsys.readouterr().err
    assert "'maxpool0'" in err and "got 13x13" in err, err
    read = NpzFile.__getitem__

    def labels_only(self, key):
        assert key != "x", "validate read the images"
        return read(self, key)
    monkeypatch.setattr(NpzFile, "__getitem__", labels_only)
    assert main(["validate", "--spec", odd]) == 2
    assert capsys.readouterr().err == err
    assert main(["validate", "--spec", even]) == 0


def test_validate_does_not_import_tensorflow(tmp_path):
    import subprocess
    import sys

    np.savez(tmp_path / "images.npz", x=np.zeros((20, 13, 13), np.uint8), y=TWO_CLASSES)
    odd = write_spec(tmp_path, dict(MLP_SPEC, data={"dataset": str(tmp_path / "images.npz")},
                                    layers=ODD_POOL_LAYERS))
    code = ("import sys; from qpsnn.cli import main; "
            f"assert main(['validate', '--spec', {odd!r}]) == 2; "
            "assert main(['validate', '--spec', 'examples/mnist_conv_pruned.yaml']) == 0; "
            "assert 'tensorflow' not in sys.modules, 'validate imported tensorflow'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   cwd=os.path.join(os.path.dirname(__file__), ".."))


@pytest.mark.parametrize("case,words", [
    ("no report", ["spec.json does not exist", "qpsnn flow"]),
    ("table missing", ["--table", "does not exist"]),
    ("table not json", ["--table", "not readable JSON"]),
    ("table not a table", ["--table", "not a compression table", "name, config, rows"]),
])
def test_report_bad_input_exit_2_nothing_rewritten(tmp_path, capsys, case, words):
    flow = tmp_path / "flow"
    flow.mkdir()
    if case != "no report":
        (flow / "spec.json").write_text(json.dumps(parse_spec(MLP_SPEC).to_dict()))
        (flow / "report.html").write_text("earlier")
    table = tmp_path / "table.json"
    if case == "table not json":
        table.write_text("{rows")
    elif case == "table not a table":
        table.write_text('{"rows": 3}')
    args = ["report", "--out", str(flow)] + ([] if case == "no report" else ["--table", str(table)])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and all(w in err for w in words), err
    assert case == "no report" or (flow / "report.html").read_text() == "earlier"
    assert not (flow / "report.md").exists()


def test_missing_tool_named_up_front_exit_2(tmp_path, capsys, monkeypatch):
    """No C++ compiler and no Verilator: the flow stops before training, naming both tools,
    their install commands and the flags that skip their steps; no output directory."""
    from qpsnn import tools
    monkeypatch.setitem(tools.FOUND, "g++", lambda: False)
    monkeypatch.setitem(tools.FOUND, "verilator", lambda: False)
    out = tmp_path / "out"
    assert main(["flow", "--spec", write_spec(tmp_path, MLP_SPEC), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for words in ("g++ not found", "--no-hls", "apt-get install g++", "verilator not found", "--no-rtl", "make setup"):
        assert words in err, err
    assert not out.exists()


def test_bad_clock_flag_exit_2_no_output(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["flow", "--spec", write_spec(tmp_path, MLP_SPEC), "--out", str(out), "--clock", "2000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qpsnn: error: --clock") and "1..1000" in err and "2000" in err, err
    assert not out.exists()


BOARD_BAD = [   # (case, arguments after the spec and DIR, words of the one message)
    ("send without a port", ["send"], ["board send: --port is required", "/dev/ttyUSB0"]),
    ("port that does not exist", ["send", "--port", "/nonexistent/ttyUSB9"],
     ["--port: /nonexistent/ttyUSB9", "No such file", "/dev/ttyUSB0"]),
    ("port that is a file", ["send", "--port", "SPEC"], ["is not a serial port", "/dev/ttyUSB0"]),
    ("no images", ["send", "--port", "PTY", "--images", "0"], ["--images", "positive", "got 0"]),
    ("send before the board step", ["send", "--port", "PTY"], ["board: not run", "qpsnn train --spec"]),
    ("a port without send", ["--port", "PTY"], ["--port goes with `qpsnn board send`"]),
    ("board before the rtl", [], ["not run", "qpsnn train --spec"]),
]


@pytest.mark.parametrize("case,args,words", BOARD_BAD, ids=[b[0] for b in BOARD_BAD])
def test_board_bad_input_exit_2_nothing_written(tmp_path, capsys, case, args, words):
    """`qpsnn board` and `qpsnn board send`: one message, exit 2, no DIR (a pseudo-terminal
    stands for a serial port that exists)."""
    spec = write_spec(tmp_path, MLP_SPEC)
    out = tmp_path / "out"
    master, slave = os.openpty()
    try:
        args = [{"SPEC": spec, "PTY": os.ttyname(slave)}.get(a, a) for a in args]
        assert main(["board", *args, "--spec", spec, "--out", str(out)]) == 2
    finally:
        os.close(master)
        os.close(slave)
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and all(w in err for w in words), err
    assert not out.exists()


def test_board_unknown_action_exit_2(tmp_path, capsys):
    assert main(["board", "flash", "--spec", write_spec(tmp_path, MLP_SPEC), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'flash'" in err and "'send'" in err, err
    assert not (tmp_path / "out").exists()
