"""1-D test signals for reconstruction experiments (docs/theory.md section 6; Lucey Fig. 6).

* :func:`load_signal` -- a 1-D signal from a ``.npy``/``.csv`` file, a row of an image file, or a
  row of one of the 512 x 512 test images that PyWavelets ships (``"camera"`` -- the default --,
  ``"ascent"``, ``"aero"``; usable offline). Image rows are scaled to [0, 1].
* :func:`resample` -- a signal given on an even grid of [0, 1] evaluated at other positions.
* :func:`psnr` -- peak signal-to-noise ratio in dB.
* :func:`dst_basis` / :func:`dst_fit` -- the discrete-sine-transform baseline: least squares on
  the first ``k`` sine functions ``sin(pi j x)``, ``j = 1..k`` (pinned to zero at both ends).
* :func:`dst_matrix` -- the orthonormal DST-I..IV bases as matrices (rows = basis vectors).

>>> import numpy as np
>>> row = load_signal()                       # row 256 of pywt.data.camera(), in [0, 1]
>>> row.shape, bool(0 <= row.min() <= row.max() <= 1)
((512,), True)
>>> x = np.linspace(0, 1, 64)
>>> y = resample(row, x)                      # 64 evenly spaced samples of the row
>>> fit = dst_fit(x, y, 16, np.linspace(0, 1, 512))
>>> bool(psnr(row, fit) > 10)
True
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ._validation import ParameterError, check_array, check_scalar

__all__ = ["load_signal", "resample", "psnr", "dst_basis", "dst_fit", "dst_matrix", "BUILTIN_IMAGES"]

BUILTIN_IMAGES = ("camera", "ascent", "aero")
DEFAULT_ROW = 256
#: Largest image (pixels) or numeric array (values) :func:`load_signal` reads: 8192 x 8192,
#: 512 MiB as float64. Larger files are refused before they are decoded.
MAX_VALUES = 8192 * 8192
#: Largest ``.csv``/``.txt`` file :func:`load_signal` parses, in bytes.
MAX_TEXT_BYTES = 256 * 1024**2


def _builtin_image(name: str) -> np.ndarray:
    import pywt.data

    return np.asarray(getattr(pywt.data, name)(), dtype=np.float64) / 255.0


def _read_image(path: Path) -> np.ndarray:
    """Grey levels of an image file scaled to [0, 1] (8-bit by 255, 16-bit by 65535)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # PIL warns (and from twice its limit raises) on images it considers bombs
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ParameterError(
            f"The image {str(path)!r} is too large to read ({exc}). load_signal reads images of "
            f"at most {MAX_VALUES} pixels."
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ParameterError(f"Could not read an image from {str(path)!r}: {exc}.") from None
    width, height = im.size
    if width * height > MAX_VALUES:
        im.close()
        raise ParameterError(
            f"The image {str(path)!r} has {width} x {height} = {width * height} pixels, more than "
            f"the {MAX_VALUES} (8192 x 8192) load_signal reads."
        )
    try:
        with im, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if im.mode.startswith("I;16"):
                arr, peak = np.asarray(im, dtype=np.float64), 65535.0
            elif im.mode in ("I", "F"):
                arr = np.asarray(im, dtype=np.float64)
                peak = max(float(np.max(np.abs(arr))), 1.0)
            else:
                arr, peak = np.asarray(im.convert("L"), dtype=np.float64), 255.0
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, ValueError, EOFError) as exc:
        raise ParameterError(f"Could not read an image from {str(path)!r}: {exc}.") from None
    return arr / peak


def _read_npy(path: Path) -> np.ndarray:
    """A numeric array from a ``.npy`` file, memory-mapped (nothing is read beyond the header
    until used); refused when empty, corrupt or larger than :data:`MAX_VALUES`."""
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except EOFError:
        raise ParameterError(f"Could not read {str(path)!r} as a numeric .npy: the file is "
                             "empty.") from None
    except (ValueError, OSError) as exc:
        raise ParameterError(f"Could not read {str(path)!r} as a numeric .npy: "
                             f"{str(exc).rstrip('.')}.") from None
    if not isinstance(data, np.ndarray):  # e.g. an .npz archive under a .npy name
        close = getattr(data, "close", None)
        if close is not None:
            close()
        raise ParameterError(f"Could not read {str(path)!r} as a numeric .npy: it holds "
                             f"{type(data).__name__}, not one array.")
    if data.size > MAX_VALUES:
        raise ParameterError(
            f"The file {str(path)!r} holds an array of shape {data.shape} ({data.size} values), "
            f"more than the {MAX_VALUES} load_signal reads."
        )
    return data


