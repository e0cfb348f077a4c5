"""Channel pruning the QP-SNN way (METHOD.md sections 4 and 5): score every output channel of
the hidden convolutions, keep the best, remove the rest physically, fine-tune.

Scores (higher = keep), each a small function registered in SCORERS:
  svs     mean over samples of the numerical rank (#singular values > eps) of the channel's
          time-averaged spike map (H x W)
  sca     mean over samples, time and pixels of |pre-reset membrane| of the channel
  l1      L1 norm of the channel's kernel weights
  random  a seeded random permutation (the control)

Removing channel c of a conv removes its kernel slice, its bias and (through the LIF, max-pool
and flatten that follow) the matching inputs of the next weight layer, so the result is a
smaller spec and a smaller QKeras model, not a mask; the deploy form, the golden model, the
hls4ml project and the RTL take it like any other network.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Callable

import numpy as np

from qpsnn.spec import Spec, infer_shapes, kept_channels

SCORERS: dict[str, Callable] = {}


def scorer(name: str):
    def register(fn):
        SCORERS[name] = fn
        return fn
    return register


class ScoreContext:
    """What a scorer may look at: the model, its spec, and the LIF traces of the scoring
    batches (computed lazily, once, for the scorers that need them)."""

    def __init__(self, model, spec: Spec, data, targets: list[str]):
        self.model, self.spec, self.data, self.targets = model, spec, data, targets
        self.svd_s = 0.0
        self._batches = None

    def lif_after(self, name: str):
        names = [layer["name"] for layer in self.spec.layers]
        return self.model.get_layer(names[names.index(name) + 1])

    def batches(self):
        """Yield {target: (spikes, pre_reset)} per batch, both (B, T, H, W, C) numpy arrays,
        on a seeded draw of `batches x batch_size` training images."""
        from tensorflow import keras

        from qpsnn.model.train import scaled

        cfg = self.spec.prune
        rng = np.random.default_rng(cfg["seed"])
        n = min(cfg["batches"] * cfg["batch_size"], len(self.data.x_train))
        order = rng.permutation(len(self.data.x_train))[:n]
        lifs = [self.lif_after(t) for t in self.targets]
        probe = keras.Model(self.model.input, [lif.input for lif in lifs])
        for start in range(0, n, cfg["batch_size"]):
            images = scaled(self.data.x_train[order[start:start + cfg["batch_size"]]])
            currents = probe(images, training=False)
            if len(lifs) == 1:
                currents = [currents]
            out = {}
            for target, lif, current in zip(self.targets, lifs, currents):
                spikes, pre = lif.membrane_trace(current)
                out[target] = (spikes.numpy(), pre.numpy())
            yield out


def mean_over_samples(ctx: ScoreContext, per_batch) -> dict[str, np.ndarray]:
    """Mean over the scoring samples of per_batch(spikes, pre_reset) -> per-channel sums
    over the batch's samples."""
    sums = {t: 0.0 for t in ctx.targets}
    count = 0
    for batch in ctx.batches():
        for t, (spikes, pre) in batch.items():
            sums[t] = sums[t] + per_batch(spikes, pre)
        count += len(spikes if spikes is not None else pre)   # samples in this batch
    return {t: np.asarray(v, np.float64) / count for t, v in sums.items()}


@scorer("svs")
def svs_scores(ctx: ScoreContext) -> dict[str, np.ndarray]:
    eps = ctx.spec.prune["eps"]

    def ranks(spikes, _):
        avg = spikes.mean(axis=1).transpose(0, 3, 1, 2)          # (B, C, H, W)
        start = time.perf_counter()
        sv = np.linalg.svd(avg.astype(np.float64), compute_uv=False)
        ctx.svd_s += time.perf_counter() - start
        return (sv > eps).sum(axis=-1).sum(axis=0)               # rank per channel, summed

    return mean_over_samples(ctx, ranks)


@scorer("sca")
def sca_scores(ctx: ScoreContext) -> dict[str, np.ndarray]:
    return mean_over_samples(ctx, lambda _, pre: np.abs(pre).mean(axis=(1, 2, 3)).sum(axis=0))


@scorer("l1")
def l1_scores(ctx: ScoreContext) -> dict[str, np.ndarray]:
    out = {}
    for t in ctx.targets:
        kernel = ctx.model.get_layer(t).get_weights()[0]
        out[t] = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0).astype(np.float64)
    return out


@scorer("random")
def random_scores(ctx: ScoreContext) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(ctx.spec.prune["seed"])
    return {t: rng.permutation(ctx.model.get_layer(t).get_weights()[0].shape[-1]).astype(np.float64)
            for t in ctx.targets}


