"""Plan the learned bandwidth with :mod:`specbias.plan`, then check every plan by training
(docs/planning.md).

For each knob and each target bandwidth ``B`` (cycles on ``[0, 1)``, grid ``x_n = n / N``):

* ``steps``: the number of GD steps ``T`` for a :class:`specbias.nn.SIREN` at
  ``omega0 = steps_omega0`` (budget ``max_steps``);
* ``sigma``: the Fourier-feature scale for ``steps`` steps of a network built from plain torch
  modules, ``nn.Sequential(FourierFeatures(1, m, sigma), Linear, Tanh, ..., Linear,
  Flatten(0))``;
* ``omega0``: the ``omega0`` of a :class:`specbias.nn.SIREN` for ``steps`` steps;
* ``scale``: Lucey's scale ``s`` of the shallow network ``sum_j c_j sinc(s (x - x_j))`` (output
  weights trained) for ``shallow_steps`` steps at ``lr = 1 / sigma_1^2``, in closed form.

Deep networks are planned from ``inits`` initializations (:func:`specbias.plan.plan_bandwidth`,
learning rate ``lr_fraction`` times each kernel's ``max_lr``); the network then trained is a
fresh initialization (another seed). It is trained by full-batch ``torch.optim.SGD`` on the
mean MSE at ``lr_fraction`` times its own ``max_lr`` for the planned steps, on the target
``y = f_0 + a sum_k cos(2 pi k x + phi_k)`` over every frequency ``k`` of the grid below
Nyquist (amplitude ``a``, random phases; ``f_0`` the network at initialization, so the initial
residual is the sum of cosines). :class:`specbias.SpectrumTracker` records the DFT of the
output; the measured learned fraction is ``1 - |r~_T(k)| / |r~_0(k)|`` and the measured
bandwidth the highest ``k`` up to which every frequency reached ``level`` (default ``1 - 1/e``).
The same planned settings are trained by full-batch Adam (lr ``adam_lr``) for contrast: the
plan is derived for GD.

Metrics: ``planned[knob][B]`` (the knob value), ``predicted_bandwidth[knob][B]`` (of the
trained network's own kernel at the plan), ``measured_bandwidth[knob][B]``,
``plan_error[knob][B]`` ``= measured - B``, ``max_abs_plan_error[knob]``, ``adam_plan_error``
and ``adam_max_abs_plan_error``; ``relu_plan_error[B]``: the ``sigma`` plan for the same
network with ReLU instead of tanh (reported, not claimed: see docs/planning.md).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, model_validator

from ..callbacks import SpectrumTracker
from ..claims import AllAtMost, Claim, Predicate
from ..nn import SIREN, FourierFeatures, ShallowNet
from ..ntk import LinearizedGD
from ..plan import learned_bandwidth, plan_bandwidth, plan_shallow, predict_bandwidth
from ..training import TrainResult, train
from . import ExperimentConfig, RunContext, register_experiment
from ._blocks import Dtype, Frequencies, torch_dtype

KNOBS = ("steps", "sigma", "omega0", "scale")


class Config(ExperimentConfig):
    n_points: int = Field(64, ge=16, le=1024, description="grid points x_n = n/N on [0, 1)")
    targets: Frequencies = Field(default_factory=lambda: [3.0, 6.0, 12.0], min_length=1,
                                 max_length=12,
                                 description="target bandwidths (integer frequencies)")
    amplitude: float = Field(1e-3, gt=0, le=10.0,
                             description="amplitude of each cosine of the target")
    width: int = Field(64, ge=4, le=1024, description="hidden units of the deep networks")
    depth: int = Field(3, ge=1, le=8, description="hidden layers of the deep networks")
    n_features: int = Field(128, ge=1, le=1024, description="Fourier features m (2m inputs)")
    steps: int = Field(300, ge=1, le=100_000,
                       description="GD steps for the sigma and omega0 plans")
    steps_omega0: float = Field(25.0, gt=0, le=1000.0,
                                description="SIREN omega0 of the network of the steps plan")
    max_steps: int = Field(10_000, ge=1, le=100_000, description="budget of the steps plan")
    shallow_steps: int = Field(100, ge=1, le=100_000,
                               description="GD steps of the scale plan (Lucey, Fig. 6b: 100)")
    lr_fraction: float = Field(0.5, gt=0, lt=1,
                               description="SGD learning rate as a fraction of the NTK's max_lr")
    inits: int = Field(3, ge=1, le=16, description="initializations each plan averages")
    adam_lr: float = Field(1e-4, gt=0, le=1.0, description="learning rate of the Adam contrast")
    relu_check: bool = Field(False, description="also check the sigma plan with a ReLU MLP")
    probes: int = Field(4, ge=1, le=32,
                        description="random-phase targets each GD check averages (coherently)")
    level: float = Field(1 - 1 / math.e, gt=0, lt=1,
                         description="learned fraction at which a frequency counts as learned")
    dtype: Dtype = Field("float64", description="precision of the networks")

    @model_validator(mode="after")
    def _integer_targets(self):
        bad = [t for t in self.targets if t != round(t) or t >= (self.n_points - 1) // 2]
        if bad:
            raise self.invalid("targets", "be integers below the highest frequency of the grid, "
                               f"{(self.n_points - 1) // 2 - 1}", self.targets)
        return self

    def memory_estimate(self):
        n, w = self.n_points, self.width
        params = 2 * self.n_features * w + self.depth * (w + 1) * w
        return self.memory_total({
            "n_points": (8.0 * 6 * n * n + 8.0 * 3 * n * w * (self.depth + 1),
                         "kernels, eigenvectors and layer activations of N points"),
            "width": (8.0 * 8 * params, "a few copies of a network, its gradients and moments"),
        })


def _ff_builder(cfg: Config, act: type[torch.nn.Module], dtype: torch.dtype):
    def build(sigma: float, g: torch.Generator) -> torch.nn.Module:
        ff = FourierFeatures(1, cfg.n_features, sigma, g, dtype=dtype)
        layers: list[torch.nn.Module] = [ff]
        fan = ff.out_dim
        for _ in range(cfg.depth):
            layers += [torch.nn.Linear(fan, cfg.width, dtype=dtype), act()]
            fan = cfg.width
        layers.append(torch.nn.Linear(fan, 1, dtype=dtype))
        with torch.no_grad():  # PyTorch's default init, drawn from g
            for m in layers:
                if isinstance(m, torch.nn.Linear):
                    b = 1.0 / math.sqrt(m.in_features)
                    m.weight.uniform_(-b, b, generator=g)
                    m.bias.uniform_(-b, b, generator=g)
        return torch.nn.Sequential(*layers, torch.nn.Flatten(0))  # output (N,)

    return build


def _siren_builder(cfg: Config, dtype: torch.dtype):
    def build(omega0: float, g: torch.Generator) -> torch.nn.Module:
        return SIREN(1, cfg.width, cfg.depth, omega0=omega0, generator=g, dtype=dtype)

    return build


def _shallow_net(x: np.ndarray, s: float, dtype: torch.dtype) -> ShallowNet:
    K = x.size
    net = ShallowNet.from_radon(np.zeros(K), np.ones((K, 1)), x, np.full(K, s), "sinc")
    net = net.to(dtype)
    return net.freeze_zero_planes()


def _measure(net: torch.nn.Module, X: torch.Tensor, ybases: list[np.ndarray], k: np.ndarray,
             steps: int, optimizer: str, lr: float, level: float
             ) -> tuple[float, np.ndarray, TrainResult | None]:
    """Train a copy of ``net`` on ``f_0 + ybase`` for each probe; the measured bandwidth, learned
    fractions ``1 - |mean_r r~_T(k) / r~_0(k)|`` and the training result of a diverged run."""
    z = X[:, 0].double().numpy()
    E = np.exp(-2j * np.pi * np.outer(z, k))
    with torch.no_grad():
        f0 = net(X).reshape(-1).double().numpy()
    ratios = []
    for ybase in ybases:
        model = copy.deepcopy(net)
        y = torch.tensor(f0 + ybase, dtype=X.dtype)
        tracker = SpectrumTracker(X, k, every=steps, absolute=False)
        res = train(model, (X, y), steps, optimizer=optimizer, lr=lr, callbacks=[tracker],
                    progress=False)
        if res.diverged:
            return math.nan, np.full(k.size, np.nan), res
        S = tracker.spectra()
        yk = (2.0 / z.size) * (y.double().numpy() @ E)
        ratios.append((S[-1] - yk) / (S[0] - yk))
    learned = 1.0 - np.abs(np.mean(ratios, axis=0))
    return float(learned_bandwidth(k, learned, level)), learned, None


def _increasing(knob: str):
    def fn(m):
        planned = list(m["planned"][knob].values())
        meas = list(m["measured_bandwidth"][knob].values())
        ok = all(b > a for a, b in zip(planned, planned[1:], strict=False)) and all(
            b > a for a, b in zip(meas, meas[1:], strict=False))
        return ok, {"planned": [round(v, 3) for v in planned], "measured": meas}

    return fn


@register_experiment(
    "plan-check",
    config=Config,
    description="Plan steps / sigma / omega0 / scale for a target bandwidth, then train and measure",
    reproduces="Lucey, Prop. 4.2 and Fig. 6b (T and s as bandwidth knobs); Tancik et al. and "
               "Sitzmann et al. (sigma, omega0), through the empirical NTK",
    presets={"quick": {},
             "paper": {"n_points": 128, "targets": [4.0, 8.0, 16.0, 32.0], "width": 256,
                       "n_features": 128, "steps": 1000, "inits": 5}},
    demo=True,
    claims=[
        Claim("plan-within-one", "For full-batch GD, the learned bandwidth is within +-1 "
              "frequency of the planned target for every knob (steps, sigma, omega0, scale).",
              "docs/planning.md", AllAtMost("max_abs_plan_error", 1.0),
              paper_value="Lucey: T(k) from the singular values sets the components learned"),
        Claim("omega0-sooner", "Larger SIREN omega0 learns higher frequencies in the same "
              "number of steps: the planned omega0 and the measured bandwidth both increase "
              "with the target.", "Sitzmann et al. 2020, Sec. 3.2 (omega0 sets the frequency "
              "support)", Predicate("planned omega0 and measured bandwidth increase with B",
                                    _increasing("omega0"), reads=("planned.omega0",
                                                                  "measured_bandwidth.omega0"))),
        Claim("sigma-sooner", "Larger Fourier-feature sigma learns higher frequencies in the "
              "same number of steps: the planned sigma and the measured bandwidth both increase "
              "with the target.", "Tancik et al. 2020, Sec. 6 and Fig. 3 (sigma sets the "
              "kernel's bandwidth)", Predicate("planned sigma and measured bandwidth increase "
                                               "with B", _increasing("sigma"),
                                               reads=("planned.sigma",
                                                      "measured_bandwidth.sigma"))),
    ],
)
def run(cfg: Config, ctx: RunContext) -> None:
    import matplotlib.pyplot as plt

    dtype = torch_dtype(cfg.dtype)
    N = cfg.n_points
    z = np.arange(N) / N
    X = torch.tensor(z, dtype=dtype)[:, None]
    k = np.arange(1, (N - 1) // 2 + 1, dtype=np.float64)
    phases = ctx.rng.uniform(0.0, 2 * np.pi, (cfg.probes, k.size))
    ybases = [cfg.amplitude * np.cos(2 * np.pi * np.outer(z, k) + phi).sum(1) for phi in phases]
    targets = [float(t) for t in cfg.targets]
    seed = ctx.child_seed(1) % 2**31
    common: dict[str, Any] = dict(lr_fraction=cfg.lr_fraction, inits=cfg.inits,
                                  level=cfg.level, seed=seed)
    ff_tanh = _ff_builder(cfg, torch.nn.Tanh, dtype)
    siren = _siren_builder(cfg, dtype)

    planned: dict[str, dict[str, float]] = {}
    pred: dict[str, dict[str, float]] = {}
    meas: dict[str, dict[str, float | None]] = {}
    err: dict[str, dict[str, float | None]] = {}
    adam_err: dict[str, dict[str, float | None]] = {}
    rows: list[dict] = []

    def check(knob: str, plans: Any, build, steps_of, lr_of, offset: int) -> None:
        planned[knob], pred[knob], meas[knob], err[knob], adam_err[knob] = {}, {}, {}, {}, {}
        for i, p in enumerate(plans):
            key = f"{p.target:g}"
            net, steps = build(p.value, ctx.torch_generator(offset + i)), steps_of(p)
            lin = LinearizedGD(net, X, torch.zeros(N, dtype=dtype))
            lr = lr_of(lin)
            own = predict_bandwidth(X, model=net, steps=steps, lr=lr, level=cfg.level).bandwidth
            with ctx.timer(f"gd_s_{knob}"):
                bw, learned, msg = _measure(net, X, ybases, k, steps, "sgd", lr, cfg.level)
            if msg is not None:
                ctx.record_divergence(msg, f"{knob} B={key} GD")
            net_a = build(p.value, ctx.torch_generator(offset + i))
            with ctx.timer(f"adam_s_{knob}"):
                bw_a, learned_a, msg_a = _measure(net_a, X, ybases[:1], k, steps, "adam",
                                                  cfg.adam_lr, cfg.level)
            if msg_a is not None:
                ctx.record_divergence(msg_a, f"{knob} B={key} Adam")
            planned[knob][key] = float(p.value)
            pred[knob][key] = own
            meas[knob][key] = None if math.isnan(bw) else bw
            err[knob][key] = None if math.isnan(bw) else bw - p.target
            adam_err[knob][key] = None if math.isnan(bw_a) else bw_a - p.target
            for j, kk in enumerate(k):
                rows.append({"knob": knob, "target": p.target, "value": float(p.value),
                             "steps": steps, "k": kk, "planned_fraction": float(
                                 p.prediction.learned_fraction[j]),
                             "measured_fraction": float(learned[j]),
                             "adam_fraction": float(learned_a[j])})

    with ctx.timer("plan_s_steps"):
        plans = plan_bandwidth(targets, X, knob="steps", builder=siren, value=cfg.steps_omega0,
                               steps=cfg.max_steps, **common)
    check("steps", plans, lambda v, g: siren(cfg.steps_omega0, g), lambda p: int(p.value),
          lambda lin: cfg.lr_fraction * lin.max_lr, 100)
    with ctx.timer("plan_s_sigma"):
        plans = plan_bandwidth(targets, X, knob="sigma", builder=ff_tanh, steps=cfg.steps,
                               **common)
    check("sigma", plans, ff_tanh, lambda p: cfg.steps, lambda lin: cfg.lr_fraction * lin.max_lr,
          200)
    with ctx.timer("plan_s_omega0"):
        plans = plan_bandwidth(targets, X, knob="omega0", builder=siren, steps=cfg.steps,
                               **common)
    check("omega0", plans, siren, lambda p: cfg.steps, lambda lin: cfg.lr_fraction * lin.max_lr,
          300)
    with ctx.timer("plan_s_scale"):
        plans = plan_shallow(targets, z, knob="scale", steps=cfg.shallow_steps, level=cfg.level)
    # Lucey's lr = 1/sigma_1^2 on 0.5 |y - A w|^2 is lr N / 2 for SGD on the mean MSE
    check("scale", plans, lambda v, g: _shallow_net(z, v, dtype), lambda p: cfg.shallow_steps,
          lambda lin: lin.max_lr / 2.0, 400)

    relu_err: dict[str, float | None] = {}
    if cfg.relu_check:
        ff_relu = _ff_builder(cfg, torch.nn.ReLU, dtype)
        with ctx.timer("plan_s_relu"):
            relu_plans: Any = plan_bandwidth(targets, X, knob="sigma", builder=ff_relu,
                                             steps=cfg.steps, **common)
        for i, p in enumerate(relu_plans):
            net = ff_relu(p.value, ctx.torch_generator(500 + i))
            lin = LinearizedGD(net, X, torch.zeros(N, dtype=dtype))
            with ctx.timer("gd_s_relu"):
                bw, _, msg = _measure(net, X, ybases, k, cfg.steps, "sgd",
                                      cfg.lr_fraction * lin.max_lr, cfg.level)
            if msg is not None:
                ctx.record_divergence(msg, f"relu B={p.target:g} GD")
            relu_err[f"{p.target:g}"] = None if math.isnan(bw) else bw - p.target

    def max_abs(d: dict[str, dict[str, float | None]]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for knob, v in d.items():
            vals = [abs(e) for e in v.values() if e is not None]
            out[knob] = max(vals) if len(vals) == len(v) else math.inf
        return out

    ctx.metric("planned", planned)
    ctx.metric("predicted_bandwidth", pred)
    ctx.metric("measured_bandwidth", meas)
    ctx.metric("plan_error", err)
    ctx.metric("max_abs_plan_error", max_abs(err))
    ctx.metric("adam_plan_error", adam_err)
    ctx.metric("adam_max_abs_plan_error", max_abs(adam_err))
    if cfg.relu_check:
        ctx.metric("relu_plan_error", relu_err)
    ctx.table("learned_fraction", pd.DataFrame(rows))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    lim = max(targets) * 1.6 + 1
    for ax, data, title in ((axes[0], True, "full-batch GD (the plan's setting)"),
                            (axes[1], None, "Adam at the planned settings (contrast)")):
        for j, knob in enumerate(KNOBS):
            src = err if data is not None else adam_err
            ys_f = [np.nan if (e := src[knob][f"{t:g}"]) is None else t + e for t in targets]
            ax.plot(np.array(targets) + 0.12 * (j - 1.5), ys_f, "o", label=knob)
        ax.plot([0, lim], [0, lim], "k-", lw=0.8)
        ax.fill_between([0, lim], [-1, lim - 1], [1, lim + 1], color="grey", alpha=0.15,
                        label="+-1")
        ax.set(xlim=(0, lim), xlabel="target bandwidth", ylabel="achieved bandwidth", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ctx.figure("target_vs_achieved", fig, caption=(
        "Planned target bandwidth against the bandwidth the trained network achieved (the "
        "highest frequency up to which every frequency is learned to 1 - 1/e), per knob; left "
        "full-batch GD, right Adam at the same planned settings."))
    ctx.note(
        f"{N} points, targets {', '.join(f'{t:g}' for t in targets)}; deep networks "
        f"{cfg.depth} x {cfg.width}, planned from {cfg.inits} initializations and checked on "
        f"another; GD at {cfg.lr_fraction:g} x max_lr; target amplitude {cfg.amplitude:g} per "
        "cosine (the plan is the linearized, small-change prediction).")
    if cfg.relu_check:
        ctx.note("The same sigma plan with ReLU instead of tanh layers: plan errors "
                 + ", ".join(f"B={kk}: {v}" for kk, v in relu_err.items())
                 + " (ReLU networks leave the linearized regime, docs/planning.md).")

