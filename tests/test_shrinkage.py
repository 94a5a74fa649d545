"""SpectralSolver (closed-form shrinkage) against plain GD, normal equations and high precision."""

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from specbias import (
    DivergenceError,
    ParameterError,
    SpectralSolver,
    gradient_descent,
    shallow_features,
)
from specbias.shrinkage import flow_mask, gd_mask, lstsq_mask, pca_mask, ridge_mask

LUCEY = ["heaviside", "tanh", "relu", "relu2", "power_relu(a=1.5)", "gelu", "silu", "sinc", "gaussian"]


def features(act, N=48, K=48):
    x, b = np.linspace(0, 1, N), np.linspace(0, 1, K)
    return shallow_features(x, b, act, scale=float(K))


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("act", LUCEY)
def test_gd_closed_form_equals_plain_gd_up_to_1e4_steps(act):
    rng = np.random.default_rng(0)
    A = features(act)
    y = rng.standard_normal(A.shape[0])
    steps = [1, 3, 10, 100, 1000, 10000]
    W = SpectralSolver(A).gd(y, steps)
    _, path = gradient_descent(A, y, 10000, trajectory=True)
    for i, T in enumerate(steps):
        assert rel(W[i], path[T]) < 1e-9, (act, T)


@pytest.mark.parametrize("shape", [(60, 30), (30, 60)])
def test_gd_closed_form_rectangular_and_several_signals(shape):
    rng = np.random.default_rng(1)
    N, K = shape
    A = features("tanh", N, K)
    Y = rng.standard_normal((N, 3))
    lr = 0.7 / np.linalg.norm(A, 2) ** 2
    W = SpectralSolver(A).gd(Y, [5, 500], lr=lr)
    assert W.shape == (2, K, 3)
    for i, T in enumerate([5, 500]):
        ref = gradient_descent(A, Y, T, lr=lr)
        assert rel(W[i], ref) < 1e-9


def test_gd_with_lr_above_one_over_sigma_sq_oscillates_like_plain_gd():
    rng = np.random.default_rng(2)
    A = features("relu", 40, 40)
    y = rng.standard_normal(40)
    s = SpectralSolver(A)
    lr = 1.9 / s.singular_values[0] ** 2  # stable but 1 - lr sigma_1^2 < 0
    for T in (1, 2, 7, 50):
        assert rel(s.gd(y, T, lr=lr), gradient_descent(A, y, T, lr=lr)) < 1e-9
    with pytest.raises(ParameterError, match="integers"):
        s.gd(y, 2.5, lr=lr)


def test_torch_backend_matches_numpy():
    rng = np.random.default_rng(3)
    A = features("gelu", 32, 24)
    y = rng.standard_normal(32)
    w_np = gradient_descent(A, y, 300)
    w_t, path = gradient_descent(torch.from_numpy(A), torch.from_numpy(y), 300, trajectory=True,
                                 record_every=100)
    assert isinstance(w_t, torch.Tensor) and w_t.dtype == torch.float64
    assert path.shape == (4, 24)
    assert rel(w_t.numpy(), w_np) < 1e-12
    assert rel(SpectralSolver(A).gd(y, 300), w_t.numpy()) < 1e-9


def test_nonzero_start_is_gd_on_the_residual():
    rng = np.random.default_rng(4)
    A = features("tanh", 30, 30)
    y, w0 = rng.standard_normal(30), rng.standard_normal(30)
    s = SpectralSolver(A)
    ref = gradient_descent(A, y, 77, w0=w0)
    assert rel(w0 + s.gd(y - A @ w0, 77), ref) < 1e-9


def test_flow_is_the_small_step_limit_of_gd():
    rng = np.random.default_rng(5)
    A = features("relu", 40, 40)
    y = rng.standard_normal(40)
    s = SpectralSolver(A)
    lr0, T = s.default_lr, 50.0
    flow = s.flow(y, T, lr=lr0)
    errs = []
    for n in (1, 10, 100, 1000):
        errs.append(rel(s.gd(y, T * n, lr=lr0 / n), flow))
    assert all(b < a for a, b in zip(errs, errs[1:], strict=False))
    assert errs[-1] < 1e-3 and errs[-1] < errs[1] / 50  # O(1/n)
    # and the small-lr plain iteration agrees with the flow too
    assert rel(gradient_descent(A, y, 5000, lr=lr0 / 100), s.flow(y, 50.0, lr=lr0)) < 2e-2


