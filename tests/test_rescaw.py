"""ReScaW against hand-computed examples (METHOD.md sections 2 and 3)."""

import numpy as np
import pytest
import tensorflow as tf

from qpsnn.model.rescaw import ReScaW, codes_numpy, dequantize_numpy, gamma_numpy

# kernel (in=2, out=2); column 0 = [0.1, 0.5], column 1 = [-0.3, 0.02]
W = np.array([[0.1, -0.3], [0.5, 0.02]], dtype=np.float32)


def test_mean_gamma_two_bits_by_hand():
    # s = 3. Column 0: gamma = (0.1 + 0.5)/2 = 0.3; W/gamma = [1/3, 5/3] -> clip [1/3, 1]
    #   codes = round(1.5 * (x + 1)) = [round(2.0), round(3.0)] = [2, 3]
    #   W_q = 0.3 * (2 * code / 3 - 1) = [0.1, 0.3]
    # Column 1: gamma = (0.3 + 0.02)/2 = 0.16; W/gamma = [-1.875, 0.125] -> clip [-1, 0.125]
    #   codes = [round(0), round(1.6875)] = [0, 2];  W_q = 0.16 * [-1, 1/3] = [-0.16, 0.05333]
    gamma = gamma_numpy(W, "mean")
    np.testing.assert_allclose(gamma, [0.3, 0.16], rtol=1e-6)
    codes = codes_numpy(W, 2, gamma)
    np.testing.assert_array_equal(codes, [[2, 0], [3, 2]])
    expected = np.array([[0.1, -0.16], [0.3, 0.16 / 3]])
    np.testing.assert_allclose(dequantize_numpy(codes, 2, gamma), expected, rtol=1e-6)
    np.testing.assert_allclose(ReScaW(2, "mean")(W).numpy(), expected, rtol=1e-6)


def test_baseline_has_no_zero_level():
    # gamma = 1, b = 2: levels -1, -1/3, 1/3, 1. 0.1 -> round(1.5 * 1.1) = 2 -> 1/3; -0.3 -> round(1.05) = 1 -> -1/3
    q = ReScaW(2, "none")(W).numpy()
    np.testing.assert_allclose(q, [[1 / 3, -1 / 3], [1 / 3, 1 / 3]], rtol=1e-6)


def test_max_and_percentile_gamma():
    np.testing.assert_allclose(gamma_numpy(W, "max"), [0.5, 0.3], rtol=1e-6)
    rng = np.random.default_rng(0)
    k = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    flat = k.reshape(-1, 5)
    ref = np.maximum(np.abs(np.percentile(flat, 1, axis=0)), np.abs(np.percentile(flat, 99, axis=0)))
    np.testing.assert_allclose(gamma_numpy(k, "percentile"), ref, rtol=1e-6)
    np.testing.assert_allclose(ReScaW(4, "percentile").scale_tf(tf.constant(k)).numpy(), ref, rtol=1e-5)


@pytest.mark.parametrize("mode", ["mean", "max", "percentile", "none"])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_tf_and_numpy_agree(mode, bits):
    rng = np.random.default_rng(bits)
    k = (rng.normal(size=(3, 3, 2, 6)) * 0.2).astype(np.float32)
    gamma = gamma_numpy(k, mode)
    ref = dequantize_numpy(codes_numpy(k, bits, gamma), bits, gamma)
    np.testing.assert_allclose(ReScaW(bits, mode)(k).numpy(), ref, rtol=1e-5, atol=1e-7)
    assert len(np.unique(codes_numpy(k, bits, gamma))) <= 2**bits


def test_per_tensor_gamma_is_shared():
    g = gamma_numpy(W, "mean", per_channel=False)
    np.testing.assert_allclose(g, [0.23, 0.23], rtol=1e-6)


def test_straight_through_gradient_is_the_identity_inside_and_outside_the_clip():
    w = tf.Variable(W)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ReScaW(2, "mean")(w) * np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    grad = tape.gradient(loss, w).numpy()
    # W/gamma: [[1/3, -1.875], [5/3, 0.125]]: the clipped entries get the upstream gradient too
    np.testing.assert_allclose(grad, [[1.0, 2.0], [3.0, 4.0]], rtol=1e-6)
