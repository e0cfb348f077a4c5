"""The Python API on a model the user built: the runnable example (examples/from_python.py),
layers qpsnn cannot map refused by name with nothing written, pruning a user's model, the
warnings a new user must see, and a quiet TensorFlow start."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import qpsnn
from qpsnn.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T = 2


def small_model(layers=None, name="user_net", input_shape=(8, 8, 1)):
    """A user's model in qpsnn's layers (the example's shape, smaller); `layers` replaces the
    list between the input and the readout."""
    from qkeras import QConv2D, QDense
    from tensorflow import keras
    body = layers if layers is not None else [
        QConv2D(4, 3, padding="same", kernel_quantizer=qpsnn.ReScaW(8), name="conv_a"),
        keras.layers.BatchNormalization(name="bn_a"),
        qpsnn.RepeatTime(T),
        qpsnn.LIF(T, name="lif_a"),
        keras.layers.Flatten(),
        QDense(10, kernel_quantizer=qpsnn.ReScaW(8, per_channel=False), name="readout_dense"),
    ]
    model = keras.Sequential([keras.Input(input_shape), *body, qpsnn.TimeMean(T)], name=name)
    return model


@pytest.mark.slow(seconds=60)
def test_from_python_example_runs_bit_exact(tmp_path):
    """The README's "From Python" code, run as written: Keras and golden agree on every image,
    the HLS C-sim and the RTL on every readout value, the cycle model on every cycle."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "from_python.py"), str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    agreement = re.search(r"agreement (\d\.\d+)", text)
    assert agreement and float(agreement.group(1)) >= 0.99, text   # the fixed point of bias and threshold: nearly all
    assert "hls C-sim: {'images': 50, 'mismatches': 0}" in text, text
    rtl = re.search(r"rtl: (\d+) mismatches in (\d+) images, (\d+) cycles per image \(model: (\d+)\)", text)
    assert rtl and rtl.group(1) == "0" and rtl.group(2) == "20" and rtl.group(3) == rtl.group(4), text
    assert "Unable to register" not in out.stderr      # TensorFlow's CUDA noise is off


def test_readme_shows_the_example_as_it_runs():
    """The README's "From Python" code is examples/from_python.py from its first import: the
    code the example test runs is the code a reader copies."""
    readme = open(os.path.join(ROOT, "README.md")).read()
    block = readme.split("### From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    example = open(os.path.join(ROOT, "examples", "from_python.py")).read().split('"""', 2)[2].lstrip("\n")
    assert block == example


def refused_models():
    from qkeras import QConv2D, QDense
    from tensorflow import keras
    quant = qpsnn.ReScaW(4)
    return {
        "unquantized dense": ([keras.layers.Flatten(), keras.layers.Dense(10, name="plain")], "plain", "Dense"),
        "relu": ([QConv2D(4, 3, padding="same", kernel_quantizer=quant), keras.layers.ReLU(name="relu_1")],
                 "relu_1", "ReLU"),
        "activation": ([QConv2D(4, 3, padding="same", kernel_quantizer=quant, activation="relu", name="conv_r")],
                       "conv_r", "activation"),
        "recurrent": ([keras.layers.SimpleRNN(4, name="rnn")], "rnn", "SimpleRNN"),
        "batch norm without a LIF": ([QConv2D(4, 3, padding="same", kernel_quantizer=quant),
                                      keras.layers.BatchNormalization(name="lonely_bn"), qpsnn.RepeatTime(T),
                                      keras.layers.MaxPooling2D(2), qpsnn.LIF(T)], "lonely_bn", "not followed"),
        "readout per channel": ([QConv2D(4, 3, padding="same", kernel_quantizer=quant), qpsnn.RepeatTime(T),
                                 qpsnn.LIF(T), keras.layers.Flatten(),
                                 QDense(10, kernel_quantizer=qpsnn.ReScaW(8), name="per_ch")], "per_ch",
                                "per_channel=False"),
        "other quantizer": ([keras.layers.Flatten(), QDense(10, kernel_quantizer="quantized_bits(4)", name="qb")],
                            "qb", "ReScaW"),
    }


@pytest.mark.parametrize("case", ["unquantized dense", "relu", "activation", "recurrent", "batch norm without a LIF",
                                  "readout per channel", "other quantizer"])
def test_convert_refuses_by_name(tmp_path, case):
    layers, name, word = refused_models()[case]
    out = tmp_path / "out"
    with pytest.raises(InputError) as info:
        qpsnn.convert(small_model(layers, input_shape=(8, 8) if case == "recurrent" else (8, 8, 1)), str(out),
                      data="digits")
    message = str(info.value)
    assert f"'{name}'" in message and word in message and "accepted" in message, message
    assert not out.exists()            # nothing written


def test_convert_warns_about_a_silent_network(tmp_path, capsys):
    """A LIF that cannot reach its threshold: bit-exact everywhere, and still worth a word."""
    from qkeras import QConv2D, QDense
    from tensorflow import keras
    layers = [QConv2D(4, 3, padding="same", kernel_quantizer=qpsnn.ReScaW(8)), qpsnn.RepeatTime(T),
              qpsnn.LIF(T, threshold=1e6, name="deaf"), keras.layers.Flatten(),
              QDense(10, kernel_quantizer=qpsnn.ReScaW(8, per_channel=False))]
    acc = qpsnn.convert(small_model(layers), str(tmp_path / "out"), data="digits")
    warnings = acc.report()["warnings"]
    assert any("'deaf' never fires" in w for w in warnings), warnings
    assert any("near chance" in w for w in warnings), warnings
    assert "never fires" in capsys.readouterr().out


@pytest.mark.slow(seconds=40)
def test_prune_a_user_model_then_convert(tmp_path):
    """qpsnn.prune on the user's trained model removes channels by SVS as the flow does (a
    narrower network), and the pruned model converts and predicts like its Keras self."""
    from qpsnn.model.data import load_dataset
    from qpsnn.model.train import float_predict, scaled
    data = load_dataset("digits", 0.25, 0)
    model = small_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(scaled(data.x_train), data.y_train, epochs=1, batch_size=64, verbose=0)
    config = qpsnn.config_from_model(model)
    assert set(config["layers"]) == {"conv_a", "lif_a", "readout_dense"}
    pruned = qpsnn.prune(model, (data.x_train, data.y_train, data.x_test, data.y_test), ratios={"conv_a": 0.5},
                         finetune_epochs=1)
    assert pruned.get_layer("conv_a").get_weights()[0].shape[-1] == 2
    acc = qpsnn.convert(pruned, str(tmp_path / "out"), data=(data.x_train, data.y_train, data.x_test, data.y_test))
    assert acc.spec.layers[0]["filters"] == 2
    golden = acc.predict(data.x_test)
    assert np.mean(golden == float_predict(pruned, data.x_test)) >= 0.95
    assert acc.report()["accuracy"]["test_images"] == len(data.y_test)     # the given hold-out, exactly
    estimate = acc.estimate(data.x_test[:10])
    assert estimate["cycles_per_image"] > 0 and estimate["resources"]["LUT"] > 0


def test_data_arrays_must_be_pixel_codes(tmp_path):
    x = np.random.default_rng(0).random((40, 8, 8, 1))
    with pytest.raises(InputError, match="pixel codes 0..255"):
        qpsnn.convert(small_model(), str(tmp_path / "out"), data=(x, np.arange(40) % 10))
    assert not (tmp_path / "out").exists()


def test_import_qpsnn_is_light_and_quiet():
    """`import qpsnn` pulls no TensorFlow until a name needs it; TensorFlow then starts without
    its CUDA registration errors on a machine without a GPU."""
    code = ("import sys, qpsnn; assert 'tensorflow' not in sys.modules; qpsnn.validate('examples/mnist_skeleton.yaml');"
            " assert 'tensorflow' not in sys.modules; qpsnn.LIF; assert 'tensorflow' in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert out.returncode == 0, out.stderr
    assert "Unable to register" not in out.stderr and "cuda" not in out.stderr.lower(), out.stderr


def test_keras_front_end_reads_back_the_builders_model():
    """A model qpsnn builds from a spec (explicit padding, a strict soft LIF, batch norm, max-pool,
    layers without bias, a spike-count readout) read by the Keras front end gives back the spec's
    layers, bits and weights: what convert takes is what the flow would have built."""
    from helpers import make_spec
    from qpsnn.model.builder import build_model
    from qpsnn.model.keras_frontend import spec_from_keras
    from qpsnn.model.weights import model_weights
    raw = {"name": "back", "data": {"dataset": "digits"}, "time_steps": 3,
           "quant": {"bits": 3, "first_bits": 7, "last_bits": 6, "gamma": "max"},
           "layers": [{"type": "conv", "filters": 4, "kernel": 5, "padding": [2, 1], "stride": 2},
                      {"type": "lif", "strict": True, "reset": "soft", "tau": 0.25, "threshold": 0.75},
                      {"type": "maxpool"}, {"type": "flatten"}, {"type": "dense", "units": 12, "bias": False},
                      {"type": "lif"}, {"type": "dense", "units": 10},
                      {"type": "lif", "tau": 1.0}, {"type": "readout", "mode": "spikes"}]}
    spec = make_spec(raw)
    model = build_model(spec, (8, 8, 1))
    keys, arrays = spec_from_keras(model)
    assert keys["time_steps"] == 3 and keys["train"] == {"batch_norm": True}
    assert keys["quant"] == {"bits": 3, "gamma": "max", "first_bits": 7, "last_bits": 6}
    strip = lambda layer: {k: v for k, v in layer.items() if k not in ("name", "pe", "simd", "lanes")}  # noqa: E731
    assert [strip(layer) for layer in make_spec(dict(raw, layers=keys["layers"])).layers] == \
        [strip(layer) for layer in spec.layers]
    names = {a: b for a, b in zip([layer["name"] for layer in keys["layers"]], [layer["name"] for layer in spec.layers])}
    built = model_weights(model, spec)
    assert "dense0/bias" not in built and not model.get_layer("dense0").use_bias
    assert len(arrays) == len(built)
    for key, value in arrays.items():
        layer, weight = key.split("/")
        own = names.get(layer) or names[layer[:-len("_bn")]] + "_bn"
        assert np.array_equal(value, built[f"{own}/{weight}"]), key
