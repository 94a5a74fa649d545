"""Exact kernel-regime fits: minimum-norm output weights at a prescribed training error
(Radon-spline paper, Eq. 4 and Sec. V-A; docs/theory.md section 3).

In the kernel regime only the output weights ``c`` of a shallow network train, so the network
is the linear model ``f = Phi c`` with the fixed feature matrix ``Phi[n, k] = act(s_k (theta_k .
x_n - gamma_k))``. Gradient descent from ``c = 0`` run to zero error converges to the
minimum-norm interpolant; stopped early at mean squared error ``eps`` it is matched by

    min |c|^2   subject to   (1/N) |Phi c - y|^2 <= eps.                      (Eq. 4, relaxed)

By the SVD this is ridge regression ``c(lam) = argmin |Phi c - y|^2 + lam |c|^2`` with the
unique ``lam >= 0`` whose residual equals the budget (the residual is increasing in ``lam``): a
scalar root-find, exact to rounding. :func:`kernel_fit` computes it; ``method="cvxpy"`` solves
the same problem with CVXPY (the paper's solver), as a reference.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> Phi, y = rng.standard_normal((20, 50)), rng.standard_normal(20)
>>> c = kernel_fit(Phi, y, mse=0.01)
>>> round(float(np.mean((Phi @ c - y) ** 2)), 10)
0.01
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sl
from scipy.linalg import blas, lapack
from scipy.optimize import brentq

from ._validation import (
    MissingDependencyError,
    ParameterError,
    check_array,
    check_choice,
    check_scalar,
)

__all__ = ["kernel_fit", "KernelFitInfo", "spectral_seminorm"]

_EPS = np.finfo(np.float64).eps
_METHODS = ["auto", "svd", "gram", "cvxpy"]
#: Clarabel tolerances used by ``method="cvxpy"`` unless a solver is given (the reference).
_TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10,
          "max_iter": 500}


@dataclass(frozen=True)
class KernelFitInfo:
    """What :func:`kernel_fit` found besides ``c``.

    Attributes
    ----------
    lam : float
        Ridge parameter ``lam`` of the solution (``0`` for the pseudo-inverse, ``inf`` for
        ``c = 0``; ``nan`` for CVXPY).
    mse : float
        Achieved mean squared residual ``|Phi c - y|^2 / N``.
    norm : float
        ``|c|``.
    method : str
        The method that produced ``c`` ("svd", "gram" or "cvxpy").
    rank : int
        Numerical rank used (``-1`` when not computed).
    status : str
        "optimal", "zero" (``c = 0`` meets the budget) or CVXPY's status.
    """

    lam: float
    mse: float
    norm: float
    method: str
    rank: int = -1
    status: str = "optimal"


# ----------------------------------------------------------------------------- root-finding


def _solve_lam(resid2, target: float, scale: float) -> float:
    """The ``lam > 0`` with ``resid2(lam) = target`` for an increasing ``resid2``; brackets in
    ``log lam`` around ``scale`` and refines with Brent's method to rounding."""

    def g(t):
        return resid2(math.exp(t)) - target

    t0 = math.log(scale)
    hi = t0
    while g(hi) < 0:
        hi += math.log(10.0)
        if hi > t0 + 700:  # pragma: no cover - cannot happen when |y|^2 > target
            raise ParameterError("kernel_fit could not bracket the ridge parameter.")
    lo = min(t0, hi - math.log(10.0))
    while g(lo) > 0:
        lo -= math.log(10.0)
        if lo < t0 - 700:
            return 0.0
    return math.exp(brentq(g, lo, hi, xtol=1e-15, rtol=4 * _EPS, maxiter=500))


# ----------------------------------------------------------------------------- SVD path


