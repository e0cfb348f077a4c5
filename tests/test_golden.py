"""The golden model against independent references: TensorFlow's own convolution, pooling,
dense and batch-norm layers on the dequantized weights, and the float model's predictions."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import CONV_SPEC, MLP_SPEC, trained
from qpsnn.model.builder import batch_norm_name, normalized_layers
from qpsnn.model.deploy import export_deploy
from qpsnn.model.golden import im2col, run_golden

CONV_VARIANTS = [
    {"kernel": 3, "stride": 1, "padding": "same"},
    {"kernel": 5, "stride": 2, "padding": "same"},
    {"kernel": 1, "stride": 1, "padding": "valid"},
    {"kernel": 3, "stride": 1, "padding": "valid"},
]


@pytest.mark.parametrize("variant", CONV_VARIANTS)
def test_currents_match_tensorflow(variant):
    layers = [dict(CONV_SPEC["layers"][0], **variant)] + CONV_SPEC["layers"][1:]
    spec, data, model, _ = trained(CONV_SPEC, layers=layers, train={"epochs": 0, "seed": 3})
    # batch norms of either sign (a negative one complements the channel's codes)
    rng = np.random.default_rng(3)
    for name in normalized_layers(spec):
        bn = model.get_layer(batch_norm_name(name))
        n = bn.get_weights()[0].shape[0]
        bn.set_weights([rng.choice([-1, 1], n) * rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n),
                        rng.normal(0, 0.1, n), rng.uniform(0.2, 2, n)])
    deploy = export_deploy(spec, model, data.input_shape)
    images = data.x_test[:16]
    trace = run_golden(deploy, images, keep_currents=True)
    # every weight layer: TF on the golden's own input (image, or the golden's spikes) with the
    # dequantized QKeras kernel and the batch norm after it; one unit of the integer current is scale / 2^F
    x_in = images.astype(np.float32) / 255.0
    inputs = {}
    prev = None
    for layer in deploy.layers:
        if layer["type"] in ("conv", "dense"):
            inputs[layer["name"]] = x_in if prev is None else prev
        if layer["type"] == "lif":
            prev = trace.spikes[layer["name"]].astype(np.float32)
            prev = prev.reshape((-1,) + prev.shape[2:])
        elif layer["type"] == "maxpool" and prev is not None:
            prev = tf.nn.max_pool2d(prev, 2, 2, "VALID").numpy()
        elif layer["type"] == "flatten" and prev is not None:
            prev = prev.reshape(prev.shape[0], -1)
    for layer in deploy.layers:
        if layer["type"] not in ("conv", "dense"):
            continue
        reference = model.get_layer(layer["name"])(tf.constant(inputs[layer["name"]]))
        if layer["name"] in normalized_layers(spec):
            reference = model.get_layer(batch_norm_name(layer["name"]))(reference, training=False)
        reference = reference.numpy().astype(np.float64)
        current = trace.currents[layer["name"]]
        current = current[:, 0] if prev is None or layer["input"] == "analog" else \
            current.reshape((-1,) + current.shape[2:])
        unit = deploy.array(f"{layer['name']}.scale") / 2 ** layer["frac_bits"]
        # the integer bias is the only rounding (half a unit); TF adds float32 rounding (~1e-6).
        # A wrong tap, pad or stride is off by O(0.1).
        error = np.abs(current * unit - reference)
        assert np.all(error < unit * 0.5 + 1e-5), f"{layer['name']}: max error {error.max():.3g}"


def test_im2col_taps_follow_keras_kernel_order():
    x = np.arange(2 * 3 * 3 * 2).reshape(2, 3, 3, 2)
    cols = im2col(x, 3, 1, (1, 1, 1, 1))
    # centre output pixel sees the whole image in (ky, kx, c) order
    np.testing.assert_array_equal(cols[:, 1, 1], x.reshape(2, -1))
    # corner pixel: the padded taps are zero
    assert cols[0, 0, 0, :2].tolist() == [0, 0]


@pytest.mark.parametrize("raw", [MLP_SPEC, CONV_SPEC], ids=["mlp", "conv"])
def test_float_and_golden_agree(raw):
    from qpsnn.model.train import float_predict

    spec, data, model, deploy = trained(raw)
    golden = run_golden(deploy, data.x_test).prediction
    agreement = (float_predict(model, data.x_test) == golden).mean()
    assert agreement >= 0.99, f"float/golden prediction agreement {agreement:.4f} < 0.99"
    assert (golden == data.y_test).mean() > 0.5  # it learned something real


def test_exact_matmul_equals_integer_matmul():
    from qpsnn.model.golden import exact_matmul

    rng = np.random.default_rng(0)
    for lo, hi, k in ((0, 2, 600), (0, 256, 300), (-2**20, 2**20, 50), (-2**50, 2**50, 4)):
        x = rng.integers(lo, hi, (64, k), dtype=np.int64)
        w = rng.integers(-255, 256, (k, 7), dtype=np.int64)
        np.testing.assert_array_equal(exact_matmul(x, w), x @ w)   # the last case takes the int64 path


def test_golden_in_batches_is_the_golden(monkeypatch):
    """Images go through in batches (memory bound by the widest conv, not by the number of
    images): the trace is the same as in one batch."""
    import qpsnn.model.golden as golden
    from helpers import CONV_SPEC, trained
    _, data, _, deploy = trained(CONV_SPEC)
    images = data.x_test[:11]
    whole = run_golden(deploy, images, keep_currents=True)
    monkeypatch.setattr(golden, "BATCH_BYTES", 1)          # one image a batch
    assert golden.batch_images(deploy) == 1
    parts = run_golden(deploy, images, keep_currents=True)
    np.testing.assert_array_equal(parts.logits, whole.logits)
    for name in whole.spikes:
        np.testing.assert_array_equal(parts.spikes[name], whole.spikes[name])
    for name in whole.currents:
        np.testing.assert_array_equal(parts.currents[name], whole.currents[name])
