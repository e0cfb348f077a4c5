"""The deploy form: the integer-only description of a trained network (JSON + npz).

One source of truth for the golden model, the hls4ml project and the RTL. Per weight layer
(conv/dense) with b-bit ReScaW codes W_int in {0..s}, s = 2**b - 1, and input x (8-bit pixel
codes for the first layer, spikes 0/1 after it), the current in membrane units is

    X_c = 2**F * (2 * sum_i x_i * W_int[i, c]  -  s * sum_i x_i)  +  B_c

because W_q = (gamma_c / s) * (2 W_int - s). The float layer computes y_c = k_c A_c + b_c with
A_c = 2 sum x W_int - s sum x, k_c = a_c gamma_c / (s * in_scale) (in_scale = 255 for pixels, 1
for spikes) and b_c = a_c (bias_c - m_c) + beta_c, where the batch norm before the LIF (if any)
gives a_c = g_c / sqrt(v_c + eps) (METHOD.md section 7; a_c = 1, m_c = beta_c = 0 without it).
The LIF is linear between resets, so dividing the neuron by |k_c| changes no spike: the integer
bias is B_c = round(b_c 2**F / |k_c|), the next neuron's threshold theta_c = round(theta 2**F /
|k_c|), and a negative k_c complements the channel's codes (W_int -> s - W_int negates A_c). The
spiking layers keep adding codes, with no multiplier. F (quant.frac_bits) is the only
approximation knob: the leak is an arithmetic right shift of the membrane (u >> k), or the
membrane less it (u - (u >> k), `leak_complement`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass

import numpy as np

from qpsnn.spec import Spec, check_tau, leak_decay

FORMAT = "qpsnn-deploy"
VERSION = 1


@dataclass
class Deploy:
    meta: dict
    arrays: dict

    @property
    def layers(self) -> list[dict]:
        return self.meta["layers"]

    @property
    def time_steps(self) -> int:
        return self.meta["time_steps"]

    def array(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "deploy.json"), "w") as fh:
            json.dump(self.meta, fh, indent=1, sort_keys=True)
        np.savez(os.path.join(directory, "deploy.npz"), **self.arrays)

    @classmethod
    def load(cls, directory: str) -> "Deploy":
        with open(os.path.join(directory, "deploy.json")) as fh:
            meta = json.load(fh)
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(f"{directory}: not a {FORMAT} v{VERSION} deploy form")
        with np.load(os.path.join(directory, "deploy.npz")) as f:
            arrays = {k: f[k] for k in f.files}
        return cls(meta, arrays)

    def digest(self) -> str:
        h = hashlib.sha256(json.dumps(self.meta, sort_keys=True).encode())
        for k in sorted(self.arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self.arrays[k]).tobytes())
        return h.hexdigest()[:16]


def signed_width(bound: int) -> int:
    """Bits of a two's-complement integer holding every value in [-bound, bound]."""
    return int(bound).bit_length() + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow 'same' padding: (out, pad_before, pad_after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def conv_geometry(in_shape, kernel, stride, padding):
    h, w, _ = in_shape
    if padding == "same":
        oh, pt, pb = same_padding(h, kernel, stride)
        ow, pl, pr = same_padding(w, kernel, stride)
        return (oh, ow), (pt, pb, pl, pr)
    ph, pw = (0, 0) if padding == "valid" else padding
    oh, ow = (h + 2 * ph - kernel) // stride + 1, (w + 2 * pw - kernel) // stride + 1
    return (oh, ow), (ph, ph, pw, pw)


# A channel whose gain |k_c| is below this fraction of its layer's median gain is nearly
# constant (its bias alone decides its spikes): its gain is raised to the floor so that its
# threshold and bias, and with them the layer's integer widths, stay bounded.
GAIN_FLOOR = 2.0 ** -12


def folded_channels(kernel_scale: np.ndarray, bias: np.ndarray, batch_norm=None):
    """(sign_c, |k_c|, b_c) of y_c = k_c A_c + b_c: a weight layer whose one unit of A_c is worth
    kernel_scale_c (gamma_c / (s in_scale)), its bias, and the batch norm after it as Keras
    holds it (g, beta, moving mean, moving variance, epsilon) or None. |k_c| is floored at
    GAIN_FLOOR times the layer's median (a layer of zero gains is constant: unit 1)."""
    k = np.asarray(kernel_scale, np.float64)
    b = np.asarray(bias, np.float64)
    if batch_norm is not None:
        g, beta, mean, var, eps = batch_norm
        a = np.asarray(g, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
        k, b = a * k, a * (b - np.asarray(mean, np.float64)) + np.asarray(beta, np.float64)
    sign = np.where(k < 0, -1, 1).astype(np.int64)
    gain = np.abs(k)
    floor = GAIN_FLOOR * float(np.median(gain))
    return sign, np.maximum(gain, floor if floor > 0 else 1.0), b   # all-zero gains: any unit


def keras_batch_norm(model, name: str):
    """The folding parameters of the batch norm after weight layer `name`, or None."""
    from qpsnn.model.builder import batch_norm_of

    bn = batch_norm_of(model, name)
    if bn is None:
        return None
    g, beta, mean, var = [np.asarray(v, np.float64) for v in bn.get_weights()]
    return g, beta, mean, var, float(bn.epsilon)


def export_deploy(spec: Spec, model, input_shape) -> Deploy:
    """Integer deploy form of a trained QKeras model built from `spec`."""
    # TensorFlow only here: readers of the deploy form (golden, testbenches) stay light
    from qpsnn.model.builder import weight_layer_bits
    from qpsnn.model.rescaw import codes_numpy, gamma_numpy
    from qpsnn.model.weights import kernel_and_bias

    bits_of = weight_layer_bits(spec)
    F = spec.quant["frac_bits"]
    T = spec.time_steps
    arrays: dict[str, np.ndarray] = {}
    layers: list[dict] = []
    shape = list(input_shape)
    events = spec.encoding == "events"
    # largest input value of the next weight layer: a pixel code, or an event count
    x_max = spec.events["max_count"] if events else 255
    input_bits = x_max.bit_length()
    is_analog = True       # the first layer: its input is not spikes
    pending_scale = None   # q_c of the last weight layer, for the next neuron's threshold
    x_bound = 0            # bound of |X| of the last weight layer
    for layer in spec.layers:
        kind, name = layer["type"], layer["name"]
        entry: dict = {"name": name, "type": kind, "in_shape": list(shape)}
        if kind in ("conv", "dense"):
            kernel, bias = kernel_and_bias(model, name)
            b, per_channel = bits_of[name]
            s = 2**b - 1
            gamma = gamma_numpy(kernel, spec.quant["gamma"], per_channel)
            codes = codes_numpy(kernel, b, gamma)
            in_scale = 255.0 if is_analog and not events else 1.0
            sign, q, folded_bias = folded_channels(gamma.astype(np.float64) / (s * in_scale), bias,
                                                   keras_batch_norm(model, name))
            codes = np.where(sign < 0, s - codes, codes)     # negates A_c: the sign of k_c
            bias_int = np.round(folded_bias * 2**F / q).astype(np.int64)
            if kind == "conv":
                k, st = layer["kernel"], layer["stride"]
                (oh, ow), pads = conv_geometry(shape, k, st, layer["padding"])
                taps = k * k * shape[2]
                out_shape = [oh, ow, layer["filters"]]
                entry.update(kernel=k, stride=st, padding=list(pads))
            else:
                taps = shape[0]
                out_shape = [layer["units"]]
            # the widest sum these weights can make with every input at most x_max (not taps *
            # x_max * s, every weight at its largest): a bit or more off each current's width
            # down the line, as FINN's MinimizeAccumulatorWidth takes it from the weights
            weight_values = 2 * codes.reshape(taps, -1).astype(np.int64) - s
            acc_bound = x_max * int(np.abs(weight_values).sum(axis=0).max(initial=0))
            x_bound = acc_bound * 2**F + int(np.abs(bias_int).max())
            arrays[f"{name}.weights"] = codes.astype(np.int64)
            arrays[f"{name}.bias"] = bias_int
            entry.update(input=("events" if events else "analog") if is_analog else "spikes" if x_max == 1 else "counts",
                         input_bits=input_bits if is_analog else x_max.bit_length(),
                         bits=b, offset_s=s, frac_bits=F, out_shape=out_shape,
                         acc_bits=signed_width(acc_bound + 1), out_bits=signed_width(x_bound),
                         weights=f"{name}.weights", bias=f"{name}.bias")
            arrays[f"{name}.scale"] = q  # float, for reports only: |k_c|, one unit of the current
            pending_scale = q
            shape = out_shape
            is_analog, x_max = False, 1
        elif kind == "lif":
            k, complement = check_tau(layer["tau"], name)
            scaled = layer["threshold"] * 2**F / pending_scale
            # u >= theta_int: at or above the threshold; strict (NIR's v > threshold): the next integer
            theta = (np.floor(scaled) + 1 if layer.get("strict") else np.round(scaled)).astype(np.int64)
            theta = np.maximum(theta, 1)
            decay = leak_decay(k, complement)
            # the complement's u - floor(u / 2^k) is at most one above decay * u per step
            u_bound = int(math.ceil(x_bound * sum(decay ** j for j in range(T)))) + T * complement + int(theta.max())
            arrays[f"{name}.threshold"] = theta
            entry.update(out_shape=list(shape), leak_shift=k, leak_complement=complement, reset=layer["reset"],
                         threshold=f"{name}.threshold", membrane_bits=signed_width(u_bound))
        elif kind in ("maxpool", "sumpool"):
            p = layer["size"]
            shape = [shape[0] // p, shape[1] // p, shape[2]]
            entry.update(size=p, out_shape=list(shape))
            if kind == "sumpool":      # the next layer's inputs: counts of up to p * p * x_max
                entry.update(in_bits=x_max.bit_length(), out_bits=(x_max * p * p).bit_length())
                x_max *= p * p
        elif kind == "flatten":
            shape = [int(np.prod(shape))]
            entry.update(out_shape=list(shape))
        elif kind == "readout":
            entry.update(mode=layer["mode"], out_shape=list(shape))
        layers.append(entry)
    meta = {"format": FORMAT, "version": VERSION, "name": spec.name, "time_steps": T,
            "input": {"shape": list(input_shape), "bits": input_bits, "encoding": spec.encoding,
                      **({"max_count": spec.events["max_count"]} if events else {})}, "layers": layers}
    return Deploy(meta, arrays)
