"""Vectorized ensembles train each member exactly as training it alone would (float64)."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from specbias import train_ensemble
from specbias._validation import ParameterError
from specbias.ensemble import EnsembleModel, member_losses
from specbias.nn import MLP
from specbias.training import LossRecorder, train

D = torch.float64


def _data(n=40):
    X = torch.linspace(0, 1, n, dtype=D)[:, None]
    return X, torch.sin(2 * math.pi * 3 * X[:, 0]) + 0.5 * torch.sin(2 * math.pi * 9 * X[:, 0])


def _mlps(n, width=16, depth=3, in_dim=1, out_dim=1, seed0=0):
    return [MLP(in_dim, width, depth, out_dim=out_dim,
                generator=torch.Generator().manual_seed(seed0 + s), dtype=D) for s in range(n)]


def _assert_member_equal(ens_model, alone, i, rtol=1e-9):
    stacked = dict(ens_model.named_parameters())
    for name, p in alone.named_parameters():
        q = stacked[name][i]
        torch.testing.assert_close(q, p, rtol=rtol, atol=rtol * float(p.detach().abs().max()))


@pytest.mark.parametrize("method", ["bmm", "vmap"])
def test_equals_training_each_alone(method):
    X, y = _data()
    nets = _mlps(4)
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (X, y), 60, lr=5e-3, method=method, progress=False)
    for i, m in enumerate(copies):
        rec = LossRecorder(every=1)
        alone = train(m, (X, y), 60, lr=5e-3, callbacks=[rec], progress=False)
        np.testing.assert_allclose(res.losses[:, i], rec.record["loss"], rtol=1e-9)
        assert abs(alone.final_loss - res.final_loss[i]) <= 1e-9 * alone.final_loss
        _assert_member_equal(res.model, m, i)
    # the inputs were not modified
    for a, b in zip(nets, _mlps(4), strict=True):
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(p, q)
    assert not res.diverged.any() and res.steps_done == 60


def test_per_member_targets_and_inputs():
    X, _ = _data()
    ys = torch.stack([torch.sin(k * X[:, 0]) for k in (2.0, 5.0, 11.0)])
    Xs = torch.stack([X, 2 * X, X**2])
    nets = _mlps(3)
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (Xs, ys), 40, lr=3e-3, progress=False)
    for i, m in enumerate(copies):
        alone = train(m, (Xs[i], ys[i]), 40, lr=3e-3, progress=False)
        assert abs(alone.final_loss - res.final_loss[i]) <= 1e-9 * alone.final_loss
        _assert_member_equal(res.model, m, i)


class Odd(nn.Module):
    """Not a Sequential: forces the vmap path."""

    def __init__(self, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Linear(1, 8, dtype=D)
        self.b = nn.Linear(8, 1, dtype=D)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=D) * 0.5)
        self.scale = nn.Parameter(torch.ones((), dtype=D))

    def forward(self, x):
        return self.scale * self.b(torch.tanh(self.a(x)))[:, 0]


@pytest.mark.parametrize("kind", ["sequential", "custom"])
def test_other_modules(kind):
    X, y = _data()
    if kind == "sequential":
        def make(s):
            torch.manual_seed(s)
            return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1), nn.Flatten(0)).double()
        # Flatten is not element-wise: falls back to vmap
        nets = [make(s) for s in range(3)]
    else:
        nets = [Odd(s) for s in range(3)]
    ens = EnsembleModel(nets)
    assert ens.method == "vmap"
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (X, y), 30, lr=1e-2, progress=False)
    for i, m in enumerate(copies):
        train(m, (X, y), 30, lr=1e-2, progress=False)
        _assert_member_equal(res.model, m, i)
        with torch.no_grad():
            torch.testing.assert_close(res.members()[i](X), m(X), rtol=1e-9, atol=1e-12)


def test_sequential_bmm_path_matches_vmap():
    torch.manual_seed(0)
    nets = [nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)).double() for _ in range(3)]
    a, b = EnsembleModel(nets, method="bmm"), EnsembleModel(nets, method="vmap")
    X = torch.randn(10, 2, dtype=D)
    torch.testing.assert_close(a(X), b(X))
    torch.testing.assert_close(a(X)[1], nets[1](X))
    Xs = torch.randn(3, 10, 2, dtype=D)
    torch.testing.assert_close(a(Xs), b(Xs, per_member=True))


@pytest.mark.parametrize("loss,opt", [("bce_logits", "sgd"), ("cross_entropy", "adamw")])
def test_losses_and_optimizers(loss, opt):
    X = torch.linspace(-1, 1, 30, dtype=D)[:, None]
    if loss == "bce_logits":
        y = (torch.sin(6 * X[:, 0]) > 0).to(D)
        nets = _mlps(3)
    else:
        y = (torch.floor((X[:, 0] + 1) * 1.5)).long().clamp(0, 2)
        nets = _mlps(3, out_dim=3)
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (X, y), 25, optimizer=opt, lr=1e-2, loss=loss, progress=False)
    for i, m in enumerate(copies):
        alone = train(m, (X, y), 25, optimizer=opt, lr=1e-2, loss=loss, progress=False)
        assert abs(alone.final_loss - res.final_loss[i]) <= 1e-9 * alone.final_loss
        _assert_member_equal(res.model, m, i)


def test_validation_losses_per_member():
    X, y = _data()
    Xv, yv = X[::3] + 0.01, y[::3]
    nets = _mlps(2)
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (X, y), 20, lr=1e-2, record_every=5,
                         validation={"val": (Xv, yv)}, progress=False)
    assert res.loss_steps.tolist() == [0, 5, 10, 15, 20]
    for i, m in enumerate(copies):
        rec = LossRecorder(every=5, validation={"val": (Xv, yv)})
        train(m, (X, y), 20, lr=1e-2, callbacks=[rec], progress=False)
        np.testing.assert_allclose(res.validation["val"][:, i], rec.record["val"], rtol=1e-9)


def test_a_diverging_member_does_not_disturb_the_others():
    X, y = _data()
    nets = _mlps(3)
    with torch.no_grad():  # member 1 explodes under plain SGD
        for p in nets[1].parameters():
            p.mul_(30.0)
    copies = [copy.deepcopy(m) for m in nets]
    res = train_ensemble(nets, (X, y), 40, optimizer="sgd", lr=0.05, progress=False)
    assert res.diverged.tolist() == [False, True, False]
    assert len(res.messages) == 1 and "member 1" in res.messages[0]
    assert np.isnan(res.losses[-1, 1]) and np.all(np.isfinite(res.losses[:, [0, 2]]))
    alone1 = train(copies[1], (X, y), 40, optimizer="sgd", lr=0.05, progress=False)
    assert alone1.diverged
    for i in (0, 2):
        alone = train(copies[i], (X, y), 40, optimizer="sgd", lr=0.05, progress=False)
        assert not alone.diverged
        _assert_member_equal(res.model, copies[i], i)


def test_member_losses_match_torch():
    pred = torch.randn(4, 7, dtype=D)
    y = torch.randn(7, dtype=D)
    per = member_losses(pred, y)
    for e in range(4):
        assert abs(per[e] - torch.nn.functional.mse_loss(pred[e], y)) < 1e-14
    Y = torch.randn(4, 7, dtype=D)
    np.testing.assert_allclose(member_losses(pred, Y).numpy(),
                               ((pred - Y) ** 2).mean(1).numpy(), rtol=1e-14)


def test_members_are_standalone_copies():
    nets = _mlps(3)
    ens = EnsembleModel(nets)
    m = ens.member(2)
    X = torch.rand(5, 1, dtype=D)
    torch.testing.assert_close(m(X), nets[2](X))
    with torch.no_grad():
        m.layers[0].weight.zero_()
    assert not torch.equal(ens(X)[2], m(X))


def test_bad_inputs():
    with pytest.raises(ParameterError, match="one architecture"):
        EnsembleModel([MLP(1, 4, 2), MLP(1, 5, 2)])
    with pytest.raises(ParameterError, match="non-empty"):
        EnsembleModel([])
    with pytest.raises(ParameterError, match="method"):
        EnsembleModel(_mlps(2), method="loop")
    with pytest.raises(ParameterError, match="bmm"):
        EnsembleModel([Odd(0), Odd(1)], method="bmm")
    X, y = _data()
    with pytest.raises(ParameterError, match="steps"):
        train_ensemble(_mlps(2), (X, y), -1)
    with pytest.raises(ParameterError, match="pair"):
        train_ensemble(_mlps(2), X, 1)
    with pytest.raises(ParameterError, match="optimizer"):
        train_ensemble(_mlps(2), (X, y), 1, optimizer="lbfgs")
    with pytest.raises(ParameterError, match="do not match"):
        train_ensemble(_mlps(2), (X, torch.zeros(3, 40, dtype=D)), 1, progress=False)
    with pytest.raises(ParameterError, match="Per-member"):
        EnsembleModel(_mlps(2))(torch.zeros(3, 5, 1, dtype=D))


def test_structured_divergence_per_member():
    X, y = _data()
    nets = _mlps(3)
    with torch.no_grad():
        for p in nets[2].parameters():
            p.mul_(30.0)
    res = train_ensemble(nets, (X, y), 30, optimizer="sgd", lr=0.05, record_every=5,
                         progress=False)
    assert res.diverged.tolist() == [False, False, True]
    at = int(res.diverged_at[2])
    assert res.diverged_at.tolist() == [-1, -1, at] and 0 <= at < 30
    assert res.divergence_reason[:2] == ["", ""] and "reference loss" in res.divergence_reason[2]
    assert res.messages == [f"member 2 diverged at step {at}: {res.divergence_reason[2]}; "
                            "it is frozen from there on"]
    # losses are NaN from the first record after the divergence; the engine's own loss
    # recorder does not show up among the callbacks' records
    assert np.isnan(res.losses[res.loss_steps > at, 2]).all()
    assert np.isfinite(res.losses[res.loss_steps <= at, 2]).all()
    assert res.records == {}
    ok = train_ensemble(_mlps(2), (X, y), 3, progress=False)
    assert ok.diverged_at.tolist() == [-1, -1] and ok.divergence_reason == ["", ""]
