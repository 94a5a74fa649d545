"""specbias.plan: forward / inverse consistency, the closed form against SpectralSolver, networks
the library did not build, the CLI's refusals, and the plan-check experiment at a small size."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from specbias import SpectralSolver, shallow_features
from specbias._validation import ParameterError
from specbias.nn import MLP, SIREN, FourierFeatures
from specbias.plan import (
    frequency_grid,
    learned_bandwidth,
    plan_bandwidth,
    plan_shallow,
    predict_bandwidth,
    predict_shallow,
)
from specbias.plan_cli import plan_cmd

N = 32
X = torch.arange(N, dtype=torch.float64)[:, None] / N


def siren(omega0, g):
    return SIREN(1, 32, 2, omega0=omega0, generator=g, dtype=torch.float64)


def ff_seq(sigma, g):
    """A network the library did not build: FourierFeatures then plain torch layers."""
    ff = FourierFeatures(1, 32, sigma, g, dtype=torch.float64)
    lin1 = torch.nn.Linear(64, 32, dtype=torch.float64)
    lin2 = torch.nn.Linear(32, 1, dtype=torch.float64)
    with torch.no_grad():
        for lin in (lin1, lin2):
            b = 1 / math.sqrt(lin.in_features)
            lin.weight.uniform_(-b, b, generator=g)
            lin.bias.uniform_(-b, b, generator=g)
    return torch.nn.Sequential(ff, lin1, torch.nn.Tanh(), lin2)


class Scaled(torch.nn.Module):
    """Fixed features ``a_k cos 2 pi k x``, ``a_k sin 2 pi k x`` and a trained linear read-out:
    the kernel's eigenvectors are exactly the Fourier pairs, eigenvalues ``a_k^2 N / 2``."""

    def __init__(self, amps):
        super().__init__()
        self.k = torch.arange(1, len(amps) + 1, dtype=torch.float64)
        self.a = torch.tensor(amps, dtype=torch.float64)
        self.out = torch.nn.Linear(2 * len(amps), 1, bias=False, dtype=torch.float64)
        torch.nn.init.zeros_(self.out.weight)

    def features(self, x):
        arg = 2 * math.pi * x @ self.k[None, :]
        return torch.cat([self.a * torch.cos(arg), self.a * torch.sin(arg)], 1)

    def forward(self, x):
        return self.out(self.features(x))[:, 0]


# ----------------------------------------------------------------------------- basics


def test_frequency_grid_and_bandwidth():
    x, k, nyq = frequency_grid(np.arange(10) / 10)
    assert k.tolist() == [1, 2, 3, 4] and nyq == 5.0
    _, k2, nyq2 = frequency_grid(np.linspace(0, 2, 8, endpoint=False))  # dx = 1/4
    assert k2.tolist() == [0.5, 1.0, 1.5] and nyq2 == 2.0
    assert learned_bandwidth([1, 2, 3], [0.5, 0.9, 0.9]) == 0.0
    assert learned_bandwidth([1, 2, 3], [0.9, 0.9, 0.9]) == 3.0
    with pytest.raises(ParameterError, match="evenly spaced"):
        frequency_grid([0.0, 0.1, 0.3, 0.4])


# ----------------------------------------------------------------------------- closed form


