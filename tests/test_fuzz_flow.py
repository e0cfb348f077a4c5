"""Generated valid specs through the whole path (hypothesis draws the random network's seed:
shapes, layer mixes, bits, T, resets, parallelism, mode; sim/random_network.py builds it): the
hls4ml C-sim and the RTL agree with the golden model on every value of every step. Derandomized
so CI is reproducible; `make test-random` covers more networks."""

import tempfile

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from qpsnn.flow import run_flow
from qpsnn.sim.random_network import random_network
from qpsnn.spec import parse_spec


@pytest.mark.slow(seconds=110)
# no shrinking: a failing seed is reported as it is (each example is a whole flow)
@settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.generate])
@given(st.integers(min_value=100, max_value=10**6))
def test_generated_spec_whole_path_bit_exact(seed):
    with tempfile.TemporaryDirectory() as tmp:
        raw = random_network(seed, f"{tmp}/data")
        raw["verify"]["hls_images"] = 6          # random_network leaves the C-sim out; here it is in
        report = run_flow(parse_spec(raw, f"<random network {seed}>"), f"{tmp}/out", synth=False)
    assert report["bit_exact"]["hls_csim"]["mismatches"] == 0, seed
    assert report["bit_exact"]["rtl"]["mismatches"] == 0, seed
    assert report["structure"]["problems"] == [], seed
