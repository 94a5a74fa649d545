"""FourierFeatures, PositionalEncoding and SIREN: initialization, shapes, and the qualitative
fact that a larger sigma / omega0 learns higher frequencies sooner (real training, small nets)."""

import math

import numpy as np
import pytest
import torch

from specbias import empirical_ntk
from specbias._validation import ParameterError
from specbias.callbacks import discrete_spectrum
from specbias.nn import MLP, SIREN, FourierFeatures, PositionalEncoding


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- FourierFeatures


def test_fourier_features_draw_and_output():
    ff = FourierFeatures(2, 20_000, sigma=3.0, generator=gen(), dtype=torch.float64)
    assert ff.B.shape == (20_000, 2) and ff.out_dim == 40_000
    assert not any(True for _ in ff.parameters())  # B is a fixed buffer, not trained
    assert "B" in dict(ff.named_buffers())
    assert abs(float(ff.B.std()) - 3.0) < 0.05 and abs(float(ff.B.mean())) < 0.05
    x = torch.rand(7, 2, dtype=torch.float64)
    out = ff(x)
    assert out.shape == (7, 40_000)
    c, s = out[:, :20_000], out[:, 20_000:]
    assert torch.allclose(c**2 + s**2, torch.ones_like(c))
    assert torch.allclose(c, torch.cos(2 * math.pi * x @ ff.B.T))


def test_fourier_features_sigma_scales_one_draw():
    a = FourierFeatures(1, 16, 1.0, generator=gen(3), dtype=torch.float64)
    b = FourierFeatures(1, 16, 5.0, generator=gen(3), dtype=torch.float64)
    assert torch.allclose(b.B, 5.0 * a.B)


@pytest.mark.parametrize("kwargs", [dict(sigma=0.0), dict(sigma=-1.0), dict(sigma=float("inf")),
                                    dict(sigma=1.0, n_features=0)])
def test_fourier_features_refuses_bad_parameters(kwargs):
    args = dict(in_dim=1, n_features=4) | kwargs
    with pytest.raises(ParameterError):
        FourierFeatures(**args)


def test_fourier_features_in_sequential_and_ntk():
    g = gen(1)
    ff = FourierFeatures(1, 8, 2.0, g, dtype=torch.float64)
    net = torch.nn.Sequential(ff, MLP(ff.out_dim, 16, 2, "tanh", generator=g, dtype=torch.float64))
    x = torch.linspace(0, 1, 10, dtype=torch.float64)[:, None]
    assert net(x).shape == (10,)
    K = empirical_ntk(net, x)
    K2 = empirical_ntk(net, x, structured=False)
    assert torch.allclose(K, K2, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- PositionalEncoding


def test_positional_encoding_values():
    pe = PositionalEncoding(1, 3)
    p = torch.tensor([[0.25]], dtype=torch.float64)
    expected = []
    for l_ in range(3):
        a = 2.0**l_ * math.pi * 0.25
        expected += [math.sin(a), math.cos(a)]
    assert torch.allclose(pe(p)[0], torch.tensor(expected, dtype=torch.float64))
    pe2 = PositionalEncoding(3, 4, include_input=True)
    x = torch.rand(5, 3)
    out = pe2(x)
    assert out.shape == (5, pe2.out_dim) == (5, 27)
    assert torch.equal(out[:, :3], x)


def test_positional_encoding_refuses_bad_input():
    with pytest.raises(ParameterError):
        PositionalEncoding(1, 0)
    with pytest.raises(ParameterError):
        PositionalEncoding(2, 3)(torch.zeros(4, 3))


# ----------------------------------------------------------------------------- SIREN


def test_siren_initialization_bounds_and_variance():
    net = SIREN(2, 512, 3, omega0=30.0, generator=gen(), dtype=torch.float64)
    first = net.layers[0].linear.weight.detach()
    assert float(first.abs().max()) <= 1.0 / 2 and float(first.abs().max()) > 0.49
    bound = math.sqrt(6.0 / 512) / 30.0
    for lin in [net.layers[1].linear, net.layers[2].linear, net.out]:
        w = lin.weight.detach()
        assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.98 * bound
        assert abs(float(w.var()) / (bound**2 / 3) - 1) < 0.05  # uniform: var = bound^2 / 3
    assert all(layer.omega0 == 30.0 for layer in net.layers)


def test_siren_activations_keep_the_arcsine_distribution():
    """Sitzmann et al.'s point of the init: every hidden layer's output has var ~ 1/2."""
    net = SIREN(1, 1024, 4, generator=gen(), dtype=torch.float64)
    h = torch.linspace(-1, 1, 2048, dtype=torch.float64)[:, None]
    for layer in net.layers:
        with torch.no_grad():
            h = layer(h)
        assert abs(float(h.var()) - 0.5) < 0.05


def test_siren_shapes_and_reproducibility():
    a = SIREN(1, 16, 2, omega0=10.0, generator=gen(5))
    b = SIREN(1, 16, 2, omega0=10.0, generator=gen(5))
    x = torch.rand(6, 1)
    assert a(x).shape == (6,) and torch.equal(a(x), b(x))
    assert SIREN(3, 8, 1, out_dim=2)(torch.rand(4, 3)).shape == (4, 2)
    with pytest.raises(ParameterError):
        SIREN(1, 8, 2, omega0=0.0)
    with pytest.raises(ParameterError):
        SIREN(1, 8, 2)(torch.rand(4, 2))


# ----------------------------------------------------------------------------- larger knob, sooner


def _learned_fraction(build, knob, k=6, steps=60, n=32):
    """GD at half the NTK's stability limit on a small sine of frequency k; 1 - |r_T(k)|/|r_0(k)|."""
    from specbias.ntk import LinearizedGD

    net = build(knob)
    x = torch.arange(n, dtype=torch.float64)[:, None] / n
    z = x[:, 0].numpy()
    with torch.no_grad():
        f0 = net(x)
    y = f0 + 1e-3 * torch.sin(2 * math.pi * k * x[:, 0])
    lr = 0.5 * LinearizedGD(net, x, y).max_lr
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    r0 = discrete_spectrum((f0 - y).numpy(), z, [k])[0]
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    with torch.no_grad():
        rT = discrete_spectrum((net(x) - y).numpy(), z, [k])[0]
    return 1.0 - rT / r0


def test_larger_omega0_learns_higher_frequencies_sooner():
    def build(w):
        return SIREN(1, 32, 2, omega0=w, generator=gen(2), dtype=torch.float64)

    low, high = _learned_fraction(build, 4.0), _learned_fraction(build, 30.0)
    assert high > 0.6 and low < 0.3 and high > low


def test_larger_sigma_learns_higher_frequencies_sooner():
    def build(s):
        g = gen(2)
        ff = FourierFeatures(1, 32, s, g, dtype=torch.float64)
        return torch.nn.Sequential(ff, MLP(ff.out_dim, 32, 2, "tanh", generator=g,
                                           dtype=torch.float64))

    low, high = _learned_fraction(build, 0.3), _learned_fraction(build, 4.0)
    assert high > 0.6 and low < 0.3 and high > low
    assert np.isfinite(low)
