"""Leaky integrate-and-fire neuron for QKeras/Keras 2 models (METHOD.md section 1).

Tensors inside a spiking model carry time in the batch axis: shape (batch * T, ...), time
minor, so every Keras/QKeras layer (QConv2D, QDense, MaxPooling2D, Flatten) applies per time
step unchanged and only the neuron needs to know T.

    U~[t] = tau * U[t-1] + X[t]
    S[t]  = U~[t] >= theta
    U[t]  = U~[t] * (1 - S[t])           (hard reset)   or   U~[t] - theta * S[t]   (soft)

Gradient: triangular surrogate dS/dU = (1/a^2) * max(a - |U - theta|, 0), a = 1.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow import keras

SURROGATE_WIDTH = 1.0


def _surrogate_spike(strict: bool):
    """Heaviside of v = U~ - theta (at or above the threshold; strict: above it, NIR's rule),
    with the triangular surrogate gradient."""
    @tf.custom_gradient
    def fire(v):
        out = tf.cast(v > 0.0 if strict else v >= 0.0, v.dtype)

        def grad(dy):
            a = SURROGATE_WIDTH
            return dy * tf.maximum(a - tf.abs(v), 0.0) / (a * a)

        return out, grad
    return fire


spike = _surrogate_spike(strict=False)
spike_above = _surrogate_spike(strict=True)


def _split_time(x, time_steps):
    shape = tf.shape(x)
    return tf.reshape(x, tf.concat([[-1, time_steps], shape[1:]], axis=0))


def _merge_time(x):
    shape = tf.shape(x)
    return tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0))


class LIF(keras.layers.Layer):
    """Stateful across the T time steps of one sample; state starts at zero for each sample."""

    def __init__(self, time_steps, tau=0.5, threshold=1.0, reset="hard", strict=False, **kwargs):
        super().__init__(**kwargs)
        self.time_steps = int(time_steps)
        self.tau = float(tau)
        self.threshold = float(threshold)
        self.reset = reset
        self.strict = bool(strict)      # fire when U~ > theta (NIR's rule) instead of U~ >= theta

    def membrane_trace(self, x):
        """Return (spikes, pre-reset membranes), both shaped (batch, T, ...)."""
        xt = _split_time(x, self.time_steps)
        u = tf.zeros_like(xt[:, 0])
        spikes, pre = [], []
        for t in range(self.time_steps):
            u = self.tau * u + xt[:, t]
            s = (spike_above if self.strict else spike)(u - self.threshold)
            pre.append(u)
            spikes.append(s)
            u = u * (1.0 - s) if self.reset == "hard" else u - self.threshold * s
        return tf.stack(spikes, axis=1), tf.stack(pre, axis=1)

    def call(self, x):
        spikes, _ = self.membrane_trace(x)
        return _merge_time(spikes)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(time_steps=self.time_steps, tau=self.tau, threshold=self.threshold, reset=self.reset,
                   strict=self.strict)
        return cfg


class _TimeLayer(keras.layers.Layer):
    """A layer that only needs to know T."""

    def __init__(self, time_steps, **kwargs):
        super().__init__(**kwargs)
        self.time_steps = int(time_steps)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(time_steps=self.time_steps)
        return cfg


class RepeatTime(_TimeLayer):
    """Direct encoding: the same analog input (or its first-layer current) at every time step."""

    def call(self, x):
        return _merge_time(tf.repeat(tf.expand_dims(x, 1), self.time_steps, axis=1))


class TimeFrames(_TimeLayer):
    """Event encoding: the sample's T frames (batch, T, H, W, C) of counts, one per step, into
    the time-in-batch layout of the layers after it."""

    def call(self, x):
        return _merge_time(x)


class SumPool2D(keras.layers.Layer):
    """2x2 sum pooling (spike counts out), per time step."""

    def call(self, x):
        return 4.0 * tf.nn.avg_pool2d(x, 2, 2, "VALID")


class TimeMean(_TimeLayer):
    """Readout: the time average of the last layer's output times `gain` (the logits of the
    loss). The membrane readout averages currents (gain 1); the spike-count readout averages
    spikes, rates in [0, 1], whose softmax would be nearly flat: a gain puts a class that
    fires at every step SPIKE_LOGIT_GAIN nats above a silent one."""

    def __init__(self, time_steps, gain=1.0, **kwargs):
        super().__init__(time_steps, **kwargs)
        self.gain = float(gain)

    def call(self, x):
        return self.gain * tf.reduce_mean(_split_time(x, self.time_steps), axis=1)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(gain=self.gain)
        return cfg


SPIKE_LOGIT_GAIN = 8.0
