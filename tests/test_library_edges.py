"""Library edges: extreme scales, oversized models, complex and string input, exploding losses."""

import copy
import warnings

import numpy as np
import pytest
import torch

from specbias import nn as sb_nn
from specbias._validation import DivergenceError, ParameterError, check_array
from specbias.ensemble import train_ensemble
from specbias.features import radon_features, shallow_features
from specbias.nn import MLP, ShallowNet
from specbias.regimes import shallow_net
from specbias.shrinkage import SpectralSolver, flow_mask, gd_mask, gradient_descent, ridge_mask
from specbias.spectra import numerical_fourier
from specbias.training import DivergenceMonitor, train

RNG = np.random.default_rng(7)
A0 = RNG.standard_normal((9, 5))
Y0 = RNG.standard_normal(9)
SCALES = [1e160, 1e-170]


@pytest.fixture(autouse=True)
def _no_silent_warnings():
    """Overflow, invalid-value and complex-casting warnings are errors here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _close(a, b, rtol=1e-9):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


# ------------------------------------------------------------------ SpectralSolver at extreme scales


@pytest.mark.parametrize("c", SCALES)
def test_solver_is_scale_covariant(c):
    ref, big = SpectralSolver(A0), SpectralSolver(A0 * c)
    _close(big.singular_values / c, ref.singular_values)
    # default lr = 1/sigma_1^2 follows the scale: w(cA) = w(A) / c
    _close(big.gd(Y0, [1, 10, 1e4]) * c, ref.gd(Y0, [1, 10, 1e4]))
    _close(big.flow(Y0, [0.5, 30.0]) * c, ref.flow(Y0, [0.5, 30.0]))
    _close(big.steps_for([2, 4]), ref.steps_for([2, 4]))
    _close(big.mask("gd", steps=7), ref.mask("gd", steps=7))
    _close(big.lstsq(Y0) * c, ref.lstsq(Y0))
    _close(big.pca(Y0, 3) * c, ref.pca(Y0, 3))
    # lam has units of sigma^2: lam' = lam c^2 (both representable here)
    lam = 1e300 if c > 1 else 1e-300
    _close(big.ridge(Y0, lam) * c, ref.ridge(Y0, lam / c / c))


def test_solver_scaled_solution_and_lr_stay_finite_and_exact():
    c = 2.0**600  # a power of two: the scaled problem is the same problem, bit for bit
    ref, big = SpectralSolver(A0), SpectralSolver(A0 * c)
    w = big.gd(Y0, 25)
    assert np.all(np.isfinite(w)) and np.array_equal(w * c, ref.gd(Y0, 25))
    assert big.max_lr == 0.0  # 2/sigma_1^2 ~ 1e-361 is below float64; lr=None still works
    lr = 0.5 * 2.0**-1000  # representable: lr sigma^2 = 0.5 * 2^200 * sigma_ref^2 -> diverges
    with pytest.raises(DivergenceError, match=r"below 2/sigma_1\^2 = [0-9.]+e-3\d\d"):
        big.gd(Y0, 3, lr=lr)


def test_solver_unrepresentable_results_are_refused():
    tiny = SpectralSolver(np.eye(3) * 1e-170)
    with pytest.raises(ParameterError, match="cannot be represented in float64.*1e\\+340"):
        tiny.gd(np.ones(3) * 1e170, 100)
    with pytest.raises(ParameterError, match="'A' parameter of SpectralSolver is too large"):
        SpectralSolver(np.full((3, 3), 1e308))


@pytest.mark.parametrize("c, lam, lr", [(1e155, 1e308, 1e-310), (1e-160, 1e-300, 1e300)])
def test_mask_functions_at_extreme_scales(c, lam, lr):
    # (s c)^2 overflows (c = 1e155) or underflows (c = 1e-160); lam / c^2 and lr c^2 do not
    s = np.array([3.0, 2.0, 0.5])
    _close(ridge_mask(s * c, lam), ridge_mask(s, lam / c / c))
    _close(flow_mask(s * c, [0.0, 2.0], lr), flow_mask(s, [0.0, 2.0], lr * c * c))
    if c > 1:
        _close(gd_mask(s * c, [1, 5, 1e6], lr / 30), gd_mask(s, [1, 5, 1e6], lr / 30 * c * c))


# ------------------------------------------------------------------ gradient_descent at extreme scales


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("c", SCALES)
def test_gradient_descent_extreme_scale(c, backend):
    w0 = RNG.standard_normal(5)
    ref, path = gradient_descent(A0, Y0, 12, w0=w0, trajectory=True, record_every=5)
    A = torch.tensor(A0 * c) if backend == "torch" else A0 * c
    w, p = gradient_descent(A, Y0, 12, w0=w0 / c, trajectory=True, record_every=5, backend=backend)
    _close(np.asarray(w) * c, ref)
    _close(np.asarray(p) * c, path)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_gradient_descent_refuses_unrepresentable_result(backend):
    with pytest.raises(ParameterError, match="gradient_descent cannot be represented.*1e\\+340"):
        gradient_descent(np.eye(3) * 1e-170, np.ones(3) * 1e170, 5, backend=backend)
    with pytest.raises(DivergenceError, match=r"2/sigma_1\^2 = 2e-320"):
        gradient_descent(np.eye(3) * 1e160, np.ones(3), 3, lr=1e-300, backend=backend)


# ------------------------------------------------------------------ oversized models


@pytest.mark.parametrize("make, name, owner", [
    (lambda: ShallowNet(2, 10**15), "width", "ShallowNet"),
    (lambda: ShallowNet(10**15, 2), "in_dim", "ShallowNet"),
    (lambda: MLP(1, 10**9, 3), "width", "MLP"),
    (lambda: MLP(1, 4, 10**12), "depth", "MLP"),
    (lambda: shallow_net(2, 8, out_dim=10**16), "out_dim", "shallow_net"),
])
def test_oversized_models_are_refused_up_front(make, name, owner):
    with pytest.raises(ParameterError, match=rf"The '{name}' parameter of {owner} is too large: .* GiB"):
        make()


def test_model_size_limit_follows_machine_memory(monkeypatch):
    monkeypatch.setattr(sb_nn, "_memory_bytes", lambda: 2**20)  # a 1 MiB machine
    with pytest.raises(ParameterError, match=r"'width' parameter of ShallowNet.*about 0.0\d+ GiB, "
                                             r"more than the 0.0009766 GiB"):
        ShallowNet(2, 100_000)
    assert ShallowNet(2, 1000).width == 1000  # 20 kB fits
    monkeypatch.setattr(sb_nn, "_memory_bytes", lambda: None)  # unknown: only absurd sizes refused
    assert MLP(1, 64, 2).width == 64
    with pytest.raises(ParameterError, match="'width' parameter of MLP is too large"):
        MLP(1, 10**7, 2)


# ------------------------------------------------------------------ complex and string input


@pytest.mark.parametrize("value", [
    [1.0, 2j], np.ones(3, dtype=np.complex64), np.array([1 + 0j], dtype=object),
    torch.ones(2, dtype=torch.complex64), 1 + 0j,
])
def test_check_array_refuses_complex(value):
    with pytest.raises(ParameterError, match="The 'x' parameter of f must be real. Got complex"):
        check_array(value, "x", owner="f")


@pytest.mark.parametrize("value", ["10", ["1", "2"], np.array(["1.5"]), np.array(["1"], dtype=object), b"1"])
def test_check_array_refuses_strings(value):
    with pytest.raises(ParameterError, match="The 'x' parameter of f must be array-like of numbers"):
        check_array(value, "x", owner="f")


def test_complex_input_is_refused_everywhere():
    with pytest.raises(ParameterError, match="'A' parameter of SpectralSolver must be real"):
        SpectralSolver(A0 + 1j)
    with pytest.raises(ParameterError, match="'y' parameter of SpectralSolver.gd must be real"):
        SpectralSolver(A0).gd(Y0 * 1j, 3)
    with pytest.raises(ParameterError, match="'A' parameter of gradient_descent must be real"):
        gradient_descent(torch.tensor(A0, dtype=torch.complex128), torch.tensor(Y0), 3)
    with pytest.raises(ParameterError, match="'y' parameter of gradient_descent must be real"):
        gradient_descent(torch.tensor(A0), Y0 + 0j, 3, backend="torch")
    theta = torch.ones(3, 2, dtype=torch.complex64)
    with pytest.raises(ParameterError, match="'theta' parameter of ShallowNet.from_radon must be real"):
        ShallowNet.from_radon([1.0] * 3, theta, [0.0] * 3, [1.0] * 3)
    with pytest.raises(ParameterError, match="'b' parameter of ShallowNet.from_standard must be real"):
        ShallowNet.from_standard([1.0] * 3, torch.ones(3, 2), np.zeros(3) + 1j)
    X = torch.linspace(0, 1, 8, dtype=torch.float64)[:, None]
    with pytest.raises(ParameterError, match="'data' parameter of train must be real. y is complex"):
        train(MLP(1, 4, 1, dtype=torch.float64), (X, X[:, 0] + 1j), 2, progress=False)
    with pytest.raises(ParameterError, match="'activation' parameter of shallow_features must return real"):
        shallow_features([0.0, 1.0], [0.5], lambda z: z + 1j)
    with pytest.raises(ParameterError, match="'activation' parameter of radon_features must return real"):
        radon_features(np.zeros((2, 2)), np.eye(2), [0.0, 0.0], lambda z: z * 1j)
    with pytest.raises(ParameterError, match="'act' parameter of numerical_fourier must return real"):
        numerical_fourier(lambda z: np.exp(1j * z), h=0.1, n=64)


@pytest.mark.parametrize("call, name", [
    (lambda s: s.gd(Y0, "10"), "steps"),
    (lambda s: s.gd(Y0, ["1", "2"]), "steps"),
    (lambda s: s.gd(Y0, True), "steps"),
    (lambda s: s.gd(Y0, 10, lr="0.01"), "lr"),
    (lambda s: s.flow(Y0, "1.5"), "time"),
    (lambda s: s.ridge(Y0, "0.1"), "lam"),
    (lambda s: s.pca(Y0, "2"), "k"),
    (lambda s: s.lstsq(Y0, rcond="0.1"), "rcond"),
    (lambda s: s.steps_for("2"), "k"),
    (lambda s: s.steps_for(2, mask_value="0.5"), "mask_value"),
    (lambda s: s.mask("gd", steps="3"), "steps"),
    (lambda s: s.solve(Y0, ["1"] * 5), "mask"),
    (lambda s: gradient_descent(A0, Y0, "10"), "steps"),
    (lambda s: gradient_descent(A0, Y0, 10, lr="0.1"), "lr"),
    (lambda s: gd_mask([1.0], "3", 0.5), "steps"),
    (lambda s: ridge_mask([1.0], "1"), "lam"),
])
def test_numeric_parameters_refuse_strings(call, name):
    with pytest.raises(ParameterError, match=f"The '{name}' parameter"):
        call(SpectralSolver(A0))


# ------------------------------------------------------------------ divergence of training


def _data():
    X = torch.linspace(0, 1, 32)[:, None]
    return X, torch.sin(6 * X[:, 0])


def _mlp(seed=0):
    return MLP(1, 16, 2, generator=torch.Generator().manual_seed(seed))


def test_monitor_rule():
    mon = DivergenceMonitor(2.0)
    # one spike above 1e6 x the reference is not enough; two in a row are
    assert [bool(mon.update(v)) for v in (3e6, 10.0, 3e6, 1.0, 2.1e6, 3e6)] == [False] * 5 + [True]
    assert "above 1e+06 times the reference loss 2" in mon.reason(3e6)
    assert bool(DivergenceMonitor(2.0).update(float("inf")))
    # the zero-output loss raises the reference of a model that starts out fitting its data
    mon = DivergenceMonitor(1e-12, zero_output_loss=0.5)
    assert not any(bool(mon.update(v)) for v in (1e-3, 1e-2, 1e-2))
    # nothing to compare with: only non-finite losses count
    mon = DivergenceMonitor(0.0, zero_output_loss=0.0)
    assert not any(bool(mon.update(v)) for v in (1e30, 1e30, 1e30))
    # per member
    mon = DivergenceMonitor([1.0, 1.0, 1.0])
    mon.update([2e6, 1.0, np.nan])
    assert mon.update([2e6, 1.0, 1.0]).tolist() == [True, False, False]


def test_exploding_finite_loss_is_divergence():
    res = train(_mlp(), _data(), 100, lr=1e3, progress=False)
    assert res.diverged and res.steps_done < 10
    assert np.isfinite(res.final_loss) and res.final_loss > 1e6
    assert "above 1e+06 times the reference loss" in res.message and "training stopped" in res.message
    with pytest.raises(DivergenceError, match="above 1e\\+06 times"):
        train(_mlp(), _data(), 100, lr=1e3, progress=False, raise_on_divergence=True)


def test_large_but_normal_loss_spikes_are_not_divergence():
    # Adam at lr = 1 spikes the loss ~600x at the start and then recovers: not divergence
    res = train(_mlp(), _data(), 60, lr=1.0, progress=False)
    assert not res.diverged and res.steps_done == 60 and res.message == ""
    res = train(_mlp(), _data(), 60, lr=1e-2, optimizer="sgd", progress=False)
    assert not res.diverged


def test_ensemble_flags_the_exploding_member_only():
    X, y = _data()
    nets = [_mlp(s) for s in range(3)]
    with torch.no_grad():  # member 1: zero output at first, inputs 1e6 times larger
        nets[1].layers[-1].weight.zero_()
        nets[1].layers[-1].bias.zero_()
    Xs = torch.stack([X, 1e6 * X, X])
    alone = train(copy.deepcopy(nets[1]), (1e6 * X, y), 20, lr=0.1, progress=False)
    res = train_ensemble(nets, (Xs, y), 20, lr=0.1, progress=False)
    assert res.diverged.tolist() == [False, True, False]
    assert len(res.messages) == 1 and res.messages[0].startswith("member 1 diverged at step")
    assert "above 1e+06 times the reference loss" in res.messages[0]
    assert alone.diverged and f"at step {res.messages[0].split('step ')[1].split(':')[0]}:" in alone.message
    assert np.all(np.isfinite(res.losses[:, [0, 2]]))
