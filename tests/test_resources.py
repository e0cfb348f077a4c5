"""The analytic resource model: block RAM shapes by hand, its speed, and its agreement with a
real Yosys synth_xilinx of the generated RTL on three differently shaped networks (LUT and FF
within 20%, BRAM18 and DSP48E1 exact)."""

import time

import pytest

from helpers import CONV_SPEC, MLP_SPEC, assert_analytic_matches, trained
from qpsnn.codegen.resources import bram18, design_resources
from qpsnn.codegen.rtl import design, write
from qpsnn.codegen.synth import YOSYS_INSTALL, find_yosys, synthesize


@pytest.mark.parametrize("depth,width,expected", [
    (392, 80, 3),      # three 512 x 36 RAMB18s side by side
    (512, 36, 1),
    (1024, 36, 2),     # one RAMB36 (1024 x 36) = two BRAM18
    (2048, 9, 1),
    (100, 72, 2),      # one RAMB36 in 512 x 72 = two BRAM18
    (600, 18, 1),      # 1024 x 18
])
def test_bram18_shapes(depth, width, expected):
    assert bram18(depth, width) == expected


# (the conv network in event mode at its default knobs, pruned: tests/test_flow.py, on the
# synthesis its flow runs)
NETWORKS = {
    # MLP, dense mode, simd 4 on the second dense layer, pe 4
    "mlp": (MLP_SPEC, {"pe": {"dense1": 4}, "simd": {"dense1": 4}, "mode": "dense"}),
    # the conv network with the spike-count readout, simd 2 on conv1, LIF lanes below the engines' PE
    "conv_spikes": (dict(CONV_SPEC, layers=CONV_SPEC["layers"][:-1] + [{"type": "lif", "threshold": 0.5},
                                                                       {"type": "readout", "mode": "spikes"}]),
                    {"simd": {"conv1": 2}, "lanes": {"lif0": 3, "lif1": 2, "lif2": 1}, "mode": "event"}),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_analytic_resources_match_yosys(tmp_path, name):
    assert find_yosys(), f"yosys is needed for this test; install it with: {YOSYS_INSTALL}"
    raw, knobs = NETWORKS[name]
    _, _, _, deploy = trained(raw, train={"epochs": 0, "seed": 1})     # the structure is what counts
    rtl = design(deploy, **knobs)
    start = time.perf_counter()
    analytic = design_resources(rtl.stages)["total"]
    assert time.perf_counter() - start < 0.5
    result = synthesize(str(tmp_path), write(rtl, str(tmp_path)), rtl.top)
    assert_analytic_matches(analytic, [(s.instance, s.module, s.numeric_params()) for s in rtl.stages], result)


def test_energy_per_image_by_hand():
    from qpsnn.model.metrics import energy_per_image
    e = energy_per_image(1000.0, 10)
    assert abs(e["nj_per_image"] - (1000 * 0.9 + 10 * 4.6) / 1000) < 1e-12
    assert "Horowitz" in e["source"]


def test_part_fit_overshoot_by_hand():
    from qpsnn.codegen.resources import part_fit
    fit = part_fit({"LUT": 25000, "FF": 1000, "BRAM18": 100, "DSP": 0}, "xc7a35t")
    assert fit["overshoot"] == {"LUT": 25000 - 20800}          # BRAM18 100 of 100 still fits
    assert fit["utilization_pct"]["BRAM18"] == 100.0
    assert part_fit({"LUT": 1, "FF": 1, "BRAM18": 0, "DSP": 0}, "xc7z020")["overshoot"] == {}
