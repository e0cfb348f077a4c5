"""A target clock: the generator picks each LIF layer's register stages from the measured
stage paths (codegen.rtl.LIF_STAGE_NS); a layer's own `stages` wins."""

from helpers import CONV_SPEC, trained
from qpsnn.codegen.rtl import design, lif_stage_ns


def test_clock_picks_the_fewest_lif_stages_that_meet_it():
    _, _, _, deploy = trained(CONV_SPEC, train={"epochs": 0, "seed": 1})    # the structure is what counts
    steps = deploy.time_steps
    assert steps >= 3
    lif = [layer["name"] for layer in deploy.layers if layer["type"] == "lif"]
    # slow enough for every update in one stage; too fast for even one per stage: T stages
    assert set(design(deploy, clock_mhz=1.0).layer_stages.values()) == {1}
    assert set(design(deploy, clock_mhz=1000.0).layer_stages.values()) == {steps}
    picked = []
    for mhz in (20, 40, 60, 80, 100, 120, 140):
        stages = design(deploy, clock_mhz=mhz).layer_stages[lif[0]]
        chained = -(-steps // stages)              # updates in the longest stage
        if stages < steps:                         # met, and one stage fewer would not be
            assert lif_stage_ns(chained) <= 1000 / mhz
            if stages > 1:
                assert lif_stage_ns(-(-steps // (stages - 1))) > 1000 / mhz
        picked.append(stages)
    assert picked == sorted(picked) and picked[0] < picked[-1]     # a faster clock, more stages
    # the spec's (or caller's) stages for a layer are kept whatever the clock
    assert design(deploy, clock_mhz=1000.0, stages={lif[0]: 1}).layer_stages[lif[0]] == 1
