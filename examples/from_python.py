"""From Python: a spiking network built and trained in your own QKeras code, converted to a
verified accelerator. Run: .venv/bin/python examples/from_python.py [OUT_DIR]. The README's
"From Python" shows this file from its first import (tests/test_api.py holds them equal)."""
import sys

import qpsnn  # first: it settles the Keras flavour (QKeras' Keras 2) and quiets TensorFlow

import numpy as np
from qkeras import QConv2D, QDense
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tensorflow import keras

T = 3                                                     # time steps
digits = load_digits()                                    # 1,797 8x8 digits, levels 0..16
x = np.round(digits.images * 255 / 16).astype(np.uint8)[..., None]   # pixel codes 0..255
x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, random_state=0,
                                                    stratify=digits.target)
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input((8, 8, 1)),
    QConv2D(8, 3, padding="same", kernel_quantizer=qpsnn.ReScaW(bits=8)),   # analog input: 8 bits
    keras.layers.BatchNormalization(),
    qpsnn.RepeatTime(T),                                  # direct encoding: the image at every step
    qpsnn.LIF(T, tau=0.5, threshold=1.0),
    keras.layers.MaxPooling2D(2),
    QConv2D(16, 3, padding="same", kernel_quantizer=qpsnn.ReScaW(bits=4)),  # spikes in: 4 bits
    keras.layers.BatchNormalization(),
    qpsnn.LIF(T, reset="soft"),
    keras.layers.Flatten(),
    QDense(10, kernel_quantizer=qpsnn.ReScaW(bits=8, per_channel=False)),   # the readout: one scale
    qpsnn.TimeMean(T),                                    # logits: the membrane averaged over T
])
model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x_train / 255.0, y_train, epochs=8, batch_size=32, verbose=0)      # the model sees codes / 255

config = qpsnn.config_from_model(model)                   # per layer its pe / simd / lanes, and more
config["verify"]["rtl_images"] = 20
acc = qpsnn.convert(model, sys.argv[1] if len(sys.argv) > 1 else "out/from_python",
                    data=(x_train, y_train, x_test, y_test), config=config)
keras_classes = model.predict(x_test / 255.0, verbose=0).argmax(axis=1)
golden_classes = acc.predict(x_test)                      # the integer golden model
print(f"accuracy: keras {np.mean(keras_classes == y_test):.3f}, golden {np.mean(golden_classes == y_test):.3f}, "
      f"agreement {np.mean(keras_classes == golden_classes):.3f}")
print("hls C-sim:", acc.write_hls())                      # hls4ml project, C simulation vs golden
rtl = acc.simulate()                                      # Verilog under Verilator vs golden
print(f"rtl: {rtl['bit_exact']['mismatches']} mismatches in {rtl['bit_exact']['images']} images, "
      f"{rtl['latency']['cycles_per_image_measured']:.0f} cycles per image "
      f"(model: {rtl['latency']['cycles_per_image_analytic']:.0f})")
print("estimate:", {k: v for k, v in acc.estimate().items() if k in ("cycles_per_image", "resources")})
