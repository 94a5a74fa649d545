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
# # Which frequencies will my network learn?
#
# This notebook takes an ordinary `torch.nn.Sequential` (nothing from specbias inside it),
# trains it with full-batch gradient descent on a 1-D signal made of eight sines, and
# answers the question twice:
#
# * **predicted**, before any training step: `specbias.LinearizedGD` computes the network's
#   empirical neural tangent kernel (NTK) once and gives, in closed form, how much of each
#   frequency gradient descent will have fitted after any number of steps
#   ([NTK page](../ntk.md), [theory](../theory.md) section 8);
# * **measured**, while it trains: `specbias.SpectrumTracker` records the network's Fourier
#   coefficients on the training grid.
#
# It shows that the answer depends on how the first layer is initialized (at PyTorch's
# default the kernel has only a handful of usable modes, smooth trends, and none of the eight
# frequencies is fitted), that low frequencies are learned first (the spectral bias), and
# that for this wide network the prediction matches the measurement. The figure at the end
# shows both.

# %%
import copy
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import specbias

SMALL = os.environ.get("SPECBIAS_NOTEBOOK_SMALL") == "1"  # small sizes for the test suite
N = 32 if SMALL else 64           # grid points on [0, 1)
WIDTH = 256 if SMALL else 1024    # hidden units
STEPS = 500 if SMALL else 2000    # full-batch GD steps
EVERY = 25 if SMALL else 50       # record the spectrum every EVERY steps
FREQS = np.arange(1.0, 7.0 if SMALL else 9.0)  # the target's frequencies (cycles on [0, 1))

# %% [markdown]
# ## The data and two networks
#
# The target is `y(x) = sum_k sin(2 pi k x)` for `k = 1, ..., 8` on `N` evenly spaced points
# of `[0, 1)`, so that each frequency is one DFT bin. The network is what you would write
# yourself: one hidden tanh layer, in float64 so that prediction and measurement can be
# compared closely. The final `Flatten(0)` makes the output one number per input, shape
# `(N,)`, the shape of the targets and of what the spectrum tracker reads.
#
# We build it twice: as PyTorch initializes it (first-layer slopes of order 1: on `[0, 1)` each
# unit is nearly linear), and with the first layer rescaled so that each unit is a tanh step
# of slope `SLOPE`, placed at a random point of `[0, 1)`.

# %%
x = (torch.arange(N, dtype=torch.float64) / N).unsqueeze(1)  # (N, 1) inputs
y = sum(torch.sin(2 * np.pi * k * x[:, 0]) for k in FREQS)     # (N,) targets
SLOPE = 30.0


def make_net(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(1, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, 1), torch.nn.Flatten(0),
    ).double()


default_net = make_net()
scaled_net = make_net()
with torch.no_grad():  # slopes ~ N(0, SLOPE^2), breakpoints -b/w uniform on [0, 1)
    w = scaled_net[0].weight.normal_(0.0, SLOPE)
    scaled_net[0].bias.copy_(-w[:, 0] * torch.rand(WIDTH, dtype=torch.float64))

# %% [markdown]
# ## The prediction: one kernel per network, before training
#
# `LinearizedGD` copies the network, computes its NTK on the grid and diagonalizes it.
# `max_lr` is the stability limit of full-batch GD on the mean squared error; we train at half
# of it. `learned_fraction(steps, lr, FREQS)` is the predicted `1 - |r_T(k)| / |r_0(k)|` of
# the residual `r = f - y` at each frequency `k`, for all the requested steps at once.

# %%
steps = np.arange(0, STEPS + 1, EVERY)
predicted = {}
for name, net in [("default init", default_net), ("scaled first layer", scaled_net)]:
    lin = specbias.LinearizedGD(net, x, y)
    lr = 0.5 * lin.max_lr
    predicted[name] = (lin, lr, lin.learned_fraction(steps, lr, FREQS))
    print(f"{name}: {lin}")
    print("  dominant frequency of the top 12 kernel modes:", lin.mode_frequencies()[:12])
    print("  predicted learned fraction after", STEPS, "steps:",
          np.round(predicted[name][2][-1], 2))

for name, (lin, _, _) in predicted.items():
    lam = lin.eigenvalues
    print(f"{name}: eigenvalues 1-8 / the first:", np.array2string(lam[:8] / lam[0], precision=2))

