"""kernel_fit: exact minimum-norm fits at an MSE budget, against CVXPY and closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specbias import ParameterError, kernel_fit
from specbias.features import radon_features

TIGHT = {"solver": "CLARABEL"}  # kernel_fit's cvxpy path uses tight tolerances by default


def _problem(seed, N, K):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, K)), rng.standard_normal(N)


def _relu_problem(seed, N, K):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, 2))
    ang = 2 * np.pi * np.arange(K) / K
    theta = np.column_stack([np.cos(ang), np.sin(ang)])
    gamma = rng.uniform(-np.sqrt(2), np.sqrt(2), K)
    return radon_features(X, theta, gamma, "relu"), rng.uniform(-1, 1, N)


@pytest.mark.parametrize("seed,N,K,mse", [(0, 30, 60, 0.01), (1, 30, 60, 0.3), (2, 40, 40, 0.05),
                                          (3, 60, 30, 1.0), (4, 25, 80, None)])
def test_kernel_fit_matches_cvxpy(seed, N, K, mse):
    Phi, y = _problem(seed, N, K)
    c = kernel_fit(Phi, y, mse)
    c_ref = kernel_fit(Phi, y, mse, method="cvxpy")
    assert np.linalg.norm(c - c_ref) <= 1e-5 * np.linalg.norm(c_ref)
    assert np.linalg.norm(Phi @ (c - c_ref)) <= 1e-5 * np.linalg.norm(Phi @ c_ref)


def test_kernel_fit_matches_cvxpy_on_relu_features():
    Phi, y = _relu_problem(0, 40, 120)
    c, info = kernel_fit(Phi, y, 0.02, return_info=True)
    c_ref = kernel_fit(Phi, y, 0.02, method="cvxpy")
    assert np.linalg.norm(Phi @ (c - c_ref)) <= 1e-5 * np.linalg.norm(Phi @ c_ref)
    assert np.linalg.norm(c - c_ref) <= 1e-5 * np.linalg.norm(c_ref)
    assert info.mse == pytest.approx(0.02, rel=1e-9)


def test_kernel_fit_pseudo_inverse_and_exact_interpolation():
    Phi, y = _problem(5, 20, 50)
    np.testing.assert_allclose(kernel_fit(Phi, y), np.linalg.pinv(Phi) @ y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kernel_fit(Phi, y, 0.0), np.linalg.pinv(Phi) @ y, rtol=1e-10, atol=1e-12)
    Phi, y = _problem(6, 50, 20)  # tall: least squares
    np.testing.assert_allclose(kernel_fit(Phi, y), np.linalg.lstsq(Phi, y, rcond=None)[0], rtol=1e-10)


@pytest.mark.parametrize("method", ["auto", "gram", "svd"])
def test_kernel_fit_is_ridge_at_the_budget(method):
    """The solution is c = Phi^T (Phi Phi^T + lam I)^{-1} y with residual exactly the budget."""
    Phi, y = _problem(7, 30, 70)
    for mse in (1e-4, 0.01, 0.5):
        c, info = kernel_fit(Phi, y, mse, method=method, return_info=True)
        assert np.mean((Phi @ c - y) ** 2) == pytest.approx(mse, rel=1e-10)
        direct = Phi.T @ np.linalg.solve(Phi @ Phi.T + info.lam * np.eye(30), y)
        np.testing.assert_allclose(c, direct, rtol=1e-9, atol=1e-12)


def test_kernel_fit_gram_path_agrees_with_svd_on_ill_conditioned_features():
    Phi, y = _relu_problem(1, 150, 400)
    for mse in (0.2, 0.01, 1e-3):
        c, info = kernel_fit(Phi, y, mse, method="gram", return_info=True)
        c_svd, info_svd = kernel_fit(Phi, y, mse, method="svd", return_info=True)
        assert info.lam == pytest.approx(info_svd.lam, rel=1e-7)
        assert np.linalg.norm(c - c_svd) <= 1e-8 * np.linalg.norm(c_svd)
        assert info.mse == pytest.approx(mse, rel=1e-8)


def test_kernel_fit_norm_decreases_with_the_budget():
    Phi, y = _relu_problem(2, 60, 200)
    norms = [np.linalg.norm(kernel_fit(Phi, y, m)) for m in (1e-4, 1e-3, 1e-2, 1e-1)]
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False))


def test_kernel_fit_zero_when_budget_covers_the_target():
    Phi, y = _problem(8, 10, 20)
    c, info = kernel_fit(Phi, y, float(np.mean(y**2)) * 1.01, return_info=True)
    assert not c.any() and math.isinf(info.lam) and info.status == "zero"


def test_kernel_fit_errors():
    Phi, y = _problem(9, 40, 10)
    floor = np.mean((Phi @ np.linalg.lstsq(Phi, y, rcond=None)[0] - y) ** 2)
    with pytest.raises(ParameterError, match="infeasible"):
        kernel_fit(Phi, y, 0.5 * floor)
    mid = 0.5 * (floor + np.mean(y**2))
    c = kernel_fit(Phi, y, mid)
    assert np.mean((Phi @ c - y) ** 2) == pytest.approx(mid, rel=1e-9)
    with pytest.raises(ParameterError, match="'y' parameter of kernel_fit must have length 40"):
        kernel_fit(Phi, y[:-1])
    with pytest.raises(ParameterError, match="'mse' parameter"):
        kernel_fit(Phi, y, -1.0)
    with pytest.raises(ParameterError, match="'method' parameter"):
        kernel_fit(Phi, y, method="qr")
    with pytest.raises(ParameterError, match="2-D"):
        kernel_fit(y, y)
    bad = Phi.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        kernel_fit(bad, y)


@settings(max_examples=25, deadline=None)
@given(N=st.integers(2, 25), K=st.integers(2, 40), frac=st.floats(0.01, 0.9),
       seed=st.integers(0, 10_000))
def test_kernel_fit_property_budget_met_and_paths_agree(N, K, frac, seed):
    Phi, y = _problem(seed, N, K)
    c_ls = kernel_fit(Phi, y)
    floor = float(np.mean((Phi @ c_ls - y) ** 2))
    mse = floor + frac * (float(np.mean(y**2)) - floor)
    c, info = kernel_fit(Phi, y, mse, return_info=True)
    c_svd = kernel_fit(Phi, y, mse, method="svd")
    assert info.mse == pytest.approx(mse, rel=1e-7, abs=1e-12)
    assert np.linalg.norm(c - c_svd) <= 1e-7 * max(np.linalg.norm(c_svd), 1e-300)
    assert np.linalg.norm(c) <= np.linalg.norm(c_ls) * (1 + 1e-9)


def test_kernel_fit_cvxpy_missing_is_a_clear_error(monkeypatch):
    import sys

    from specbias import MissingDependencyError

    monkeypatch.setitem(sys.modules, "cvxpy", None)  # import cvxpy fails
    Phi, y = _problem(0, 10, 20)
    with pytest.raises(MissingDependencyError, match=r"pip install 'specbias\[convex\]'") as info:
        kernel_fit(Phi, y, 0.1, method="cvxpy")
    assert isinstance(info.value, ParameterError) and isinstance(info.value, ImportError)
    assert np.all(np.isfinite(kernel_fit(Phi, y, 0.1)))  # the exact path needs no cvxpy
