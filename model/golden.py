"""The golden model: the deploy form run in plain numpy integer arithmetic.

It is the reference that the hls4ml C simulation and the RTL must match bit for bit. Every
tensor is int64; spikes are 0/1. Time is an explicit axis: (N, T, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qpsnn.model.deploy import Deploy


@dataclass
class GoldenTrace:
    logits: np.ndarray                           # (N, T, K) readout current at every step
    spikes: dict = field(default_factory=dict)   # LIF layer name -> (N, T, ...) 0/1
    currents: dict = field(default_factory=dict)  # weight layer name -> (N, T, ...) X

    @property
    def accumulated(self) -> np.ndarray:
        return self.logits.sum(axis=1)

    @property
    def prediction(self) -> np.ndarray:
        return readout_class(self.logits)


def readout_class(logits: np.ndarray) -> np.ndarray:
    """The class of each image: argmax over classes of the readout membrane accumulated over
    the steps (N, T, K) -> (N,); the lowest class on ties (the RTL readout scans the same way)."""
    return np.argmax(logits.sum(axis=1), axis=1)


def im2col(x: np.ndarray, kernel: int, stride: int, pads) -> np.ndarray:
    """(M, H, W, C) -> (M, OH, OW, kernel*kernel*C), taps ordered (ky, kx, c) like a Keras kernel."""
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    m, h, w, c = xp.shape
    oh = (h - kernel) // stride + 1
    ow = (w - kernel) // stride + 1
    cols = np.empty((m, oh, ow, kernel, kernel, c), dtype=x.dtype)
    for ky in range(kernel):
        for kx in range(kernel):
            cols[:, :, :, ky, kx, :] = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, :]
    return cols.reshape(m, oh, ow, kernel * kernel * c)


def accumulate(x: np.ndarray, codes: np.ndarray, s: int) -> np.ndarray:
    """ReScaW accumulate: 2 * sum x*W_int - s * sum x over the last axis of x.

    With spikes as x this is additions of weight codes and a popcount: no multipliers."""
    x = x.astype(np.int64)
    return 2 * exact_matmul(x, codes) - s * x.sum(axis=-1, keepdims=True)


def exact_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w of int64 arrays, exactly. Through float64 BLAS (tens of times faster than numpy's
    integer loop) when every partial sum is an integer below 2**53, which float64 holds
    exactly; in int64 otherwise."""
    bound = int(np.abs(x).max(initial=0)) * int(np.abs(w).max(initial=0)) * x.shape[-1]
    if bound < 2**53:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x @ w


def _pool_windows(x: np.ndarray, p: int) -> np.ndarray:
    """The p x p windows of the last three axes (H, W, C): (..., OH, p, OW, p, C)."""
    lead = x.shape[:-3]
    h, w, c = x.shape[-3:]
    oh, ow = h // p, w // p
    return x[..., :oh * p, :ow * p, :].reshape(lead + (oh, p, ow, p, c))


def maxpool(x: np.ndarray, p: int) -> np.ndarray:
    """Max over p x p windows of the last three axes (H, W, C); on spikes, an OR."""
    return _pool_windows(x, p).max(axis=(-4, -2))


def sumpool(x: np.ndarray, p: int) -> np.ndarray:
    """Sum over p x p windows of the last three axes (H, W, C): spike counts (Sinabs' SumPool2d)."""
    return _pool_windows(x, p).sum(axis=(-4, -2))


def weight_layer(layer: dict, deploy: Deploy, x: np.ndarray) -> np.ndarray:
    """x: (M, ...) integer input of one time step (or the analog image); returns X (M, ...)."""
    codes = deploy.array(layer["weights"])
    bias = deploy.array(layer["bias"])
    if layer["type"] == "conv":
        cols = im2col(x, layer["kernel"], layer["stride"], layer["padding"])
        acc = accumulate(cols, codes.reshape(-1, codes.shape[-1]), layer["offset_s"])
    else:
        acc = accumulate(x, codes, layer["offset_s"])
    return acc * (1 << layer["frac_bits"]) + bias


