"""The gate-level check (`qpsnn netlist`, codegen/netlist.py): the project's ECP5 cell models
against Python arithmetic; the synth_ecp5 netlist of a small conv network simulated with the
cell models equals the golden model at every time step, and takes the cycles the analytic model
predicts (before conv_window's fix every image differed: Yosys 0.23 read -YW'(PAD_T) as
+PAD_T); a netlist with one LUT changed is caught; a step without its inputs is refused."""

import json
import random
import re
import shutil

import pytest
import yaml

from helpers import MLP_SPEC, steps_dir
from qpsnn.cli import main
from qpsnn.codegen.netlist import PROJECT_MODELS, netlist_sources, sim_top
from qpsnn.sim.runner import TB_DIR, results_failures, run_cocotb

# the smallest network with every kind of cell the shipped ones synthesize to: a 3x3 conv on the
# 8x8 pixels (its window's map in LUT RAM, its 8-bit x 8-bit products on MULT18X18D), LIF
# neurons, a dense layer (its weights in DP16KD block RAM) and the readout; three epochs of
# training, so that the conv's neurons spike (untrained, none does, and the dense layer would
# see zeros wherever the windows are)
SMALL = dict(MLP_SPEC, train=dict(MLP_SPEC["train"], epochs=3),
             verify={"hls_images": 0, "rtl_images": 0, "netlist_images": 50},
             layers=[{"type": "conv", "filters": 2, "kernel": 3, "padding": "same"}, {"type": "lif"},
                     {"type": "flatten"}, {"type": "dense", "units": 10}, {"type": "readout"}])


def test_cell_models_against_python(tmp_path):
    """MULT18X18D's product for every signedness; DP16KD's INITVAL layout, read timing, byte
    enables and write modes at 36 bits (how Yosys maps a ROM), 18 and 9 bits
    (sim/tb/ecp5_cells)."""
    rng = random.Random(5)
    init = {name: rng.getrandbits(320) for name in ("INIT0", "INIT1", "INIT63")}
    cfg = tmp_path / "tb_config.json"
    cfg.write_text(json.dumps({"seed": 1, "init": init}))
    sources = [str(PROJECT_MODELS / "MULT18X18D.v"), str(PROJECT_MODELS / "DP16KD.v"),
               str(TB_DIR / "ecp5_cells" / "ecp5_cells_tb.v")]
    xml = run_cocotb(sources, "ecp5_cells_tb", "ecp5_cells", build_dir=str(tmp_path / "build"),
                     test_dir=str(tmp_path), parameters={k: f"320'h{v:080x}" for k, v in init.items()},
                     extra_env={"QPSNN_TB_CONFIG": str(cfg)})
    assert results_failures(xml) == 0, (tmp_path / "build" / "sim.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    """DIR with the small network's steps run one by one, the netlist step last."""
    return steps_dir(tmp_path_factory, SMALL, "netlist")


@pytest.mark.slow(seconds=70)
def test_netlist_equals_the_golden_model(small_dir):
    _, _, out = small_dir
    report = json.loads((out / "report.json").read_text())
    check = report["bit_exact"]["netlist"]
    assert check["images"] == 50 and check["mismatches"] == 0 and check["first_mismatch"] is None, check
    assert check["images_cycles_differ_from_analytic"] == 0, check
    assert report["firing_rate"]["lif0"] > 0.05, report["firing_rate"]     # the conv's values reach the readout
    # every cell simulated has a model: Yosys' own, or the project's multiplier and block RAM
    cells = check["cells"]
    assert cells["MULT18X18D"] == 2 and cells["DP16KD"] > 0 and cells["TRELLIS_DPR16X4"] > 0 and cells["LUT4"] > 0
    assert check["cells_total"] == sum(cells.values())
    assert check["cell_models"]["project"] == ["DP16KD", "MULT18X18D"] and "TRELLIS_FF" in check["cell_models"]["yosys"]
    assert "synth_ecp5" in check["command"] and report["steps"]["netlist"]["status"] == "current"
    assert "| netlist | 50 | 0 |" in (out / "report.md").read_text()


def invert_an_accumulator_lut(netlist: str, engine: str) -> tuple[str, str]:
    """The netlist with one LUT4 inverted (INIT ^ 0xFFFF): one that drives a bit of an
    accumulator's head into `engine`'s adder (the head, or zero for a position's first
    element), so that bit of every sum of that lane is wrong. Returns (text, the LUT's name)."""
    cells = re.finditer(r"(?ms)^  (\w+) #\((.*?)\n  \) (\S+)\s*\((.*?)\n  \);", netlist)
    head = re.compile(rf"\\{re.escape(engine)}\.g_acc_step\[\d+\]\.g_lane\[\d+\]\.head ")
    lut = next(cell for cell in cells if cell.group(1) == "LUT4"
               and head.match(dict(re.findall(r"\.(\w+)\((.*?)\),?$", cell.group(4), re.M)).get("Z", "")))
    init = re.search(r"\.INIT\(16'h([0-9a-f]{4})\)", lut.group(2))
    flipped = lut.group(0).replace(init.group(0), f".INIT(16'h{int(init.group(1), 16) ^ 0xFFFF:04x})")
    return netlist[:lut.start()] + flipped + netlist[lut.end():], lut.group(3)


@pytest.mark.slow(seconds=45)
def test_a_changed_netlist_is_caught(small_dir):
    """The same check on the netlist with one LUT inverted: the simulation differs from the
    golden model, and the report names the first wrong readout value."""
    from qpsnn.codegen.rtl import design
    from qpsnn.model.data import load_dataset
    from qpsnn.model.deploy import Deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import simulate_network
    tmp, _, out = small_dir
    broken = tmp / "broken"
    shutil.copytree(out / "netlist", broken, ignore=shutil.ignore_patterns("sim"))
    # an accumulator of the last layer, whose currents the readout passes on
    text, lut = invert_an_accumulator_lut((broken / "netlist.v").read_text(), "u_dense0_engine")
    (broken / "netlist.v").write_text(text)
    deploy = Deploy.load(str(out / "deploy"))
    rtl = design(deploy, mode="event")    # the spec's knobs are the defaults
    images = load_dataset("digits", SMALL["data"]["test_fraction"], SMALL["data"]["seed"]).x_test[:10]
    golden = run_golden(deploy, images)
    result = simulate_network(netlist_sources(str(broken)), sim_top(rtl.top), str(broken), str(broken / "sim"),
                              images, golden.logits, rtl.lane, gate_level=True)
    assert result.mismatches > 0, f"inverting {lut} changed no readout value"
    assert result.first_mismatch.startswith("image ") and "readout channel" in result.first_mismatch


def test_a_netlist_without_its_inputs_is_refused(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SMALL))
    assert main(["netlist", "--spec", str(spec), "--out", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and "not run" in err and f"qpsnn train --spec {spec}" in err, err
    assert not (tmp_path / "empty" / "netlist").exists()


def test_netlist_without_the_rtl_is_refused(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SMALL))
    assert main(["flow", "--spec", str(spec), "--out", str(tmp_path / "out"), "--no-rtl", "--netlist"]) == 2
    err = capsys.readouterr().err
    assert err.count("qpsnn: error:") == 1 and "--netlist" in err and "--no-rtl" in err, err
    assert not (tmp_path / "out").exists()
