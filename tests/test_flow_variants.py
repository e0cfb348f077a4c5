"""End to end on variants of the small conv spec: the spike-count readout through the whole
flow, event against dense mode (same bits, fewer cycles, the cycle model within 1%), and a
corrupted weight located at its layer, step, pixel and channel. (Apart from test_flow.py so
that the two test processes share the end-to-end work.)"""

import json

import numpy as np
import pytest
import yaml

from helpers import CONV_SPEC
from qpsnn.cli import main

pytestmark = pytest.mark.slow(seconds=100)   # each a training and Verilator runs


def test_conv_spec_spike_count_readout(tmp_path):
    """The spike-count readout (a LIF after the last dense layer, the class = the most spikes):
    trains to better than chance, and the HLS C-sim and the RTL agree with the golden model on
    every spike of every step."""
    spec = tmp_path / "conv.yaml"
    # threshold 0.5: a silent readout neuron (membrane 0) still gets a surrogate gradient
    layers = CONV_SPEC["layers"][:-1] + [{"type": "lif", "threshold": 0.5}, {"type": "readout", "mode": "spikes"}]
    raw = dict(CONV_SPEC, layers=layers,
               verify={"hls_images": 10, "rtl_images": 10})
    spec.write_text(yaml.safe_dump(raw))
    out = tmp_path / "o"
    assert main(["flow", "--spec", str(spec), "--out", str(out), "--no-synth"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["bit_exact"]["hls_csim"] == {"images": 10, "mismatches": 0}
    assert report["bit_exact"]["rtl"]["mismatches"] == 0
    assert report["accuracy"]["golden"] > 0.3          # ten classes: chance is 0.1
    assert np.isclose(report["model"]["connections_pct"], 100.0)
    assert 0 < list(report["firing_rate"].values())[-1] < 1      # the readout's LIF layer fires


def test_event_mode_same_outputs_fewer_cycles_than_dense(tmp_path):
    """The event-driven engine skips silent inputs; the dense one does the full work: same bits."""
    from helpers import trained
    from qpsnn.codegen.estimate import cycle_model
    from qpsnn.codegen.rtl import design, write
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import simulate_network

    spec, data, model, deploy = trained(CONV_SPEC, train={"epochs": 1, "seed": 1})
    images = data.x_test[:8]
    golden = run_golden(deploy, images)
    cycles = {}
    for mode in ("event", "dense"):
        rtl = design(deploy, pe={"conv0": 2}, mode=mode)
        assert rtl.layer_pe["conv0"] == 2
        sources = write(rtl, str(tmp_path / mode))
        result = simulate_network(sources, rtl.top, str(tmp_path / mode), str(tmp_path / f"{mode}_sim"), images,
                                  golden.logits, rtl.lane)
        assert result.mismatches == 0, result.first_mismatch
        cycles[mode] = result.cycles_mean
        predicted = cycle_model(deploy, rtl.layer_pe, images, golden, mode)["cycles_per_image_each"]
        assert np.abs(result.cycles / predicted - 1).max() <= 0.01, (mode, result.cycles, predicted)
    assert cycles["event"] < cycles["dense"]


def test_mismatch_report_names_layer_step_pixel_channel(tmp_path):
    """A corrupted weight of the second conv: the report points at its LIF layer, not later."""
    from helpers import trained
    from qpsnn.codegen.rtl import design, write
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import locate_mismatch, simulate_network

    spec, data, model, deploy = trained(CONV_SPEC, train={"epochs": 2, "seed": 1})
    images = data.x_test[:6]
    golden = run_golden(deploy, images)
    rtl = design(deploy)
    rtl_dir = str(tmp_path / "rtl")
    sources = write(rtl, rtl_dir)
    # flip every weight code of conv1 (W_int -> s - W_int: the weights change sign)
    mem = tmp_path / "rtl" / "conv1_weights.mem"
    lines = mem.read_text().splitlines()
    mask = (1 << (rtl.layer_pe["conv1"] * 4)) - 1
    mem.write_text("".join(format(int(line, 16) ^ mask, f"0{len(line)}x") + "\n" for line in lines))
    result = simulate_network(sources, rtl.top, rtl_dir, str(tmp_path / "sim"), images, golden.logits, rtl.lane)
    assert result.mismatches > 0
    first = int(np.argmax(np.any(result.logits != golden.logits, axis=(1, 2))))
    where = locate_mismatch(sources, rtl.top, rtl_dir, str(tmp_path / "locate"), images[first],
                            run_golden(deploy, images[first:first + 1]), rtl.lane, rtl.probes)
    assert where is not None and where.startswith("layer lif1, time step "), where
    assert "pixel (y=" in where and "channel " in where


def test_lif_lanes_same_spikes_cycle_model_exact(tmp_path):
    """LIF layers folded further than their engines' PE (1 neuron per cycle; 4 of 6, the last
    group half empty) and as far as the engines go (the default): the same spikes on every
    step, the cycles the model predicts (the engine holds a beat while the LIF walks it), the
    structure the deploy form implies."""
    from helpers import trained
    from qpsnn.codegen.estimate import design_cycles
    from qpsnn.codegen.rtl import design, write
    from qpsnn.codegen.structure import check_structure
    from qpsnn.model.golden import run_golden
    from qpsnn.sim.network import simulate_network

    spec, data, model, deploy = trained(CONV_SPEC, train={"epochs": 1, "seed": 1})
    images = data.x_test[:8]
    golden = run_golden(deploy, images)
    neurons = {layer["name"]: layer["out_shape"][-1] for layer in deploy.layers if layer["type"] == "lif"}
    cycles = {}
    for label, lanes in (("default", {}), ("folded", {"lif0": 1, "lif1": min(4, neurons["lif1"])})):
        rtl = design(deploy, lanes=lanes)
        rtl_dir = str(tmp_path / f"rtl_{label}")
        sources = write(rtl, rtl_dir)
        assert check_structure(rtl_dir, rtl.top, deploy, rtl.layer_pe, rtl.layer_simd, rtl.layer_lanes)["problems"] == []
        result = simulate_network(sources, rtl.top, rtl_dir, str(tmp_path / f"sim_{label}"), images,
                                  golden.logits, rtl.lane)
        assert result.mismatches == 0, result.first_mismatch
        predicted = design_cycles(rtl, deploy, images, golden)["cycles_per_image_each"]
        assert np.array_equal(result.cycles, predicted), (lanes, result.cycles, predicted)
        cycles[label] = result.cycles
    # fewer neurons per cycle never takes fewer cycles
    assert np.all(cycles["folded"] >= cycles["default"])