def lif(layer: dict, deploy: Deploy, current: np.ndarray) -> np.ndarray:
    """current: (N, T, ..., C); hard or soft reset; leak = arithmetic shift right (floor) by k,
    or the membrane less that shift (leak_complement: tau = 1 - 2^-k)."""
    theta = deploy.array(layer["threshold"])
    k = layer["leak_shift"]
    complement = layer.get("leak_complement", False)
    u = np.zeros_like(current[:, 0])
    spikes = np.zeros(current.shape, dtype=np.int64)
    for t in range(current.shape[1]):
        u = (u - (u >> k) if complement else u >> k) + current[:, t]
        s = (u >= theta).astype(np.int64)
        spikes[:, t] = s
        u = u * (1 - s) if layer["reset"] == "hard" else u - theta * s
    return spikes


# The largest intermediate (a conv's windows, int64 and their float64 copy) a batch of images
# may make: the images go through in batches below it, so memory does not grow with their number.
BATCH_BYTES = 1 << 30


def batch_images(deploy: Deploy) -> int:
    """Images per batch: the widest conv's windows of one image over T steps kept under BATCH_BYTES."""
    per_image = 1
    for layer in deploy.layers:
        if layer["type"] == "conv":
            oh, ow = layer["out_shape"][:2]
            per_image = max(per_image, 16 * deploy.time_steps * oh * ow * layer["kernel"] ** 2 * layer["in_shape"][-1])
    return max(1, BATCH_BYTES // per_image)


def run_golden(deploy: Deploy, images: np.ndarray, keep_currents: bool = False) -> GoldenTrace:
    """images: (N, H, W, C) uint8 codes, the image at every step (direct encoding), or event
    frames (N, T, H, W, C) of counts, a frame per step. The spikes of every LIF layer are kept
    (int8), the weight layers' currents only when asked (int64: large)."""
    batch = batch_images(deploy)
    if len(images) <= batch:
        return _run_golden(deploy, images, keep_currents)
    parts = [_run_golden(deploy, images[i:i + batch], keep_currents) for i in range(0, len(images), batch)]
    return GoldenTrace(logits=np.concatenate([p.logits for p in parts]),
                       spikes={k: np.concatenate([p.spikes[k] for p in parts]) for k in parts[0].spikes},
                       currents={k: np.concatenate([p.currents[k] for p in parts]) for k in parts[0].currents})


def _run_golden(deploy: Deploy, images: np.ndarray, keep_currents: bool) -> GoldenTrace:
    T = deploy.time_steps
    x = np.asarray(images).astype(np.int64)
    n = x.shape[0]
    # True once the input has its time axis: event frames have it; an image gets it after the
    # first weight layer, whose current is computed once and repeated over T
    timed = x.ndim == 5
    trace = GoldenTrace(logits=np.zeros((n, T, 0), np.int64))
    for layer in deploy.layers:
        kind = layer["type"]
        if kind in ("conv", "dense"):
            if not timed:
                cur = weight_layer(layer, deploy, x)  # computed once, integrated T times
                x = np.repeat(cur[:, None], T, axis=1)
                timed = True
            else:
                flat = x.reshape((n * T,) + x.shape[2:])
                x = weight_layer(layer, deploy, flat).reshape((n, T) + tuple(layer["out_shape"]))
            if keep_currents:
                trace.currents[layer["name"]] = x
        elif kind == "lif":
            x = lif(layer, deploy, x)
            trace.spikes[layer["name"]] = x.astype(np.int8)
        elif kind == "maxpool":
            x = maxpool(x, layer["size"])
        elif kind == "sumpool":
            x = sumpool(x, layer["size"])
        elif kind == "flatten":
            x = x.reshape(x.shape[:1 + timed] + (-1,))
        elif kind == "readout":
            trace.logits = x
    return trace
