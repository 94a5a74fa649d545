"""Regularizers as shrinkage of singular values (docs/theory.md section 2; Lucey, Sec. 4 and App. B-D).

For the least-squares problem ``min_w 0.5 |y - A w|^2`` with ``A = U diag(sigma) V^T``, every
solver below is

    w = V diag(m(sigma) / sigma) U^T y

for a mask ``m``:

===============  ==========================================  ==========================
solver           mask ``m(sigma)``                           hyper-parameters
===============  ==========================================  ==========================
least squares    1 (sigma > rcond sigma_1), else 0           ``rcond``
ridge            sigma^2 / (sigma^2 + lam)                   ``lam``
PCA              1 for the k largest sigma, else 0           ``k``
GD from w = 0    1 - (1 - lr sigma^2)^T                      ``lr``, ``T`` (``steps``)
gradient flow    1 - exp(-lr T sigma^2)                      ``lr``, ``T`` (``time``)
===============  ==========================================  ==========================

:class:`SpectralSolver` does one SVD and then any number of solves; ``steps`` (or ``time``,
``lam``) may be arrays and ``y`` a matrix of signals, so a whole sweep is one matrix product.
:func:`gradient_descent` is the plain iteration (numpy or torch, float64) used to verify the
closed form and for users who want the trajectory.

The GD mask is evaluated as ``-expm1(T log1p(-lr sigma^2))``: exact for huge ``T`` and tiny
``sigma`` (where ``(1 - lr sigma^2)^T`` rounds to 1), and with ``lr sigma^2`` clipped to 1 when
it rounds just above it (``lr = 1/sigma_1^2``), so that it never produces NaN.

Every computation is done in units of a power of two near ``sigma_1`` (and near ``max |y|``):
the problem is scale-covariant (``A -> c A`` maps ``lr -> lr / c^2``, ``lam -> c^2 lam``,
``w -> w / c``), and scaling by a power of two is exact in floating point, so results are the
same to the last bit for ordinary matrices and stay correct for matrices such as ``1e160 * A``
or ``1e-170 * A``, where ``sigma^2`` itself would overflow or underflow. A result that cannot be
represented in float64 raises :class:`ParameterError` instead of coming back as ``inf``.

>>> import numpy as np
>>> from specbias import SpectralSolver, shallow_features
>>> x = np.linspace(0, 1, 64)
>>> A = shallow_features(x, x, "tanh", scale=64)
>>> y = np.sin(2 * np.pi * x)
>>> solver = SpectralSolver(A)
>>> W = solver.gd(y, [10, 100, 1000])        # three GD runs, one product
>>> W.shape
(3, 64)
>>> bool(np.allclose(W[1], gradient_descent(A, y, 100)))
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import (
    DivergenceError,
    ParameterError,
    check_array,
    check_choice,
    check_scalar,
    reject_kind,
)

__all__ = [
    "SpectralSolver", "gradient_descent", "gd_mask", "flow_mask", "ridge_mask", "pca_mask",
    "lstsq_mask", "MASK_KINDS",
]

MASK_KINDS = ("gd", "flow", "ridge", "pca", "lstsq")
_EPS = np.finfo(np.float64).eps
# lr sigma^2 within this of 1 is rounding (lr = 1/sigma_1^2 computed in floating point)
_ROUND_TOL = 64 * _EPS


# --------------------------------------------------------------------------- exact power-of-2 scaling


def _exp2(value: float) -> int:
    """The binary exponent ``e`` with ``value = m 2^e``, ``0.5 <= m < 1`` (0 for 0)."""
    return math.frexp(value)[1] if value > 0 and math.isfinite(value) else 0


def _ldexp(x, k: int):
    """``x * 2^k``, exact unless the result leaves the float64 range (numpy or torch)."""
    if k == 0:
        return x
    if isinstance(x, np.ndarray):
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(x, k)
    half = k // 2  # two factors, each representable (2.0**k alone overflows for k > 1023)
    return x * 2.0**half * 2.0 ** (k - half)


def _ldexp_float(x: float, k: int) -> float:
    """``x * 2^k`` as a float: 0.0 or inf where it leaves the float64 range (no exception)."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(x, k))


def _fmt_scaled(x: float, k: int) -> str:
    """``x * 2^k`` as text: the float's repr where float64 holds it (not subnormal), else
    its value in scientific notation (for messages about hugely scaled problems)."""
    v = _ldexp_float(x, k)
    if v == 0.0 or not math.isfinite(v) or abs(v) < np.finfo(np.float64).tiny:
        if x == 0:
            return "0.0"
        lg = math.log10(abs(x)) + k * math.log10(2.0)
        ex = math.floor(lg)
        return f"{'-' if x < 0 else ''}{10 ** (lg - ex):.6g}e{ex:+d}"
    return repr(v)


def _normalized(s: np.ndarray) -> tuple[np.ndarray, int]:
    """``(s / 2^e, e)`` with ``e`` the exponent of ``max(s)``: singular values in ``[0, 1)``."""
    e = _exp2(float(s.max())) if s.size else 0
    return _ldexp(s, -e), e


