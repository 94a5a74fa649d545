"""ShallowNet: the Radon and standard parameterizations, exact conversion, kernel regime."""

import math

import numpy as np
import pytest
import torch

from specbias import ParameterError, activation
from specbias.experiments.radon_gd_vs_convex import kernel_net, train_kernel_regime
from specbias.features import radon_features
from specbias.nn import ShallowNet

ACTS = ["relu", "step", "sinc", "power_relu(a=3.5)", "wavepacket(w0=3)", "logistic", "half_exp"]


def _net(act, param="radon", seed=0, d=3, K=16):
    g = torch.Generator().manual_seed(seed)
    net = ShallowNet(d, K, act, param, scale=1.7, gamma_range=1.2, generator=g, dtype=torch.float64)
    with torch.no_grad():  # random, non-unit scales per neuron
        if param == "radon":
            net.s.copy_(torch.rand(K, generator=g, dtype=torch.float64) * 3 + 0.2)
        else:
            net.w.mul_(torch.rand(K, 1, generator=g, dtype=torch.float64) * 3 + 0.2)
    return net


@pytest.mark.parametrize("act", ACTS)
def test_shallownet_parameterizations_give_identical_outputs(act):
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    radon = _net(act, "radon")
    std = radon.to_parameterization("standard")
    back = std.to_parameterization("radon")
    ref = radon(x)
    torch.testing.assert_close(std(x), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(back(x), ref, rtol=1e-12, atol=1e-12)
    p = radon.standard_parameters()
    torch.testing.assert_close(ShallowNet.from_standard(p["v"], p["w"], p["b"], act)(x), ref,
                               rtol=1e-12, atol=1e-12)
    r = std.radon_parameters()
    torch.testing.assert_close(ShallowNet.from_radon(r["c"], r["theta"], r["gamma"], r["s"], act)(x),
                               ref, rtol=1e-12, atol=1e-12)


def test_shallownet_conversion_formulas():
    std = _net("relu", "standard", seed=3)
    p = std.standard_parameters()
    r = std.radon_parameters()
    n = p["w"].norm(dim=1)
    torch.testing.assert_close(r["s"], n)
    torch.testing.assert_close(r["theta"], p["w"] / n[:, None])
    torch.testing.assert_close(r["gamma"], -p["b"] / n)
    torch.testing.assert_close(r["c"], p["v"])
    torch.testing.assert_close(r["theta"].norm(dim=1), torch.ones(16, dtype=torch.float64))


def test_shallownet_features_match_numpy_radon_features():
    net = _net("power_relu(a=3.5)", "radon", seed=4, d=2)
    x = torch.rand(30, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2 - 1
    r = net.radon_parameters()
    ref = radon_features(x.numpy(), r["theta"].numpy(), r["gamma"].numpy(), "power_relu(a=3.5)",
                         scale=r["s"].numpy())
    np.testing.assert_allclose(net.features(x).detach().numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("param", ["radon", "standard"])
def test_shallownet_kernel_regime_moves_only_c(param):
    net = _net("relu", param, seed=5, d=2)
    net.freeze_zero_planes()
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    y = torch.sin(3 * x[:, 0])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(20):
        opt.zero_grad()
        torch.mean((net(x) - y) ** 2).backward()
        opt.step()
    out_name = "c" if param == "radon" else "v"
    for k, v in net.named_parameters():
        if k == out_name:
            assert not torch.equal(v, before[k])
        else:
            assert torch.equal(v, before[k]), k
    net.freeze_zero_planes(False)
    assert all(p.requires_grad for p in net.parameters())


def test_shallownet_circle_init_and_defaults():
    net = ShallowNet(2, 8, "relu", theta_init="circle", c_init="zeros", dtype=torch.float64)
    ang = torch.atan2(net.theta[:, 1], net.theta[:, 0]).detach() % (2 * math.pi)
    torch.testing.assert_close(ang, 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8)
    assert not net.c.any()
    assert {"c", "theta", "gamma", "s"} == set(net.radon_parameters())
    assert [p.shape for p in net.zero_plane_parameters()] == [(8, 2), (8,), (8,)]
    default = ShallowNet(3, 5)  # backward-compatible defaults
    assert default.parameterization == "radon" and default.c.dtype == torch.float32


def test_shallownet_errors():
    with pytest.raises(ParameterError, match="'theta_init'"):
        ShallowNet(3, 4, theta_init="circle")
    with pytest.raises(ParameterError, match="'parameterization'"):
        ShallowNet(2, 4, parameterization="polar")
    with pytest.raises(ParameterError, match="'gamma_range'"):
        ShallowNet(2, 4, gamma_range=-1.0)
    with pytest.raises(ParameterError, match="shape"):
        ShallowNet(2, 4)(torch.zeros(3, 5))
    with pytest.raises(ParameterError, match="zero row"):
        ShallowNet.from_standard(torch.ones(2), torch.zeros(2, 2), torch.zeros(2))
    with pytest.raises(ParameterError, match="'s' parameter"):
        ShallowNet.from_radon(torch.ones(2), torch.ones(2, 2), torch.zeros(2), -torch.ones(2))


@pytest.mark.parametrize("optimizer", ["gd", "nesterov", "adam"])
def test_shallownet_cached_feature_training_equals_network_training(optimizer):
    """train_kernel_regime's cached features give the same trajectory as the network forward."""
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.uniform(-1, 1, (40, 2)))
    y = torch.as_tensor(rng.uniform(-1, 1, 40))
    cs = []
    for cache in (True, False):
        net = kernel_net(activation("relu"), 1.0, 64, math.sqrt(2),
                         torch.Generator().manual_seed(0))
        res = train_kernel_regime(net, X, y, optimizer=optimizer, lr=0.5 if optimizer != "adam" else 1e-2,
                                  target_mse=0.0, max_steps=30, cache_features=cache)
        assert res["steps"] == 30 and not res["diverged"]
        cs.append(net.c.detach().clone())
    torch.testing.assert_close(cs[0], cs[1], rtol=1e-10, atol=1e-12)
