"""Deploy form -> hls4ml project (Vitis backend, io_stream) with our LIF neuron.

The network is rebuilt from the deploy form as a per-time-step Keras model whose weights are
the integers of the deploy form (2*W_int - s) * 2**F and whose biases are B: hls4ml's own
Conv2D / Dense / MaxPooling2D then compute the exact integer currents, and our LIF layer
(added through hls4ml's extension API: a Keras layer, a parser, an IR layer, two templates
and a header) keeps the membrane across the T calls of one image. Every type is an integer
wide enough for its bound, so the C simulation is bit-exact with the golden model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow import keras

from qpsnn.model.deploy import Deploy, signed_width

HEADER = Path(__file__).parent / "hls_include" / "nnet_lif.h"
BACKEND = "Vitis"


class LIFStep(keras.layers.Layer):
    """One time step of an integer LIF layer, for the hls4ml converter.

    Its Keras call is the first step from rest (spike where x >= theta); the multi-step,
    stateful behaviour lives in the HLS implementation (nnet_lif.h)."""

    def __init__(self, n_chan, time_steps, leak_shift, reset, membrane_bits, threshold_bits, leak_complement=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.n_chan = int(n_chan)
        self.time_steps = int(time_steps)
        self.leak_shift = int(leak_shift)
        self.leak_complement = bool(leak_complement)
        self.reset = reset
        self.membrane_bits = int(membrane_bits)
        self.threshold_bits = int(threshold_bits)

    def build(self, input_shape):
        self.threshold = self.add_weight(name="threshold", shape=(self.n_chan,), dtype="float64",
                                         initializer="zeros", trainable=False)

    def call(self, x):
        return tf.cast(x >= tf.cast(self.threshold, x.dtype), x.dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(n_chan=self.n_chan, time_steps=self.time_steps, leak_shift=self.leak_shift,
                   leak_complement=self.leak_complement, reset=self.reset, membrane_bits=self.membrane_bits, threshold_bits=self.threshold_bits)
        return cfg


_registered = False


def register_lif_extension() -> None:
    """Register the LIF layer with hls4ml (idempotent): parser, IR layer, templates, header."""
    global _registered
    if _registered:
        return
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer
    from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
    from hls4ml.model.types import IntegerPrecisionType, NamedType

    class HLIFStep(hls4ml.model.layers.Layer):
        _expected_attributes = [
            Attribute("n_in"), Attribute("n_chan"), Attribute("time_steps"), Attribute("leak_shift"),
            Attribute("reset_soft", value_type=bool), Attribute("leak_complement", value_type=bool),
            WeightAttribute("threshold"),
            TypeAttribute("threshold"), TypeAttribute("membrane"),
        ]

        def initialize(self):
            shape = self.get_input_variable().shape
            self.set_attr("n_in", int(np.prod(shape)))
            self.add_output_variable(shape, precision=IntegerPrecisionType(width=1, signed=False))
            self.add_weights_variable(name="threshold", var_name="th{index}",
                                      data=np.asarray(self.get_attr("threshold_data"), np.float64),
                                      precision=IntegerPrecisionType(width=self.get_attr("threshold_bits")))
            self.set_attr("membrane_t", NamedType(f"membrane{self.index}_t",
                                                  IntegerPrecisionType(width=self.get_attr("membrane_bits"))))

    config_template = """struct config{index} : nnet::lif_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_chan = {n_chan};
    static const unsigned time_steps = {time_steps};
    static const unsigned leak_shift = {leak_shift};
    static const bool leak_complement = {leak_complement};
    static const bool reset_soft = {reset_soft};
    typedef {membrane_t.name} membrane_t;
    typedef {threshold_t.name} threshold_t;
}};\n"""
    function_template = "nnet::lif_step<{input_t}, {output_t}, {config}>({input}, {output}, {threshold});"

    class LIFConfigTemplate(hls4ml.backends.template.LayerConfigTemplate):
        def __init__(self):
            super().__init__(HLIFStep)
            self.template = config_template

        def format(self, node):
            params = self._default_config_params(node)
            params["reset_soft"] = "true" if node.get_attr("reset_soft") else "false"
            params["leak_complement"] = "true" if node.get_attr("leak_complement") else "false"
            return self.template.format(**params)

    class LIFFunctionTemplate(hls4ml.backends.template.FunctionCallTemplate):
        def __init__(self):
            super().__init__(HLIFStep, include_header=["nnet_utils/nnet_lif.h"])
            self.template = function_template

        def format(self, node):
            params = self._default_function_params(node)
            params["threshold"] = node.get_weights("threshold").name
            return self.template.format(**params)

    def parse_lif(keras_layer, input_names, input_shapes, data_reader):
        layer = parse_default_keras_layer(keras_layer, input_names)
        cfg = keras_layer["config"]
        for key in ("n_chan", "time_steps", "leak_shift", "membrane_bits", "threshold_bits"):
            layer[key] = cfg[key]
        layer["reset_soft"] = cfg["reset"] == "soft"
        layer["leak_complement"] = bool(cfg.get("leak_complement", False))
        layer["threshold_data"] = data_reader.get_weights_data(layer["name"], "threshold")
        return layer, input_shapes[0]

    hls4ml.converters.register_keras_v2_layer_handler("LIFStep", parse_lif)
    hls4ml.model.layers.register_layer("LIFStep", HLIFStep)
    backend = hls4ml.backends.get_backend(BACKEND)
    backend.register_template(LIFConfigTemplate)
    backend.register_template(LIFFunctionTemplate)
    backend.register_source(HEADER)
    _registered = True


def integer_keras_model(deploy: Deploy) -> tuple[keras.Model, dict]:
    """Per-time-step Keras model holding the deploy form's integers, and its hls4ml config."""
    T = deploy.time_steps
    layer_cfg: dict[str, dict] = {"image": {"Precision": {"result": f"ap_uint<{deploy.meta['input']['bits']}>"}}}
    inp = keras.Input(shape=tuple(deploy.meta["input"]["shape"]), name="image", dtype="float64")
    x = inp
    weights: list[tuple[keras.layers.Layer, list]] = []
    pool_gain = 1          # the sum pools' 1/4 the next weight layer makes good
    input_t = None         # the next weight layer's input type, where a pool set it
    for layer in deploy.layers:
        kind, name = layer["type"], layer["name"]
        if kind in ("conv", "dense"):
            codes = deploy.array(layer["weights"])
            F, s = layer["frac_bits"], layer["offset_s"]
            kernel = ((2 * codes - s) * (1 << F) * pool_gain).astype(np.float64)
            bias = deploy.array(layer["bias"]).astype(np.float64)
            if kind == "conv":
                pt, pb, pl, pr = layer["padding"]
                if pt or pb or pl or pr:
                    x = keras.layers.ZeroPadding2D(((pt, pb), (pl, pr)), name=f"{name}_pad", dtype="float64")(x)
                    layer_cfg[f"{name}_pad"] = {"Precision": {"result": input_t or f"ap_uint<{layer['input_bits']}>"}}
                k_layer = keras.layers.Conv2D(codes.shape[-1], layer["kernel"], strides=layer["stride"],
                                              padding="valid", name=name, dtype="float64")
            else:
                k_layer = keras.layers.Dense(codes.shape[-1], name=name, dtype="float64")
            x = k_layer(x)
            weights.append((k_layer, [kernel, bias]))
            out_t = f"ap_int<{layer['out_bits']}>"
            layer_cfg[name] = {"Precision": {
                "weight": f"ap_int<{signed_width(s * (1 << F) * pool_gain)}>",
                "bias": f"ap_int<{signed_width(int(np.abs(bias).max()))}>",
                "accum": out_t, "result": out_t}}
            layer_cfg[f"{name}_linear"] = {"Precision": {"result": out_t}}
            pool_gain, input_t = 1, None
        elif kind == "lif":
            theta = deploy.array(layer["threshold"])
            lif_layer = LIFStep(n_chan=len(theta), time_steps=T, leak_shift=layer["leak_shift"],
                                leak_complement=layer.get("leak_complement", False),
                                reset=layer["reset"], membrane_bits=layer["membrane_bits"],
                                threshold_bits=signed_width(int(theta.max())), name=name, dtype="float64")
            x = lif_layer(x)
            weights.append((lif_layer, [theta.astype(np.float64)]))
            layer_cfg[name] = {"Precision": {"result": "ap_uint<1>"}}
        elif kind == "maxpool":
            x = keras.layers.MaxPooling2D(layer["size"], name=name, dtype="float64")(x)
            layer_cfg[name] = {"Precision": {"result": "ap_uint<1>", "accum": "ap_uint<1>"}}
        elif kind == "sumpool":
            # hls4ml's average pooling, exact: the block's sum over 4 with 2 more fraction bits;
            # the next weight layer's kernel is 4 times the codes' (pool_gain), so its products
            # are the sums' times the codes, integers again
            pool_gain *= layer["size"] ** 2
            frac = int(np.log2(pool_gain))
            x = keras.layers.AveragePooling2D(layer["size"], name=name, dtype="float64")(x)
            pooled_t = f"ap_ufixed<{layer['out_bits'] + frac},{layer['out_bits']}>"
            layer_cfg[name] = {"Precision": {"accum": pooled_t, "result": pooled_t}}
            input_t = pooled_t
        elif kind == "flatten":
            x = keras.layers.Flatten(name=name, dtype="float64")(x)
    model = keras.Model(inp, x, name=deploy.meta["name"])
    for k_layer, values in weights:
        k_layer.set_weights(values)
    config = {"Model": {"Precision": "ap_int<32>", "ReuseFactor": 1, "Strategy": "Latency",
                        "BramFactor": 1_000_000_000},
              "LayerName": layer_cfg}
    return model, config


def convert(deploy: Deploy, out_dir: str, part: str = "xc7a100tcsg324-1"):
    """Write the hls4ml project to out_dir and return the hls4ml model (not yet compiled)."""
    import hls4ml

    register_lif_extension()
    model, config = integer_keras_model(deploy)
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, output_dir=os.path.abspath(out_dir), project_name="qpsnn_" + deploy.meta["name"],
        backend=BACKEND, io_type="io_stream", part=part, hls_config=config)
    hls_model.write()
    return hls_model


def csim_logits(hls_model, deploy: Deploy, images: np.ndarray) -> np.ndarray:
    """Run the compiled C simulation: T calls per image (the image each time, or its frame of
    the step), in order; returns (N, T, K) integers."""
    T = deploy.time_steps
    images = np.asarray(images, dtype=np.float64)
    x = images.reshape((-1,) + images.shape[2:]) if images.ndim == 5 else np.repeat(images, T, axis=0)
    y = np.asarray(hls_model.predict(np.ascontiguousarray(x)))
    y = y.reshape(len(images), T, -1)
    ints = np.round(y).astype(np.int64)
    if not np.array_equal(ints, y):
        raise AssertionError("hls4ml C simulation returned non-integer outputs")
    return ints
