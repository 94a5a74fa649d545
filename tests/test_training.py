import math

import numpy as np
import pytest
import torch

from specbias._validation import DivergenceError, ParameterError
from specbias.ensemble import train_ensemble
from specbias.nn import MLP, ShallowNet
from specbias.regimes import train_kernel_regime
from specbias.training import (
    Callback,
    DivergenceMonitor,
    LossRecorder,
    ParamNormRecorder,
    SpectralNormRecorder,
    TrainState,
    divergence_entries,
    divergence_message,
    run_loop,
    train,
)


def _data():
    X = torch.linspace(0, 1, 64)[:, None]
    return X, torch.sin(2 * math.pi * X[:, 0])


def test_training_reduces_loss_and_records():
    torch.manual_seed(0)
    rec, norms = LossRecorder(every=10), ParamNormRecorder(every=50)
    res = train(MLP(1, 32, 2), _data(), steps=200, lr=1e-2, callbacks=[rec, norms], progress=False)
    assert not res.diverged and res.steps_done == 200
    loss = res.records["loss"]["loss"]
    assert res.records["loss"]["step"] == list(range(0, 201, 10))
    assert loss[-1] < 0.5 * loss[0]
    assert len(res.records["param_norms"]["step"]) == 5
    assert all(v > 0 for v in res.records["param_norms"]["layers.0.weight"])


def test_divergence_is_detected_and_records_kept():
    torch.manual_seed(0)
    model = ShallowNet(1, 16, "relu", scale=5.0)
    rec = LossRecorder(every=1)
    res = train(model, _data(), steps=500, optimizer="sgd", lr=1e3, callbacks=[rec],
                progress=False)
    assert res.diverged and "non-finite" in res.message
    assert res.steps_done < 500 and len(rec.record["loss"]) == res.steps_done + 1
    with pytest.raises(DivergenceError):
        train(ShallowNet(1, 16, "relu", scale=5.0), _data(), steps=500, optimizer="sgd", lr=1e3,
              progress=False, raise_on_divergence=True)


def test_minibatches_are_reproducible():
    def run():
        torch.manual_seed(1)
        g = torch.Generator().manual_seed(3)
        m = MLP(1, 8, 1)
        return train(m, _data(), steps=30, batch_size=16, generator=g, progress=False).final_loss

    assert run() == run()


def test_bad_inputs():
    with pytest.raises(ParameterError, match="steps"):
        train(MLP(1, 4, 1), _data(), steps=-1)
    with pytest.raises(ParameterError, match="pair"):
        train(MLP(1, 4, 1), torch.zeros(3), steps=1)
    with pytest.raises(ParameterError, match="loss"):
        train(MLP(1, 4, 1), _data(), steps=1, loss="hinge")
    with pytest.raises(ParameterError, match="shape"):
        MLP(2, 4, 1)(torch.zeros(3, 3))


# ----------------------------------------------------------------------------- one engine

class _Hooks(Callback):
    """Remembers which hooks ran, with the step and divergence flag the engine passed."""

    name = "hooks"

    def on_train_begin(self, state):
        self._append(hook="begin", step=state.step, diverged=np.copy(state.diverged))

    def on_step_end(self, state):
        self._append(hook="step", step=state.step, diverged=np.copy(state.diverged))

    def on_train_end(self, state):
        self._append(hook="end", step=state.step, diverged=np.copy(state.diverged))


