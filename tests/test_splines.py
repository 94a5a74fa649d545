"""Finite differences, Green's functions and the spline <-> ridge equivalence (Prop. 3.1)."""

import math

import numpy as np
import pytest

from specbias import ParameterError, SpectralSolver, shallow_features
from specbias.splines import (
    difference_matrix,
    green_columns,
    smoothing_spline,
    spline_biases,
    truncated_power,
)


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_difference_matrix_is_the_causal_convolution_and_D1_power(p):
    n, h = 12, 0.1
    D = difference_matrix(n, p, h=h)
    D1 = difference_matrix(n, 1, h=h)
    assert np.allclose(D, np.linalg.matrix_power(D1, p))
    f = np.random.default_rng(p).standard_normal(n)
    kernel = [(-1) ** i * math.comb(p, i) for i in range(p + 1)]
    assert np.allclose(D @ f, np.convolve(f, kernel)[:n] / h**p)
    assert np.allclose(difference_matrix(n, p, h=h, sparse=True).toarray(), D)
    # smooth functions: p-th derivative in the interior
    x = np.linspace(0, 1, 201)
    g = np.sin(2 * x)
    d = difference_matrix(201, p, h=x[1] - x[0]) @ g
    shift = p * (x[1] - x[0]) / 2  # a backward difference is centred p h / 2 back
    exact = 2**p * np.sin(2 * (x - shift) + p * np.pi / 2)
    assert np.max(np.abs(d[p:] - exact[p:])) < 1e-3 * 2**p


@pytest.mark.parametrize("p", [1, 2])
def test_inverse_columns_are_exact_truncated_powers(p):
    grid = np.linspace(0, 1, 65)
    G = green_columns(grid, p)
    T = truncated_power(grid[:, None] - spline_biases(grid, p)[None, :], p)
    assert np.allclose(G, T, atol=1e-12)
    act = "heaviside" if p == 1 else "relu"
    assert np.allclose(G, shallow_features(grid, spline_biases(grid, p), act), atol=1e-12)


def test_relu2_columns_converge_at_second_order():
    errs = []
    for M in (33, 65, 129):
        grid = np.linspace(0, 1, M)
        G = green_columns(grid, 3)
        T = truncated_power(grid[:, None] - spline_biases(grid, 3)[None, :], 3)
        errs.append(np.max(np.abs(G - T)))
        assert errs[-1] == pytest.approx((grid[1] - grid[0]) ** 2 / 8, rel=1e-6)
    assert errs[0] / errs[1] == pytest.approx(4, rel=0.1)


def test_truncated_power_values():
    z = np.array([-0.5, 0.0, 0.5, 2.0])
    assert truncated_power(z, 1).tolist() == [0, 1, 1, 1]
    assert np.allclose(truncated_power(z, 2), np.maximum(z, 0))
    assert np.allclose(truncated_power(z, 4), np.maximum(z, 0) ** 3 / 6)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_ridge_on_green_features_equals_spline_smoothing(p):
    rng = np.random.default_rng(p)
    grid = np.linspace(0, 1, 97)
    h = grid[1] - grid[0]
    idx = np.sort(rng.choice(97, 20, replace=False))
    y = np.cos(3 * grid[idx]) + 0.1 * rng.standard_normal(20)
    G = green_columns(grid, p)
    for lam in (1e-6, 1e-3):
        f_spline = smoothing_spline(grid, idx, y, lam, p)
        f_ridge = G @ SpectralSolver(G[idx]).ridge(y, lam / h)
        assert np.max(np.abs(f_ridge - f_spline)) < 1e-8 * np.max(np.abs(f_spline))
        # the objective: no other f does better
        D = difference_matrix(97, p, h=h)

        def obj(f, lam=lam, D=D):
            return np.sum((f[idx] - y) ** 2) + lam * h * np.sum((D @ f) ** 2)

        assert obj(f_spline) <= obj(f_spline + 1e-4 * rng.standard_normal(97))


def test_qr_and_banded_solves_agree_when_well_conditioned():
    grid = np.linspace(0, 1, 60)
    idx = np.arange(0, 60, 3)
    y = np.sin(5 * grid[idx])
    for p in (1, 2):
        a = smoothing_spline(grid, idx, y, 1e-4, p, method="qr")
        b = smoothing_spline(grid, idx, y, 1e-4, p, method="banded")
        assert np.allclose(a, b, atol=1e-8)
    Y = np.c_[y, 2 * y]
    assert np.allclose(smoothing_spline(grid, idx, Y, 1e-4, 2)[:, 1],
                       2 * smoothing_spline(grid, idx, y, 1e-4, 2))


def test_spline_errors():
    grid = np.linspace(0, 1, 10)
    with pytest.raises(ParameterError, match="evenly spaced"):
        green_columns(np.r_[0.0, 0.1, 0.5], 1)
    with pytest.raises(ParameterError, match="distinct indices"):
        smoothing_spline(grid, np.array([0, 0]), [1.0, 2.0], 1.0, 1)
    with pytest.raises(ParameterError, match="rows"):
        smoothing_spline(grid, np.array([0, 3]), [1.0], 1.0, 1)
    with pytest.raises(ParameterError, match="'lam'"):
        smoothing_spline(grid, np.array([0, 3]), [1.0, 2.0], 0.0, 1)
    with pytest.raises(ParameterError, match="'p'"):
        difference_matrix(5, 5)
