"""End to end: `qpsnn flow` on a small spec writes the output contract, bit-exact everywhere;
the generated RTL stays bit-exact under stalls and with images back to back."""

import json
import os

import numpy as np
import pytest
import yaml

from helpers import CONV_SPEC, assert_analytic_matches
from qpsnn.cli import main

pytestmark = pytest.mark.slow(seconds=200)   # the module fixture: a whole flow per spec

REPORT_KEYS = ["accuracy.float_model", "accuracy.golden", "bit_exact.hls_csim.images",
               "bit_exact.hls_csim.mismatches", "bit_exact.rtl.images", "bit_exact.rtl.mismatches",
               "latency.cycles_per_image_measured", "model.bits", "model.params", "model.connections_pct",
               "model.size_bytes", "timing_s.train"]


# the conv network goes through the whole flow pruned: a pruned network is a narrower one
PRUNED_CONV_SPEC = dict(CONV_SPEC, prune={"method": "svs", "ratios": {"conv0": 0.5, "conv1": 0.5},
                                          "batches": 2, "batch_size": 64, "finetune_epochs": 2},
                        rtl={"part": "xc7a35t"})


# (an MLP, unpruned and without synthesis, goes through the flow in tests/test_steps.py)
@pytest.fixture(scope="module")
def flow_out(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    spec = tmp / "spec.yaml"
    spec.write_text(yaml.safe_dump(PRUNED_CONV_SPEC))
    out = tmp / "out"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    assert main(["flow", "--spec", str(spec), "--out", str(out)]) == 0
    return out


def test_output_contract(flow_out):
    for sub in ("deploy/deploy.json", "deploy/deploy.npz", "hls", "rtl", "report.json", "report.md"):
        assert (flow_out / sub).exists(), sub
    assert not (flow_out / "stale.txt").exists()  # the directory was replaced as a whole
    report = json.loads((flow_out / "report.json").read_text())
    for key in REPORT_KEYS:
        node = report
        for part in key.split("."):
            node = node[part]
    assert report["bit_exact"]["hls_csim"] == {"images": 20, "mismatches": 0}
    assert report["bit_exact"]["rtl"]["mismatches"] == 0 and report["bit_exact"]["rtl"]["images"] == 20
    assert report["accuracy"]["float_golden_agreement"] >= 0.99
    assert report["latency"]["cycles_per_image_measured"] > 0
    # the cycle model replays every handshake: each image's cycles exactly
    assert report["latency"]["images_cycles_differ"] == 0, report["latency"]
    assert report["latency"]["bottleneck"] in report["latency"]["cycles_per_layer_analytic"]
    assert report["sops"]["sops_per_image"] > 0
    # resources: the analytic model per layer and in total next to a Yosys synthesis of the RTL
    res = report["resources"]
    deployed = json.loads((flow_out / "deploy" / "deploy.json").read_text())["layers"]
    assert {layer["name"] for layer in deployed if layer["type"] in ("conv", "dense", "lif")} <= set(res["per_layer"])
    assert res["analytic"]["total"]["LUT"] > 0
    assert res["synthesis"]["top"]["LUT"] > 0 and all("yosys" in row for row in res["per_layer"].values())
    # the resource model against the synthesis (the conv network in event mode at its default knobs)
    from qpsnn.codegen.rtl import spec_design
    from qpsnn.model.deploy import Deploy
    from qpsnn.spec import parse_spec
    rtl = spec_design(Deploy.load(str(flow_out / "deploy")), parse_spec(report["spec"], "report.json"))
    assert_analytic_matches(res["analytic"]["total"], [(s.instance, s.module, s.numeric_params()) for s in rtl.stages],
                            {"top": res["synthesis"]["top"], "instances": res["synthesis"]["stages"]})
    fit = res["part"]
    assert fit["counted"] == "yosys" and fit["utilization_pct"]["LUT"] == round(
        100 * res["synthesis"]["top"]["LUT"] / fit["capacity"]["LUT"], 1)
    text = (flow_out / "report.md").read_text()
    assert "| **total** |" in text and "Bit-exact" in text
    assert report["pruning"]["channels"] == {"conv0": [4, 2], "conv1": [6, 3]}
    deploy = json.loads((flow_out / "deploy" / "deploy.json").read_text())
    widths = [layer["out_shape"][-1] for layer in deploy["layers"] if layer["type"] == "conv"]
    assert widths == [2, 3]
    # conv0 and conv1 keep 1/2 of their outputs, conv1 and dense0 1/2 of their inputs
    assert report["model"]["connections_pct"] < 50


def test_rtl_is_lint_clean_and_memories_match_deploy(flow_out):
    from qpsnn.codegen.rtl import design
    from qpsnn.model.deploy import Deploy
    from qpsnn.sim.runner import lint

    deploy = Deploy.load(str(flow_out / "deploy"))
    rtl = design(deploy)
    for name, text in rtl.files.items():
        assert (flow_out / "rtl" / name).read_text() == text  # regenerating gives the same files
    lint(rtl.sources(str(flow_out / "rtl")), rtl.top, cwd=str(flow_out / "rtl"))


# (back to back without stalls: the flow's own sim step, on its first 20 hold-out images)
@pytest.mark.parametrize("mode,idle,backpressure", [("latency", 0.4, 0.6), ("stream", 0.3, 0.3)])
def test_rtl_under_stalls_and_back_to_back(flow_out, tmp_path, mode, idle, backpressure):
    from qpsnn.codegen.rtl import design
    from qpsnn.model.data import load_dataset
    from qpsnn.model.deploy import Deploy
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import simulate_network

    deploy = Deploy.load(str(flow_out / "deploy"))
    rtl = design(deploy)
    data = load_dataset("digits", 0.25, 0)
    images = data.x_test[20:36]
    golden = run_golden(deploy, images)
    result = simulate_network(rtl.sources(str(flow_out / "rtl")), rtl.top, str(flow_out / "rtl"), str(tmp_path), images, golden.logits,
                              rtl.lane, mode=mode, idle=idle, backpressure=backpressure)
    assert result.mismatches == 0, result.first_mismatch
    assert np.array_equal(result.classes, golden.prediction)  # the RTL's own argmax


def test_html_report_in_a_headless_browser(flow_out, tmp_path):
    """report.html, rewritten by `qpsnn report` with the shipped compression table, rendered by
    headless Chromium: the four plots are in the page as drawings (SVG with shapes), and the
    screenshot shows the analytic (blue) and Yosys or bottleneck (orange) bars in quantity."""
    import shutil
    import subprocess

    from PIL import Image

    from qpsnn.report import BLUE, ORANGE

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is needed for this test; install it with: sudo apt-get install chromium"
    table = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "results", "compression_mnist_conv.json")
    assert main(["report", "--out", str(flow_out), "--table", table]) == 0
    page = (flow_out / "report.html").as_uri()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    dom = subprocess.run(flags + ["--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    for name in ("resources", "cycles", "firing", "tradeoff"):
        start = dom.index(f'id="fig-{name}"')
        figure = dom[start:dom.index("</figure>", start)]
        assert "<svg" in figure and figure.count("<path") >= 5, name
    shot = tmp_path / "report.png"
    subprocess.run(flags + ["--window-size=1200,6000", f"--screenshot={shot}", page], capture_output=True,
                   timeout=120, check=True)
    pixels = Image.open(shot).convert("RGB").getdata()
    for color in (BLUE, ORANGE):
        rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
        assert sum(1 for p in pixels if p == rgb) > 2000, color
