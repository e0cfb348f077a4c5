"""Quantization-aware training of the spiking model (BPTT through T with the surrogate), with
per-epoch checkpoints so that an interrupted run resumes at its last finished epoch."""

from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import tensorflow as tf

from qpsnn.model.builder import build_model
from qpsnn.model.data import DataSet
from qpsnn.model.keys import model_key
from qpsnn.spec import Spec


def set_seed(seed: int) -> None:
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def scaled(images_u8: np.ndarray) -> np.ndarray:
    """The float model sees pixel codes / 255 (the deploy form folds the 255 into its scale),
    and event frames (N, T, H, W, C) as their counts."""
    x = images_u8.astype(np.float32)
    return x if x.ndim == 5 else x / 255.0


def progress_verbosity() -> int:
    """Keras' progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


class Checkpoints:
    """Weights and optimizer state after every epoch of each training phase ('train',
    'finetune'), in `directory`, for one training key. A resumed run continues from the last
    finished epoch, with the same order and augmentation per epoch as an uninterrupted run."""

    def __init__(self, directory: str, key: str):
        self.directory, self.key = directory, key

    def _state_path(self, phase: str) -> str:
        return os.path.join(self.directory, f"{phase}.json")

    def done_epochs(self, phase: str) -> int:
        try:
            with open(self._state_path(phase)) as fh:
                state = json.load(fh)
        except (OSError, ValueError):
            return 0
        return int(state["epoch"]) if state.get("key") == self.key else 0

    def restore(self, phase: str, model, optimizer) -> int:
        done = self.done_epochs(phase)
        if done:
            tf.train.Checkpoint(model=model, optimizer=optimizer).read(
                os.path.join(self.directory, phase, "ckpt")).expect_partial()
        return done

    def callback(self, phase: str, model, optimizer):
        outer = self

        class SaveEpoch(tf.keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                tf.train.Checkpoint(model=model, optimizer=optimizer).write(
                    os.path.join(outer.directory, phase, "ckpt"))
                tmp = outer._state_path(phase) + ".tmp"
                with open(tmp, "w") as fh:
                    json.dump({"key": outer.key, "epoch": epoch + 1}, fh)
                os.replace(tmp, outer._state_path(phase))  # the epoch counts only once written

        return SaveEpoch()

    def clear(self, phase: str | None = None) -> None:
        """Forget every phase, or one."""
        if phase is None:
            shutil.rmtree(self.directory, ignore_errors=True)
            return
        shutil.rmtree(os.path.join(self.directory, phase), ignore_errors=True)
        if os.path.exists(self._state_path(phase)):
            os.remove(self._state_path(phase))


def augment(images_u8: np.ndarray, rng: np.random.Generator, shift: int, rotate: float) -> np.ndarray:
    """Scaled images (float32, codes / 255), each moved by a random whole-pixel shift in
    [-shift, shift] per axis and turned by a random angle in [-rotate, rotate] degrees about its
    centre (bilinear, zeros outside): the training set's seeded augmentation."""
    x = scaled(images_u8)
    if not shift and not rotate:
        return x
    from scipy.ndimage import map_coordinates

    n, h, w, channels = x.shape
    angle = np.deg2rad(rng.uniform(-rotate, rotate, n))[:, None, None]
    dy, dx = rng.integers(-shift, shift + 1, (2, n))[:, :, None, None]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    y0, x0 = rows[None] - cy - dy, cols[None] - cx - dx     # output pixel -> source, inverse map
    src_y = np.cos(angle) * y0 - np.sin(angle) * x0 + cy
    src_x = np.sin(angle) * y0 + np.cos(angle) * x0 + cx
    image = np.broadcast_to(np.arange(n)[:, None, None], src_y.shape)
    out = np.empty_like(x)
    for c in range(channels):   # order 1 on the image axis at whole coordinates: no mixing of images
        out[..., c] = map_coordinates(x[..., c], [image, src_y, src_x], order=1, mode="constant", cval=0.0)
    return out


def learning_rate(spec: Spec, epochs: int, steps_per_epoch: int):
    """train.lr, constant or decaying to 0 along a cosine over the phase's epochs."""
    if spec.train["schedule"] == "cosine":
        return tf.keras.optimizers.schedules.CosineDecay(spec.train["lr"], max(epochs * steps_per_epoch, 1))
    return spec.train["lr"]


def optimizer_for(spec: Spec, epochs: int, steps_per_epoch: int):
    """Adam (AdamW when train.weight_decay > 0; batch norm and biases are not decayed) on the
    spec's learning rate."""
    lr = learning_rate(spec, epochs, steps_per_epoch)
    if spec.train["weight_decay"] > 0:
        optimizer = tf.keras.optimizers.AdamW(lr, weight_decay=spec.train["weight_decay"])
        optimizer.exclude_from_weight_decay(var_names=["_bn", "bias"])
        return optimizer
    return tf.keras.optimizers.Adam(lr)


