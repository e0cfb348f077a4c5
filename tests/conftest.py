import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import qpsnn  # noqa: E402,F401  (fixes the Keras flavour before TensorFlow is touched)
