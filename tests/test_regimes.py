"""Training regimes (docs/theory.md sections 1 and 4): kernel, adaptive, switch, per-group learning rates."""

import numpy as np
import pytest
import torch

from specbias import ParameterError, ShallowNet, train
from specbias.regimes import (
    ClassificationRecorder,
    KernelSwitch,
    make_regime_optimizer,
    regime_param_groups,
    shallow_net,
    steps_per_epoch,
    train_kernel_regime,
    train_regime,
)
from specbias.zeroplanes import ZeroPlaneRecorder, zero_plane_motion


def _data(n=30, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * X[:, 0]) + X[:, 1] ** 2
    return X, y


def _net(par="radon", act="relu", width=12, seed=1, **kw):
    return shallow_net(2, width, act, parameterization=par,
                       generator=torch.Generator().manual_seed(seed), dtype=torch.float64, **kw)


@pytest.mark.parametrize("par", ["radon", "standard"])
def test_kernel_regime_is_gradient_descent_on_the_feature_matrix(par):
    # only c trains: c_{t+1} = c_t - lr * (2/N) A^T (A c_t - y) with A fixed (docs/theory.md section 1)
    X, y = _data()
    net = _net(par, act="logistic")
    with torch.no_grad():
        A = net.features(X).numpy().copy()
    c = net.output_parameters()[0].detach().numpy().copy()
    planes = [p.detach().clone() for p in net.zero_plane_parameters()]
    lr, steps = 0.3, 25
    train_regime(net, (X, y), steps, regime="kernel", lr=lr, progress=False)
    yn = y.numpy()
    for _ in range(steps):
        c = c - lr * (2 / len(yn)) * A.T @ (A @ c - yn)
    np.testing.assert_allclose(net.output_parameters()[0].detach().numpy(), c, rtol=1e-10,
                               atol=1e-12)
    for p, p0 in zip(net.zero_plane_parameters(), planes, strict=True):
        assert torch.equal(p.detach(), p0)


def test_switch_equals_adaptive_until_the_switch_then_freezes():
    X, y = _data()
    a, s = _net(), _net()
    ra, rs = ZeroPlaneRecorder(), ZeroPlaneRecorder()
    train_regime(a, (X, y), 12, regime="adaptive", lr=0.1, callbacks=[ra], progress=False)
    res = train_regime(s, (X, y), 12, regime="switch", switch_step=5, lr=0.1, callbacks=[rs],
                       progress=False)
    assert res.records["kernel_switch"] == {"step": 5}
    za, zs = ra.record, rs.record
    for key in ("theta", "gamma", "s", "c"):
        np.testing.assert_array_equal(za[key][:6], zs[key][:6])
    for key in ("theta", "gamma", "s"):  # frozen after step 5, moving in the adaptive run
        assert np.array_equal(zs[key][5], zs[key][-1])
        assert not np.array_equal(za[key][5], za[key][-1])
    assert not np.array_equal(zs["c"][5], zs["c"][-1])  # c keeps training
    m = zero_plane_motion(zs)
    assert np.all(m.w2[m.step > 5] == 0.0) and np.all(m.w2[m.step <= 5] > 0)


def test_switch_with_momentum_stops_zero_planes_exactly():
    X, y = _data()
    net = _net()
    res = train_regime(net, (X, y), 10, regime="switch", switch_step=3, lr=0.05,
                       optimizer_kwargs={"momentum": 0.9}, callbacks=[ZeroPlaneRecorder()],
                       progress=False)
    z = res.records["zero_planes"]
    assert np.array_equal(z.gamma[3], z.gamma[-1])


@pytest.mark.parametrize("ratio", [0.0, 0.25, 3.0])
def test_zero_plane_lr_ratio_scales_the_zero_plane_update(ratio):
    X, y = _data()
    ref, net = _net(), _net()
    p0 = {n: p.detach().clone() for n, p in ref.named_parameters()}
    train_regime(ref, (X, y), 1, lr=0.1, progress=False)
    train_regime(net, (X, y), 1, lr=0.1, zero_plane_lr_ratio=ratio, progress=False)
    d_ref = {n: p.detach() - p0[n] for n, p in ref.named_parameters()}
    d_net = {n: p.detach() - p0[n] for n, p in net.named_parameters()}
    torch.testing.assert_close(d_net["c"], d_ref["c"], rtol=1e-12, atol=1e-15)
    for n in ("theta_raw", "gamma", "s"):
        torch.testing.assert_close(d_net[n], ratio * d_ref[n], rtol=1e-10, atol=1e-15)