def test_steps_needed_is_spectral_solver_steps_for_when_frequencies_are_modes():
    amps = [2.0, 1.5, 1.0, 0.6, 0.3, 0.1, 0.05]
    net = Scaled(amps + [0.0] * (N // 2 - 1 - len(amps)))
    p = predict_bandwidth(X, model=net, steps=50, lr_fraction=0.5)
    with torch.no_grad():
        A = net.features(X).numpy()
    half = A.shape[1] // 2  # cos block, then sin block
    # torch.optim.SGD on the mean MSE: lr_eff = 2 lr / N on the kernel A A^T = J J^T
    lr_eff = 2 * p.lr / N
    solver = SpectralSolver(np.c_[A[:, : len(amps)], A[:, half: half + len(amps)]])
    expected = [solver.steps_for(2 * j + 1, lr=lr_eff) for j in range(len(amps))]
    assert np.allclose(p.steps_needed[: len(amps)], expected, rtol=1e-9)
    assert np.all(np.isinf(p.steps_needed[len(amps):]))  # a_k = 0: never learned
    # and the plan for T sits between the steps of frequency B and B + 1
    plan = plan_bandwidth(3, X, knob="steps", model=net, lr_fraction=0.5)
    assert expected[2] <= plan.value < expected[3]
    assert plan.interval == pytest.approx((expected[2], expected[3]))


def test_shallow_response_matches_direct_spectral_solver_runs():
    x = np.arange(N) / N
    pred = predict_shallow(x, scale=12.0, steps=40, activation="sinc")
    solver = SpectralSolver(shallow_features(x, x, "sinc", 12.0))
    for j, k in enumerate(pred.frequencies[:8]):
        u = np.exp(2j * np.pi * k * x)
        w = solver.gd(u.real, 40) + 1j * solver.gd(u.imag, 40)  # lr = 1 / sigma_1^2
        r = solver.A @ w - u
        learned = 1 - abs(np.vdot(u, r)) / N
        assert learned == pytest.approx(pred.learned_fraction[j], abs=1e-9)


def test_plan_shallow_scale_and_steps_round_trip():
    x = np.arange(N) / N
    plan = plan_shallow(5, x, knob="scale", steps=100)
    assert predict_shallow(x, scale=plan.value, steps=100).bandwidth == 5.0
    lo, hi = plan.interval
    assert predict_shallow(x, scale=lo * 0.98, steps=100).bandwidth < 5
    assert predict_shallow(x, scale=hi * 1.02, steps=100).bandwidth > 5
    tplan = plan_shallow(5, x, knob="steps", scale=plan.value)
    assert predict_shallow(x, scale=plan.value, steps=tplan.value).bandwidth == 5.0


# ----------------------------------------------------------------------------- deep networks


def test_plan_steps_then_predict_gives_the_target():
    plan = plan_bandwidth(4, X, knob="steps", builder=siren, value=15.0, lr_fraction=0.5,
                          inits=2)
    assert plan.knob == "steps" and plan.value == round(plan.value)
    p = predict_bandwidth(X, builder=siren, value=15.0, steps=plan.value, lr_fraction=0.5,
                          inits=2)
    assert p.bandwidth == 4.0
    assert len(p.bandwidth_per_init) == 2


def test_plan_omega0_and_sigma_round_trip_and_monotone():
    plans = plan_bandwidth([2, 5], X, knob="omega0", builder=siren, steps=200, lr_fraction=0.5,
                           inits=2)
    assert [p.prediction.bandwidth for p in plans] == [2.0, 5.0]
    assert plans[0].value < plans[1].value  # larger omega0 for a larger bandwidth
    for p in plans:
        again = predict_bandwidth(X, builder=siren, value=p.value, steps=200, lr_fraction=0.5,
                                  inits=2)
        assert again.bandwidth == p.target
    sp = plan_bandwidth([2, 5], X, knob="sigma", builder=ff_seq, steps=200, lr_fraction=0.5,
                        inits=2)
    assert sp[0].value < sp[1].value
    assert [predict_bandwidth(X, builder=ff_seq, value=p.value, steps=200, lr_fraction=0.5,
                              inits=2).bandwidth for p in sp] == [2.0, 5.0]


def test_plan_lr_round_trip():
    net = SIREN(1, 32, 2, omega0=15.0, generator=torch.Generator().manual_seed(0),
                dtype=torch.float64)
    plan = plan_bandwidth(4, X, knob="lr", model=net, steps=100)
    p = predict_bandwidth(X, model=net, steps=100, lr=plan.value)
    assert p.bandwidth == 4.0 and plan.value < p.max_lr


def test_plan_refuses_impossible_requests():
    with pytest.raises(ParameterError, match="Nyquist frequency 16"):
        plan_bandwidth(20, X, knob="omega0", builder=siren, steps=100, lr_fraction=0.5)
    with pytest.raises(ParameterError, match="reachable bandwidth is"):
        plan_bandwidth(12, X, knob="steps", builder=siren, value=5.0, steps=50,
                       lr_fraction=0.5, inits=1)
    with pytest.raises(ParameterError, match="reachable bandwidths are"):
        plan_bandwidth(14, X, knob="omega0", builder=siren, steps=3, lr_fraction=0.5, inits=1,
                       knob_range=(1.0, 10.0))
    with pytest.raises(ParameterError, match="exactly one of 'lr' and 'lr_fraction'"):
        predict_bandwidth(X, builder=siren, value=10.0, steps=10)
    with pytest.raises(ParameterError, match="max_lr"):
        predict_bandwidth(X, builder=siren, value=10.0, steps=10, lr=1e6)


def test_real_gd_reaches_the_planned_bandwidth_shallow():
    """The trained shallow network (output weights, torch SGD) learns what the plan says."""
    from specbias.nn import ShallowNet
    from specbias.training import train

    x = np.arange(N) / N
    plan = plan_shallow(6, x, knob="scale", steps=100)
    net = ShallowNet.from_radon(np.zeros(N), np.ones((N, 1)), x, np.full(N, plan.value), "sinc")
    net = net.double().freeze_zero_planes()
    s1 = SpectralSolver(shallow_features(x, x, "sinc", plan.value)).singular_values[0]
    k = np.arange(1, N // 2)
    phi = np.random.default_rng(0).uniform(0, 2 * np.pi, k.size)
    y = np.cos(2 * np.pi * np.outer(x, k) + phi).sum(1)
    X1 = torch.tensor(x)[:, None]
    train(net, (X1, torch.tensor(y)), 100, optimizer="sgd", lr=N / 2 / s1**2, progress=False)
    with torch.no_grad():
        r = net(X1).numpy() - y
    E = np.exp(-2j * np.pi * np.outer(x, k))
    learned = 1 - np.abs(r @ E) / np.abs(-y @ E)
    assert abs(learned_bandwidth(k, learned) - 6) <= 1


# ----------------------------------------------------------------------------- CLI


def test_cli_plan_prints_the_knob_and_json(tmp_path):
    runner = CliRunner()
    res = runner.invoke(plan_cmd, ["shallow", "--bandwidth", "5", "--steps", "100",
                                   "--points", "32", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("scale = ")
    assert (tmp_path / "o" / "plan.json").is_file() and (tmp_path / "o" / "plan.png").is_file()
    res = runner.invoke(plan_cmd, ["siren", "--width", "16", "--depth", "2", "--points", "32",
                                   "--omega0", "15", "--steps", "100", "--inits", "1", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["plan"] is None and data["prediction"]["bandwidth"] >= 1


@pytest.mark.parametrize("args, match", [
    (["siren", "--bandwidth", "40", "--steps", "100", "--width", "8"], "Nyquist"),
    (["siren", "--knob", "steps", "--bandwidth", "8", "--steps", "5", "--width", "8",
      "--omega0", "5", "--points", "32", "--inits", "1"], "budget"),
    (["shallow", "--knob", "omega0", "--bandwidth", "4"], "does not apply"),
    (["shallow", "--bandwidth", "4", "--steps", "10", "--lr", "0.1"], "do not apply"),
])
def test_cli_plan_refuses_bad_requests(args, match):
    from specbias.cli import cli

    res = CliRunner().invoke(cli, ["plan", *args])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and match in lines[0], res.output


# ----------------------------------------------------------------------------- experiment


def test_plan_check_experiment_small(tmp_path):
    from specbias.runner import run_experiment

    summary = run_experiment(
        "plan-check", out=tmp_path / "run", quiet_progress=True,
        overrides={"n_points": 32, "targets": [2.0, 5.0], "width": 32, "depth": 2,
                   "n_features": 32, "steps": 150, "inits": 2, "probes": 2,
                   "max_steps": 3000, "steps_omega0": 15.0})
    m = summary["metrics"]
    assert summary["status"] == "ok"
    assert set(m["plan_error"]) == {"steps", "sigma", "omega0", "scale"}
    for knob, errs in m["plan_error"].items():
        assert all(e is not None and abs(e) <= 1 for e in errs.values()), (knob, errs)
    assert m["planned"]["omega0"]["2"] < m["planned"]["omega0"]["5"]
    assert {c["id"]: c["verdict"] for c in summary["claims"]} == {
        "plan-within-one": "holds", "omega0-sooner": "holds", "sigma-sooner": "holds"}


def test_plan_check_refuses_targets_above_the_grid():
    from specbias.runner import resolve_config

    with pytest.raises(ParameterError, match="'targets' parameter of plan-check"):
        resolve_config("plan-check", "quick", {"n_points": 16, "targets": [7.0]})


def test_plan_builds_in_bad_builder():
    def broken(v, g):
        raise RuntimeError("boom")

    with pytest.raises(ParameterError, match="builder"):
        predict_bandwidth(X, builder=broken, value=1.0, steps=10, lr_fraction=0.5)
    assert math.isfinite(predict_bandwidth(X, model=MLP(1, 8, 1, dtype=torch.float64), steps=10,
                                           lr_fraction=0.5).max_lr)