def _exploding_runs(hooks):
    """A run of each trainer whose loss explodes (finite, but 1e6 times its reference)."""
    X, y = _data()
    X = X.double()
    y = y.double()
    single = train(ShallowNet(1, 16, "relu", scale=5.0, dtype=torch.float64,
                              generator=torch.Generator().manual_seed(0)),
                   (X, y), 200, optimizer="sgd", lr=1e3, callbacks=[hooks[0]], progress=False)
    nets = [MLP(1, 16, 2, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
            for s in range(3)]
    with torch.no_grad():  # member 1 explodes under plain SGD
        for p in nets[1].parameters():
            p.mul_(30.0)
    ens = train_ensemble(nets, (X, y), 40, optimizer="sgd", lr=0.05, callbacks=[hooks[1]],
                         progress=False)
    rng = np.random.default_rng(0)
    Xk = torch.as_tensor(rng.uniform(-1, 1, (60, 2)))
    yk = torch.as_tensor(rng.uniform(-1, 1, 60))
    net = ShallowNet(2, 40, c_init="zeros", generator=torch.Generator().manual_seed(5),
                     dtype=torch.float64)
    kern = train_kernel_regime(net, Xk, yk, optimizer="gd", lr=2.5, target_mse=1e-6,
                               max_steps=300, callbacks=[hooks[2]])
    return single, ens, kern


def test_the_three_trainers_share_the_engine(monkeypatch):
    calls = []
    update = DivergenceMonitor.update

    def spy(self, loss):
        calls.append(np.shape(loss))
        return update(self, loss)

    monkeypatch.setattr(DivergenceMonitor, "update", spy)
    hooks = [_Hooks(), _Hooks(), _Hooks()]
    single, ens, kern = _exploding_runs(hooks)
    # every trainer applied the one divergence rule at every step
    assert calls.count(()) == single.steps_done + 1 + kern.steps_done + 1
    assert calls.count((3,)) == ens.steps_done
    # one model: a bool, the step, the reason and the message that says both
    for res in (single, kern):
        assert res.diverged is True and isinstance(res.diverged_at, int)
        assert res.steps_done == res.diverged_at
        assert res.divergence_reason.startswith("loss is ")
        assert res.message == divergence_message(res.diverged_at, res.divergence_reason)
        assert divergence_entries(res, "x", prefix="p ") == {"p x": res.message}
    assert kern["diverged"] and kern["steps"] == kern.diverged_at  # the dict of old
    assert "above 1e+06 times the reference loss" in kern.message  # finite, but exploded
    # an ensemble: the same per member
    assert ens.diverged.tolist() == [False, True, False]
    assert ens.diverged_at.tolist()[0::2] == [-1, -1] and ens.diverged_at[1] >= 0
    assert ens.divergence_reason[0] == "" and ens.divergence_reason[1].startswith("loss is ")
    assert ens.messages == [divergence_message(int(ens.diverged_at[1]),
                                               ens.divergence_reason[1], member=1)]
    # the same hooks, also after divergence, with the divergence flag in the state
    for h, res in zip(hooks, (single, ens, kern), strict=True):
        rec = h.record
        assert rec["hook"][0] == "begin" and rec["hook"][-1] == "end"
        assert rec["hook"].count("step") == res.steps_done
        assert np.any(rec["diverged"][-1]) and not np.any(rec["diverged"][0])
    assert kern.records["hooks"] is hooks[2].record


def test_divergence_entries_replace_message_parsing():
    X, y = _data()
    nets = [MLP(1, 8, 2, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    with torch.no_grad():
        for i in (1, 3):
            for p in nets[i].parameters():
                p.mul_(40.0)
    res = train_ensemble(nets, (X, y), 30, optimizer="sgd", lr=0.05, progress=False)
    assert res.diverged.tolist() == [False, True, False, True]
    parsed = {msg.split(" diverged")[0]: msg for msg in res.messages}  # how experiments did it
    assert divergence_entries(res) == parsed
    assert list(divergence_entries(res)) == list(parsed)  # in the order they diverged
    assert divergence_entries(res, prefix="reg ") == {f"reg {k}": v for k, v in parsed.items()}
    named = divergence_entries(res, ["a", "b", "c", "d"])
    assert list(named) == ["b", "d"] and list(named.values()) == res.messages
    with pytest.raises(ParameterError, match="one label per member"):
        divergence_entries(res, ["a"])
    with pytest.raises(ParameterError, match="one label per member"):
        divergence_entries(res, "a")
    ok = train(MLP(1, 8, 2), (X, y), 5, progress=False)
    assert divergence_entries(ok) == {} and ok.diverged_at is None and ok.divergence_reason == ""
    bad = train(MLP(1, 8, 2), (X, y), 20, optimizer="sgd", lr=1e9, progress=False)
    assert divergence_entries(bad) == {"run": bad.message}
    with pytest.raises(ParameterError, match="must be a str"):
        divergence_entries(bad, ["a"])


def test_run_loop_stop_at_evaluate_last_and_hooks():
    w = torch.nn.Parameter(torch.tensor(4.0, dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.25)

    def step(i):
        opt.zero_grad()
        loss = w**2

        def update(active):
            loss.backward()
            opt.step()

        return float(loss.detach()), update

    hook, cb = _Hooks(), LossRecorder()
    state = TrainState(None, opt, 0, None)
    run = run_loop(state, 10, step, lambda: (float(w**2), None), callbacks=[cb], hooks=[hook],
                   stop_at=lambda v: v < 1.0)
    # w halves each step: losses 16, 4, 1, 0.25 -> stops before the update of step 3
    assert run.stopped == "target" and state.step == 3 and state.loss == 0.25
    assert list(run.records) == ["loss"] and cb.record["loss"] == [16.0, 16.0, 4.0, 1.0]
    assert hook.record["hook"] == ["begin", "step", "step", "step", "end"]
    w.data.fill_(4.0)
    state = TrainState(None, opt, 0, None)
    run = run_loop(state, 2, step, lambda: (float(w**2), None), evaluate_last=True)
    assert run.stopped == "steps" and state.step == 2 and state.loss == 1.0  # the final params
    assert not run.diverged and run.diverged_at == -1


def test_norm_recorders_are_one():
    assert issubclass(ParamNormRecorder, SpectralNormRecorder)
    from specbias import callbacks

    assert callbacks.SpectralNormRecorder is SpectralNormRecorder
    net = MLP(1, 8, 3, generator=torch.Generator().manual_seed(0))
    a, b = ParamNormRecorder(every=5), SpectralNormRecorder(every=5)
    res = train(net, _data(), 10, callbacks=[a, b], progress=False)
    assert set(res.records) == {"param_norms", "spectral_norms"}
    assert a.record == b.record and a.record["step"] == [0, 5, 10]
