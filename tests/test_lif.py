"""The Keras LIF layer and the golden model's integer LIF against hand-computed traces."""

import numpy as np
import tensorflow as tf

from qpsnn.model.golden import lif
from qpsnn.model.lif import LIF, spike


def run_keras_lif(currents, **kw):
    x = tf.constant(np.asarray(currents, np.float32).reshape(-1, 1))  # (batch*T, 1), one sample
    layer = LIF(len(currents), **kw)
    spikes, pre = layer.membrane_trace(x)
    return spikes.numpy().ravel(), pre.numpy().ravel()


def test_hard_reset_by_hand():
    # U: 0.6 -> 0.3 + 0.6 = 0.9 -> 0.45 + 0.6 = 1.05 (spike, reset to 0) -> 0.6
    spikes, pre = run_keras_lif([0.6, 0.6, 0.6, 0.6], tau=0.5, threshold=1.0, reset="hard")
    np.testing.assert_array_equal(spikes, [0, 0, 1, 0])
    np.testing.assert_allclose(pre, [0.6, 0.9, 1.05, 0.6], rtol=1e-6)


def test_soft_reset_by_hand():
    # after the spike at 1.05 the membrane keeps 0.05: next 0.025 + 0.6 = 0.625
    spikes, pre = run_keras_lif([0.6, 0.6, 0.6, 0.6], tau=0.5, threshold=1.0, reset="soft")
    np.testing.assert_array_equal(spikes, [0, 0, 1, 0])
    np.testing.assert_allclose(pre, [0.6, 0.9, 1.05, 0.625], rtol=1e-5)


def test_triangular_surrogate():
    v = tf.constant([-1.5, -0.5, 0.0, 0.25, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(v)
        s = spike(v)
    np.testing.assert_array_equal(s.numpy(), [0, 0, 1, 1, 1])
    np.testing.assert_allclose(tape.gradient(s, v).numpy(), [0.0, 0.5, 1.0, 0.75, 0.0])


class _Arrays:
    def __init__(self, theta):
        self.theta = np.asarray(theta)

    def array(self, _):
        return self.theta


def test_golden_integer_lif_by_hand():
    # theta 16, shift 1: U = 10 -> 5 + 10 = 15 -> 7 + 10 = 17 (spike, 0) -> 10
    layer = {"leak_shift": 1, "reset": "hard", "threshold": "t"}
    x = np.array([[[10], [10], [10], [10]]])
    np.testing.assert_array_equal(lif(layer, _Arrays([16]), x)[0, :, 0], [0, 0, 1, 0])
    # soft reset keeps 1: next (1 >> 1) + 10 = 10
    layer["reset"] = "soft"
    np.testing.assert_array_equal(lif(layer, _Arrays([16]), x)[0, :, 0], [0, 0, 1, 0])


def test_golden_leak_floors_negative_membranes():
    # U = -3 -> (-3 >> 1) + 3 = -2 + 3 = 1 (floor, not truncation toward zero, which would give 2)
    layer = {"leak_shift": 1, "reset": "hard", "threshold": "t"}
    x = np.array([[[-3], [3]]])
    assert lif(layer, _Arrays([2]), x)[0, 1, 0] == 0
    assert lif(layer, _Arrays([1]), x)[0, 1, 0] == 1