# --------------------------------------------------------------------------- mask functions


def _as_nonneg_array(value, name: str, owner: str, ndim=None) -> np.ndarray:
    if isinstance(value, bool | np.bool_) or getattr(value, "dtype", None) == np.bool_:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be a number or an array of numbers. "
            f"Got {value!r} instead."
        )
    arr = check_array(value, name, owner=owner, ndim=ndim, min_size=1)
    if np.any(arr < 0):
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be non-negative. Got min {float(arr.min())!r} "
            "instead."
        )
    return arr


def gd_mask(sigma, steps, lr):
    """GD shrinkage mask ``m = 1 - (1 - lr sigma^2)^T`` (docs/theory.md section 2; Lucey Eq. 15, App. B).

    Exact closed form of ``T`` steps of gradient descent from ``w = 0`` on
    ``0.5 |y - A w|^2``, for each singular value ``sigma`` of ``A``. Evaluated as
    ``-expm1(T log1p(-lr sigma^2))`` so that huge ``T`` and tiny ``sigma`` stay exact, with
    ``lr sigma^2`` clipped to 1 when it exceeds 1 by rounding only. For ``1 < lr sigma^2 < 2``
    (``lr`` above ``1/sigma^2`` but still stable) the factor ``1 - lr sigma^2`` is negative and
    ``steps`` must be integers.

    Parameters
    ----------
    sigma : array_like
        Singular values (>= 0), shape ``(r,)``.
    steps : float or array_like
        Number of GD steps ``T >= 0``; an array gives one mask per entry.
    lr : float
        Step size, ``0 < lr sigma^2 < 2`` for every sigma.

    Returns
    -------
    ndarray of shape ``np.shape(steps) + (r,)``.

    Examples
    --------
    >>> m = gd_mask([1.0, 1e-9], steps=[1, 1e12], lr=1.0)
    >>> m.shape, float(m[0, 0]), bool(abs(m[1, 1] - 1e-6) < 1e-12)   # 1 - exp(-1e12 * 1e-18)
    ((2, 2), 1.0, True)
    """
    owner = "gd_mask"
    s = _as_nonneg_array(sigma, "sigma", owner, ndim=1)
    T = _as_nonneg_array(steps, "steps", owner)
    lr = check_scalar(lr, "lr", owner=owner, min_val=0.0, include_min=False)
    sn, e = _normalized(s)
    x = _ldexp_float(lr, 2 * e) * sn**2  # = lr sigma^2, without overflow of sigma^2
    if np.any(x >= 2.0 - _ROUND_TOL):
        bound = _fmt_scaled(2.0 / sn.max() ** 2, -2 * e)
        raise DivergenceError(
            f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {bound}: "
            f"GD diverges for lr >= 2/sigma_1^2. Got {lr!r} instead."
        )
    return _gd_mask_unchecked(s, T, x)


