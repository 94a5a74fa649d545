"""The activation zoo: analytic transforms vs FFTs, torch vs numpy, flags, inverse design."""

import math

import mpmath as mp
import numpy as np
import pytest
import torch

from specbias import ParameterError, activation, design_activation
from specbias.activations import DIRAC, names
from specbias.experiments.radon_activations import DEFAULT_ACTIVATIONS, check_transform
from specbias.spectra import numerical_fourier

EXTRA = ["wavepacket(w0=4)", "oberhettinger(nu=3)", "gfunction(p=3)", "power_relu(a=1.7)"]


@pytest.mark.parametrize("spec", DEFAULT_ACTIVATIONS + EXTRA)
def test_activations_transform_matches_fft(spec):
    res = check_transform(activation(spec))
    assert res["n_freq"] > 50
    assert res["max_rel_error"] < 1e-3, res


def test_activations_issue_list_is_registered():
    wanted = ["step", "relu", "power_relu", "logistic_bump", "logistic", "softplus",
              "power_softplus", "cauchy", "arctan", "gaussian", "erf", "satrelu", "wavepacket",
              "rectangle", "triangle", "sinc", "sinc2", "half_exp", "sech", "log_abs",
              "gfunction", "oberhettinger", "tanh", "relu2", "gelu", "silu", "heaviside",
              "sigmoid", "half_exponential"]
    for n in wanted:
        act = activation(n)
        assert act.formula and act.fourier_formula and act.penalty_formula, n
    assert DIRAC["fourier_formula"] == "1"
    assert "dirac" not in names()


@pytest.mark.parametrize("name", names())
def test_activations_torch_matches_numpy_and_has_finite_gradients(name):
    act = activation(name)
    z = torch.linspace(-7, 7, 1401, dtype=torch.float64, requires_grad=True)
    zt = z.detach().numpy()
    ref = act(zt)
    out = act(z)
    ok = np.isfinite(ref)
    np.testing.assert_allclose(out.detach().numpy()[ok], ref[ok], rtol=1e-12, atol=1e-12)
    if name not in ("step", "rectangle", "log_abs"):
        out.sum().backward()
        assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("name", names())
def test_activations_monotonic_flag_matches_samples(name):
    act = activation(name)
    z = np.linspace(-9, 9, 7201)
    with np.errstate(divide="ignore"):
        v = act(z)
    v = v[np.isfinite(v)]
    increasing = bool(np.all(np.diff(v) >= -1e-12))
    assert act.monotonic == increasing


@pytest.mark.parametrize("spec", ["step", "relu", "relu2", "power_relu(a=3.5)", "power_relu(a=0.4)"])
def test_activations_homogeneity_degree(spec):
    act = activation(spec)
    a = act.homogeneity
    z = np.linspace(-3, 3, 61)
    for t in (0.3, 2.7):
        np.testing.assert_allclose(act(t * z), t**a * act(z), rtol=1e-12, atol=1e-14)
    assert activation("logistic").homogeneity is None