def choose(scores: np.ndarray, keep: int) -> np.ndarray:
    """Indices of the `keep` highest scores, ascending; ties go to the lower index."""
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:keep])


def score_channels(model, spec: Spec, data) -> tuple[dict, dict]:
    """Scores of every channel of the layers named in prune.ratios, and the timing."""
    targets = [name for name in spec.prune["ratios"]]
    ctx = ScoreContext(model, spec, data, targets)
    start = time.perf_counter()
    scores = SCORERS[spec.prune["method"]](ctx)
    timing = {"scoring_s": round(time.perf_counter() - start, 4), "svd_s": round(ctx.svd_s, 4),
              "samples": min(spec.prune["batches"] * spec.prune["batch_size"], len(data.x_train))}
    return scores, timing


def prune_spec_and_weights(spec: Spec, model, input_shape, keep: dict[str, np.ndarray]):
    """The smaller spec and the weights {layer: [kernel, bias], its batch norm: [g, beta, mean,
    var]} with the channels in `keep` (layer -> kept output channel indices) and the matching
    next-layer inputs removed."""
    from qpsnn.model.builder import batch_norm_name, batch_norm_of
    from qpsnn.model.weights import kernel_and_bias, weight_names

    shapes = infer_shapes(spec, input_shape)
    layers = copy.deepcopy(spec.layers)
    weights = {}
    in_keep = None        # kept channel indices of the current tensor, None = all
    shape = tuple(input_shape)
    for layer, out_shape in zip(layers, shapes):
        kind, name = layer["type"], layer["name"]
        if kind in ("conv", "dense"):
            kernel, bias = kernel_and_bias(model, name)
            if in_keep is not None:
                kernel = kernel[..., in_keep, :] if kind == "conv" else kernel[in_keep, :]
            kept = keep.get(name)
            if kept is not None:
                kernel, bias = kernel[..., kept], bias[kept]
                layer["filters"] = int(len(kept))
            norm = batch_norm_of(model, name)
            if norm is not None:          # its scale, shift and statistics go with the channels
                weights[batch_norm_name(name)] = [v if kept is None else v[kept] for v in norm.get_weights()]
            in_keep = kept
            weights[name] = [{"kernel": kernel, "bias": bias}[weight] for weight in weight_names(layer)]
        elif kind == "flatten" and in_keep is not None:
            h, w, c = shape
            in_keep = np.arange(h * w * c).reshape(h, w, c)[:, :, in_keep].ravel()
        shape = out_shape
    return dataclasses.replace(spec, layers=layers), weights


def prune_model(spec: Spec, model, data, verbose: int | None = None, checkpoints=None):
    """Score, remove and fine-tune. Returns (pruned spec, fine-tuned quantized model, info)."""
    from qpsnn.model.builder import build_model
    from qpsnn.model.train import fit, set_seed

    scores, timing = score_channels(model, spec, data)
    filters = {layer["name"]: layer["filters"] for layer in spec.layers if layer["type"] == "conv"}
    keep = {name: choose(scores[name], kept_channels(filters[name], ratio))
            for name, ratio in spec.prune["ratios"].items()}
    pruned_spec, weights = prune_spec_and_weights(spec, model, data.input_shape, keep)
    set_seed(spec.train["seed"] + 1)
    pruned = build_model(pruned_spec, data.input_shape, quantized=True)
    for name, w in weights.items():
        pruned.get_layer(name).set_weights(w)
    fit(pruned, pruned_spec, data, spec.prune["finetune_epochs"], verbose, checkpoints, "finetune")
    info = {"method": spec.prune["method"], "order": spec.prune["order"], "ratios": dict(spec.prune["ratios"]),
            "channels": {name: [filters[name], int(len(k))] for name, k in keep.items()},
            "kept": {name: [int(i) for i in k] for name, k in keep.items()},
            "scores": {name: [float(v) for v in s] for name, s in scores.items()},
            "finetune_epochs": spec.prune["finetune_epochs"], **timing}
    return pruned_spec, pruned, info


def train_compressed(spec: Spec, data, verbose: int | None = None, checkpoints=None):
    """The whole compression: quantization-aware training, then (if ratios are given) pruning
    and fine-tuning; with prune.order 'prune_first' the first training is full precision and
    quantization starts at the fine-tuning. Returns (spec of the result, model, pruning info)."""
    from qpsnn.model.keys import first_quantized
    from qpsnn.model.train import train_model

    first = train_model(spec, data, verbose, quantized=first_quantized(spec), checkpoints=checkpoints)
    if not spec.prune["ratios"]:
        return spec, first, None
    return prune_model(spec, first, data, verbose, checkpoints)
