"""Property-style: seeded random networks (random shapes and layer mixes, bit widths 2..8,
T 1..8, thresholds, resets, parallelism, event or dense mode) through the whole flow on
random images: the RTL is lint-clean and bit-exact with the golden model on every step of
every image, and the analytic cycle model predicts the simulated cycles of every image exactly,
each image alone and the images back to back.

More seeds: QPSNN_RANDOM_SEEDS="1-40" make test-random (or any comma list / ranges)."""

import os

import numpy as np
import pytest

from qpsnn.codegen import hw_choices
from qpsnn.flow import run_flow
from qpsnn.sim.random_network import random_network
from qpsnn.spec import parse_spec

# the default seeds cover: two convs (5x5 and 1x1 valid, stride 2), explicit padding (rows only;
# columns only at stride 2), a sum pool, LIFs firing above the threshold (strict), the slow leaks
# (3/4, 7/8), T = 1, T = 8, event and dense mode, explicit and default parallelism
DEFAULT_SEEDS = "4,10,11,20,39"


def seeds() -> list[int]:
    out = []
    for part in os.environ.get("QPSNN_RANDOM_SEEDS", DEFAULT_SEEDS).split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


# built with every engine a large one (copied enables, the ROM in block RAM) and every LIF
# lane's pick of more than 4 currents in two stages (codegen/hw_choices.py), which the test
# networks are far too small for otherwise
WIDE_FORM_SEEDS = {4, 11}   # dense mode, LIFs of 12 and more choices; event mode in passes; convs of SIMD 3


@pytest.mark.slow(seconds=100)
@pytest.mark.parametrize("seed", seeds())
def test_random_network_bit_exact(tmp_path, monkeypatch, seed):
    if seed in WIDE_FORM_SEEDS:
        monkeypatch.setattr(hw_choices, "LARGE_ENGINE_PRODUCTS", 1)
        monkeypatch.setattr(hw_choices, "LIF_FLAT_PICK", 1)
    raw = random_network(seed, str(tmp_path / "data"))
    report = run_flow(parse_spec(raw, str(tmp_path / "spec.yaml")), str(tmp_path / "out"), hls=False, synth=False)
    rtl = report["bit_exact"]["rtl"]
    assert rtl["mismatches"] == 0 and rtl["images"] == raw["verify"]["rtl_images"] and rtl["lint"] == "clean"
    # the cycle model replays every handshake: each image's cycles exactly, alone and back to back
    assert report["latency"]["images_cycles_differ"] == 0, report["latency"]
    assert report["latency"]["back_to_back"]["images_cycles_differ"] == 0, report["latency"]
    # the check means something only if neurons fire: some, not all, spikes somewhere
    rates = np.array(list(report["firing_rate"].values()))
    assert len(rates) == 0 or (rates.max() > 0 and rates.min() < 1)
