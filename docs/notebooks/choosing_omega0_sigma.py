# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Choosing omega0 / sigma for a target bandwidth
#
# A SIREN's `omega0` and a Fourier-feature network's `sigma` set which frequencies the network
# learns quickly: too small and it blurs the signal, too large and it fits noise. This notebook
# uses `specbias.plan` ([planning page](../planning.md)) to answer the practitioner's question
# "which `sigma` (or `omega0`) makes the network learn frequencies up to `B` in `T` steps?"
# from the network's kernel at initialization, without training, and then checks the answer
# by training a fresh network. It shows
#
# * the forward map: the learned bandwidth predicted for a range of knob values
#   (`specbias.predict_bandwidth`), a non-decreasing staircase;
# * the inverse: the knob value planned for a target bandwidth (`specbias.plan_bandwidth`);
# * the check: a fresh network at the planned value, trained by full-batch gradient descent
#   while `specbias.SpectrumTracker` records its spectrum, learns the planned bandwidth.
#
# The figure at the end puts the three together for both knobs.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import specbias
from specbias.nn import MLP, SIREN, FourierFeatures
from specbias.plan import learned_bandwidth

SMALL = os.environ.get("SPECBIAS_NOTEBOOK_SMALL") == "1"  # small sizes for the test suite
N = 32 if SMALL else 64            # grid points x_n = n / N on [0, 1)
WIDTH = 32 if SMALL else 64        # hidden units
N_FEATURES = 32 if SMALL else 128  # random Fourier features
STEPS = 300                        # full-batch GD steps the plan is for
TARGET = 4 if SMALL else 8         # the bandwidth we want (cycles on [0, 1))
INITS = 1 if SMALL else 3          # initializations each prediction averages
SWEEP = 6 if SMALL else 10         # knob values of the forward sweep
LR_FRACTION = 0.5                  # SGD learning rate as a fraction of the kernel's max_lr

x = torch.arange(N, dtype=torch.float64)[:, None] / N

# %% [markdown]
# ## Two networks, each built from its knob
#
# A builder maps a knob value and a `torch.Generator` to a fresh network at initialization.
# The Fourier-feature network is a plain `nn.Sequential` (any module with one output per
# input works); the SIREN is the library's.


# %%
def fourier(sigma: float, g: torch.Generator) -> torch.nn.Module:
    ff = FourierFeatures(1, N_FEATURES, sigma, g, dtype=torch.float64)
    return torch.nn.Sequential(ff, MLP(ff.out_dim, WIDTH, 2, "tanh", generator=g,
                                       dtype=torch.float64))


def siren(omega0: float, g: torch.Generator) -> torch.nn.Module:
    return SIREN(1, WIDTH, 2 if SMALL else 3, omega0=omega0, generator=g, dtype=torch.float64)


KNOBS = {"sigma": (fourier, (0.2, 10.0)), "omega0": (siren, (2.0, 60.0))}

# %% [markdown]
# ## Forward: the bandwidth each knob value gives
#
# `predict_bandwidth` computes the empirical NTK of `INITS` networks and the learned fraction
# `1 - rho_k(T)` of every frequency of the grid after `STEPS` steps; the learned bandwidth is the
# highest `B` such that all frequencies `1..B` reached `1 - 1/e`.

# %%
sweeps = {}
for knob, (builder, (lo, hi)) in KNOBS.items():
    values = np.geomspace(lo, hi, SWEEP)
    bands = [specbias.predict_bandwidth(x, builder=builder, value=v, steps=STEPS,
                                        lr_fraction=LR_FRACTION, inits=INITS).bandwidth
             for v in values]
    sweeps[knob] = (values, np.array(bands))
    print(knob, dict(zip(np.round(values, 2).tolist(), bands, strict=True)))

# %% [markdown]
# ## Inverse: plan the knob for the target bandwidth
#
# `plan_bandwidth` searches the knob (a log grid, then bisection) and returns the geometric
# middle of the interval of values predicted to give exactly `TARGET`.