def test_ratio_zero_is_the_kernel_regime():
    X, y = _data()
    a, b = _net(), _net()
    train_regime(a, (X, y), 8, lr=0.1, zero_plane_lr_ratio=0.0, progress=False)
    train_regime(b, (X, y), 8, regime="kernel", lr=0.1, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_param_groups_and_multipliers():
    net = _net(par="standard")
    groups = regime_param_groups(net, 0.2, zero_plane_lr_ratio=0.5, lr_multipliers={"b": 2.0})
    assert [(g["name"], g["lr"]) for g in groups] == [("v", 0.2), ("w", 0.1), ("b", 0.2)]
    with pytest.raises(ParameterError, match="unknown key 'theta'"):
        regime_param_groups(net, 0.1, lr_multipliers={"theta": 1.0})
    with pytest.raises(ParameterError, match="'lr'"):
        regime_param_groups(net, 0.0)
    opt = make_regime_optimizer(net, "adaptive", lr=0.1, optimizer="adam")
    assert isinstance(opt, torch.optim.Adam) and net.w.requires_grad


def test_train_regime_validation():
    X, y = _data()
    net = _net()
    with pytest.raises(ParameterError, match="switch_step"):
        train_regime(net, (X, y), 3, regime="switch", progress=False)
    with pytest.raises(ParameterError, match="only applies"):
        train_regime(net, (X, y), 3, regime="kernel", switch_step=1, progress=False)
    with pytest.raises(ParameterError, match="'regime'"):
        train_regime(net, (X, y), 3, regime="lazy", progress=False)
    with pytest.raises(ParameterError, match="ShallowNet"):
        train_regime(torch.nn.Linear(2, 1), (X, y), 3, progress=False)


def test_shallow_net_vector_output_columns_are_scalar_nets():
    g = torch.Generator().manual_seed(0)
    net = shallow_net(4, 7, "cauchy", out_dim=3, generator=g, dtype=torch.float64)
    X = torch.randn(11, 4, dtype=torch.float64)
    out = net(X)
    assert out.shape == (11, 3)
    r = net.radon_parameters()
    for j in range(3):
        single = ShallowNet.from_radon(r["c"][:, j], r["theta"], r["gamma"], r["s"], "cauchy")
        torch.testing.assert_close(out[:, j], single(X), rtol=1e-12, atol=1e-12)
    assert shallow_net(4, 7, out_dim=3, c_init="zeros").c.abs().sum() == 0


def test_steps_per_epoch_matches_train_epochs():
    X, y = _data(n=23)
    net = _net()
    rec = ZeroPlaneRecorder()
    train_regime(net, (X, y), 12, lr=0.01, batch_size=5, callbacks=[rec], progress=False,
                 generator=torch.Generator().manual_seed(0))
    spe = steps_per_epoch(23, 5)
    assert spe == 4
    np.testing.assert_array_equal(rec.record.epoch[1:], (np.arange(1, 13) - 1) // spe)


def test_classification_recorder_matches_manual_accuracy():
    g = torch.Generator().manual_seed(3)
    net = shallow_net(5, 9, "relu", out_dim=4, generator=g)
    X, y = torch.randn(50, 5, generator=g), torch.randint(0, 4, (50,), generator=g)
    Xt, yt = torch.randn(20, 5, generator=g), torch.randint(0, 4, (20,), generator=g)
    rec = ClassificationRecorder({"train": (X, y), "test": (Xt, yt)}, every=4)
    train_regime(net, (X, y), 10, lr=0.1, loss="cross_entropy", callbacks=[rec], progress=False)
    assert rec.record["step"] == [0, 4, 8, 10]
    with torch.no_grad():
        acc = float((net(Xt).argmax(1) == yt).double().mean())
        loss = float(torch.nn.functional.cross_entropy(net(X), y))
    assert rec.record["test_accuracy"][-1] == pytest.approx(acc)
    assert rec.record["train_loss"][-1] == pytest.approx(loss, rel=1e-6)


def test_kernel_switch_at_zero_is_kernel_regime():
    X, y = _data()
    a, b = _net(), _net()
    train(a, (X, y), 5, optimizer=make_regime_optimizer(a, "adaptive", lr=0.1),
          callbacks=[KernelSwitch(0)], progress=False)
    train_regime(b, (X, y), 5, regime="kernel", lr=0.1, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_train_kernel_regime_lives_in_the_library():
    from specbias.experiments import radon_gd_vs_convex as gdc
    from specbias.regimes import KernelRegimeResult
    from specbias.training import single_threaded

    assert gdc.train_kernel_regime is train_kernel_regime
    assert gdc.single_threaded is single_threaded
    X, y = _data(40)
    net = ShallowNet(2, 32, c_init="zeros", generator=torch.Generator().manual_seed(0),
                     dtype=torch.float64)
    res = train_kernel_regime(net, X, y, optimizer="nesterov", lr=1.0, target_mse=1e-2,
                              max_steps=400)
    assert isinstance(res, KernelRegimeResult) and isinstance(res, dict)
    assert sorted(res) == ["diverged", "mse", "reached", "seconds", "steps"]
    assert res["reached"] and not res["diverged"] and res["steps"] < 400
    assert res.steps_done == res["steps"] and res.final_loss == res["mse"] <= 1e-2
    assert res.diverged_at is None and res.message == "" and res.records == {}
    with torch.no_grad():  # "mse" is the loss of the returned weights
        assert float(torch.mean((net(X) - y) ** 2)) == pytest.approx(res["mse"], rel=1e-12)
    with pytest.raises(ParameterError, match="'optimizer' parameter must be one of"):
        train_kernel_regime(net, X, y, optimizer="lbfgs", lr=1.0, target_mse=1e-2, max_steps=4)


def test_train_kernel_regime_step_budget_and_divergence():
    X, y = _data(40)

    def fresh():
        return ShallowNet(2, 32, c_init="zeros", generator=torch.Generator().manual_seed(0),
                          dtype=torch.float64)

    net = fresh()
    res = train_kernel_regime(net, X, y, optimizer="gd", lr=1.0, target_mse=1e-12, max_steps=7)
    assert res["steps"] == 7 and not res["reached"] and not res["diverged"]
    with torch.no_grad():
        assert float(torch.mean((net(X) - y) ** 2)) == pytest.approx(res["mse"], rel=1e-12)
    # gd at 2.5 / L explodes: caught by the rule of train (finite, 1e6 times the reference)
    res = train_kernel_regime(fresh(), X, y, optimizer="gd", lr=2.5, target_mse=1e-12,
                              max_steps=500)
    assert res["diverged"] and not res["reached"] and res["steps"] == res.diverged_at < 500
    assert res.message.startswith(f"diverged at step {res.diverged_at}: loss is ")
