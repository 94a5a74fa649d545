"""Bad input to the numpy/scipy theory modules gives one clear ParameterError (or another
SpecbiasError) naming the parameter, never a raw numpy/scipy/torch exception or silent garbage.

The first part covers gaps that used to leak (each test fails on the code before the audit);
the second part pins a representative sample of checks that were already in place.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from specbias import (
    DivergenceError,
    ParameterError,
    SpecbiasError,
    SpectralSolver,
    activation,
    breakpoints,
    design_activation,
    gradient_descent,
    kernel_fit,
    numerical_fourier,
    radial_magnitude,
    radon_features,
    relu_net_fourier,
    shallow_features,
)
from specbias.relu_fourier import linear_pieces
from specbias.shrinkage import flow_mask, gd_mask, lstsq_mask, pca_mask, ridge_mask
from specbias.signals import dst_fit, load_signal, psnr, resample
from specbias.spectra import fourier_2d, grid_2d
from specbias.splines import difference_matrix, green_columns, smoothing_spline

X8 = np.linspace(0.0, 1.0, 8)
NET = [(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])), (np.array([[1.0, -1.0]]), np.array([0.0]))]


@pytest.fixture(scope="module")
def solver():
    return SpectralSolver(shallow_features(X8, X8, "relu", scale=8))


def _radon_args():
    return np.ones((3, 2)), np.ones((4, 2)), np.ones(4)


# ============================================================================ gaps fixed


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("call, name", [
    (lambda a: a("abc"), "'z' parameter of activation\\('relu'\\)"),
    (lambda a: a.fourier("abc"), "'omega' parameter of activation\\('relu'\\).fourier"),
    (lambda a: a.penalty("abc"), "'omega' parameter of Activation.penalty"),
])
def test_activation_non_numeric_input(call, name):
    with pytest.raises(ParameterError, match=name + ".*array-like of numbers"):
        call(activation("relu"))


@pytest.mark.parametrize("spec, params, name", [
    ("power_relu", {"a": 200.0}, "'a' parameter of power_relu must be below 170.6"),
    ("relu200", {}, "'a' parameter of power_relu must be below 170.6"),
    ("oberhettinger", {"nu": 200.0}, "'nu' parameter of oberhettinger must be below 171.6"),
])
def test_activation_gamma_overflow(spec, params, name):
    with pytest.raises(ParameterError, match=name):
        activation(spec, **params)


def test_power_relu_large_valid_exponent_still_works():
    act = activation("power_relu", a=170.0)
    assert np.isfinite(act.fourier(2.0))


@pytest.mark.parametrize("kwargs, name", [
    ({"penalty_fn": lambda w: np.ones(3)}, "'penalty_fn' parameter of design_activation.*shape \\(3,\\)"),
    ({"penalty_fn": lambda w: "a"}, "'penalty_fn' parameter of design_activation.*Got str"),
    ({"penalty_fn": lambda w: 1 + w**2, "phase": lambda w: np.ones(3)},
     "'phase' parameter of design_activation.*shape \\(3,\\)"),
    ({"penalty_fn": lambda w: 1 + w**2, "name": 3}, "'name' parameter of design_activation must be a str"),
])
def test_design_activation_bad_callables(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        design_activation(n=256, **kwargs)


def test_design_activation_scalar_penalty_still_allowed():
    act = design_activation(lambda w: 2.0, n=256)
    assert np.all(np.isfinite(act(np.linspace(-1, 1, 5))))


# ---------------------------------------------------------------- features


def test_shallow_features_activation_wrong_output_shape():
    with pytest.raises(ParameterError, match="'activation' parameter of shallow_features.*same shape"):
        shallow_features(X8, X8, lambda z: np.ones(3))


def test_radon_features_activation_wrong_output_shape():
    with pytest.raises(ParameterError, match="'activation' parameter of radon_features.*same shape"):
        radon_features(*_radon_args(), lambda z: np.ones(3))


@pytest.mark.parametrize("scale", [np.nan, np.inf, "a", np.ones(3), -1.0])
def test_radon_features_bad_scale(scale):
    with pytest.raises(ParameterError, match="'scale' parameter of radon_features"):
        radon_features(*_radon_args(), "relu", scale=scale)


def test_radon_features_per_neuron_scale_still_works():
    Phi = radon_features(*_radon_args(), "relu", scale=np.arange(1.0, 5.0))
    assert Phi.shape == (3, 4) and np.all(np.isfinite(Phi))


# ---------------------------------------------------------------- shrinkage


@pytest.mark.parametrize("call, name", [
    (lambda s: s.ridge(X8, -1.0), "'lam' parameter of SpectralSolver.ridge must be non-negative"),
    (lambda s: s.mask("ridge", lam=-1.0), "'lam' parameter of SpectralSolver.ridge"),
    (lambda s: s.flow(X8, -3.0), "'time' parameter of SpectralSolver.flow must be non-negative"),
    (lambda s: s.mask("flow", time=-3.0), "'time' parameter of SpectralSolver.flow"),
    (lambda s: s.lstsq(X8, -1.0), r"'rcond' parameter of SpectralSolver.lstsq must be a float in the range \[0.0, inf\)"),
])
def test_spectral_solver_errors_name_the_method(solver, call, name):
    with pytest.raises(ParameterError, match=name):
        call(solver)


@pytest.mark.parametrize("fn, args", [
    (gd_mask, (1, 0.1)), (flow_mask, (1, 0.1)), (ridge_mask, (1.0,)), (pca_mask, (1,)), (lstsq_mask, ()),
])
def test_masks_reject_2d_sigma(fn, args):
    with pytest.raises(ParameterError, match=f"'sigma' parameter of {fn.__name__} must be a 1-D array"):
        fn(np.ones((2, 2)), *args)


@pytest.mark.parametrize("kwargs, name", [
    ({"w0": np.full(8, np.nan)}, "'w0' parameter of gradient_descent must be finite"),
    ({"w0": "a"}, "'w0' parameter of gradient_descent must be array-like of numbers"),
])
def test_gradient_descent_torch_bad_w0(kwargs, name):
    A = torch.tensor(shallow_features(X8, X8, "relu", scale=8))
    with pytest.raises(ParameterError, match=name):
        gradient_descent(A, X8, 3, **kwargs)


def test_gradient_descent_torch_non_numeric_A_y():
    A = torch.tensor(shallow_features(X8, X8, "relu", scale=8))
    with pytest.raises(ParameterError, match="'A' parameter of gradient_descent must be array-like"):
        gradient_descent("abc", X8, 3, backend="torch")
    with pytest.raises(ParameterError, match="'y' parameter of gradient_descent must be array-like"):
        gradient_descent(A, "abc", 3)


# ---------------------------------------------------------------- kernel


def test_kernel_fit_zero_features_infeasible_budget():
    # Phi = 0 cannot reduce the residual |y|^2 / N = 1 below mse = 0.1: used to return c = 0
    with pytest.raises(ParameterError, match="'mse' parameter of kernel_fit.*infeasible"):
        kernel_fit(np.zeros((3, 4)), np.ones(3), mse=0.1)
    for method in ("svd", "gram"):
        with pytest.raises(ParameterError, match="'mse' parameter of kernel_fit"):
            kernel_fit(np.zeros((3, 4)), np.ones(3), mse=0.1, method=method)


def test_kernel_fit_zero_features_feasible_cases_unchanged():
    assert np.all(kernel_fit(np.zeros((3, 4)), np.ones(3)) == 0)
    assert np.all(kernel_fit(np.zeros((3, 4)), np.ones(3), mse=1.0) == 0)


@pytest.mark.parametrize("kwargs, name", [
    ({"solver_options": 3}, "'solver_options' parameter of kernel_fit must be None or a dict"),
    ({"solver": 3}, "'solver' parameter of kernel_fit must be None or a CVXPY solver name"),
])
def test_kernel_fit_bad_solver_arguments(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        kernel_fit(np.ones((3, 4)), np.arange(3.0), mse=0.1, method="cvxpy", **kwargs)


# ---------------------------------------------------------------- spectra


@pytest.mark.parametrize("band, name", [
    ((1.0,), "'band' parameter of numerical_fourier must be a pair"),
    ("ab", "'band' parameter of numerical_fourier must be a pair"),
    (3.0, "'band' parameter of numerical_fourier must be a pair"),
    ((3.0, 1.0), "'band' parameter of numerical_fourier must be a pair \\(lo, hi\\) with 0 <= lo <= hi"),
    ((-1.0, 1.0), "'band' parameter of numerical_fourier"),
    ((np.nan, 1.0), "'band\\[0\\]' parameter of numerical_fourier"),
])
def test_numerical_fourier_bad_band(band, name):
    with pytest.raises(ParameterError, match=name):
        numerical_fourier("gaussian", h=0.01, n=1024, band=band)


@pytest.mark.parametrize("order", [0, 2])
def test_numerical_fourier_activation_wrong_output(order):
    with pytest.raises(ParameterError, match="'act' parameter of numerical_fourier.*same shape"):
        numerical_fourier(lambda z: np.ones(3), h=0.01, n=1024, order=order)
    with pytest.raises(ParameterError, match="'act' parameter of numerical_fourier must return numbers"):
        numerical_fourier(lambda z: "a", h=0.01, n=1024, order=order)


@pytest.mark.parametrize("extent, name", [
    ((1.0,), "'extent' parameter of {} must be a pair"),
    (5.0, "'extent' parameter of {} must be a pair"),
    (("a", "b"), "'extent\\[0\\]' parameter of {}"),
    ((-np.inf, 1.0), "'extent\\[0\\]' parameter of {}"),
    ((0.0, np.nan), "'extent\\[1\\]' parameter of {}"),
])
def test_bad_extent(extent, name):
    with pytest.raises(ParameterError, match=name.format("grid_2d")):
        grid_2d(4, extent)
    with pytest.raises(ParameterError, match=name.format("fourier_2d")):
        fourier_2d(np.ones((4, 4)), extent)
    with pytest.raises(ParameterError, match=name.format("radial_magnitude")):
        radial_magnitude(np.ones((8, 8)), extent)


@pytest.mark.parametrize("f, name", [
    (lambda X: np.ones(3), "'f' parameter of radial_magnitude must return one value per point"),
    (lambda X: "abc", "'f' parameter of radial_magnitude must return numbers"),
    (lambda X: np.full(len(X), np.nan), "'f' parameter of radial_magnitude must be finite"),
    (np.ones((8, 9)), "'f' parameter of radial_magnitude must be a square array"),
])
def test_radial_magnitude_bad_f(f, name):
    with pytest.raises(ParameterError, match=name):
        radial_magnitude(f, n=8)


def test_radial_magnitude_window_and_pad_name_the_function():
    with pytest.raises(ParameterError, match="'window' parameter of radial_magnitude"):
        radial_magnitude(np.ones((8, 8)), window="hamming")
    with pytest.raises(ParameterError, match="'window' parameter of fourier_2d"):
        fourier_2d(np.ones((8, 8)), window="hamming")
    with pytest.raises(ParameterError, match="'pad' parameter of radial_magnitude"):
        radial_magnitude(np.ones((8, 8)), pad=0)


# ---------------------------------------------------------------- relu_fourier, splines


def test_relu_net_non_numeric_weights():
    with pytest.raises(ParameterError, match="'model' parameter of breakpoints must hold \\(W, b\\) pairs"):
        breakpoints([("a", "b")])
    with pytest.raises(ParameterError, match="'model' parameter of relu_net_fourier"):
        relu_net_fourier([(np.ones((1, 1)), "b")], [1.0])


def test_linear_pieces_call_non_numeric():
    with pytest.raises(ParameterError, match="'z' parameter of LinearPieces"):
        linear_pieces(NET)("abc")


@pytest.mark.parametrize("p", [0, 10, 1.5])
def test_green_columns_checks_p_itself(p):
    with pytest.raises(ParameterError, match=r"'p' parameter of green_columns must be an int in the range \[1, 7\]"):
        green_columns(X8, p)


# ============================================================================ checks already in place


def test_every_error_is_a_specbias_value_error():
    assert issubclass(ParameterError, SpecbiasError) and issubclass(SpecbiasError, ValueError)


@pytest.mark.parametrize("call, name", [
    (lambda: activation("rleu"), "Unknown activation 'rleu'. Did you mean 'relu'"),
    (lambda: activation("power_relu", a=0.0), "'a' parameter of power_relu"),
    (lambda: activation(3), "'name' parameter of activation must be a str"),
    (lambda: activation("relu").penalty(1.0, dim=0), "'dim' parameter of Activation.penalty"),
    (lambda: shallow_features(X8, X8, "relu", scale=np.nan), "'scale' parameter of shallow_features"),
    (lambda: shallow_features(np.ones((2, 2)), X8, "relu"), "'x' parameter of shallow_features must be a 1-D"),
    (lambda: shallow_features([], X8, "relu"), "'x' parameter of shallow_features must have at least 1"),
    (lambda: radon_features(np.ones((3, 2)), np.ones((4, 3)), np.ones(4), "relu"), "Shapes do not match"),
    (lambda: SpectralSolver(np.ones(3)), "'A' parameter of SpectralSolver must be a 2-D array"),
    (lambda: SpectralSolver(np.ones((0, 3))), "'A' parameter of SpectralSolver must have at least 1"),
    (lambda: gradient_descent(np.ones((3, 3)), np.ones(3), 2.5), "'steps' parameter of gradient_descent"),
    (lambda: gradient_descent(np.ones((3, 3)), np.ones(3), 3, backend="jax"), "'backend' parameter"),
    (lambda: kernel_fit(np.ones((3, 4)), np.ones(2)), "'y' parameter of kernel_fit must have length 3"),
    (lambda: kernel_fit(np.ones((3, 4)), np.ones(3), mse=-1), r"'mse' parameter of kernel_fit .*\[0.0, inf\)"),
    (lambda: kernel_fit(np.ones((3, 4)), np.ones(3), method="foo"), "'method' parameter of kernel_fit"),
    (lambda: kernel_fit(np.full((3, 4), np.nan), np.ones(3)), "'Phi' parameter of kernel_fit must be finite"),
    (lambda: numerical_fourier("relu", h=-1.0), "'h' parameter of numerical_fourier"),
    (lambda: numerical_fourier("gausian"), "Did you mean 'gaussian'"),
    (lambda: grid_2d(4, (1.0, 0.0)), "'extent' parameter of grid_2d must be \\(a, b\\) with b > a"),
    (lambda: radial_magnitude(np.ones((8, 8)), n_angles=2), "'n_angles' parameter of radial_magnitude"),
    (lambda: breakpoints(NET, (1.0, 0.0)), "'interval' parameter of breakpoints"),
    (lambda: breakpoints([(np.ones((2, 1)), np.ones(2))]), "'model' parameter of breakpoints must have a single output"),
    (lambda: relu_net_fourier(NET, np.nan), "'omega' parameter of relu_net_fourier must be finite"),
    (lambda: relu_net_fourier(NET, 1.0, chunk=0), "'chunk' parameter of relu_net_fourier"),
    (lambda: resample([0.0, 1.0, 2.0], [2.0]), "'x' parameter of resample must lie in \\[0, 1\\]"),
    (lambda: psnr([0.0, 1.0], [0.0, 1.0, 2.0]), "'estimate' parameter of psnr"),
    (lambda: dst_fit(X8, X8[:3], 2), "'y' parameter of dst_fit must have 8 rows"),
    (lambda: load_signal("no-such-file.npy"), "'source' parameter of load_signal"),
    (lambda: difference_matrix(3, 3), "'p' parameter of difference_matrix"),
    (lambda: smoothing_spline(X8, [0, 0], [1.0, 2.0], 1e-3, 1), "'sample_index' parameter of smoothing_spline"),
    (lambda: smoothing_spline(X8, [0, 2], [1.0, 2.0], 0.0, 1), "'lam' parameter of smoothing_spline"),
])
def test_existing_checks(call, name):
    with pytest.raises(ParameterError, match=name):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda s: s.pca(X8, 100), r"'k' parameter of SpectralSolver.pca must be an int in the range \[0, 8\]"),
    (lambda s: s.pca(X8, 1.5), "'k' parameter of SpectralSolver.pca"),
    (lambda s: s.steps_for(0), r"'k' parameter of SpectralSolver.steps_for .*\[1, 8\]"),
    (lambda s: s.gd(X8, np.nan), "'steps' parameter of SpectralSolver.gd must be finite"),
    (lambda s: s.gd(X8[:3], 3), "'y' parameter of SpectralSolver.gd must have 8 rows"),
    (lambda s: s.solve(X8, np.ones(3)), "'mask' parameter of SpectralSolver.solve"),
    (lambda s: s.mask("gdd", steps=1), "'kind' parameter of SpectralSolver.mask"),
])
def test_existing_solver_checks(solver, call, name):
    with pytest.raises(ParameterError, match=name):
        call(solver)


def test_existing_divergence_check():
    A = shallow_features(X8, X8, "relu", scale=8)
    with pytest.raises(DivergenceError, match="'lr' parameter of gradient_descent"):
        gradient_descent(A, X8, 3, lr=1e9)
