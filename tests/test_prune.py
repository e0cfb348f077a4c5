"""Channel pruning: the scores against hand-computed cases and numpy's own rank, physical
removal against an independent masking argument, and the end-to-end pruned flow."""

import copy

import numpy as np
import pytest

from helpers import CONV_SPEC, make_spec
from qpsnn.errors import InputError
from qpsnn.model.prune import SCORERS, ScoreContext, choose, prune_spec_and_weights


class FixedTraces(ScoreContext):
    """The real scorers, fed hand-made LIF traces instead of a model's."""

    def __init__(self, spec, traces):
        super().__init__(None, spec, None, list(traces))
        self.traces = traces

    def batches(self):
        yield self.traces


def svs_spec(eps=1e-6):
    return make_spec(CONV_SPEC, prune={"method": "svs", "ratios": {"conv0": 0.5}, "eps": eps})


def test_svs_is_the_numerical_rank_of_the_time_averaged_map():
    T, H, W = 2, 4, 4
    spikes = np.zeros((2, T, H, W, 4))           # 2 samples, 4 channels
    # channel 0 never fires: rank 0
    spikes[:, :, 1, 2, 1] = 1                    # channel 1: one pixel, every step: rank 1
    for i in range(H):                           # channel 2: the diagonal at t=0 only: rank 4
        spikes[:, 0, i, i, 2] = 1
    spikes[0, :, :, 0, 3] = 1                    # channel 3: sample 0 a full column (rank 1),
    spikes[1, 0, 0, 0, 3] = spikes[1, 1, 1, 1, 3] = 1   # sample 1 two pixels at different steps (rank 2)
    ctx = FixedTraces(svs_spec(), {"conv0": (spikes, None)})
    score = SCORERS["svs"](ctx)["conv0"]
    np.testing.assert_allclose(score, [0, 1, 4, 1.5])
    # independent reference: numpy's matrix_rank with the same absolute tolerance
    avg = spikes.mean(axis=1)
    ref = [np.mean([np.linalg.matrix_rank(avg[n, :, :, c], tol=1e-6) for n in range(2)]) for c in range(4)]
    np.testing.assert_allclose(score, ref)


def test_svs_eps_decides_what_counts():
    rng = np.random.default_rng(0)
    spikes = (rng.random((3, 4, 6, 6, 5)) < 0.3).astype(np.float64)
    low = SCORERS["svs"](FixedTraces(svs_spec(1e-6), {"conv0": (spikes, None)}))["conv0"]
    high = SCORERS["svs"](FixedTraces(svs_spec(0.5), {"conv0": (spikes, None)}))["conv0"]
    assert np.all(high <= low) and np.any(high < low)


def test_sca_is_the_mean_absolute_pre_reset_membrane():
    pre = np.zeros((2, 3, 2, 2, 2))
    pre[0, :, :, :, 0] = -2.0                    # |U| = 2 everywhere in sample 0
    pre[1, 0, 0, 0, 1] = 8.0                     # one value of 8 among 3*2*2 in sample 1
    score = SCORERS["sca"](FixedTraces(svs_spec(), {"conv0": (None, pre)}))["conv0"]
    np.testing.assert_allclose(score, [(2.0 + 0.0) / 2, (0.0 + 8.0 / 12) / 2])


def test_choose_keeps_the_highest_and_breaks_ties_by_index():
    assert choose(np.array([0.1, 3.0, 3.0, 2.0, 3.0]), 2).tolist() == [1, 2]
    assert choose(np.array([5.0, 1.0, 4.0]), 3).tolist() == [0, 1, 2]