def load_signal(source=None, row: int | None = None) -> np.ndarray:
    """Load a 1-D signal (docs/theory.md section 6).

    Parameters
    ----------
    source : str, path or None
        ``None`` or ``"camera"`` / ``"ascent"`` / ``"aero"``: a row of that PyWavelets test image;
        a ``.npy`` file (1-D, or 2-D with ``row``); a ``.csv``/``.txt`` file of numbers (one
        column or one row; 2-D with ``row``); any other path is read as an image (converted to
        grey levels) and ``row`` picks the row.
    row : int, optional
        Row of a 2-D source; default 256 for the built-in images and the middle row otherwise.
        Negative values count from the end.

    Returns
    -------
    ndarray, shape (L,), float64. Image rows are scaled to [0, 1]; numeric files are returned
    as stored.

    Examples
    --------
    >>> load_signal("ascent", row=10).shape
    (512,)
    >>> load_signal("nope.npy")
    Traceback (most recent call last):
    ...
    specbias._validation.ParameterError: The 'source' parameter of load_signal must be an existing file or one of ('camera', 'ascent', 'aero'). Got 'nope.npy' instead.
    """
    if source is None:
        source = "camera"
    if isinstance(source, str) and source.lower() in BUILTIN_IMAGES:
        data = _builtin_image(source.lower())
    else:
        if not isinstance(source, str | Path):
            raise ParameterError(
                "The 'source' parameter of load_signal must be a path or one of "
                f"{BUILTIN_IMAGES}. Got {type(source).__name__} instead."
            )
        path = Path(source)
        if not path.is_file():
            raise ParameterError(
                "The 'source' parameter of load_signal must be an existing file or one of "
                f"{BUILTIN_IMAGES}. Got {str(source)!r} instead."
            )
        suffix = path.suffix.lower()
        if suffix == ".npy":
            data = _read_npy(path)
        elif suffix in (".csv", ".txt"):
            if path.stat().st_size > MAX_TEXT_BYTES:
                raise ParameterError(
                    f"The file {str(path)!r} has {path.stat().st_size} bytes, more than the "
                    f"{MAX_TEXT_BYTES} load_signal parses as text; save the signal as .npy."
                )
            try:
                data = np.loadtxt(path, delimiter="," if suffix == ".csv" else None, ndmin=2)
            except ValueError as exc:
                raise ParameterError(f"Could not read {str(path)!r} as numbers: {exc}.") from None
            if 1 in data.shape and row is None:
                data = data.ravel()
        else:
            data = _read_image(path)
    data = check_array(data, "source", owner="load_signal", ndim=(1, 2), min_size=2)
    if data.ndim == 2:
        n_rows = data.shape[0]
        if row is None:
            row = DEFAULT_ROW if n_rows > DEFAULT_ROW and isinstance(source, str) and \
                source.lower() in BUILTIN_IMAGES else n_rows // 2
        row = check_scalar(row, "row", kind=int, owner="load_signal", min_val=-n_rows,
                           max_val=n_rows - 1)
        data = data[row]
    elif row is not None:
        raise ParameterError(
            f"The 'row' parameter of load_signal applies to 2-D sources only; {source!r} is 1-D."
        )
    if data.size < 2:
        raise ParameterError("The signal must have at least 2 samples.")
    return np.array(data, dtype=np.float64, order="C")  # a copy: never a view of a mapped file


def resample(signal, x, kind: str = "linear") -> np.ndarray:
    """Evaluate a signal given on the even grid ``linspace(0, 1, L)`` at positions ``x``.

    ``kind="linear"`` interpolates linearly (exact at grid points); ``"nearest"`` picks the
    nearest sample.

    >>> resample([0.0, 1.0, 4.0], [0.25, 0.5, 1.0]).tolist()
    [0.5, 1.0, 4.0]
    """
    sig = check_array(signal, "signal", owner="resample", ndim=1, min_size=2)
    x = check_array(x, "x", owner="resample", ndim=1)
    if np.any(x < 0) or np.any(x > 1):
        raise ParameterError("The 'x' parameter of resample must lie in [0, 1].")
    if kind not in ("linear", "nearest"):
        raise ParameterError(
            f"The 'kind' parameter of resample must be one of ['linear', 'nearest']. Got {kind!r} instead."
        )
    grid = np.linspace(0.0, 1.0, sig.size)
    if kind == "nearest":
        return sig[np.rint(x * (sig.size - 1)).astype(int)]
    return np.interp(x, grid, sig)


