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


def train_model(spec: Spec, data: DataSet, verbose: int = 2):
    set_seed(spec.train["seed"])
    model = build_model(spec, data.input_shape)
    model.compile(optimizer=tf.keras.optimizers.Adam(spec.train["lr"]),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    if spec.train["epochs"] > 0:
        model.fit(data.x_train.astype(np.float32) / 255.0, data.y_train, epochs=spec.train["epochs"],
                  batch_size=spec.train["batch_size"], shuffle=True, verbose=verbose)
    return model


def float_predict(model, images_u8: np.ndarray, batch_size: int = 256) -> np.ndarray:
    logits = model.predict(images_u8.astype(np.float32) / 255.0, batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=1)