def test_ridge_pca_lstsq_against_direct_solves():
    rng = np.random.default_rng(6)
    A = features("tanh", 50, 30)
    y = rng.standard_normal(50)
    s = SpectralSolver(A)
    for lam in (1e-3, 1.0, 100.0):
        ref = np.linalg.solve(A.T @ A + lam * np.eye(30), A.T @ y)
        assert rel(s.ridge(y, lam), ref) < 1e-10
    assert rel(s.ridge(y, [0.1, 10.0])[1], s.ridge(y, 10.0)) < 1e-14
    assert rel(s.lstsq(y), np.linalg.lstsq(A, y, rcond=None)[0]) < 1e-9
    # PCA: least squares on the rank-k truncation of A
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    Ak = (U[:, :5] * sv[:5]) @ Vt[:5]
    assert rel(s.pca(y, 5), np.linalg.pinv(Ak, rcond=1e-12) @ y) < 1e-9
    assert np.allclose(s.pca(y, 0), 0.0)


def test_gd_limit_is_lstsq_and_masks_have_the_right_shapes():
    A = features("heaviside", 20, 20)
    y = np.sin(np.linspace(0, 3, 20))
    s = SpectralSolver(A)
    assert rel(s.gd(y, 1e15), s.lstsq(y)) < 1e-9
    m = s.mask("gd", steps=np.array([[1, 2], [3, 4]]))
    assert m.shape == (2, 2, 20)
    assert np.all(np.diff(m[1, 1]) <= 1e-15)  # non-increasing with k (lr <= 1/sigma_1^2)
    assert s.mask("pca", k=3).sum() == 3
    assert np.allclose(s.mask("ridge", lam=0.0), 1.0)


def test_components_and_singular_values_reconstruct_A():
    A = features("silu", 30, 20)
    s = SpectralSolver(A)
    U, sv, V = s.components, s.singular_values, s.right_vectors
    assert np.allclose((U * sv) @ V.T, A, atol=1e-12)
    assert np.all(np.diff(sv) <= 0)
    first = np.argmax(np.abs(U) > 1e-8 * np.abs(U).max(axis=0), axis=0)
    assert np.all(U[first, np.arange(U.shape[1])] > 0)
    with pytest.raises(ValueError):
        U[0, 0] = 1.0  # read-only


def test_steps_for_realizes_the_mask_value():
    A = features("relu", 64, 64)
    s = SpectralSolver(A)
    k = np.array([2, 5, 10, 20])
    T = s.steps_for(k)
    m = s.mask("gd", steps=T)
    assert np.allclose(m[np.arange(4), k - 1], 1 - 1 / math.e, atol=1e-12)
    # Eq. 17: ~ (sigma_1 / sigma_k)^2 for small ratios
    ratio = (s.singular_values[0] / s.singular_values[k - 1]) ** 2
    assert np.allclose(T[1:], ratio[1:], rtol=0.05)
    # other mask values and learning rates
    T9 = s.steps_for(5, lr=0.5 * s.default_lr, mask_value=0.9)
    assert abs(s.mask("gd", steps=T9, lr=0.5 * s.default_lr)[4] - 0.9) < 1e-12
    # plain GD with y = u_k realizes m(sigma_k) = sigma_k v_k . w
    n = math.ceil(s.steps_for(3))
    w = gradient_descent(A, s.components[:, 2], n)
    assert abs(s.singular_values[2] * s.right_vectors[:, 2] @ w - s.mask("gd", steps=n)[2]) < 1e-10
    assert s.steps_for(1) == 0.0


def test_rounding_lr_sigma_sq_just_above_one_gives_no_nan():
    # find sigma where lr = 1/sigma^2 computed another way rounds lr * sigma^2 above 1
    for sig in np.linspace(1.0, 3.0, 20001):
        lr = 1.0 / (sig * sig)
        if lr * sig**2 > 1.0:
            break
    else:  # pragma: no cover
        pytest.fail("no rounding case found")
    T = np.array([0.5, 2.5, 7.0, 1e12])
    with np.errstate(invalid="ignore"):
        naive = 1.0 - np.power(1.0 - lr * sig**2, T)
    assert np.isnan(naive[0])  # the naive formula breaks
    m = gd_mask([sig, 1e-3 * sig], T, lr)
    assert np.all(np.isfinite(m))
    assert np.allclose(m[:, 0], 1.0)
    A = np.diag([sig, 0.5 * sig])
    s = SpectralSolver(A)
    assert np.all(np.isfinite(s.gd([1.0, 1.0], T, lr=lr)))
    assert np.isfinite(s.steps_for(1, lr=lr))


@pytest.mark.parametrize("T, sigma", [(1e12, 1e-9), (1e12, 1e-6), (1e6, 1e-12), (3.7, 0.5),
                                      (1e12, 1e-3)])
def test_mask_matches_high_precision_for_huge_T_and_tiny_sigma(T, sigma):
    lr = 1.0
    with mpmath.workdps(60):
        x = mpmath.mpf(lr) * mpmath.mpf(sigma) ** 2
        ref = float(1 - (1 - x) ** mpmath.mpf(T))
        ref_flow = float(1 - mpmath.exp(-x * mpmath.mpf(T)))
    got = float(gd_mask([sigma], T, lr)[0])
    assert np.isfinite(got)
    assert abs(got - ref) <= 1e-13 * abs(ref) + 1e-300
    assert abs(float(flow_mask([sigma], T, lr)[0]) - ref_flow) <= 1e-13 * abs(ref_flow)
    if sigma <= 1e-9:  # where the naive power rounds (1 - sigma^2) to 1 and loses everything
        assert abs(1.0 - (1.0 - lr * sigma**2) ** T - ref) > 1e-3 * ref