def _gd_mask_unchecked(s, T, x):
    over = x > 1.0 + _ROUND_TOL  # genuine oscillating regime, 1 < lr sigma^2 < 2
    xc = np.minimum(x, 1.0)  # clip rounding above 1
    Tb = T[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logf = np.log1p(-xc)  # -inf where x == 1
        m = -np.expm1(Tb * logf)  # T = 0 and x = 1 -> nan, fixed below
    m = np.where(Tb == 0, 0.0, m)
    m = np.where((xc == 1.0) & (Tb > 0), 1.0, m)
    if np.any(over):
        if np.any(T != np.round(T)):
            raise ParameterError(
                "The 'steps' parameter must be integers when lr > 1/sigma^2 for some sigma "
                "(the GD factor 1 - lr sigma^2 is negative there)."
            )
        q = np.where(over, x - 1.0, 0.5)
        sign = np.where(np.mod(Tb, 2) == 1, -1.0, 1.0)
        with np.errstate(under="ignore"):
            m_over = 1.0 - sign * np.exp(Tb * np.log(q))
        m = np.where(over, m_over, m)
    return np.broadcast_to(m, T.shape + s.shape).copy()


def flow_mask(sigma, time, lr):
    """Gradient-flow mask ``m = 1 - exp(-lr T sigma^2)`` (docs/theory.md section 2; Lucey Eq. 34).

    ``time`` is measured in steps of size ``lr`` (ODE time ``t = lr * time``), so that
    ``flow_mask(s, T, lr)`` is the continuous counterpart of ``gd_mask(s, T, lr)``.

    >>> float(flow_mask([2.0], 1.0, lr=0.25)[0])          # 1 - e^-1
    0.6321205588285577
    """
    owner = "flow_mask"
    s = _as_nonneg_array(sigma, "sigma", owner, ndim=1)
    lr = check_scalar(lr, "lr", owner=owner, min_val=0.0, include_min=False)
    sn, e = _normalized(s)
    return _flow_mask(sn, time, _ldexp_float(lr, 2 * e), owner)


def _flow_mask(s, time, lr, owner):
    """``1 - exp(-lr T s^2)`` for normalized ``s`` and ``lr`` (``lr s^2`` is the true value)."""
    T = _as_nonneg_array(time, "time", owner)
    Tb = T[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        m = -np.expm1(-lr * Tb * s**2)
    return np.where((Tb == 0) | (s == 0), 0.0, m)


def ridge_mask(sigma, lam):
    """Ridge mask ``m = sigma^2 / (sigma^2 + lam)`` (docs/theory.md section 2; Lucey Eq. 8).

    ``lam = 0`` is least squares (``m = 1`` where ``sigma > 0``).

    >>> ridge_mask([1.0, 3.0], 1.0).tolist()
    [0.5, 0.9]
    """
    owner = "ridge_mask"
    sn, e = _normalized(_as_nonneg_array(sigma, "sigma", owner, ndim=1))
    return _ridge_mask(sn, lam, owner, e)


def _ridge_mask(s, lam, owner, e: int = 0):
    """The ridge mask for singular values ``s 2^e`` (``s`` normalized, ``lam`` in true units)."""
    lam = _ldexp(_as_nonneg_array(lam, "lam", owner), -2 * e)[..., None]
    s2 = s**2
    with np.errstate(invalid="ignore"):
        m = s2 / (s2 + lam)
    return np.where(s2 > 0, m, 0.0)


def pca_mask(sigma, k):
    """PCA (hard-threshold) mask: 1 for the ``k`` largest ``sigma``, else 0 (docs/theory.md section 2; Eq. 10).

    ``sigma`` must be sorted in decreasing order, as an SVD returns it.

    >>> pca_mask([3.0, 2.0, 1.0], 2).tolist()
    [1.0, 1.0, 0.0]
    """
    owner = "pca_mask"
    s = _as_nonneg_array(sigma, "sigma", owner, ndim=1)
    karr = _check_k(k, s.size, owner)
    return (np.arange(s.size) < karr[..., None]).astype(np.float64)


def lstsq_mask(sigma, rcond=None):
    """Least-squares (pseudo-inverse) mask: 1 where ``sigma > rcond * sigma_1``, else 0.

    ``rcond=None`` uses ``len(sigma) * eps``, numpy's ``lstsq`` default up to the matrix size.

    >>> lstsq_mask([1.0, 1e-20]).tolist()
    [1.0, 0.0]
    """
    owner = "lstsq_mask"
    return _lstsq_mask(_as_nonneg_array(sigma, "sigma", owner, ndim=1), rcond, owner)


def _lstsq_mask(s, rcond, owner):
    if rcond is None:
        rcond = s.size * _EPS
    rcond = check_scalar(rcond, "rcond", owner=owner, min_val=0.0)
    return (s > rcond * s.max()).astype(np.float64)


def _check_k(k, r: int, owner: str) -> np.ndarray:
    karr = np.asarray(k)
    if karr.dtype == bool or not np.issubdtype(karr.dtype, np.integer):
        if not (np.issubdtype(karr.dtype, np.floating) and np.all(karr == np.round(karr))):
            raise ParameterError(
                f"The 'k' parameter of {owner} must be an int in the range [0, {r}]. "
                f"Got {k!r} instead."
            )
    karr = karr.astype(np.int64)
    if np.any(karr < 0) or np.any(karr > r):
        raise ParameterError(
            f"The 'k' parameter of {owner} must be an int in the range [0, {r}]. Got {k!r} instead."
        )
    return karr


# --------------------------------------------------------------------------- the solver


class SpectralSolver:
    """One SVD of ``A``, then closed-form GD / flow / ridge / PCA / least-squares solves.

    Every solve is ``w = V diag(m(sigma)/sigma) U^T y`` (docs/theory.md section 2; Lucey Eq. 7, 14) for the
    mask ``m`` of the solver. Hyper-parameters may be arrays (one solution per entry, stacked in
    front) and ``y`` may hold several signals as columns, so ``gd(Y, steps)`` has shape
    ``steps.shape + (K,) + Y.shape[1:]``.

    Parameters
    ----------
    A : array_like, shape (N, K)
        The feature (Jacobian) matrix, e.g. from :func:`specbias.shallow_features`.

    Attributes
    ----------
    singular_values : ndarray, shape (r,)
        ``sigma_1 >= ... >= sigma_r``, ``r = min(N, K)``.
    components : ndarray, shape (N, r)
        The principal components (left singular vectors, the columns of ``U``) as functions
        sampled at the rows' positions, each signed so that its first clearly nonzero sample is
        positive.
    right_vectors : ndarray, shape (K, r)
        The columns of ``V`` (same signs as ``components``).

    Notes
    -----
    The solver works in units of a power of two near ``sigma_1`` (exact rescaling), so any
    finite ``A`` is handled, ``1e160 * A`` and ``1e-170 * A`` included: ``lr`` and ``lam`` keep
    their meaning in the units of ``A`` (``lr = 1/sigma_1^2`` may then be a number float64 cannot
    hold; ``lr=None`` always means exactly ``1/sigma_1^2``). A solution too large or too small for
    float64 raises :class:`ParameterError` rather than returning ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from specbias import SpectralSolver, shallow_features
    >>> x = np.linspace(0, 1, 32)
    >>> s = SpectralSolver(shallow_features(x, x, "relu", scale=32))
    >>> y = np.cos(3 * x)
    >>> T = s.steps_for(5)                    # steps that keep ~5 components (mask 1-1/e at sigma_5)
    >>> bool(abs(s.mask("gd", steps=T)[4] - (1 - np.exp(-1))) < 1e-12)
    True
    >>> w = s.gd(y, np.ceil(T))
    >>> bool(np.allclose(s.lstsq(y), np.linalg.lstsq(s.A, y, rcond=None)[0]))
    True
    """

    def __init__(self, A):
        A = check_array(A, "A", owner="SpectralSolver", ndim=2)
        if min(A.shape) < 1:
            raise ParameterError(f"The 'A' parameter of SpectralSolver must be non-empty. Got shape {A.shape}.")
        self.A = A
        # the SVD of A / 2^eA (exact): LAPACK never sees entries near over- or underflow
        eA = _exp2(float(np.max(np.abs(A))))
        U, s, Vt = np.linalg.svd(_ldexp(A, -eA), full_matrices=False)
        # sigma = sn 2^e with sn[0] in [0.5, 1): every mask and solve is computed from sn
        e = eA + _exp2(float(s[0]))
        self._sn = _ldexp(s, eA - e)
        self._e = e
        with np.errstate(over="ignore", under="ignore"):
            s = _ldexp(s, eA)
        if not np.isfinite(s[0]):
            raise ParameterError(
                "The 'A' parameter of SpectralSolver is too large: its largest singular value, "
                f"about {_fmt_scaled(float(self._sn[0]), e)}, exceeds the float64 range. "
                "Rescale A."
            )
        V = Vt.T
        # deterministic signs: first clearly nonzero entry of each component positive
        thresh = 1e-8 * np.max(np.abs(U), axis=0, keepdims=True)
        first = np.argmax(np.abs(U) > thresh, axis=0)
        sign = np.sign(U[first, np.arange(U.shape[1])])
        sign[sign == 0] = 1.0
        self._U = U * sign
        self._V = V * sign
        self._s = s
        for arr in (self._U, self._V, self._s, self._sn):
            arr.setflags(write=False)

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    @property
    def singular_values(self) -> np.ndarray:
        return self._s

    @property
    def components(self) -> np.ndarray:
        return self._U

    @property
    def right_vectors(self) -> np.ndarray:
        return self._V

    @property
    def max_lr(self) -> float:
        """The stability bound ``2 / sigma_1^2``: GD diverges for ``lr >= max_lr``.

        ``0.0`` or ``inf`` where the bound is outside the float64 range (``sigma_1`` beyond
        about ``1e154`` or below ``1e-154`` the value is subnormal, then unrepresentable).
        """
        return _ldexp_float(2.0 / self._sn[0] ** 2, -2 * self._e)

    @property
    def default_lr(self) -> float:
        """The iteration-efficient step ``1 / sigma_1^2`` (docs/theory.md section 2, Lucey Eq. 17).

        Rounded like :attr:`max_lr` at extreme scales; ``lr=None`` uses the exact value.
        """
        return _ldexp_float(1.0 / self._sn[0] ** 2, -2 * self._e)

    def _max_lr_text(self) -> str:
        return _fmt_scaled(2.0 / self._sn[0] ** 2, -2 * self._e)

    def __repr__(self) -> str:
        return f"SpectralSolver(A of shape {self.A.shape}, sigma_1={self._s[0]:.4g})"

    # ---------------------------------------------------------------- validation
    def _lr(self, lr, method: str) -> float:
        """The validated step ``lr`` in normalized units: ``lr 4^e`` (``lr sigma^2`` is
        ``_lr(...) * sn^2``)."""
        if self._sn[0] == 0:
            raise ParameterError(f"SpectralSolver.{method}: A is all zeros; there is nothing to fit.")
        if lr is None:
            return 1.0 / self._sn[0] ** 2
        owner = f"SpectralSolver.{method}"
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
            raise ParameterError(
                f"The 'lr' parameter of {owner} must be a float in the range (0.0, "
                f"{self._max_lr_text()}). Got {lr!r} instead."
            )
        lr = float(lr)
        lr_n = _ldexp_float(lr, 2 * self._e)
        if method in ("gd", "mask", "steps_for") and lr_n * self._sn[0] ** 2 >= 2.0 - _ROUND_TOL:
            raise DivergenceError(
                f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {self._max_lr_text()}: "
                f"GD diverges for lr >= 2/sigma_1^2. Got {lr!r} instead."
            )
        return lr_n

    def _y(self, y, method: str) -> np.ndarray:
        y = check_array(y, "y", owner=f"SpectralSolver.{method}", ndim=(1, 2))
        if y.shape[0] != self.A.shape[0]:
            raise ParameterError(
                f"The 'y' parameter of SpectralSolver.{method} must have {self.A.shape[0]} rows "
                f"(one per row of A). Got shape {y.shape} instead."
            )
        return y

    # ---------------------------------------------------------------- masks
    def mask(self, kind: str, **params) -> np.ndarray:
        """The mask values ``m(sigma_i)`` of solver ``kind`` at this matrix's singular values.

        ``kind`` is one of ``"gd"`` (``steps``, ``lr``), ``"flow"`` (``time``, ``lr``),
        ``"ridge"`` (``lam``), ``"pca"`` (``k``), ``"lstsq"`` (``rcond``). Array-valued
        hyper-parameters give one row per value: shape ``np.shape(param) + (r,)``.

        >>> import numpy as np
        >>> s = SpectralSolver(np.diag([2.0, 1.0]))
        >>> np.round(s.mask("gd", steps=1), 12).tolist()    # lr = 1/sigma_1^2 = 1/4
        [1.0, 0.25]
        >>> s.mask("ridge", lam=[1.0, 4.0]).tolist()
        [[0.8, 0.5], [0.5, 0.2]]
        """
        check_choice(kind, "kind", MASK_KINDS, owner="SpectralSolver.mask")
        allowed = {"gd": {"steps", "lr"}, "flow": {"time", "lr"}, "ridge": {"lam"},
                   "pca": {"k"}, "lstsq": {"rcond"}}[kind]
        required = {"gd": {"steps"}, "flow": {"time"}, "ridge": {"lam"}, "pca": {"k"},
                    "lstsq": set()}[kind]
        extra, missing = set(params) - allowed, required - set(params)
        if extra or missing:
            raise ParameterError(
                f"SpectralSolver.mask({kind!r}) takes {sorted(allowed)}"
                + (f"; unknown {sorted(extra)}" if extra else "")
                + (f"; missing {sorted(missing)}" if missing else "") + "."
            )
        s = self._sn
        owner = f"SpectralSolver.{kind}"
        if kind == "gd":
            lr = self._lr(params.get("lr"), "gd")
            T = _as_nonneg_array(params["steps"], "steps", owner)
            return _gd_mask_unchecked(s, T, lr * s**2)
        if kind == "flow":
            lr = self._lr(params.get("lr"), "flow")
            return _flow_mask(s, params["time"], lr, owner)
        if kind == "ridge":
            return _ridge_mask(s, params["lam"], owner, self._e)
        if kind == "pca":
            return pca_mask(s, _check_k(params["k"], s.size, "SpectralSolver.pca"))
        return _lstsq_mask(s, params.get("rcond"), owner)

    # ---------------------------------------------------------------- solves
    def solve(self, y, mask) -> np.ndarray:
        """``w = V diag(mask / sigma) U^T y`` for given mask values (docs/theory.md section 2).

        ``mask`` has shape ``(..., r)``; the result ``(...) + (K,) + y.shape[1:]``. Components
        with ``sigma = 0`` contribute nothing.

        >>> import numpy as np
        >>> s = SpectralSolver(np.diag([2.0, 1.0]))
        >>> s.solve([2.0, 2.0], [1.0, 0.5]).tolist()
        [1.0, 1.0]
        """
        y = self._y(y, "solve")
        mask = check_array(mask, "mask", owner="SpectralSolver.solve", ndim=None)
        r = self._s.size
        if mask.shape[-1:] != (r,):
            raise ParameterError(
                f"The 'mask' parameter of SpectralSolver.solve must have last dimension {r}. "
                f"Got shape {mask.shape} instead."
            )
        return self._apply(y, mask, "solve")

    def _apply(self, y: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
        # w = V diag(mask / sigma) U^T y, with sigma = sn 2^e and y = yn 2^ey: computed on
        # (sn, yn) and scaled back by 2^(ey - e) at the end (exact, no overflow on the way)
        s = self._sn
        ey = _exp2(float(np.max(np.abs(y))))
        yn = _ldexp(y, -ey)
        safe = np.where(s > 0, s, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            filt = np.where(s > 0, mask / safe, 0.0)  # (..., r)
            coef = self._U.T @ yn  # (r,) or (r, M)
            if y.ndim == 1:
                wn = (filt * coef) @ self._V.T  # (..., K)
            else:
                wn = self._V @ (filt[..., :, None] * coef)  # (..., K, M)
        w = _ldexp(wn, ey - self._e)
        if not np.all(np.isfinite(w)):
            big = float(np.max(np.abs(wn[np.isfinite(wn)]), initial=0.0))
            size = f"about {_fmt_scaled(big, ey - self._e)}" if np.all(np.isfinite(wn)) else (
                "beyond float64 (tiny singular values amplified by the mask)")
            raise ParameterError(
                f"The solution of SpectralSolver.{method} cannot be represented in float64: "
                f"its entries reach {size} (max |y| = {float(np.max(np.abs(y)))!r}, sigma_1 = "
                f"{_fmt_scaled(float(s[0]), self._e)}). Rescale A or y."
            )
        return w

    def gd(self, y, steps, lr=None) -> np.ndarray:
        """Exactly ``steps`` GD iterations ``w <- w - lr A^T (A w - y)`` from ``w = 0``.

        Closed form ``m = 1 - (1 - lr sigma^2)^T`` (docs/theory.md section 2; Lucey Prop. 4.1); ``lr``
        defaults to ``1/sigma_1^2`` and must be below ``2/sigma_1^2``. ``steps`` may be an array
        (all solutions at once) and non-integer when ``lr <= 1/sigma_1^2``.

        >>> import numpy as np
        >>> A = np.array([[1.0, 0.0], [1.0, 1.0]])
        >>> y = np.array([1.0, 2.0])
        >>> w = np.zeros(2)
        >>> for _ in range(3):
        ...     w = w - 0.3 * A.T @ (A @ w - y)
        >>> bool(np.allclose(SpectralSolver(A).gd(y, 3, lr=0.3), w))
        True
        """
        y = self._y(y, "gd")
        lr = self._lr(lr, "gd")
        T = _as_nonneg_array(steps, "steps", "SpectralSolver.gd")
        return self._apply(y, _gd_mask_unchecked(self._sn, T, lr * self._sn**2), "gd")

    def flow(self, y, time, lr=None) -> np.ndarray:
        """Gradient flow ``dw/dt = -A^T (A w - y)`` from ``w = 0`` up to ODE time ``lr * time``.

        Mask ``1 - exp(-lr T sigma^2)`` (docs/theory.md section 2; Lucey App. B); ``time`` counts steps
        of size ``lr`` (default ``1/sigma_1^2``), so ``flow(y, T, lr)`` is the small-step limit
        of ``gd(y, T * n, lr / n)``. Any ``lr > 0`` is allowed (the flow does not diverge).

        >>> import numpy as np
        >>> s = SpectralSolver(np.eye(2))
        >>> float(s.flow([1.0, 0.0], 1.0)[0])      # 1 - e^-1
        0.6321205588285577
        """
        y = self._y(y, "flow")
        lr = self._lr(lr, "flow")
        return self._apply(y, _flow_mask(self._sn, time, lr, "SpectralSolver.flow"), "flow")

    def ridge(self, y, lam) -> np.ndarray:
        """Ridge regression ``min |y - A w|^2 + lam |w|^2`` (docs/theory.md section 2; Lucey Eq. 8).

        >>> import numpy as np
        >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        >>> y = np.array([1.0, 0.0, 1.0])
        >>> ref = np.linalg.solve(A.T @ A + 0.5 * np.eye(2), A.T @ y)
        >>> bool(np.allclose(SpectralSolver(A).ridge(y, 0.5), ref))
        True
        """
        y = self._y(y, "ridge")
        return self._apply(y, _ridge_mask(self._sn, lam, "SpectralSolver.ridge", self._e), "ridge")

    def pca(self, y, k) -> np.ndarray:
        """PCA regression: least squares on the ``k`` leading components (docs/theory.md section 2; Eq. 10).

        ``k`` in ``[0, min(N, K)]``, an int or an array of ints.

        >>> import numpy as np
        >>> SpectralSolver(np.diag([3.0, 2.0, 1.0])).pca([3.0, 2.0, 1.0], 2).tolist()
        [1.0, 1.0, 0.0]
        """
        y = self._y(y, "pca")
        k = _check_k(k, self._s.size, "SpectralSolver.pca")
        return self._apply(y, pca_mask(self._sn, k), "pca")

    def lstsq(self, y, rcond=None) -> np.ndarray:
        """Minimum-norm least squares (pseudo-inverse), the ``T -> inf`` limit of GD from 0.

        >>> import numpy as np
        >>> SpectralSolver(np.diag([2.0, 0.0])).lstsq([4.0, 1.0]).tolist()
        [2.0, 0.0]
        """
        y = self._y(y, "lstsq")
        return self._apply(y, _lstsq_mask(self._sn, rcond, "SpectralSolver.lstsq"), "lstsq")

    # ---------------------------------------------------------------- iterations <-> bandwidth
    def steps_for(self, k, lr=None, mask_value=1.0 - 1.0 / math.e):
        """Steps ``T(k)`` after which the GD mask reaches ``mask_value`` at ``sigma_k``.

        ``T(k) = ln(1 - m*) / ln(1 - lr sigma_k^2)`` (docs/theory.md section 2; Lucey Prop. 4.2, Eq. 16);
        with ``lr = 1/sigma_1^2`` and ``m* = 1 - 1/e`` it is ``~ (sigma_1/sigma_k)^2`` (Eq. 17).
        ``k`` is 1-based (an int or an array); the result is real (round it up to iterate) and
        ``inf`` where ``sigma_k = 0``.

        >>> import numpy as np
        >>> s = SpectralSolver(np.diag([1.0, 0.1, 0.01]))
        >>> np.round(s.steps_for([2, 3]), 3).tolist()              # ~ (sigma_1/sigma_k)^2
        [99.499, 9999.5]
        """
        owner = "SpectralSolver.steps_for"
        karr = _check_k(k, self._s.size, owner)
        if np.any(karr < 1):
            raise ParameterError(
                f"The 'k' parameter of {owner} must be an int in the range [1, {self._s.size}]. "
                f"Got {k!r} instead."
            )
        mstar = check_scalar(mask_value, "mask_value", owner=owner, min_val=0.0, max_val=1.0,
                             include_min=False, include_max=False)
        lr = self._lr(lr, "steps_for")
        x = lr * self._sn[karr - 1] ** 2
        with np.errstate(divide="ignore"):
            # |1 - x| handles both sides of x = 1; x == 1 (rounded) -> T = 0
            denom = np.where(x <= 1.0, np.log1p(-np.minimum(x, 1.0)), np.log(np.abs(1.0 - x)))
            T = np.where(x > 0, math.log1p(-mstar) / denom, np.inf)
        T = np.where(np.isclose(x, 1.0, rtol=0, atol=_ROUND_TOL), 0.0, T)
        return T if np.ndim(k) else float(T)


# --------------------------------------------------------------------------- plain GD


def gradient_descent(A, y, steps, lr=None, *, w0=None, trajectory: bool = False,
                     record_every: int = 1, backend: str | None = None):
    """Plain iterative gradient descent on ``0.5 |y - A w|^2`` in float64.

    ``w_{t+1} = w_t - lr A^T (A w_t - y)`` (docs/theory.md section 2; Lucey Eq. 11-12), the reference the
    closed form :meth:`SpectralSolver.gd` is checked against. numpy arrays run in numpy; torch
    tensors (or ``backend="torch"``) run in torch on the tensors' device, in float64.

    Parameters
    ----------
    A : array_like or torch.Tensor, shape (N, K)
    y : array_like or torch.Tensor, shape (N,) or (N, M)
    steps : int
        Number of iterations ``T >= 0``.
    lr : float, optional
        Step size; defaults to ``1/sigma_1^2``; must be below ``2/sigma_1^2``.
    w0 : array_like, optional
        Starting point (default zeros).
    trajectory : bool
        If True, also return the iterates ``w_0, w_r, w_2r, ...`` (``r = record_every``, the
        last step always included) stacked along a new first axis.
    backend : {"numpy", "torch"}, optional
        Forced backend; by default the type of ``A`` decides.

    Returns
    -------
    w, or ``(w, trajectory)`` if ``trajectory`` is True.

    Raises
    ------
    DivergenceError
        When ``lr >= 2/sigma_1^2`` (checked up front) or an iterate becomes non-finite.
    ParameterError
        On bad input, and when the result is too large for float64 (``y`` huge relative to
        ``A``); extreme but representable scales (``1e160 * A``, ``1e-170 * A``) are exact.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> w, path = gradient_descent(A, [2.0, 1.0], 2, trajectory=True)   # lr = 1/4
    >>> path.tolist()
    [[0.0, 0.0], [1.0, 0.25], [1.0, 0.4375]]
    """
    owner = "gradient_descent"
    steps = check_scalar(steps, "steps", kind=int, owner=owner, min_val=0)
    record_every = check_scalar(record_every, "record_every", kind=int, owner=owner, min_val=1)
    if backend is None:
        backend = "torch" if _is_torch(A) or _is_torch(y) else "numpy"
    check_choice(backend, "backend", ["numpy", "torch"], owner=owner)
    # The iteration runs on A / 2^e, y / 2^ey with lr 4^e (e: exponent of sigma_1): the same
    # floating-point operations scaled by powers of two, so the same result to the last bit for
    # ordinary inputs, and no overflow of sigma_1^2 (or of lr sigma_1^2) for extreme ones.
    if backend == "torch":
        import torch

        dev = A.device if _is_torch(A) else None
        At = _as_tensor(A, "A", owner, dev)
        yt = _as_tensor(y, "y", owner, At.device)
        _check_shapes(tuple(At.shape), tuple(yt.shape), owner)
        if not bool(torch.isfinite(At).all()) or not bool(torch.isfinite(yt).all()):
            raise ParameterError(f"The 'A' and 'y' parameters of {owner} must be finite.")
        eA = _exp2(float(At.abs().max())) if At.numel() else 0
        ey = _exp2(float(yt.abs().max())) if yt.numel() else 0
        A_hat = _ldexp(At, -eA)
        s_hat = float(torch.linalg.matrix_norm(A_hat, ord=2)) if At.numel() else 0.0
    else:
        A_np = check_array(A, "A", owner=owner, ndim=2)
        y_np = check_array(y, "y", owner=owner, ndim=(1, 2))
        _check_shapes(A_np.shape, y_np.shape, owner)
        eA = _exp2(float(np.max(np.abs(A_np))))
        ey = _exp2(float(np.max(np.abs(y_np))))
        A_hat = _ldexp(A_np, -eA)
        s_hat = float(np.linalg.norm(A_hat, 2))
    if s_hat == 0:
        raise ParameterError(f"The 'A' parameter of {owner} is all zeros; there is nothing to fit.")
    e = eA + _exp2(s_hat)
    s1 = math.ldexp(s_hat, eA - e)  # sigma_1 / 2^e, in [0.5, 1)
    bound = _fmt_scaled(2.0 / s1**2, -2 * e)
    if lr is None:
        lr_n = 1.0 / s1**2
    else:
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
            raise ParameterError(
                f"The 'lr' parameter of {owner} must be a float in the range (0.0, {bound}). "
                f"Got {lr!r} instead."
            )
        lr = float(lr)
        lr_n = _ldexp_float(lr, 2 * e)
        if lr_n * s1**2 >= 2.0 - _ROUND_TOL:
            raise DivergenceError(
                f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {bound}: GD "
                f"diverges for lr >= 2/sigma_1^2. Got {lr!r} instead."
            )
    A_n = _ldexp(A_hat, eA - e)
    shift = ey - e  # w = w_n 2^shift
    if backend == "torch":
        w, path = _gd_torch(A_n, _ldexp(yt, -ey), steps, lr_n, w0, trajectory, record_every,
                            owner, shift)
    else:
        w, path = _gd_numpy(A_n, _ldexp(y_np, -ey), steps, lr_n, w0, trajectory, record_every,
                            owner, shift)
    if trajectory:
        return w, path
    return w


def _finish(w_n, path, shift: int, owner: str, finite):
    """Scale the normalized iterate (and trajectory) back by ``2^shift``; non-finite: raise."""
    if not finite(w_n):
        raise DivergenceError(f"{owner} diverged: the iterate became non-finite.")
    w = _ldexp(w_n, shift)
    if not finite(w):
        big = float(abs(w_n).max())
        raise ParameterError(
            f"The result of {owner} cannot be represented in float64: its entries reach about "
            f"{_fmt_scaled(big, shift)} (y is too large for this A). Rescale A or y."
        )
    return w, (None if path is None else _ldexp(path, shift))


def _gd_numpy(A, y, steps, lr, w0, trajectory, record_every, owner, shift):
    K = A.shape[1]
    wshape = (K,) + y.shape[1:]
    if w0 is None:
        w = np.zeros(wshape)
    else:
        w = check_array(w0, "w0", owner=owner).copy()
        if w.shape != wshape:
            raise ParameterError(
                f"The 'w0' parameter of {owner} must have shape {wshape}. Got {w.shape} instead."
            )
        w = _ldexp(w, -shift)
    At_ = A.T.copy()
    path = [w.copy()] if trajectory else None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            w -= lr * (At_ @ (A @ w - y))
            if trajectory and (t % record_every == 0 or t == steps):
                path.append(w.copy())
    return _finish(w, np.stack(path) if trajectory else None, shift, owner,
                   lambda v: bool(np.all(np.isfinite(v))))


def _is_torch(v) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(v, torch.Tensor)


def check_finite_tensor(t, name: str, owner: str) -> None:
    """Raise :class:`ParameterError` naming ``name`` when the tensor ``t`` holds NaN or inf."""
    import torch

    finite = torch.isfinite(t)
    if not bool(finite.all()):
        bad = int(t.numel() - int(finite.sum()))
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be finite. Got {bad} NaN or infinite "
            "value(s) instead."
        )


def _as_tensor(value, name, owner, device):
    """``value`` as a float64 tensor, a :class:`ParameterError` naming ``name`` if it is not
    numeric or not real."""
    import torch

    reject_kind(value, name, owner=owner)
    try:
        return torch.as_tensor(value, dtype=torch.float64, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be array-like of numbers. "
            f"Got {type(value).__name__} instead."
        ) from exc


def _check_shapes(Ashape, yshape, owner):
    if len(Ashape) != 2:
        raise ParameterError(f"The 'A' parameter of {owner} must be a 2-D array. Got shape {Ashape}.")
    if len(yshape) not in (1, 2) or yshape[0] != Ashape[0]:
        raise ParameterError(
            f"The 'y' parameter of {owner} must have shape ({Ashape[0]},) or ({Ashape[0]}, M). "
            f"Got shape {yshape} instead."
        )


def _gd_torch(A, y, steps, lr, w0, trajectory, record_every, owner, shift):
    import torch

    wshape = (A.shape[1],) + tuple(y.shape[1:])
    if w0 is None:
        w = torch.zeros(wshape, dtype=torch.float64, device=A.device)
    else:
        w = _as_tensor(w0, "w0", owner, A.device).clone()
        if tuple(w.shape) != wshape:
            raise ParameterError(
                f"The 'w0' parameter of {owner} must have shape {wshape}. Got {tuple(w.shape)} instead."
            )
        check_finite_tensor(w, "w0", owner)
        w = _ldexp(w, -shift)
    At = A.T.contiguous()
    path = [w.clone()] if trajectory else None
    with torch.no_grad():
        for t in range(1, steps + 1):
            w -= lr * (At @ (A @ w - y))
            if trajectory and (t % record_every == 0 or t == steps):
                path.append(w.clone())
    return _finish(w, torch.stack(path) if trajectory else None, shift, owner,
                   lambda v: bool(torch.isfinite(v).all()))
