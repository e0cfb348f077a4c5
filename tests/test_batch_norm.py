"""Batch norm folded into the integer neuron (METHOD.md section 7): the deploy form's spikes are
the float model's, with negative and near-zero batch-norm scales."""

import numpy as np
import pytest
from tensorflow import keras

from helpers import CONV_SPEC, trained
from qpsnn.model.golden import run_golden


def float_spikes(model, layer: str, images: np.ndarray, time_steps: int) -> np.ndarray:
    """The float model's spikes of a LIF layer, (N, T, ...) like the golden trace."""
    probe = keras.Model(model.input, model.get_layer(layer).output)
    out = probe.predict(images.astype(np.float32) / 255.0, verbose=0)
    return out.reshape((len(images), time_steps) + out.shape[1:]).astype(np.int64)


def set_batch_norm(model, name: str, scale, shift, mean, var) -> None:
    model.get_layer(f"{name}_bn").set_weights([np.asarray(v, np.float32) for v in (scale, shift, mean, var)])


@pytest.fixture(scope="module")
def untrained():
    """The test conv network, weights as initialised (the fold does not care how they came).
    12 fractional bits: the rounding of the integer bias (half of 2^-F of a unit, the one
    approximation of the deploy form, spec quant.frac_bits) then flips no spike on these images,
    so any difference is the fold's."""
    return trained(CONV_SPEC, train={"epochs": 0, "seed": 4},
                   quant=dict(CONV_SPEC["quant"], frac_bits=12))


def test_hand_made_batch_norm_folds_to_the_same_spikes(untrained):
    spec, data, model, _ = untrained
    from qpsnn.model.deploy import export_deploy
    from qpsnn.model.rescaw import codes_numpy, gamma_numpy

    # conv0 (analog input, 4 channels): a normal, a negative, a near-zero and a large scale;
    # the near-zero channel is driven by its shift alone (fires at every step: 0.9 + 0.5 * 0.9 >= 1
    # at t = 1, reset, ... its pattern is the float model's too)
    probe = keras.Model(model.input, model.get_layer("conv0").output)
    z = probe.predict(data.x_test.astype(np.float32) / 255.0, verbose=0)
    mean, std = z.mean(axis=(0, 1, 2)), z.std(axis=(0, 1, 2))
    set_batch_norm(model, "conv0", scale=[1.5, -2.0, 1e-9, 3.0], shift=[0.6, 0.8, 1.3, 0.2],
                   mean=mean, var=std ** 2)
    # conv1 (spike input, 6 channels): three negative scales, one tiny
    set_batch_norm(model, "conv1", scale=[0.8, -1.2, 2.0, -0.5, 1e-8, -3.0],
                   shift=[0.5, 0.9, 0.1, 0.7, 0.3, 1.1], mean=np.zeros(6), var=np.full(6, 0.5))
    deploy = export_deploy(spec, model, data.input_shape)

    # negative scales complement the codes: W_int -> s - W_int
    for name, negative in (("conv0", [1]), ("conv1", [1, 3, 5])):
        layer = next(entry for entry in deploy.layers if entry["name"] == name)
        kernel = model.get_layer(name).get_weights()[0]
        codes = codes_numpy(kernel, layer["bits"], gamma_numpy(kernel, spec.quant["gamma"]))
        folded = deploy.array(layer["weights"])
        s = layer["offset_s"]
        for c in range(kernel.shape[-1]):
            expected = s - codes[..., c] if c in negative else codes[..., c]
            np.testing.assert_array_equal(folded[..., c], expected, err_msg=f"{name} channel {c}")

    images = data.x_test[:200]
    golden = run_golden(deploy, images)
    for lif in ("lif0", "lif1"):
        reference = float_spikes(model, lif, images, spec.time_steps)
        mismatch = (reference != golden.spikes[lif])
        assert not mismatch.any(), (f"{lif}: {mismatch.sum()} of {mismatch.size} spikes differ, channels "
                                    f"{np.unique(np.nonzero(mismatch)[-1]).tolist()}")
    # the near-zero channel fires as its shift says, and its gain floor (2^-12 of the median)
    # bounds the layer's membrane width: at most 13 bits more than with an ordinary scale there
    assert golden.spikes["lif0"][..., 2].min() == 1
    set_batch_norm(model, "conv0", scale=[1.5, -2.0, 1.0, 3.0], shift=[0.6, 0.8, 1.3, 0.2],
                   mean=mean, var=std ** 2)
    ordinary = export_deploy(spec, model, data.input_shape)
    widths = [{entry["name"]: entry.get("membrane_bits") for entry in d.layers} for d in (deploy, ordinary)]
    assert widths[0]["lif0"] <= widths[1]["lif0"] + 13, widths


def test_folded_gain_floor():
    from qpsnn.model.deploy import GAIN_FLOOR, folded_channels

    # hand-computed: a = g / sqrt(v + eps), k = a * scale, b = a * (bias - m) + beta
    sign, gain, bias = folded_channels(np.array([0.5, 0.5, 0.5]), np.array([1.0, 0.0, 2.0]),
                                       (np.array([2.0, -1.0, 0.0]), np.array([0.25, 0.0, 1.0]),
                                        np.array([0.0, 1.0, 2.0]), np.array([3.0, 0.0, 1.0]), 1.0))
    assert sign.tolist() == [1, -1, 1]
    np.testing.assert_allclose(gain, [0.5, 0.5, GAIN_FLOOR * 0.5])
    np.testing.assert_allclose(bias, [1.25, 1.0, 1.0])
