"""Quantization-aware training of the spiking model (BPTT through T with the surrogate)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from qpsnn.model.builder import build_model
from qpsnn.model.data import DataSet
from qpsnn.spec import Spec


def set_seed(seed: int) -> None:
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def scaled(images_u8: np.ndarray) -> np.ndarray:
    """The float model sees pixel codes / 255 (the deploy form folds the 255 into its scale)."""
    return images_u8.astype(np.float32) / 255.0


def fit(model, spec: Spec, data: DataSet, epochs: int, verbose: int = 2):
    """Train `model` in place for `epochs` with the spec's optimiser settings."""
    model.compile(optimizer=tf.keras.optimizers.Adam(spec.train["lr"]),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    if epochs > 0:
        model.fit(scaled(data.x_train), data.y_train, epochs=epochs, batch_size=spec.train["batch_size"],
                  shuffle=True, verbose=verbose)
    return model


def train_model(spec: Spec, data: DataSet, verbose: int = 2, quantized: bool = True):
    """A freshly initialised model of `spec` trained for train.epochs (seeded: deterministic)."""
    set_seed(spec.train["seed"])
    model = build_model(spec, data.input_shape, quantized=quantized)
    return fit(model, spec, data, spec.train["epochs"], verbose)


def float_predict(model, images_u8: np.ndarray, batch_size: int = 256) -> np.ndarray:
    logits = model.predict(scaled(images_u8), batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=1)