def _fit_svd(Phi, y, budget, rcond):
    U, s, Vt = sl.svd(Phi, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    if s.size == 0 or s[0] == 0:  # Phi = 0: c = 0, whose residual is all of y
        y2 = float(y @ y)
        if budget is not None and y2 > budget * (1 + 1e-10) + (1e4 * _EPS) ** 2 * y2:
            raise _Infeasible(y2)
        return np.zeros(Phi.shape[1]), 0.0, 0, y2
    keep = s > rcond * s[0]  # noise-level directions cannot be fitted: they join the residual
    rank = int(keep.sum())
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    yt = U.T @ y
    perp2 = float(np.sum((y - U @ yt) ** 2))
    s2 = s * s
    if budget is None:
        lam = 0.0
    else:
        if perp2 > budget * (1 + 1e-10) + (1e4 * _EPS) ** 2 * float(y @ y):
            raise _Infeasible(perp2)
        lam = 0.0 if perp2 >= budget else _solve_lam(lambda mu: float(np.sum((mu * yt / (s2 + mu)) ** 2)) + perp2,
                         budget, float(np.median(s2)))
    coef = s * yt / (s2 + lam)
    return Vt.T @ coef, lam, rank, None


class _Infeasible(Exception):
    def __init__(self, perp2):
        super().__init__(perp2)
        self.perp2 = perp2


# ----------------------------------------------------------------------------- Gram path


class _TridiagonalQ:
    """``Q`` of LAPACK ``dsytrd(lower=1)``: ``Q = H(1) ... H(n-1)``, the reflectors stored
    below the subdiagonal of ``A`` -- the ``geqrf`` layout of ``A[1:, :-1]``, applied with
    ``dormqr`` (what ``dormtr`` does)."""

    def __init__(self, A, tau):
        self.sub = np.asfortranarray(A[1:, :-1])
        self.tau = tau

    def apply(self, v, transpose):
        out = np.array(v, dtype=np.float64, copy=True)
        if out.shape[0] > 1:
            cq, _, info = lapack.dormqr("L", "T" if transpose else "N", self.sub, self.tau,
                                        out[1:, None], lwork=max(64, out.shape[0]))
            if info != 0:  # pragma: no cover
                raise np.linalg.LinAlgError("dormqr failed")
            out[1:] = cq[:, 0]
        return out


# Matrix-vector products through scipy's BLAS (the one LAPACK here uses: interleaving numpy's and
# scipy's OpenBLAS thread pools oversubscribes small machines), on the Fortran view Phi.T.
def _matvec(P, x):
    return blas.dgemv(1.0, P.T, x, trans=1)


def _rmatvec(P, x):
    return blas.dgemv(1.0, P.T, x, trans=0)


def _fit_gram(Phi, y, budget):
    """Wide case (N <= K), all exact up to rounding in ``Phi`` itself:

    1. ``G = Phi Phi^T = Q T Q^T`` (syrk + LAPACK tridiagonal reduction); in that basis the
       squared residual ``lam^2 |(T + lam I)^{-1} Q^T y|^2`` costs one O(N) tridiagonal solve,
       so Brent's method finds ``lam`` (to the accuracy ``G`` carries, ~ eps |G| / lam).
    2. Solves ``(G + lam I) a = y`` as ``Q (T + lam I)^{-1} Q^T y``, iteratively refined with
       residuals ``y - Phi (Phi^T a) - lam a`` computed from ``Phi`` (not ``G``): the ridge
       solution ``c = Phi^T a`` to rounding.
    3. Newton steps on ``lam`` for ``|Phi c(lam) - y|^2 = budget`` with those exact solves.

    Returns ``None`` when the problem is beyond it (the caller then uses the SVD): ``lam``
    below ``~1e-13 |G|``, or no convergence."""
    N = Phi.shape[0]
    Pf = np.ascontiguousarray(Phi)
    G = blas.dsyrk(1.0, Pf.T, trans=1, lower=1)  # Phi Phi^T (lower triangle), no copy of Phi
    lwork = int(lapack.dsytrd_lwork(N, lower=1)[0])
    A, d, e, tau, info = lapack.dsytrd(G, lower=1, lwork=max(lwork, N), overwrite_a=1)
    if info != 0:  # pragma: no cover
        return None
    Q = _TridiagonalQ(A, tau)
    yt = Q.apply(y, transpose=True)
    gmax = float(np.max(np.abs(d)) + 2 * (np.max(np.abs(e)) if e.size else 0.0))
    if gmax == 0.0:
        return None
    floor = 1e3 * _EPS * gmax  # below this lam, G + lam I is numerically singular

    def tri_solve(mu, rhs_t):
        _, _, x, inf = lapack.dptsv(d + mu, e, rhs_t[:, None])
        if inf != 0:
            raise np.linalg.LinAlgError("tridiagonal solve failed")
        return x[:, 0]

    def resid2_tri(mu):
        x = tri_solve(mu, yt)
        return float(mu * mu * (x @ x))

    try:
        if resid2_tri(floor) > budget:  # needs lam below the floor, or infeasible: SVD decides
            return None
        lam = _solve_lam(resid2_tri, budget, max(gmax / N, floor * 10))
        if lam < floor:
            return None
    except np.linalg.LinAlgError:
        return None

    snorm = math.sqrt(gmax)  # >= |Phi|_2
    rtol = 4 * _EPS * math.sqrt(Phi.shape[1])

    def gsolve(mu, rhs):
        return Q.apply(tri_solve(mu, Q.apply(rhs, transpose=True)), transpose=False)

    def solve(mu, a):
        """Refine ``a`` towards ``(G + mu I)^{-1} y`` against ``Phi``; returns
        ``(a, y - Phi Phi^T a)``. Stops at rounding level or when the residual stops
        shrinking."""
        prev, ny = math.inf, float(np.linalg.norm(y))
        for _ in range(8):
            u = _rmatvec(Pf, a)
            r = y - _matvec(Pf, u)  # = mu a + (residual of the linear system)
            res = r - mu * a
            nr = float(np.linalg.norm(res))
            if nr <= rtol * (snorm * float(np.linalg.norm(u)) + ny) or not nr < 0.5 * prev:
                break
            prev = nr
            a = a + gsolve(mu, res)
        return a, r

    try:
        a, r = solve(lam, Q.apply(tri_solve(lam, yt), transpose=False))  # r = y - Phi c
        for _ in range(8):  # Newton: |r|^2 = lam^2 |a|^2, d|r|^2/dlam = 2 lam (|a|^2 - lam a.b)
            if not np.all(np.isfinite(a)):
                return None
            h = float(r @ r) - budget
            if abs(h) <= 1e-12 * budget:
                break
            b = gsolve(lam, a)  # da/dlam = -b (to the accuracy the slope needs)
            slope = 2 * lam * (float(a @ a) - lam * float(a @ b))
            if not slope > 0:
                break
            new = min(max(lam - h / slope, lam / 2), 2 * lam)
            if abs(new - lam) <= 1e-12 * lam:  # converged to rounding (h itself is noisy there)
                break
            a, r = solve(new, a - (new - lam) * b)  # warm start, first order in the step
            lam = new
    except np.linalg.LinAlgError:
        return None
    return _rmatvec(Pf, a), lam


# ----------------------------------------------------------------------------- CVXPY path


def _fit_cvxpy(Phi, y, budget, solver, solver_options):
    try:
        import cvxpy as cp
    except ImportError as exc:
        raise MissingDependencyError(
            "kernel_fit(method='cvxpy') needs the optional dependency cvxpy, which is not "
            "installed: pip install 'specbias[convex]' (method='auto' computes the same fit "
            "exactly without it)."
        ) from exc
    K = Phi.shape[1]
    c = cp.Variable(K)
    if not budget:  # None or 0: exact interpolation
        prob = cp.Problem(cp.Minimize(cp.sum_squares(c)), [Phi @ c == y])
    else:  # the norm form is the most accurate for conic solvers (same minimizer)
        prob = cp.Problem(cp.Minimize(cp.norm(c, 2)), [cp.norm(Phi @ c - y, 2) <= math.sqrt(budget)])
    if solver is None:
        solver = "CLARABEL" if "CLARABEL" in cp.installed_solvers() else None
        if solver_options is None and solver == "CLARABEL":
            solver_options = dict(_TIGHT)
    kw = dict(solver_options or {})
    try:
        with warnings.catch_warnings():  # "solution may be inaccurate": judged by the status
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=solver, **kw)
    except cp.error.SolverError as exc:
        raise ParameterError(f"CVXPY failed on this kernel_fit problem: {exc}") from exc
    if c.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        raise ParameterError(f"CVXPY could not solve this kernel_fit problem (status {prob.status!r}).")
    return np.asarray(c.value, dtype=np.float64), str(prob.status)


