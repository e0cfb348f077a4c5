"""qpsnn: compressed spiking neural networks (QP-SNN) to verified FPGA accelerators."""

import os

# QKeras imports tensorflow_model_optimization, which sets TF_USE_LEGACY_KERAS=1 on import;
# `tf.keras` then resolves to tf_keras or to keras 2.15 depending on what was touched first.
# Fix it once, before anything resolves tf.keras: one Keras 2 (tf_keras) everywhere.
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# TensorFlow's C++ start-up log (CUDA plug-in registrations, "no GPU", CPU features) on a machine
# without a GPU: noise before every command. Python errors are unaffected; set the variable to
# 0 to see it again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

# The public API (qpsnn/api.py), imported on first use: `import qpsnn` stays light (no TensorFlow)
# until a name that needs it is touched.
_API = {
    "convert": "qpsnn.api", "config_from_model": "qpsnn.api", "prune": "qpsnn.api", "Accelerator": "qpsnn.api",
    "flow": "qpsnn.api", "step": "qpsnn.api", "report": "qpsnn.api", "validate": "qpsnn.api",
    "from_nir": "qpsnn.nir_io", "import_nir": "qpsnn.nir_io", "export_nir": "qpsnn.nir_io",
    "LIF": "qpsnn.model.lif", "RepeatTime": "qpsnn.model.lif", "TimeMean": "qpsnn.model.lif",
    "ReScaW": "qpsnn.model.rescaw", "InputError": "qpsnn.errors", "DesignError": "qpsnn.errors",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'qpsnn' has no attribute {name!r}")