def test_solver_with_huge_steps_and_tiny_singular_values_is_finite():
    A = np.diag([1.0, 1e-8, 1e-150, 0.0])
    s = SpectralSolver(A)
    w = s.gd(np.ones(4), 1e12)
    assert np.all(np.isfinite(w))
    assert abs(w[1] - (-math.expm1(1e12 * math.log1p(-1e-16))) / 1e-8) < 1e-6 * abs(w[1])
    assert w[3] == 0.0


def test_divergent_learning_rate_is_a_clear_error():
    A = features("tanh", 20, 20)
    s = SpectralSolver(A)
    bound = 2 / s.singular_values[0] ** 2
    with pytest.raises(DivergenceError, match=r"diverges for lr >= 2/sigma_1\^2") as exc:
        s.gd(np.ones(20), 10, lr=2.0 * bound)
    assert repr(float(bound))[:8] in str(exc.value)
    assert "np.float" not in str(exc.value)  # a plain number, not a numpy repr
    with pytest.raises(DivergenceError, match="diverges"):
        s.steps_for(3, lr=bound)
    with pytest.raises(DivergenceError, match="diverges"):
        gradient_descent(A, np.ones(20), 5, lr=1.0001 * bound)
    with pytest.raises(DivergenceError, match="diverges"):
        gd_mask([1.0], 5, 2.0)
    # the flow never diverges
    assert np.all(np.isfinite(s.flow(np.ones(20), 10, lr=10 * bound)))


def test_bad_inputs_are_clear_errors():
    A = features("relu", 10, 8)
    s = SpectralSolver(A)
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ParameterError, match="'A' parameter of SpectralSolver must be finite"):
        SpectralSolver(bad)
    with pytest.raises(ParameterError, match="must be a 2-D array"):
        SpectralSolver(np.ones(3))
    with pytest.raises(ParameterError, match="must have 10 rows"):
        s.gd(np.ones(9), 3)
    with pytest.raises(ParameterError, match="must be finite"):
        s.ridge(np.full(10, np.inf), 1.0)
    with pytest.raises(ParameterError, match=r"range \[0, 8\]"):
        s.pca(np.ones(10), 9)
    with pytest.raises(ParameterError, match=r"range \[1, 8\]"):
        s.steps_for(0)
    with pytest.raises(ParameterError, match="non-negative"):
        s.gd(np.ones(10), -1)
    with pytest.raises(ParameterError, match="non-negative"):
        s.ridge(np.ones(10), -1.0)
    with pytest.raises(ParameterError, match="must be one of"):
        s.mask("lasso")
    with pytest.raises(ParameterError, match="missing"):
        s.mask("gd")
    with pytest.raises(ParameterError, match="lr"):
        s.gd(np.ones(10), 3, lr=-1.0)
    with pytest.raises(ParameterError, match="mask_value"):
        s.steps_for(2, mask_value=1.0)
    with pytest.raises(ParameterError, match="shape"):
        gradient_descent(A, np.ones(9), 3)
    with pytest.raises(ParameterError, match="steps"):
        gradient_descent(A, np.ones(10), 2.5)
    with pytest.raises(ParameterError, match="all zeros"):
        SpectralSolver(np.zeros((3, 3))).gd(np.ones(3), 2)
    with pytest.raises(ParameterError, match="last dimension"):
        s.solve(np.ones(10), np.ones(3))


def test_standalone_masks():
    sig = np.array([2.0, 1.0, 0.5])
    assert np.allclose(ridge_mask(sig, 1.0), sig**2 / (sig**2 + 1))
    assert pca_mask(sig, [0, 3]).tolist() == [[0, 0, 0], [1, 1, 1]]
    assert lstsq_mask([1.0, 1e-20, 0.0]).tolist() == [1.0, 0.0, 0.0]
    assert np.allclose(gd_mask(sig, 3, 0.2), 1 - (1 - 0.2 * sig**2) ** 3)


@settings(max_examples=25, deadline=None)
@given(N=st.integers(2, 12), K=st.integers(2, 12), T=st.integers(0, 60),
       frac=st.floats(0.05, 1.95), seed=st.integers(0, 2**16))
def test_property_closed_form_equals_iteration(N, K, T, frac, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((N, K))
    y = rng.standard_normal(N)
    lr = frac / np.linalg.norm(A, 2) ** 2
    ref = gradient_descent(A, y, T, lr=lr)
    got = SpectralSolver(A).gd(y, T, lr=lr)
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-9 * (1 + np.abs(ref).max()))
