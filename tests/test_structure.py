"""The RTL structure read back with pyverilog matches the deploy form: on a conv network and an
MLP with non-default parallelism no problem is found and the weight ROMs hold exactly the
layers' codes; a top or a memory file changed by hand is caught, naming the instance."""

import pytest

from helpers import CONV_SPEC, MLP_SPEC, trained
from qpsnn.codegen.rtl import design, write
from qpsnn.codegen.structure import check_structure

DESIGNS = {"conv": (CONV_SPEC, {"pe": {"conv0": 2}, "simd": {"conv1": 2}}),
           "mlp": (MLP_SPEC, {"pe": {"dense1": 4}, "simd": {"dense1": 4}, "mode": "dense"})}


def generated(tmp_path, name):
    raw, knobs = DESIGNS[name]
    _, _, _, deploy = trained(raw, train={"epochs": 0, "seed": 1})
    rtl = design(deploy, **knobs)
    write(rtl, str(tmp_path))
    return deploy, rtl


@pytest.mark.parametrize("name", list(DESIGNS))
def test_structure_matches_deploy_form(tmp_path, name):
    deploy, rtl = generated(tmp_path, name)
    result = check_structure(str(tmp_path), rtl.top, deploy, rtl.layer_pe, rtl.layer_simd)
    assert result["problems"] == []
    weight_layers = [layer for layer in deploy.layers if layer["type"] in ("conv", "dense")]
    # every weight layer's ROM: its codes x its bits, whatever the packing
    for layer in weight_layers:
        mem = result["memories"][f"{layer['name']}_weights.mem"]
        packed = mem["words"] * mem["bits"]
        codes = deploy.array(layer["weights"]).size
        assert codes * layer["bits"] <= packed < codes * layer["bits"] + 4 * mem["words"]
    lif_count = sum(layer["type"] == "lif" for layer in deploy.layers)
    assert result["instances"] == 2 * len(weight_layers) + lif_count + \
        sum(layer["type"] == "maxpool" for layer in deploy.layers) + 1
    assert {"accumulate_engine", "lif_layer", "readout", rtl.top} <= set(result["modules"])


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("tamper,expected", [
    ("n_out", "u_conv1_engine: N_OUT = 7, expected 6"),
    ("rename", "instances in stream order"),
    ("rom", "conv0_weights.mem: "),
    ("wiring", "u_lif1: reads st1_data"),
])
def test_structure_catches_a_changed_design(tmp_path, tamper, expected):
    deploy, rtl = generated(tmp_path, "conv")
    top = tmp_path / f"{rtl.top}.v"
    if tamper == "n_out":
        text = top.read_text()
        start = text.index("u_conv1_engine")
        block = text.rfind("accumulate_engine #(", 0, start)
        top.write_text(text[:block] + text[block:start].replace(".N_OUT(6)", ".N_OUT(7)") + text[start:])
    elif tamper == "rename":
        _edit(top, "u_lif0 (", "u_lif_zero (")
    elif tamper == "rom":
        mem = tmp_path / "conv0_weights.mem"
        mem.write_text("".join(mem.read_text().splitlines(keepends=True)[:-1]))
    else:
        text = top.read_text()
        start = text.index("u_lif1 (")
        end = text.index(");", start)
        top.write_text(text[:start] + text[start:end].replace(".s_axis_tdata(st", ".s_axis_tdata(st1_data), //", 1)
                       + text[end:])
    problems = check_structure(str(tmp_path), rtl.top, deploy, rtl.layer_pe, rtl.layer_simd)["problems"]
    assert any(expected in p for p in problems), problems
