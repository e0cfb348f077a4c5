"""Build the trainable QKeras spiking model from a validated spec."""

from __future__ import annotations

from qkeras import QConv2D, QDense
from tensorflow import keras

from qpsnn.model.lif import LIF, SPIKE_LOGIT_GAIN, RepeatTime, SumPool2D, TimeFrames, TimeMean
from qpsnn.model.rescaw import ReScaW
from qpsnn.spec import Spec


def weight_layer_bits(spec: Spec) -> dict[str, tuple[int, bool]]:
    """(bits, per_channel) of each conv/dense: the first (analog input) and the last (readout)
    use their own widths; the readout shares one gamma so its logits compare across classes."""
    names = [layer["name"] for layer in spec.layers if layer["type"] in ("conv", "dense")]
    out = {}
    for i, name in enumerate(names):
        if i == len(names) - 1:
            out[name] = (spec.quant["last_bits"], False)
        elif i == 0:
            out[name] = (spec.quant["first_bits"], True)
        else:
            out[name] = (spec.quant["bits"], True)
    return out


def batch_norm_name(layer_name: str) -> str:
    """The batch norm after a weight layer (spec.train.batch_norm) is named after it."""
    return f"{layer_name}_bn"


def batch_norm_of(model, name: str):
    """The Keras batch norm after weight layer `name` in `model`, or None (batch norm off, or
    a layer not followed by a LIF)."""
    try:
        return model.get_layer(batch_norm_name(name))
    except ValueError:
        return None


def normalized_layers(spec: Spec) -> list[str]:
    """The weight layers with a batch norm after them: each one followed by a LIF (METHOD.md
    section 1: X = BN(conv(W, S))), when the spec asks for batch norm."""
    if not spec.train["batch_norm"]:
        return []
    layers = spec.layers
    return [layer["name"] for layer, nxt in zip(layers, layers[1:])
            if layer["type"] in ("conv", "dense") and nxt["type"] == "lif"]


# Batch statistics move faster than Keras' default (0.99): the networks train for a few
# hundred steps, and the moving statistics are what the deploy form folds in.
BATCH_NORM_MOMENTUM = 0.9


def build_model(spec: Spec, input_shape: tuple[int, ...], quantized: bool = True) -> keras.Model:
    """quantized=False gives the full-precision SNN of the same shape (the accuracy reference
    of the compression table, and the first model of the prune-then-quantize order)."""
    T = spec.time_steps
    bits = weight_layer_bits(spec)
    if spec.encoding == "events":       # a frame per step: time is in the batch axis from the input on
        inp = keras.Input(shape=(T,) + tuple(input_shape), name="frames")
        x = TimeFrames(T, name="time_frames")(inp)
        repeated = True
    else:
        inp = keras.Input(shape=input_shape, name="image")
        x = inp
        repeated = False
    normalized = set(normalized_layers(spec))
    for layer in spec.layers:
        kind, name = layer["type"], layer["name"]
        if kind in ("conv", "dense"):
            b, per_channel = bits[name]
            quant = ReScaW(b, spec.quant["gamma"], per_channel=per_channel) if quantized else None
            if kind == "conv":
                padding = layer["padding"]
                if padding not in ("same", "valid"):      # explicit zeros either side
                    x = keras.layers.ZeroPadding2D(tuple(padding), name=f"{name}_pad")(x)
                    padding = "valid"
                x = QConv2D(layer["filters"], layer["kernel"], strides=layer["stride"],
                            padding=padding, use_bias=layer["bias"], kernel_quantizer=quant, name=name)(x)
            else:
                x = QDense(layer["units"], use_bias=layer["bias"], kernel_quantizer=quant, name=name)(x)
            if name in normalized:
                # before the time repeat on the first layer: the same statistics, T times less work
                x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM,
                                                    name=batch_norm_name(name))(x)
            if not repeated:
                # direct encoding: the first layer's current is the same at every step
                x = RepeatTime(T, name="repeat_time")(x)
                repeated = True
        elif kind == "lif":
            x = LIF(T, tau=layer["tau"], threshold=layer["threshold"], reset=layer["reset"],
                    strict=layer.get("strict", False), name=name)(x)
        elif kind == "maxpool":
            x = keras.layers.MaxPooling2D(layer["size"], name=name)(x)
        elif kind == "sumpool":
            x = SumPool2D(name=name)(x)
        elif kind == "flatten":
            x = keras.layers.Flatten(name=name)(x)
        elif kind == "readout":
            x = TimeMean(T, gain=SPIKE_LOGIT_GAIN if layer["mode"] == "spikes" else 1.0, name=name)(x)
    return keras.Model(inp, x, name=spec.name)