# ----------------------------------------------------------------------------- public


def kernel_fit(Phi, y, mse: float | None = None, *, method: str = "auto",
               rcond: float | None = None, return_info: bool = False,
               solver: str | None = None, solver_options: dict | None = None):
    """Minimum-norm kernel-regime coefficients at a mean-squared-error budget (docs/theory.md section 3).

    Solves ``min |c|^2  s.t.  (1/N) |Phi c - y|^2 <= mse`` (Radon-spline paper, Eq. 4, relaxed
    for early stopping). With ``mse=None`` it returns the pseudo-inverse solution
    ``c = Phi^+ y`` (the minimum-norm interpolant when one exists). Otherwise ``c = 0`` when
    ``|y|^2 / N <= mse``, and else ``c = Phi^T (Phi Phi^T + lam I)^{-1} y`` with the unique
    ``lam > 0`` at which the mean squared residual equals ``mse``: in the SVD
    ``Phi = U diag(sigma) V^T``, ``y~ = U^T y``,

        |Phi c(lam) - y|^2 = sum_i (lam y~_i / (sigma_i^2 + lam))^2 + |y - U y~|^2,

    increasing in ``lam``, solved by a bracketed Brent root-find to rounding.

    Parameters
    ----------
    Phi : array_like, shape (N, K)
        Feature matrix (e.g. :func:`specbias.features.radon_features`).
    y : array_like, shape (N,)
        Targets.
    mse : float or None
        Budget on the mean squared residual; ``None`` for the pseudo-inverse.
    method : {"auto", "svd", "gram", "cvxpy"}
        ``"svd"``: thin SVD of ``Phi`` (backward stable). ``"gram"``: for ``N <= K``, a
        tridiagonal reduction of the Gram matrix ``Phi Phi^T`` (about 5x faster at
        N = 1000, K = 2000), exact as long as ``lam`` is well above ``eps |Phi|^2``; when it
        is not (or ``N > K``, or ``mse=None``) it falls back to the SVD. ``"auto"`` is
        ``"gram"``. ``"cvxpy"``: the same problem through CVXPY (reference; slow).
    rcond : float, optional
        Relative cutoff on singular values for the SVD path (default ``max(N, K) * eps``).
    return_info : bool
        Also return a :class:`KernelFitInfo`.
    solver, solver_options : optional
        Passed to ``cvxpy.Problem.solve`` for ``method="cvxpy"``. By default Clarabel with
        tight tolerances (1e-12) solves ``min |c|  s.t.  |Phi c - y| <= sqrt(N mse)`` (or
        ``Phi c = y``); give ``solver`` (e.g. ``"CLARABEL"``) without options for CVXPY's
        defaults.

    Returns
    -------
    c : ndarray, shape (K,)
    info : KernelFitInfo, only with ``return_info=True``.

    Raises
    ------
    ParameterError
        Malformed input, or an infeasible budget (``mse`` below the least-squares residual).
    MissingDependencyError
        ``method="cvxpy"`` without cvxpy installed (the ``convex`` extra); a ParameterError and
        an ImportError.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> Phi, y = rng.standard_normal((10, 30)), rng.standard_normal(10)
    >>> c = kernel_fit(Phi, y)                       # minimum-norm interpolant
    >>> bool(np.allclose(Phi @ c, y)), bool(np.allclose(c, np.linalg.pinv(Phi) @ y))
    (True, True)
    >>> c, info = kernel_fit(Phi, y, mse=0.05, return_info=True)
    >>> info.method, round(info.mse, 12)
    ('gram', 0.05)
    """
    owner = "kernel_fit"
    Phi = check_array(Phi, "Phi", owner=owner, ndim=2)
    y = check_array(y, "y", owner=owner, ndim=1)
    N, K = Phi.shape
    if y.shape[0] != N:
        raise ParameterError(
            f"The 'y' parameter of kernel_fit must have length {N} (the rows of Phi). "
            f"Got {y.shape[0]} instead."
        )
    check_choice(method, "method", _METHODS, owner=owner)
    if mse is not None:
        mse = check_scalar(mse, "mse", owner=owner, min_val=0.0)
    if rcond is None:
        rcond = max(N, K) * _EPS
    rcond = check_scalar(rcond, "rcond", owner=owner, min_val=0.0, max_val=1.0)
    if solver is not None and not isinstance(solver, str):
        raise ParameterError(
            f"The 'solver' parameter of kernel_fit must be None or a CVXPY solver name (str). "
            f"Got {type(solver).__name__} instead."
        )
    if solver_options is not None and not isinstance(solver_options, Mapping):
        raise ParameterError(
            f"The 'solver_options' parameter of kernel_fit must be None or a dict. "
            f"Got {type(solver_options).__name__} instead."
        )
    budget = None if mse is None else N * mse
    y2 = float(y @ y)

    def done(c, lam, used, rank=-1, status="optimal"):
        if not return_info:
            return c
        r = Phi @ c - y
        return c, KernelFitInfo(float(lam), float(r @ r) / N, float(np.linalg.norm(c)), used,
                                rank, status)

    if budget is not None and y2 <= budget:
        return done(np.zeros(K), math.inf, "svd" if method == "auto" else method, status="zero")
    if method == "cvxpy":
        c, status = _fit_cvxpy(Phi, y, budget, solver, solver_options)
        return done(c, math.nan, "cvxpy", status=status)
    if method in ("auto", "gram") and budget is not None and budget > 0 and N <= K:
        out = _fit_gram(Phi, y, budget)
        if out is not None:
            return done(out[0], out[1], "gram")
    try:
        c, lam, rank, _ = _fit_svd(Phi, y, budget, rcond)
    except _Infeasible as exc:
        raise ParameterError(
            f"The 'mse' parameter of kernel_fit must be at least the least-squares mean squared "
            f"residual {exc.perp2 / N:.6g} (the budget is infeasible). Got {mse!r} instead."
        ) from None
    return done(c, lam, "svd", rank)