def test_activations_penalty_closed_forms():
    w = np.linspace(0.1, 9, 50)
    # ReLU in d = 2: |w| * w^4 (docs/theory.md section 3)
    np.testing.assert_allclose(activation("relu").penalty(w, dim=2), w**5, rtol=1e-12)
    a = 3.5
    np.testing.assert_allclose(activation("power_relu", a=a).penalty(w),
                               w ** (2 * a + 2) / math.gamma(a + 1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(activation("half_exp").penalty(w), 1 + w**2, rtol=1e-12)
    # band-limited: infinite outside the band
    p = activation("sinc").penalty(np.array([1.0, 4.0]))
    assert np.isfinite(p[0]) and np.isinf(p[1])
    with pytest.raises(ParameterError, match="'dim'"):
        activation("relu").penalty(w, dim=0)


def test_activations_power_softplus_is_minus_polylog():
    for n in (1, 2, 3, 5):
        act = activation("power_softplus", n=n)
        for z in (-12.0, -2.5, -0.3, 0.0, 0.7, 3.0, 18.0):
            ref = float(-mp.polylog(n, -mp.exp(mp.mpf(z))))
            assert act(np.array([z]))[0] == pytest.approx(ref, rel=1e-11, abs=1e-15)
    # the n-fold integral of the logistic: derivative of order n is the logistic
    z = np.linspace(-4, 4, 81)
    h = 1e-4
    d = (activation("power_softplus", n=2)(z + h) - activation("power_softplus", n=2)(z - h)) / (2 * h)
    np.testing.assert_allclose(d, activation("softplus")(z), atol=1e-7)


def test_activations_gfunction_is_the_meijer_g_member():
    act = activation("gfunction", p=4)
    for z in (0.0, 0.7, 2.0, 5.5):
        g = mp.meijerg([[], []], [[0, 0.5], [0.25]], mp.mpf(z) ** 4 / 256)
        ref = float(mp.sqrt(mp.pi) * 2 ** -1.5 * g / mp.pi)
        assert act(np.array([z]))[0] == pytest.approx(ref, rel=1e-10, abs=1e-14)
    z = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(activation("gfunction", p=2)(z),
                               np.exp(-z**2 / 4) / (2 * np.sqrt(np.pi)), atol=1e-13)


def test_activations_spec_strings_and_errors():
    assert activation("power_relu(a=3.5)").params == {"a": 3.5}
    assert activation("relu3.5").params == {"a": 3.5}
    assert activation("relu2").name == "relu2"
    assert activation("wavepacket(w0=4)").params == {"w0": 4.0}
    assert activation("Sigmoid").name == "logistic"
    with pytest.raises(ParameterError, match="Unknown activation"):
        activation("relux")
    with pytest.raises(ParameterError, match="key=value"):
        activation("power_relu(3.5)")
    with pytest.raises(ParameterError, match="'a' parameter"):
        activation("power_relu", a=-1)
    with pytest.raises(ParameterError, match="Bad parameters"):
        activation("relu", b=2)
    with pytest.raises(ParameterError, match="'p' parameter"):
        activation("gfunction", p=1)


def test_activations_design_recovers_known_activations():
    z = np.linspace(-4, 4, 33)
    gauss = design_activation(lambda w: np.exp(w**2) / (2 * np.pi))
    np.testing.assert_allclose(gauss(z), np.exp(-z**2 / 2), atol=1e-5)
    sech = design_activation(lambda w: np.cosh(np.pi * w / 2) ** 2 / np.pi**2)
    np.testing.assert_allclose(sech(z), 1 / np.cosh(z), atol=1e-5)
    # the full d = 2 penalty |w| Q(w) gives the same activation
    sech2 = design_activation(lambda w: np.abs(w) * np.cosh(np.pi * w / 2) ** 2 / np.pi**2, dim=2)
    np.testing.assert_allclose(sech2(z), sech(z), atol=1e-12)
    # torch path agrees and is differentiable
    zt = torch.tensor(z, requires_grad=True)
    np.testing.assert_allclose(sech(zt).detach().numpy(), sech(z), atol=1e-12)
    sech(zt).sum().backward()
    assert torch.isfinite(zt.grad).all()


def test_activations_design_round_trip_penalty():
    Q = lambda w: (1 + w**2) ** 2  # noqa: E731 -- a penalty with no activation in the zoo
    act = design_activation(Q, phase="odd", half_width=40.0, n=2**15)
    w, F = numerical_fourier(act, h=40.0 / 2**14, n=2**15, band=(0.5, 6.0))
    np.testing.assert_allclose(np.abs(F) ** -2, Q(w), rtol=2e-3)
    np.testing.assert_allclose(act.penalty(w), Q(w), rtol=1e-12)
    with pytest.raises(ParameterError, match="'phase'"):
        design_activation(Q, phase="random")
    with pytest.raises(ParameterError, match="'penalty_fn'"):
        design_activation(3.0)
