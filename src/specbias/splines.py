"""Discrete spline smoothing and its equivalence with ridge on shallow networks.

docs/theory.md section 2 (Lucey Prop. 3.1, App. A). Spline smoothing of order ``p``,

    min_f  sum_n (y_n - f(x_n))^2 + lam int (f^(p)(x))^2 dx,

is ridge regression on a shallow network whose activation is the Green's function of
``d^p/dx^p``, the truncated power ``act(z) = z_+^(p-1) / (p-1)!`` (p = 1 Heaviside, 2 ReLU,
3 ReLU^2/2). Discretely, on an even grid ``x_0..x_{M-1}`` of spacing ``h``:

* :func:`difference_matrix` -- ``D_p``: the ``M x M`` order-``p`` backward finite difference
  divided by ``h^p`` ("same"-size, causal convolution with ``(-1)^i C(p, i)``, zero padding before
  the first sample). It is ``D_1^p``, lower triangular and invertible.
* The columns of ``D_p^{-1}`` are shifted truncated powers: ``D_p^{-1}[:, j] = h * G_p(x - b_j)``
  with ``b_j = x_j - p h / 2``, exactly for p = 1, 2 and up to the constant ``h^2/8`` for p = 3
  (:func:`green_columns`, :func:`spline_biases`, :func:`truncated_power`).
* :func:`smoothing_spline` -- the independent reference: ``min_f |S f - y|^2 + lam h |D_p f|^2``
  (``S`` selects the sampled grid points), the discrete form of the objective above with the
  integral as the Riemann sum ``h sum (D_p f)^2``, solved in the function domain (pivoted QR of
  the stacked system, or the sparse banded normal equations).

Substituting ``f = h G w`` turns it into ridge on ``A = S G`` with penalty ``(lam / h) |w|^2``.
(The centred "same" convolution would give a symmetric ``D_2`` whose inverse is a Dirichlet
Green's function instead of a ReLU, hence the causal alignment.)

>>> import numpy as np
>>> grid = np.linspace(0, 1, 101)
>>> D = difference_matrix(101, 2, h=0.01)
>>> G = np.linalg.inv(D) / 0.01                            # columns ~ relu(x - b_j)
>>> bool(np.allclose(G, truncated_power(grid[:, None] - spline_biases(grid, 2)[None, :], 2)))
True
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import ParameterError, check_array, check_scalar

__all__ = [
    "difference_matrix", "truncated_power", "spline_biases", "green_columns", "smoothing_spline",
    "spline_activation",
]


def _grid_step(grid: np.ndarray, owner: str) -> float:
    if grid.size < 2:
        raise ParameterError(f"The 'grid' parameter of {owner} must have at least 2 points.")
    d = np.diff(grid)
    h = float(d.mean())
    if h <= 0 or np.max(np.abs(d - h)) > 1e-9 * abs(h):
        raise ParameterError(f"The 'grid' parameter of {owner} must be evenly spaced and increasing.")
    return h


def difference_matrix(n: int, p: int, h: float = 1.0, sparse: bool = False):
    """The order-``p`` finite-difference matrix ``D_p = D_1^p / h^p`` (docs/theory.md section 2, App. A).

    Row ``m`` computes ``h^-p sum_i (-1)^i C(p, i) f_{m-i}`` with ``f_{<0} = 0``: a square,
    lower-triangular, invertible ("same"-size causal convolution) matrix.

    Parameters
    ----------
    n : int
        Grid size ``M``.
    p : int
        Derivative order, ``1 <= p < n``.
    h : float
        Grid spacing.
    sparse : bool
        Return a ``scipy.sparse`` CSR matrix instead of a dense array.

    >>> difference_matrix(4, 2).astype(int).tolist()
    [[1, 0, 0, 0], [-2, 1, 0, 0], [1, -2, 1, 0], [0, 1, -2, 1]]
    """
    n = check_scalar(n, "n", kind=int, owner="difference_matrix", min_val=2)
    p = check_scalar(p, "p", kind=int, owner="difference_matrix", min_val=1, max_val=n - 1)
    h = check_scalar(h, "h", owner="difference_matrix", min_val=0.0, include_min=False)
    coef = [(-1) ** i * math.comb(p, i) / h**p for i in range(p + 1)]
    import scipy.sparse as sps

    D = sps.diags(coef, offsets=[-i for i in range(p + 1)], shape=(n, n), format="csr")
    return D if sparse else D.toarray()


def truncated_power(z, p: int) -> np.ndarray:
    """The Green's function of ``d^p/dx^p``: ``z_+^(p-1) / (p-1)!`` (docs/theory.md section 2, Prop. 3.1).

    ``p = 1`` is the Heaviside step (``H(0) = 1``), ``p = 2`` ReLU, ``p = 3`` ReLU^2 / 2.

    >>> truncated_power([-1.0, 0.0, 2.0], 3).tolist()
    [0.0, 0.0, 2.0]
    """
    z = check_array(z, "z", owner="truncated_power", ndim=None)
    p = check_scalar(p, "p", kind=int, owner="truncated_power", min_val=1)
    if p == 1:
        return (z >= 0).astype(np.float64)
    return np.maximum(z, 0.0) ** (p - 1) / math.factorial(p - 1)


def spline_activation(p: int):
    """The activation of Prop. 3.1 for order ``p`` as a callable ``z -> z_+^(p-1)/(p-1)!``.

    >>> spline_activation(2)(np.array([-1.0, 3.0])).tolist()
    [0.0, 3.0]
    """
    p = check_scalar(p, "p", kind=int, owner="spline_activation", min_val=1)
    return lambda z: truncated_power(z, p)


def spline_biases(grid, p: int) -> np.ndarray:
    """Biases ``b_j = x_j - p h / 2`` at which the columns of ``D_p^{-1}`` are truncated powers.

    >>> spline_biases([0.0, 1.0, 2.0], 2).tolist()
    [-1.0, 0.0, 1.0]
    """
    grid = check_array(grid, "grid", owner="spline_biases", ndim=1)
    p = check_scalar(p, "p", kind=int, owner="spline_biases", min_val=1)
    h = _grid_step(grid, "spline_biases")
    return grid - p * h / 2.0


def green_columns(grid, p: int) -> np.ndarray:
    """``D_p^{-1} / h`` on an even ``grid``: column ``j`` is ~ ``truncated_power(x - b_j, p)``.

    Computed by a triangular solve against the identity (Lucey App. A, Fig. 7), independently of
    :func:`truncated_power`.

    >>> G = green_columns(np.linspace(0, 1, 5), 1)          # lower-triangular ones
    >>> G.astype(int).tolist()[1]
    [1, 1, 0, 0, 0]
    """
    from scipy.linalg import solve_triangular

    grid = check_array(grid, "grid", owner="green_columns", ndim=1)
    h = _grid_step(grid, "green_columns")
    p = check_scalar(p, "p", kind=int, owner="green_columns", min_val=1, max_val=grid.size - 1)
    D = difference_matrix(grid.size, p, h=h)
    return solve_triangular(D, np.eye(grid.size), lower=True) / h


def smoothing_spline(grid, sample_index, y, lam: float, p: int, method: str = "qr") -> np.ndarray:
    """Discrete order-``p`` smoothing spline on ``grid`` (docs/theory.md section 2; Lucey Eq. 3, 20).

    Solves ``min_f |S f - y|^2 + lam h |D_p f|^2``, where ``S`` picks the grid points
    ``sample_index``. This is the independent reference for ridge on truncated-power features:
    ``f = G @ SpectralSolver(G[sample_index]).ridge(y, lam / h)`` with ``G = green_columns``.

    ``method="qr"`` (default) solves the stacked least-squares problem
    ``[S; sqrt(lam h) D_p] f = [y; 0]`` by a pivoted QR (dense, ``O(M^3)``), accurate even for
    ``p = 3`` where ``D_p^T D_p`` has condition number ``~ M^(2p)``; ``method="banded"`` solves
    the sparse normal equations ``(S^T S + lam h D_p^T D_p) f = S^T y`` (fast, ``O(M p^2)``, but
    it loses ``~ log10 cond(D_p^T D_p)`` digits: fine for p = 1, coarse for p = 3 on fine grids).

    Parameters
    ----------
    grid : array_like, shape (M,)
        Even grid.
    sample_index : array_like of int, shape (N,)
        Distinct grid indices of the samples.
    y : array_like, shape (N,) or (N, C)
        Sample values.
    lam : float
        Smoothing weight (> 0).
    p : int
        Derivative order.
    method : {"qr", "banded"}

    Returns
    -------
    f : ndarray, shape (M,) or (M, C) -- the smoothed function on the grid.

    >>> import numpy as np
    >>> grid = np.linspace(0, 1, 50)
    >>> idx = np.arange(0, 50, 7)
    >>> f = smoothing_spline(grid, idx, np.ones(idx.size), lam=1e-6, p=1)
    >>> bool(np.allclose(f[idx], 1.0, atol=1e-4))
    True
    """
    import scipy.sparse as sps
    from scipy.sparse.linalg import spsolve

    owner = "smoothing_spline"
    grid = check_array(grid, "grid", owner=owner, ndim=1)
    h = _grid_step(grid, owner)
    idx = np.asarray(sample_index)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ParameterError(f"The 'sample_index' parameter of {owner} must be a 1-D array of ints.")
    if np.any(idx < 0) or np.any(idx >= grid.size) or np.unique(idx).size != idx.size:
        raise ParameterError(
            f"The 'sample_index' parameter of {owner} must hold distinct indices in [0, {grid.size - 1}]."
        )
    y = check_array(y, "y", owner=owner, ndim=(1, 2))
    if y.shape[0] != idx.size:
        raise ParameterError(
            f"The 'y' parameter of {owner} must have {idx.size} rows (one per sample). Got shape {y.shape} instead."
        )
    lam = check_scalar(lam, "lam", owner=owner, min_val=0.0, include_min=False)
    p = check_scalar(p, "p", kind=int, owner=owner, min_val=1, max_val=grid.size - 1)
    if method not in ("qr", "banded"):
        raise ParameterError(
            f"The 'method' parameter of {owner} must be one of ['qr', 'banded']. Got {method!r} instead."
        )
    M = grid.size
    D = difference_matrix(M, p, h=h, sparse=True)
    S = sps.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, M))
    if method == "banded":
        lhs = (S.T @ S + (lam * h) * (D.T @ D)).tocsc()
        f = spsolve(lhs, S.T @ y)
    else:
        from scipy.linalg import lstsq

        stacked = sps.vstack([S, math.sqrt(lam * h) * D]).toarray()
        rhs = np.concatenate([y, np.zeros((M,) + y.shape[1:])])
        f = lstsq(stacked, rhs, lapack_driver="gelsy")[0]
    return np.asarray(f, dtype=np.float64).reshape((M,) + y.shape[1:])