def fit(model, spec: Spec, data: DataSet, epochs: int, verbose: int | None = None,
        checkpoints: Checkpoints | None = None, phase: str = "train"):
    """Train `model` in place up to `epochs` with the spec's recipe (resuming from
    `checkpoints` when they hold finished epochs of this phase). Each epoch's order and
    augmentation come from (train.seed, phase, epoch) alone, so an epoch is the same whether
    the run was interrupted before it or not."""
    steps = -(-len(data.x_train) // spec.train["batch_size"])
    optimizer = optimizer_for(spec, epochs, steps)
    model.compile(optimizer=optimizer, loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start, callbacks = 0, []
    if checkpoints is not None:
        start = min(checkpoints.restore(phase, model, optimizer), epochs)
        if start:
            print(f"[qpsnn] {phase}: resuming after epoch {start} of {epochs}", flush=True)
        callbacks.append(checkpoints.callback(phase, model, optimizer))
    if epochs > start:
        model.fit(epoch_batches(spec, data, PHASES.index(phase), start, epochs), steps_per_epoch=steps,
                  epochs=epochs, initial_epoch=start, callbacks=callbacks,
                  verbose=progress_verbosity() if verbose is None else verbose)
    return model


def epoch_batches(spec: Spec, data: DataSet, phase_id: int, start: int, epochs: int):
    """The training batches of epochs start..epochs-1: each epoch's order and augmentation come
    from (train.seed, phase, epoch) alone."""
    batch_size = spec.train["batch_size"]
    for epoch in range(start, epochs):
        rng = np.random.default_rng([spec.train["seed"], phase_id, epoch])
        order = rng.permutation(len(data.x_train))
        y = data.y_train[order]
        if not spec.train["shift"] and not spec.train["rotate"]:
            # scaled a batch at a time: an epoch of event frames as float32 would not fit in
            # memory (8,000 samples of 100 frames of 34x34x2: 7.4 GB)
            for first in range(0, len(order), batch_size):
                yield scaled(data.x_train[order[first:first + batch_size]]), y[first:first + batch_size]
            continue
        x = augment(data.x_train[order], rng, spec.train["shift"], spec.train["rotate"])
        for first in range(0, len(x), batch_size):
            yield x[first:first + batch_size], y[first:first + batch_size]


PHASES = ("train", "finetune")


def train_model(spec: Spec, data: DataSet, verbose: int | None = None, quantized: bool = True,
                checkpoints: Checkpoints | None = None):
    """A model of `spec`, freshly initialised (seeded: deterministic) or given the weights of
    train.init, trained for train.epochs (0: the initial weights as they are)."""
    set_seed(spec.train["seed"])
    model = build_model(spec, data.input_shape, quantized=quantized)
    if spec.train["init"]:
        from qpsnn.model.weights import read_weights, set_model_weights
        set_model_weights(model, spec, read_weights(spec.train["init"], spec, data.input_shape))
    return fit(model, spec, data, spec.train["epochs"], verbose, checkpoints, "train")


def float_predict(model, images_u8: np.ndarray, batch_size: int = 256) -> np.ndarray:
    logits = model.predict(scaled(images_u8), batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=1)


def save_model(directory: str, model, meta: dict) -> None:
    """A model's weights (weights.h5) and what it is (model.json: its key and more)."""
    os.makedirs(directory, exist_ok=True)
    model.save_weights(os.path.join(directory, "weights.h5"))
    with open(os.path.join(directory, "model.json"), "w") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)


def load_model(directory: str, key: str, build):
    """(model, meta) from a directory save_model wrote with this key, the model made by
    `build()` and given the saved weights; None when missing, of another key, or the weights
    do not fit."""
    try:
        with open(os.path.join(directory, "model.json")) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key:
        return None
    model = build()
    try:
        model.load_weights(os.path.join(directory, "weights.h5"))
    except (OSError, ValueError):
        return None
    return model, meta


def save_trained(directory: str, spec: Spec, model, pruning: dict | None) -> None:
    """The finished model: its weights and {key, pruning} (the key of the spec as given)."""
    save_model(directory, model, {"key": model_key(spec), "pruning": pruning})


def load_trained(directory: str, spec: Spec, input_shape):
    """(spec of the model, model, pruning info) from a directory save_trained wrote for a spec
    with the same model key, else None (missing, another key, or weights that do not fit)."""
    from qpsnn.spec import after_pruning
    # the finished model is quantized, and as narrow as the pruning made it (the spec's knobs kept)
    model_spec = after_pruning(spec) if spec.prune["ratios"] else spec
    loaded = load_model(directory, model_key(spec),
                        lambda: build_model(model_spec, input_shape, quantized=True))
    return None if loaded is None else (model_spec, loaded[0], loaded[1].get("pruning"))
