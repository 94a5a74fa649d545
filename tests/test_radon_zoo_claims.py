"""The Oberhettinger rows, the spectral seminorm of Eqs. 6-8 and the radon-seminorm /
radon-shapes experiments (small configurations)."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.interpolate import CubicSpline

from specbias import ParameterError, activation, kernel_fit
from specbias.claims import evaluate_claims
from specbias.experiments import get as get_experiment
from specbias.experiments import load_all
from specbias.experiments.radon_activations import check_transform, decay_slope
from specbias.experiments.radon_shapes import classify, contraction_seminorm, loss_pieces
from specbias.features import radon_features
from specbias.kernel import spectral_seminorm
from specbias.runner import run_experiment

# ----------------------------------------------------------------------------- Oberhettinger rows


@pytest.mark.parametrize("name", ["oberhettinger_i70", "oberhettinger_i84", "oberhettinger"])
def test_zoo_oberhettinger_rows_match_fft(name):
    res = check_transform(activation(name))
    assert res["n_freq"] > 100 and res["max_rel_error"] < 1e-4, res


def test_zoo_oberhettinger_closed_forms():
    z = np.array([-30.0, -2.0, -1e-6, 0.0, 1e-5, 0.5, 3.0, 700.0])
    i70 = activation("oberhettinger_i70")
    with np.errstate(over="ignore"):
        ref = np.where(z == 0, 1.0, z / np.sinh(np.where(z == 0, 1.0, z)))
    np.testing.assert_allclose(i70(z), ref, rtol=1e-12, atol=1e-300)
    assert activation("x_csch").name == "oberhettinger_i70"
    assert activation("laplace").name == "oberhettinger_i84"
    np.testing.assert_allclose(activation("oberhettinger_i84")(z), np.exp(-np.abs(z)))
    # transforms by quadrature at a few frequencies (even functions: cosine transforms)
    for w in (0.0, 0.7, 2.5):
        q70 = 2 * quad(lambda t, w=w: float(i70(np.array([t]))[0]) * math.cos(w * t), 0, 60,
                       limit=200)[0]
        assert q70 == pytest.approx(i70.fourier(w).real, rel=1e-8)
        q84 = 2 * quad(lambda t, w=w: math.exp(-t) * math.cos(w * t), 0, 60, limit=200)[0]
        assert q84 == pytest.approx(activation("laplace").fourier(w).real, rel=1e-8)


def test_zoo_autocorrelations_used_as_minimum_norm_kernels():
    # K = act * act has K^ = |act^|^2: sech * sech = 2 z / sinh z, Laplace -> (1 + |z|) e^-|z|
    for z in (0.3, 1.7):
        s = quad(lambda t, z=z: 1 / (math.cosh(t) * math.cosh(z - t)), -50, 50, limit=200)[0]
        assert s == pytest.approx(2 * z / math.sinh(z), rel=1e-9)
        lap = quad(lambda t, z=z: math.exp(-abs(t) - abs(z - t)), -50, 50, points=[0, z],
                   limit=200)[0]
        assert lap == pytest.approx((1 + z) * math.exp(-z), rel=1e-9)


def test_zoo_decay_slopes():
    assert decay_slope(activation("relu")) == pytest.approx(-2.0, abs=1e-9)
    assert decay_slope(activation("power_relu(a=3.5)")) == pytest.approx(-4.5, abs=1e-9)
    assert decay_slope(activation("oberhettinger_i84")) < decay_slope(activation("half_exp")) - 0.5
    assert decay_slope(activation("gaussian")) < decay_slope(activation("sech")) < -5


# ----------------------------------------------------------------------------- spectral seminorm


def test_seminorm_relu_is_int_f_second_derivative_squared():
    h = 0.01
    x = np.arange(-25, 25, h)
    f = np.exp(-x**2 / 2)
    # int f''^2 = 3 sqrt(pi) / 4, int f'^2 = sqrt(pi) / 2, int f^2 / (2 pi e^{-w^2}) ...
    assert spectral_seminorm(f, h, "relu", order=2) == pytest.approx(0.75 * math.sqrt(math.pi),
                                                                     rel=1e-6)
    assert spectral_seminorm(f, h, "step", order=1) == pytest.approx(0.5 * math.sqrt(math.pi),
                                                                     rel=1e-6)
    # order 2 on the plain function and order 1 on its cumulative sum agree for the step's
    # derivative: a ReLU network is affine far out, its second difference decays
    g = np.maximum(x - 1, 0) - 2 * np.maximum(x + 1, 0) + np.maximum(x - 3, 0)
    s = spectral_seminorm(g, h, "relu", order=2, band=math.pi / (2 * h))
    assert np.isfinite(s) and s > 0
    # the architecture factor |w|^(d-1)
    s2 = spectral_seminorm(f, h, "step", order=1, dim=2)
    assert s2 > 0 and s2 != pytest.approx(0.5 * math.sqrt(math.pi))


def test_seminorm_argument_errors():
    with pytest.raises(ParameterError, match="'h'"):
        spectral_seminorm(np.zeros(64), 0.0, "relu")
    with pytest.raises(ParameterError, match="'order'"):
        spectral_seminorm(np.zeros(64), 0.1, "relu", order=-1)
    with pytest.raises(ParameterError, match="'band'"):
        spectral_seminorm(np.zeros(64), 0.1, "relu", band=-1.0)


def test_seminorm_minimizer_and_a_non_minimizer():
    """The natural cubic spline minimizes int f''^2: perturbations vanishing at the data raise
    it; a perturbed interpolant is not minimal (the excess turns negative: the metric moves)."""
    h = 0.005
    X = np.arange(-12, 12, h)
    xd = np.array([-2.0, -0.7, 0.4, 1.9])
    yd = np.array([0.5, -1.0, 0.8, 0.1])
    cs = CubicSpline(xd, yd, bc_type="natural")
    f = np.where(X < xd[0], yd[0] + cs(xd[0], 1) * (X - xd[0]),
                 np.where(X > xd[-1], yd[-1] + cs(xd[-1], 1) * (X - xd[-1]), cs(X)))
    phi = np.prod([X - t for t in xd], axis=0) * np.exp(-X**2 / 4)
    phi /= np.max(np.abs(phi))

    def S(v):
        return spectral_seminorm(v, h, "relu", order=2, band=200.0)

    s0 = S(f)
    assert s0 == pytest.approx(quad(lambda t: cs(t, 2) ** 2, xd[0], xd[-1], limit=200)[0],
                               rel=1e-4)
    for t in (-0.1, 0.1, 1.0):
        assert S(f + t * phi) > s0
    g = f + 0.3 * phi  # an interpolant, but not the minimal one
    assert S(g - 0.3 * phi) < S(g)


def test_kernel_fit_weight_norm_is_the_seminorm():
    """Eq. 6: with zero-planes every ``dlt`` (density 1/dlt) the weight norm of the minimum-norm
    fit equals the seminorm of its function (even activation: exact up to rounding)."""
    act = activation("gaussian")
    dlt = 0.05
    g = dlt * np.arange(-200, 201)
    xd = np.array([-1.5, 0.0, 0.8, 2.0])
    yd = np.array([1.0, -0.5, 0.3, 0.9])
    Phi = radon_features(xd[:, None], np.ones((g.size, 1)), g, act)
    c = kernel_fit(Phi, yd)
    h = dlt / 4
    X = np.arange(-30, 30, h)
    f = radon_features(X[:, None], np.ones((g.size, 1)), g, act) @ c
    assert spectral_seminorm(f, h, act, band=5.0) == pytest.approx(float(c @ c) / dlt, rel=1e-8)


# ----------------------------------------------------------------------------- experiments


def test_radon_seminorm_small_run(tmp_path):
    over = {"activations": ["relu", "gaussian", "oberhettinger_i84"], "zero_plane_range": 8.0,
            "spacing": 0.04, "n_points": 5, "margin": 12.0}
    s = run_experiment("radon-seminorm", preset="quick", out=tmp_path / "s", quiet_progress=True,
                       overrides=over)
    m = s["metrics"]
    assert set(m["seminorm_excess_min"]) == {"relu", "gaussian", "oberhettinger_i84"}
    assert all(v >= 0 for v in m["seminorm_excess_min"].values())
    assert all(v > 0 for v in m["other_fits_excess_min"].values())
    assert m["max_abs_cos"]["gaussian"] < 1e-6
    assert m["norm_identity_rel_error"]["gaussian"] < 1e-8
    assert m["closed_form_rel_error"]["relu"] < 0.02
    assert m["closed_form_rel_error"]["gaussian"] < 1e-8
    verdicts = {c["id"]: c["verdict"] for c in s["claims"]}
    assert set(verdicts.values()) == {"holds"}, verdicts


def test_radon_seminorm_config_errors():
    load_all()
    cfg = get_experiment("radon-seminorm").config
    with pytest.raises(Exception, match="activations"):
        cfg.model_validate({"activations": ["sinc"]})
    with pytest.raises(Exception, match="zero_plane_range"):
        cfg.model_validate({"zero_plane_range": 3.5, "data_range": 3.0})


def test_radon_seminorm_claims_can_fail():
    load_all()
    claims = get_experiment("radon-seminorm").claims
    bad = {"seminorm_excess_min": {"relu": -0.01}, "other_fits_excess_min": {"relu": -0.2},
           "norm_identity_rel_error": {"relu": 0.2}, "closed_form_rel_error": {"relu": 0.1}}
    assert {r["verdict"] for r in evaluate_claims(claims, bad, "quick")} == {"fails"}


def test_contraction_exponents_and_shapes():
    eps = np.array([0.4, 0.6, 1.0])
    for pen, want in (("l2", 2.0), ("dirac", 1.0), ("relu", -3.0)):
        vals = [contraction_seminorm(2, e, pen, 64, 4.0) for e in eps]
        assert np.polyfit(np.log(eps), np.log(vals), 1)[0] == pytest.approx(want, abs=0.05)
    assert classify(1.0, -1.0) == "ridge"
    assert classify(-1.0, 1.0) == "valley"
    assert classify(1.0, 2.0) == "crease"
    x, r = np.array([-0.5, 0.2, 0.7]), np.array([1.0, -2.0, 0.5])
    L, left, right = loss_pieces(x, r, 1.5)
    e = 1e-7
    for n, xn in enumerate(x):  # one-sided slopes match finite differences
        assert left[n] == pytest.approx((L(np.array([xn]))[0] - L(np.array([xn - e]))[0]) / e,
                                        abs=1e-5)
        assert right[n] == pytest.approx((L(np.array([xn + e]))[0] - L(np.array([xn]))[0]) / e,
                                         abs=1e-5)


def test_radon_shapes_small_run(tmp_path):
    over = {"dims": [1, 2], "grid": 64, "n_draws": 60, "gd_steps": 200}
    s = run_experiment("radon-shapes", preset="quick", out=tmp_path / "h", quiet_progress=True,
                       overrides=over)
    m = s["metrics"]
    assert m["contraction_exponent"]["l2"]["d2"] == pytest.approx(2.0, abs=0.05)
    assert m["contraction_exponent"]["relu"]["d1"] == pytest.approx(-3.0, abs=0.05)
    assert min(m["shape_counts"].values()) >= 1
    assert m["valley_pinned_fraction"] == 1.0
    assert {c["verdict"] for c in s["claims"]} == {"holds"}
