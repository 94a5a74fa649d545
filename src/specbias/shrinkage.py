"""Regularizers as shrinkage of singular values (SPEC section 2; Lucey, Sec. 4 and App. B-D).

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

from ._validation import DivergenceError, ParameterError, check_array, check_choice, check_scalar

__all__ = [
    "SpectralSolver", "gradient_descent", "gd_mask", "flow_mask", "ridge_mask", "pca_mask",
    "lstsq_mask", "MASK_KINDS",
]

MASK_KINDS = ("gd", "flow", "ridge", "pca", "lstsq")
_EPS = np.finfo(np.float64).eps
# lr sigma^2 within this of 1 is rounding (lr = 1/sigma_1^2 computed in floating point)
_ROUND_TOL = 64 * _EPS


# --------------------------------------------------------------------------- mask functions


def _as_nonneg_array(value, name: str, owner: str, ndim=None) -> np.ndarray:
    arr = check_array(value, name, owner=owner, ndim=ndim, min_size=1)
    if np.any(arr < 0):
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be non-negative. Got min {float(arr.min())!r} "
            "instead."
        )
    return arr


def gd_mask(sigma, steps, lr):
    """GD shrinkage mask ``m = 1 - (1 - lr sigma^2)^T`` (SPEC section 2; Lucey Eq. 15, App. B).

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
    x = lr * s**2
    if np.any(x >= 2.0 - _ROUND_TOL):
        raise DivergenceError(
            f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {float(2.0 / s.max() ** 2)!r}: "
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
    """Gradient-flow mask ``m = 1 - exp(-lr T sigma^2)`` (SPEC section 2; Lucey Eq. 34).

    ``time`` is measured in steps of size ``lr`` (ODE time ``t = lr * time``), so that
    ``flow_mask(s, T, lr)`` is the continuous counterpart of ``gd_mask(s, T, lr)``.

    >>> float(flow_mask([2.0], 1.0, lr=0.25)[0])          # 1 - e^-1
    0.6321205588285577
    """
    owner = "flow_mask"
    s = _as_nonneg_array(sigma, "sigma", owner, ndim=1)
    lr = check_scalar(lr, "lr", owner=owner, min_val=0.0, include_min=False)
    return _flow_mask(s, time, lr, owner)


def _flow_mask(s, time, lr, owner):
    T = _as_nonneg_array(time, "time", owner)
    return -np.expm1(-lr * T[..., None] * s**2)


def ridge_mask(sigma, lam):
    """Ridge mask ``m = sigma^2 / (sigma^2 + lam)`` (SPEC section 2; Lucey Eq. 8).

    ``lam = 0`` is least squares (``m = 1`` where ``sigma > 0``).

    >>> ridge_mask([1.0, 3.0], 1.0).tolist()
    [0.5, 0.9]
    """
    owner = "ridge_mask"
    return _ridge_mask(_as_nonneg_array(sigma, "sigma", owner, ndim=1), lam, owner)


def _ridge_mask(s, lam, owner):
    lam = _as_nonneg_array(lam, "lam", owner)[..., None]
    s2 = s**2
    with np.errstate(invalid="ignore"):
        m = s2 / (s2 + lam)
    return np.where(s2 > 0, m, 0.0)


def pca_mask(sigma, k):
    """PCA (hard-threshold) mask: 1 for the ``k`` largest ``sigma``, else 0 (SPEC section 2; Eq. 10).

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

    Every solve is ``w = V diag(m(sigma)/sigma) U^T y`` (SPEC section 2; Lucey Eq. 7, 14) for the
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
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        V = Vt.T
        # deterministic signs: first clearly nonzero entry of each component positive
        thresh = 1e-8 * np.max(np.abs(U), axis=0, keepdims=True)
        first = np.argmax(np.abs(U) > thresh, axis=0)
        sign = np.sign(U[first, np.arange(U.shape[1])])
        sign[sign == 0] = 1.0
        self._U = U * sign
        self._V = V * sign
        self._s = s
        for arr in (self._U, self._V, self._s):
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
        """The stability bound ``2 / sigma_1^2``: GD diverges for ``lr >= max_lr``."""
        return 2.0 / self._s[0] ** 2

    @property
    def default_lr(self) -> float:
        """The iteration-efficient step ``1 / sigma_1^2`` (SPEC section 2, Lucey Eq. 17)."""
        return 1.0 / self._s[0] ** 2

    def __repr__(self) -> str:
        return f"SpectralSolver(A of shape {self.A.shape}, sigma_1={self._s[0]:.4g})"

    # ---------------------------------------------------------------- validation
    def _lr(self, lr, method: str) -> float:
        if self._s[0] == 0:
            raise ParameterError(f"SpectralSolver.{method}: A is all zeros; there is nothing to fit.")
        if lr is None:
            return self.default_lr
        owner = f"SpectralSolver.{method}"
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
            raise ParameterError(
                f"The 'lr' parameter of {owner} must be a float in the range (0.0, "
                f"{float(self.max_lr)!r}). Got {lr!r} instead."
            )
        lr = float(lr)
        if method in ("gd", "mask", "steps_for") and lr * self._s[0] ** 2 >= 2.0 - _ROUND_TOL:
            raise DivergenceError(
                f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {float(self.max_lr)!r}: "
                f"GD diverges for lr >= 2/sigma_1^2. Got {lr!r} instead."
            )
        return lr

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
        s = self._s
        owner = f"SpectralSolver.{kind}"
        if kind == "gd":
            lr = self._lr(params.get("lr"), "gd")
            T = _as_nonneg_array(params["steps"], "steps", owner)
            return _gd_mask_unchecked(s, T, lr * s**2)
        if kind == "flow":
            lr = self._lr(params.get("lr"), "flow")
            return _flow_mask(s, params["time"], lr, owner)
        if kind == "ridge":
            return _ridge_mask(s, params["lam"], owner)
        if kind == "pca":
            return pca_mask(s, _check_k(params["k"], s.size, "SpectralSolver.pca"))
        return _lstsq_mask(s, params.get("rcond"), owner)

    # ---------------------------------------------------------------- solves
    def solve(self, y, mask) -> np.ndarray:
        """``w = V diag(mask / sigma) U^T y`` for given mask values (SPEC section 2).

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
        return self._apply(y, mask)

    def _apply(self, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
        s = self._s
        safe = np.where(s > 0, s, 1.0)
        filt = np.where(s > 0, mask / safe, 0.0)  # (..., r)
        coef = self._U.T @ y  # (r,) or (r, M)
        if y.ndim == 1:
            return (filt * coef) @ self._V.T  # (..., K)
        return self._V @ (filt[..., :, None] * coef)  # (..., K, M)

    def gd(self, y, steps, lr=None) -> np.ndarray:
        """Exactly ``steps`` GD iterations ``w <- w - lr A^T (A w - y)`` from ``w = 0``.

        Closed form ``m = 1 - (1 - lr sigma^2)^T`` (SPEC section 2; Lucey Prop. 4.1); ``lr``
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
        return self._apply(y, _gd_mask_unchecked(self._s, T, lr * self._s**2))

    def flow(self, y, time, lr=None) -> np.ndarray:
        """Gradient flow ``dw/dt = -A^T (A w - y)`` from ``w = 0`` up to ODE time ``lr * time``.

        Mask ``1 - exp(-lr T sigma^2)`` (SPEC section 2; Lucey App. B); ``time`` counts steps
        of size ``lr`` (default ``1/sigma_1^2``), so ``flow(y, T, lr)`` is the small-step limit
        of ``gd(y, T * n, lr / n)``. Any ``lr > 0`` is allowed (the flow does not diverge).

        >>> import numpy as np
        >>> s = SpectralSolver(np.eye(2))
        >>> float(s.flow([1.0, 0.0], 1.0)[0])      # 1 - e^-1
        0.6321205588285577
        """
        y = self._y(y, "flow")
        lr = self._lr(lr, "flow")
        return self._apply(y, _flow_mask(self._s, time, lr, "SpectralSolver.flow"))

    def ridge(self, y, lam) -> np.ndarray:
        """Ridge regression ``min |y - A w|^2 + lam |w|^2`` (SPEC section 2; Lucey Eq. 8).

        >>> import numpy as np
        >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        >>> y = np.array([1.0, 0.0, 1.0])
        >>> ref = np.linalg.solve(A.T @ A + 0.5 * np.eye(2), A.T @ y)
        >>> bool(np.allclose(SpectralSolver(A).ridge(y, 0.5), ref))
        True
        """
        y = self._y(y, "ridge")
        return self._apply(y, _ridge_mask(self._s, lam, "SpectralSolver.ridge"))

    def pca(self, y, k) -> np.ndarray:
        """PCA regression: least squares on the ``k`` leading components (SPEC section 2; Eq. 10).

        ``k`` in ``[0, min(N, K)]``, an int or an array of ints.

        >>> import numpy as np
        >>> SpectralSolver(np.diag([3.0, 2.0, 1.0])).pca([3.0, 2.0, 1.0], 2).tolist()
        [1.0, 1.0, 0.0]
        """
        y = self._y(y, "pca")
        k = _check_k(k, self._s.size, "SpectralSolver.pca")
        return self._apply(y, pca_mask(self._s, k))

    def lstsq(self, y, rcond=None) -> np.ndarray:
        """Minimum-norm least squares (pseudo-inverse), the ``T -> inf`` limit of GD from 0.

        >>> import numpy as np
        >>> SpectralSolver(np.diag([2.0, 0.0])).lstsq([4.0, 1.0]).tolist()
        [2.0, 0.0]
        """
        y = self._y(y, "lstsq")
        return self._apply(y, _lstsq_mask(self._s, rcond, "SpectralSolver.lstsq"))

    # ---------------------------------------------------------------- iterations <-> bandwidth
    def steps_for(self, k, lr=None, mask_value=1.0 - 1.0 / math.e):
        """Steps ``T(k)`` after which the GD mask reaches ``mask_value`` at ``sigma_k``.

        ``T(k) = ln(1 - m*) / ln(1 - lr sigma_k^2)`` (SPEC section 2; Lucey Prop. 4.2, Eq. 16);
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
        x = lr * self._s[karr - 1] ** 2
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

    ``w_{t+1} = w_t - lr A^T (A w_t - y)`` (SPEC section 2; Lucey Eq. 11-12), the reference the
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
    if backend == "torch":
        import torch

        dev = A.device if _is_torch(A) else None
        At = _as_tensor(A, "A", owner, dev)
        yt = _as_tensor(y, "y", owner, At.device)
        A_np, y_np = None, None
        _check_shapes(tuple(At.shape), tuple(yt.shape), owner)
        if not bool(torch.isfinite(At).all()) or not bool(torch.isfinite(yt).all()):
            raise ParameterError(f"The 'A' and 'y' parameters of {owner} must be finite.")
        sigma1 = float(torch.linalg.matrix_norm(At, ord=2)) if At.numel() else 0.0
    else:
        A_np = check_array(A, "A", owner=owner, ndim=2)
        y_np = check_array(y, "y", owner=owner, ndim=(1, 2))
        _check_shapes(A_np.shape, y_np.shape, owner)
        sigma1 = float(np.linalg.norm(A_np, 2))
    if sigma1 == 0:
        raise ParameterError(f"The 'A' parameter of {owner} is all zeros; there is nothing to fit.")
    bound = 2.0 / sigma1**2
    if lr is None:
        lr = 1.0 / sigma1**2
    else:
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
            raise ParameterError(
                f"The 'lr' parameter of {owner} must be a float in the range (0.0, {float(bound)!r}). "
                f"Got {lr!r} instead."
            )
        lr = float(lr)
        if lr * sigma1**2 >= 2.0 - _ROUND_TOL:
            raise DivergenceError(
                f"The 'lr' parameter of {owner} must be below 2/sigma_1^2 = {float(bound)!r}: GD "
                f"diverges for lr >= 2/sigma_1^2. Got {lr!r} instead."
            )
    if backend == "torch":
        return _gd_torch(At, yt, steps, lr, w0, trajectory, record_every, owner)
    K = A_np.shape[1]
    wshape = (K,) + y_np.shape[1:]
    if w0 is None:
        w = np.zeros(wshape)
    else:
        w = check_array(w0, "w0", owner=owner).copy()
        if w.shape != wshape:
            raise ParameterError(
                f"The 'w0' parameter of {owner} must have shape {wshape}. Got {w.shape} instead."
            )
    At_ = A_np.T.copy()
    path = [w.copy()] if trajectory else None
    for t in range(1, steps + 1):
        w -= lr * (At_ @ (A_np @ w - y_np))
        if trajectory and (t % record_every == 0 or t == steps):
            path.append(w.copy())
    if not np.all(np.isfinite(w)):
        raise DivergenceError(f"{owner} diverged: the iterate became non-finite.")
    if trajectory:
        return w, np.stack(path)
    return w


def _is_torch(v) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(v, torch.Tensor)


def _as_tensor(value, name, owner, device):
    """``value`` as a float64 tensor, a :class:`ParameterError` naming ``name`` if it is not numeric."""
    import torch

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


def _gd_torch(A, y, steps, lr, w0, trajectory, record_every, owner):
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
        if not bool(torch.isfinite(w).all()):
            bad = int(w.numel() - int(torch.isfinite(w).sum()))
            raise ParameterError(
                f"The 'w0' parameter of {owner} must be finite. Got {bad} NaN or infinite value(s) "
                "instead."
            )
    At = A.T.contiguous()
    path = [w.clone()] if trajectory else None
    with torch.no_grad():
        for t in range(1, steps + 1):
            w -= lr * (At @ (A @ w - y))
            if trajectory and (t % record_every == 0 or t == steps):
                path.append(w.clone())
    if not bool(torch.isfinite(w).all()):
        raise DivergenceError(f"{owner} diverged: the iterate became non-finite.")
    if trajectory:
        return w, torch.stack(path)
    return w