def test_physical_removal_equals_silencing_the_channels():
    """Removing channels from the network must compute what the full network computes when
    those channels never fire (a bias far below threshold after the batch norm, which goes with
    its channels): checked on the float models, as
    the quantized ones re-derive gamma from the remaining weights by design."""
    from qpsnn.model.builder import build_model

    spec = make_spec(CONV_SPEC)
    shape = (8, 8, 1)
    full = build_model(spec, shape, quantized=False)
    rng = np.random.default_rng(3)
    for layer in full.layers:
        weights = [rng.normal(0, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()]
        if layer.name.endswith("_bn"):   # batch norm: scales of either sign, a positive variance
            weights[3] = rng.uniform(0.5, 2.0, weights[3].shape).astype(np.float32)
        if weights:
            layer.set_weights(weights)
    keep = {"conv0": np.array([0, 2, 3]), "conv1": np.array([1, 4])}
    pruned_spec, weights = prune_spec_and_weights(spec, full, shape, keep)
    assert [layer.get("filters") for layer in pruned_spec.layers if layer["type"] == "conv"] == [3, 2]
    assert weights["dense0"][0].shape == (4 * 4 * 2, 10)
    pruned = build_model(pruned_spec, shape, quantized=False)
    for name, w in weights.items():
        pruned.get_layer(name).set_weights(w)
    for name, kept in keep.items():
        kernel, bias = full.get_layer(name).get_weights()
        silenced = np.setdiff1d(np.arange(bias.size), kept)
        norm = full.get_layer(f"{name}_bn").get_weights()[0]    # the sign of the batch norm's scale
        bias[silenced] = -1e6 * np.sign(norm[silenced])
        full.get_layer(name).set_weights([kernel, bias])
    images = rng.random((16, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(pruned(images).numpy(), full(images).numpy(), rtol=1e-5, atol=1e-4)
    assert spec.layers[0]["filters"] == 4  # the spec given is left as it was


def test_scores_are_deterministic_and_pruning_trains():
    from qpsnn.model.data import load_dataset
    from qpsnn.model.prune import score_channels, train_compressed

    raw = copy.deepcopy(CONV_SPEC)
    raw["train"]["epochs"] = 2
    raw["prune"] = {"method": "svs", "ratios": {"conv0": 0.5, "conv1": 0.34}, "batches": 2, "batch_size": 32,
                    "finetune_epochs": 1}
    spec = make_spec(raw)
    data = load_dataset("digits", 0.25, 0)
    pruned_spec, model, info = train_compressed(spec, data, verbose=0)
    assert info["channels"] == {"conv0": [4, 2], "conv1": [6, 4]}
    assert [layer["filters"] for layer in pruned_spec.layers if layer["type"] == "conv"] == [2, 4]
    assert model.get_layer("conv1").get_weights()[0].shape == (3, 3, 2, 4)
    assert info["samples"] == 64 and info["scoring_s"] > 0 and info["svd_s"] > 0
    first, _ = score_channels(model, pruned_spec, data)
    again, _ = score_channels(model, pruned_spec, data)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])


BAD_PRUNE = [
    ({"ratios": {"conv0": 1.0}}, ["prune.ratios.conv0", "[0, 1)"]),
    ({"ratios": {"conv0": -0.1}}, ["prune.ratios.conv0", "[0, 1)"]),
    ({"ratios": {"conv0": 0.9}}, ["would leave no channel", "4"]),
    ({"ratios": {"convX": 0.5}}, ["'convX' is not a prunable layer", "['conv0', 'conv1']", "no layer has that name"]),
    ({"ratios": {"dense0": 0.5}}, ["'dense0' is not a prunable layer"]),
    ({"method": "taylor"}, ["prune.method", "svs"]),
    ({"order": "both"}, ["prune.order", "prune_first"]),
    ({"eps": 2}, ["prune.eps", "[0, 1)"]),
]


@pytest.mark.parametrize("prune,words", BAD_PRUNE, ids=[str(b[0]) for b in BAD_PRUNE])
def test_bad_pruning_settings(prune, words):
    with pytest.raises(InputError) as exc:
        make_spec(CONV_SPEC, prune=prune)
    for word in words:
        assert word in str(exc.value), str(exc.value)


def test_pe_must_divide_the_kept_channels():
    raw = copy.deepcopy(CONV_SPEC)
    raw["layers"][3]["pe"] = 3
    make_spec(raw, prune={"ratios": {"conv1": 0.5}})             # 3 of 6 kept: pe 3 fits
    with pytest.raises(InputError, match="4 channels are kept, which its pe 3 does not divide"):
        make_spec(raw, prune={"ratios": {"conv1": 0.34}})