# %%
plans = {}
for knob, (builder, knob_range) in KNOBS.items():
    plan = specbias.plan_bandwidth(TARGET, x, knob=knob, builder=builder, steps=STEPS,
                                   lr_fraction=LR_FRACTION, inits=INITS,
                                   knob_range=knob_range)
    plans[knob] = plan
    lo, hi = plan.interval
    print(f"{knob} = {plan.value:.3g} (values {lo:.3g} to {hi:.3g} give bandwidth {TARGET}; "
          f"per initialization: {plan.prediction.bandwidth_per_init})")

# %% [markdown]
# ## Check: train a fresh network at the plan
#
# A network from another seed is trained at the planned value by full-batch `torch.optim.SGD`
# at `LR_FRACTION` of its own `max_lr`, on a target that holds every frequency of the grid:
# `y = f_0 + a sum_k cos(2 pi k x + phi_k)`, with `f_0` the network at initialization (so the
# initial residual is the sum of cosines) and a small amplitude `a` (the prediction is the
# linearized one: large targets leave the kernel regime, see the planning page). The measured
# learned fraction of frequency `k` is `1 - |r~_T(k)| / |r~_0(k)|` from the tracked spectrum.

# %%
freqs = specbias.plan.frequency_grid(x)[1]
AMPLITUDE = 1e-3
rng = np.random.default_rng(0)
phases = rng.uniform(0, 2 * np.pi, freqs.size)
checks = {}
for knob, (builder, _) in KNOBS.items():
    net = builder(plans[knob].value, torch.Generator().manual_seed(1000))
    with torch.no_grad():
        f0 = net(x).reshape(-1)
    cosines = np.cos(2 * np.pi * np.outer(x[:, 0].numpy(), freqs) + phases).sum(axis=1)
    y = f0 + AMPLITUDE * torch.as_tensor(cosines)
    lr = LR_FRACTION * specbias.LinearizedGD(net, x, y).max_lr
    tracker = specbias.SpectrumTracker(x, frequencies=freqs, every=STEPS, absolute=False)
    specbias.train(net, (x, y), STEPS, optimizer="sgd", lr=lr, callbacks=[tracker],
                   progress=False)
    residual = np.abs(tracker.spectra() - tracker.measure(lambda inputs, y=y: y))
    measured = 1.0 - residual[-1] / residual[0]
    checks[knob] = (measured, learned_bandwidth(freqs, measured))
    print(f"{knob}: planned bandwidth {TARGET}, measured {checks[knob][1]:g}")

plan_errors = {knob: checks[knob][1] - TARGET for knob in KNOBS}

# %% [markdown]
# ## The figure
#
# Top: the predicted bandwidth against the knob (staircase), the target and the plan (star).
# Bottom: the learned fraction of each frequency after `STEPS` steps at the plan, predicted
# (line, averaged over the initializations) and measured on the fresh network (dots); the
# dashed line is the level `1 - 1/e` that defines "learned".

# %%
fig, axes = plt.subplots(2, 2, figsize=(11, 7))
for col, knob in enumerate(KNOBS):
    values, bands = sweeps[knob]
    plan = plans[knob]
    ax = axes[0, col]
    ax.step(values, bands, where="post", color="tab:blue", label="predicted bandwidth")
    ax.axhline(TARGET, color="0.5", ls=":", label=f"target B = {TARGET}")
    ax.plot([plan.value], [TARGET], "*", color="tab:red", ms=12, label=f"plan: {plan.value:.3g}")
    ax.set(xscale="log", xlabel=knob, ylabel=f"bandwidth after {STEPS} steps",
           title=f"{'Fourier features' if knob == 'sigma' else 'SIREN'}: {knob}")
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1, col]
    ax.plot(freqs, plan.prediction.learned_fraction, color="tab:blue", label="predicted")
    ax.plot(freqs, checks[knob][0], "o", color="tab:orange", ms=4,
            label=f"measured (bandwidth {checks[knob][1]:g})")
    ax.axhline(plan.prediction.level, color="0.5", ls="--", lw=0.8)
    ax.axvline(TARGET, color="0.5", ls=":")
    ax.set(xlabel="frequency k", ylabel="learned fraction", ylim=(-0.05, 1.05),
           title=f"at {knob} = {plan.value:.3g}")
    ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()
plt.show()
