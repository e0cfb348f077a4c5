"""qpsnn: compressed spiking neural networks (QP-SNN) to verified FPGA accelerators."""

import os

# QKeras imports tensorflow_model_optimization, which sets TF_USE_LEGACY_KERAS=1 on import;
# `tf.keras` then resolves to tf_keras or to keras 2.15 depending on what was touched first.
# Fix it once, before anything resolves tf.keras: one Keras 2 (tf_keras) everywhere.
os.environ["TF_USE_LEGACY_KERAS"] = "1"

__version__ = "0.1.0"
