"""Exact breakpoints and Fourier transforms of 1-D ReLU networks (docs/theory.md section 5, Theorem 1),
checked against dense sampling and numerical Fourier integrals of the same networks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from specbias import breakpoints, relu_net_fourier
from specbias._validation import ParameterError
from specbias.nn import MLP
from specbias.relu_fourier import (
    _fourier_segments,
    _fourier_theorem1,
    _ops,
    _pieces,
    linear_pieces,
)

INTERVAL = (-2.0, 2.0)


def _net(depth, width=24, seed=0):
    return MLP(1, width, depth, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _sample(net, a, b, n):
    z = np.linspace(a, b, n)
    with torch.no_grad():
        return z, net(torch.tensor(z)).numpy()


def _filon(z, f, w):
    """Integral of the linear interpolant of samples times e^{-i w z}, exactly (any w != 0)."""
    h, u, fu, df = np.diff(z), z[:-1], f[:-1], np.diff(f)
    out = []
    for om in w:
        th = om * h
        e0 = np.exp(-1j * om * u)
        i0 = e0 * (1 - np.exp(-1j * th)) / (1j * om)
        i1 = e0 * (np.exp(-1j * th) * (1 + 1j * th) - 1) / om**2  # int_0^h s e^{-i om (u+s)} ds
        out.append(np.sum(fu * i0 + df / h * i1))
    return np.array(out)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_fourier_matches_fine_numerical_integral(depth):
    net = _net(depth, seed=depth)
    a, b = INTERVAL
    n = 100_001
    z, f = _sample(net, a, b, n)
    h = (b - a) / (n - 1)
    nyquist = math.pi / h
    w = np.linspace(0.0, 400.0, 81)  # far below the grid's Nyquist limit (~7.9e4)
    assert w.max() < nyquist / 100
    exact = relu_net_fourier(net, w, INTERVAL)
    trap = np.array([np.trapezoid(f * np.exp(-1j * om * z), z) for om in w])
    scale = np.max(np.abs(trap))
    assert np.max(np.abs(exact - trap)) <= 1e-6 * scale
    # independent numerical check that does not lose accuracy with frequency
    fil = _filon(z, f, w[1:])
    assert np.max(np.abs(exact[1:] - fil)) <= 1e-6 * np.max(np.abs(fil))
    big = np.abs(fil) > 1e-2 * np.max(np.abs(fil))
    assert np.max(np.abs(exact[1:][big] - fil[big]) / np.abs(fil[big])) <= 1e-6


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_breakpoints_find_every_kink(depth):
    net = _net(depth, width=16, seed=10 + depth)
    a, b = INTERVAL
    t = breakpoints(net, INTERVAL)
    assert np.all(np.diff(t) > 0) and np.all((t > a) & (t < b))
    # 1) the network equals the linear interpolant through its breakpoints everywhere:
    #    a missed kink would show up as a deviation
    z, f = _sample(net, a, b, 400_001)
    p = linear_pieces(net, INTERVAL)
    assert np.max(np.abs(p(z) - f)) <= 1e-10 * (1 + np.max(np.abs(f)))
    # 2) every slope change seen in the dense sampling lies next to a found breakpoint
    h = z[1] - z[0]
    slopes = np.diff(f) / h
    tol = 1e-7 * (1 + np.max(np.abs(slopes)))
    changed = np.flatnonzero(np.abs(np.diff(slopes)) > tol)  # a kink in (z[i], z[i+2])
    assert changed.size > 0
    kinks = breakpoints(net, INTERVAL, kinks_only=True)
    for i in changed:
        lo, hi = z[i] - 1e-12, z[i + 2] + 1e-12
        assert np.any((kinks >= lo) & (kinks <= hi)), f"missed kink near {z[i + 1]}"
    # 3) every kink found changes the slope of the sampled network at that point
    eta = 1e-6
    for tj in kinks:
        pts = torch.tensor([tj - 2 * eta, tj - eta, tj + eta, tj + 2 * eta], dtype=torch.float64)
        if tj - 2 * eta <= a or tj + 2 * eta >= b:
            continue
        near = np.abs(t - tj)
        if np.sort(near)[1] < 4 * eta:  # another breakpoint too close to isolate this one
            continue
        with torch.no_grad():
            v = net(pts).numpy()
        left, right = (v[1] - v[0]) / eta, (v[3] - v[2]) / eta
        assert abs(right - left) > 0.5 * np.max(np.abs(p.jumps)) * 1e-9


def test_one_hidden_layer_closed_form():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(12, 1, generator=g, dtype=torch.float64)
    b = torch.randn(12, generator=g, dtype=torch.float64)
    v = torch.randn(1, 12, generator=g, dtype=torch.float64)
    seq = torch.nn.Sequential(torch.nn.Linear(1, 12), torch.nn.ReLU(), torch.nn.Linear(12, 1))
    seq = seq.double()
    with torch.no_grad():
        seq[0].weight.copy_(W)
        seq[0].bias.copy_(b)
        seq[2].weight.copy_(v)
    roots = (-b / W[:, 0]).numpy()
    expect = np.sort(roots[(roots > -1) & (roots < 1)])
    np.testing.assert_allclose(breakpoints(seq, (-1, 1)), expect, rtol=0, atol=1e-14)
    # slope jumps are |w_k| v_k at each root
    p = linear_pieces(seq, (-1, 1))
    order = np.argsort(roots)
    inside = [k for k in order if -1 < roots[k] < 1]
    np.testing.assert_allclose(p.jumps, [abs(W[k, 0].item()) * v[0, k].item() for k in inside],
                               rtol=1e-10, atol=1e-12)


def test_model_forms_agree():
    net = _net(3, width=10, seed=7)
    seq = torch.nn.Sequential()
    pairs = []
    for i, lin in enumerate(net.layers):
        if i:
            seq.append(torch.nn.ReLU())
        seq.append(torch.nn.Sequential(torch.nn.Identity(), lin))
        pairs.append((lin.weight.detach(), lin.bias.detach()))
    w = np.array([0.0, 0.3, 2.0, 17.0, 150.0])
    ref = relu_net_fourier(net, w, (0, 1))
    np.testing.assert_allclose(relu_net_fourier(seq, w, (0, 1)), ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(relu_net_fourier(pairs, w, (0, 1)), ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(breakpoints(seq, (0, 1)), breakpoints(net, (0, 1)))


def test_formula_and_segment_series_agree():
    """Theorem 1 and the per-segment series are two exact forms; they must coincide."""
    net = _net(4, width=16, seed=2)
    p = _pieces(_ops(net, "t"), -1.0, 1.0)
    w = np.linspace(0.05, 1.5, 20)  # the series converges fast for |omega| (b - a) <= 3
    a = _fourier_theorem1(p, w)
    b = _fourier_segments(p, w)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * np.max(np.abs(b)))
    # continuity across the switch at |omega| (b - a) = 0.5
    eps = 1e-9
    lo = relu_net_fourier(net, [0.25 - eps], (-1, 1))
    hi = relu_net_fourier(net, [0.25 + eps], (-1, 1))
    assert abs(lo[0] - hi[0]) < 1e-7 * abs(lo[0])


def test_omega_zero_is_the_integral_and_shape_is_kept():
    net = _net(2, seed=5)
    z, f = _sample(net, 0.0, 1.0, 100_001)
    F = relu_net_fourier(net, np.zeros((2, 3)), (0, 1))
    assert F.shape == (2, 3) and F.dtype == np.complex128
    assert abs(F[0, 0] - np.trapezoid(f, z)) < 1e-8
    # conjugate symmetry of a real function's transform
    w = np.array([1.0, 5.0, 40.0])
    np.testing.assert_allclose(relu_net_fourier(net, -w, (0, 1)),
                               np.conj(relu_net_fourier(net, w, (0, 1))), rtol=1e-12)


def test_grid_spectrum_tends_to_exact_transform():
    """Rahaman's discrete spectrum (2/N)|sum f(z_n) e^{-2 pi i k z_n}| -> 2 |g^(2 pi k)|."""
    net = _net(3, seed=8)
    k = np.array([1.0, 3.0, 7.0])
    exact = 2 * np.abs(relu_net_fourier(net, 2 * np.pi * k, (0, 1)))
    errs = []
    for n in (1_000, 10_000):
        z = np.arange(n) / n
        with torch.no_grad():
            f = net(torch.tensor(z)).numpy()
        dft = (2 / n) * np.abs(np.exp(-2j * np.pi * np.outer(k, z)) @ f)
        errs.append(np.max(np.abs(dft - exact)))
    assert errs[1] < errs[0] / 5  # first-order convergence in 1/N


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 4), width=st.integers(1, 8), seed=st.integers(0, 10_000))
def test_interpolant_is_exact_for_random_small_nets(depth, width, seed):
    net = MLP(1, width, depth, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    p = linear_pieces(net, (-3.0, 3.0))
    z = np.random.default_rng(seed).uniform(-3, 3, 500)
    with torch.no_grad():
        f = net(torch.tensor(z)).numpy()
    assert np.max(np.abs(p(z) - f)) <= 1e-9 * (1 + np.max(np.abs(f)))


def test_bad_inputs():
    with pytest.raises(ParameterError, match="ReLU"):
        breakpoints(MLP(1, 4, 2, activation="tanh"), (0, 1))
    with pytest.raises(ParameterError, match="interval"):
        breakpoints(_net(1), (1.0, 0.0))
    with pytest.raises(ParameterError, match="interval"):
        relu_net_fourier(_net(1), [1.0], 3.0)
    with pytest.raises(ParameterError, match="1-D"):
        breakpoints(MLP(2, 4, 2), (0, 1))
    with pytest.raises(ParameterError, match="single output"):
        breakpoints(MLP(1, 4, 2, out_dim=2), (0, 1))
    with pytest.raises(ParameterError, match="Tanh"):
        breakpoints(torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.Tanh(),
                                        torch.nn.Linear(3, 1)), (0, 1))
    with pytest.raises(ParameterError, match="omega"):
        relu_net_fourier(_net(1), [np.nan], (0, 1))
    with pytest.raises(ParameterError, match="kinks_only"):
        breakpoints(_net(1), (0, 1), kinks_only="yes")
    with pytest.raises(ParameterError, match="model"):
        breakpoints("not a net", (0, 1))