def psnr(reference, estimate, peak: float | None = None) -> float:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / mean((reference - estimate)^2))`` in dB.

    ``peak`` defaults to the data range of ``reference`` (``max - min``); use ``peak=1`` for
    images scaled to [0, 1]. Returns ``inf`` for a perfect estimate.

    >>> round(psnr([0.0, 1.0], [0.1, 0.9], peak=1.0), 6)
    20.0
    """
    ref = check_array(reference, "reference", owner="psnr")
    est = check_array(estimate, "estimate", owner="psnr")
    if ref.shape != est.shape:
        raise ParameterError(
            f"The 'estimate' parameter of psnr must have the shape of 'reference' {ref.shape}. "
            f"Got {est.shape} instead."
        )
    if peak is None:
        peak = float(np.ptp(ref))
        if peak == 0:
            raise ParameterError("psnr: the reference is constant; pass 'peak' explicitly.")
    peak = check_scalar(peak, "peak", owner="psnr", min_val=0.0, include_min=False)
    mse = float(np.mean((ref - est) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(peak**2 / mse))


def dst_basis(x, k: int) -> np.ndarray:
    """The ``len(x) x k`` matrix of sines ``sin(pi j x)``, ``j = 1..k`` (docs/theory.md section 6).

    The continuous sine basis of [0, 1] behind the DST baseline of Lucey Fig. 6; every function
    vanishes at ``x = 0`` and ``x = 1``.

    >>> np.round(dst_basis([0.0, 0.5, 1.0], 2), 12).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, -0.0]]
    """
    x = check_array(x, "x", owner="dst_basis", ndim=1)
    k = check_scalar(k, "k", kind=int, owner="dst_basis", min_val=1)
    return np.sin(np.pi * x[:, None] * np.arange(1, k + 1)[None, :])


def dst_fit(x, y, k: int, x_eval=None) -> np.ndarray:
    """Least squares on the first ``k`` sines: the DST baseline of Lucey Fig. 6 (docs/theory.md section 6).

    Fits ``y ~ sum_j c_j sin(pi j x)`` at the sample positions ``x`` (in [0, 1]) and returns the
    fit at ``x_eval`` (default ``x``). ``y`` may be (N,) or (N, M).

    >>> x = np.linspace(0, 1, 20)
    >>> bool(np.allclose(dst_fit(x, 2 * np.sin(3 * np.pi * x), 4), 2 * np.sin(3 * np.pi * x)))
    True
    """
    x = check_array(x, "x", owner="dst_fit", ndim=1)
    y = check_array(y, "y", owner="dst_fit", ndim=(1, 2))
    if y.shape[0] != x.size:
        raise ParameterError(
            f"The 'y' parameter of dst_fit must have {x.size} rows. Got shape {y.shape} instead."
        )
    k = check_scalar(k, "k", kind=int, owner="dst_fit", min_val=1)
    coef = np.linalg.lstsq(dst_basis(x, k), y, rcond=None)[0]
    x_eval = x if x_eval is None else check_array(x_eval, "x_eval", owner="dst_fit", ndim=1)
    return dst_basis(x_eval, k) @ coef


def dst_matrix(n: int, kind: int = 1) -> np.ndarray:
    """The orthonormal ``n x n`` DST matrix of type ``kind`` (1-4); row ``j`` is basis vector ``j``.

    Built by applying :func:`scipy.fft.dst` (``norm="ortho"``) to the identity, so ``dst_matrix
    (n, t) @ v`` equals ``scipy.fft.dst(v, type=t, norm="ortho")``. Type 1 samples
    ``sin(pi (j+1)(i+1)/(n+1))``; types 2-4 are its half-sample shifted variants.

    >>> D = dst_matrix(8, 2)
    >>> bool(np.allclose(D @ D.T, np.eye(8)))
    True
    """
    from scipy.fft import dst

    n = check_scalar(n, "n", kind=int, owner="dst_matrix", min_val=1)
    kind = check_scalar(kind, "kind", kind=int, owner="dst_matrix", min_val=1, max_val=4)
    return dst(np.eye(n), type=kind, norm="ortho", axis=0)