# %% [markdown]
# With PyTorch's default initialization the kernel's eigenvalues fall by orders of magnitude
# from one mode to the next: only about four modes, smooth trends like a low-degree
# polynomial on `[0, 1)`, are within reach of gradient descent at a stable step size. Fitting
# such a trend removes part of the residual at every frequency but completes none of them.
# The rescaled network spreads its eigenvalues over the frequencies: it learns all eight, the
# low ones first.

# %% [markdown]
# ## The measurement: train and track the spectrum
#
# `specbias.train` runs plain `torch.optim.SGD` on the full batch with the mean MSE: the run
# `LinearizedGD` describes. `SpectrumTracker(absolute=False)` keeps the complex coefficients
# `f~(k) = (2/N) sum_n f(x_n) exp(-2 pi i k x_n)`; subtracting the target's gives the
# residual's, and `1 - |r~_T(k)| / |r~_0(k)|` is the measured learned fraction.


# %%
def measure(net: torch.nn.Module, lr: float) -> tuple[np.ndarray, float]:
    init = copy.deepcopy(net)
    tracker = specbias.SpectrumTracker(x, frequencies=FREQS, every=EVERY, absolute=False)
    specbias.train(net, (x, y), STEPS, optimizer="sgd", lr=lr, callbacks=[tracker],
                   progress=False)
    assert np.array_equal(tracker.steps(), steps)
    residual = np.abs(tracker.spectra() - tracker.measure(lambda inputs: y))
    return 1.0 - residual / residual[0], specbias.kernel_drift(init, net, x)


measured = {}
for name, net in [("default init", default_net), ("scaled first layer", scaled_net)]:
    measured[name], drift = measure(net, predicted[name][1])
    gap = float(np.max(np.abs(measured[name] - predicted[name][2])))
    print(f"{name}: largest |measured - predicted| = {gap:.4f}, kernel drift = {drift:.2e}")

# the step at which each frequency is half learned (NaN: not within STEPS)
first_half = specbias.callbacks.first_reach(steps, measured["scaled first layer"], 0.5)
max_gap = max(float(np.max(np.abs(measured[n] - predicted[n][2]))) for n in measured)
print("scaled network, step at which k is half learned:",
      dict(zip(FREQS.astype(int).tolist(), first_half.tolist(), strict=True)))

# %% [markdown]
# The kernel barely moves during training (`kernel_drift`, the relative change of the NTK, is
# tiny), which is why the linearized prediction holds. For networks whose kernel moves, such
# as deeper ReLU networks at PyTorch's default initialization, the prediction keeps the order
# of the frequencies but not their timing: see the [NTK page](../ntk.md) for measurements.
#
# ## The figure
#
# Left: the learned fraction of each frequency after all steps, predicted (bars) and measured
# (dots), for both initializations. Right: the rescaled network during training, measured
# (dots) and predicted (lines): low frequencies first.

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
for j, (name, color) in enumerate([("default init", "tab:gray"), ("scaled first layer", "tab:blue")]):
    ax0.bar(FREQS + (j - 0.5) * 0.38, predicted[name][2][-1], width=0.38, color=color,
            alpha=0.6, label=f"{name}, predicted")
    ax0.plot(FREQS + (j - 0.5) * 0.38, measured[name][-1], "o", color=color, ms=4,
             label=f"{name}, measured")
ax0.set(xlabel="frequency k (cycles on [0, 1))", ylabel=f"learned fraction after {STEPS} steps",
        ylim=(-0.05, 1.1), title="Which frequencies are learned")
ax0.legend(fontsize=8, loc="upper right")
colors = plt.cm.viridis(np.linspace(0, 0.9, FREQS.size))
for i, k in enumerate(FREQS):
    ax1.plot(steps, predicted["scaled first layer"][2][:, i], color=colors[i], label=f"k = {k:g}")
    ax1.plot(steps, measured["scaled first layer"][:, i], "o", color=colors[i], ms=2.5)
ax1.set(xlabel="GD step", ylabel="learned fraction", ylim=(-0.05, 1.05),
        title="When: measured (dots) vs predicted (lines)")
ax1.legend(fontsize=8, ncol=2, loc="lower right")
fig.tight_layout()
plt.show()