def spectral_seminorm(values, h: float, act, *, order: int = 0, band: float | None = None,
                      dim: int = 1) -> float:
    """The spectral seminorm ``(1/2pi) int_{|w| <= band} |f^(w)|^2 P(w) dw`` of a 1-D function
    from its samples, with ``P(w) = |w|^(dim-1) / |act^(w)|^2`` (Radon-spline paper, Eqs. 7-8;
    docs/theory.md section 3).

    ``values`` are samples of ``f`` on a uniform grid of step ``h``. Functions that do not decay
    (a ReLU network is affine far out) are handled through their ``order``-th finite difference,
    which must decay within the grid: its FFT is divided by the exact difference symbol
    ``((e^{i w h} - 1) / h)^order``, and at ``w = 0`` the weight ``P / |symbol|^2`` is taken by
    continuity (so ``order = 2`` with the ReLU gives ``int f''^2`` exactly). ``band`` limits the
    integral (default: the grid's Nyquist frequency ``pi / h``); frequencies where ``P`` is
    infinite or undefined are left out. The value for a finite-width network is only meaningful
    below the Nyquist frequency of its zero-plane spacing (its transform is periodic beyond).

    >>> import numpy as np
    >>> from specbias import activation
    >>> x = np.arange(-20, 20, 0.01)
    >>> f = np.exp(-x**2 / 2)                       # int f'^2 dx = sqrt(pi) / 2
    >>> round(spectral_seminorm(f, 0.01, activation("step"), order=1), 6)
    0.886227
    """
    from .activations import resolve

    owner = "spectral_seminorm"
    v = check_array(values, "values", owner=owner, ndim=1, min_size=order + 8)
    h = check_scalar(h, "h", owner=owner, min_val=0.0, include_min=False)
    order = check_scalar(order, "order", kind=int, owner=owner, min_val=0, max_val=8)
    dim = check_scalar(dim, "dim", kind=int, owner=owner, min_val=1)
    if band is not None:
        band = check_scalar(band, "band", owner=owner, min_val=0.0, include_min=False)
    a = resolve(act)
    if not hasattr(a, "fourier"):
        raise ParameterError(
            f"The 'act' parameter of {owner} must be an activation with a Fourier transform "
            f"(a name or an Activation). Got {type(act).__name__} instead."
        )
    d = np.asarray(v, dtype=np.float64)
    for _ in range(order):
        d = np.diff(d) / h
    m = d.size
    F = np.fft.fft(d) * h
    w = 2 * np.pi * np.fft.fftfreq(m, d=h)
    we = np.where(w == 0, 1e-9 * (2 * np.pi / (m * h)), w)  # the limit at w = 0
    sym2 = np.abs((np.exp(1j * we * h) - 1) / h) ** (2 * order)
    with np.errstate(all="ignore"):
        weight = np.abs(we) ** (dim - 1) / (sym2 * np.abs(a.fourier(we)) ** 2)
    keep = np.isfinite(weight)
    if band is not None:
        keep &= np.abs(w) <= band
    return float(np.sum(np.abs(F[keep]) ** 2 * weight[keep]) / (m * h))
