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
# # Gradient descent as a shrinkage operator in ten lines
#
# Lucey's observation ([Lucey page](../lucey.md), [theory](../theory.md) section 2): train
# only the output weights of a shallow network `f(x) = sum_k w_k act(s (x - b_k))` and the
# model is linear, `f = A w`. With the SVD `A = U diag(sigma) V^T`, `T` steps of gradient
# descent from `w = 0` are exactly
#
# `w_T = V diag(m(sigma) / sigma) U^T y`,  with the mask `m(sigma) = 1 - (1 - lr sigma^2)^T`,
#
# a soft filter on the principal components: the number of steps decides how many
# components (and so which frequencies) are fitted. This notebook fits a row of an image with
# `specbias.shallow_features` and `specbias.SpectralSolver` in ten lines, checks the closed
# form against plain iterated gradient descent, and ends with a figure of the masks and the
# fits.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import specbias
from specbias.signals import load_signal, psnr, resample

SMALL = os.environ.get("SPECBIAS_NOTEBOOK_SMALL") == "1"  # small sizes for the test suite
N = 64 if SMALL else 256                       # samples = hidden units
KEEP = [4, 8, 16] if SMALL else [4, 16, 64]    # components to keep

# %% [markdown]
# ## The ten lines
#
# One SVD, then every number of steps costs one matrix product. `steps_for(k)` is Lucey's
# Prop. 4.2: the number of steps after which the mask at `sigma_k` reaches `1 - 1/e` (at the
# default step size `lr = 1 / sigma_1^2`).

# %%
row = load_signal()                                      # row 256 of the camera image, in [0, 1]
x = np.linspace(0, 1, N)                                 # N samples on [0, 1]
y = resample(row, x)
A = specbias.shallow_features(x, biases=x, activation="tanh", scale=N)  # A[n, k] = tanh(N (x_n - b_k))
solver = specbias.SpectralSolver(A)                      # one SVD
T = np.ceil(solver.steps_for(KEEP))                      # GD steps that keep ~4, 16, 64 components
W = solver.gd(y, T)                                      # all the GD runs at once, exact
masks = solver.mask("gd", steps=T)                       # m(sigma_i) for each T
fits = W @ A.T                                           # the fitted signals on x
print("steps:", T.astype(int).tolist())
print("PSNR (dB):", [round(psnr(y, f, peak=1.0), 2) for f in fits])

# %% [markdown]
# ## Check: the closed form is gradient descent
#
# `specbias.gradient_descent` is the plain iteration `w <- w - lr A^T (A w - y)`. After the
# same number of steps it lands on the same weights, to rounding.

# %%
w_iter = specbias.gradient_descent(A, y, int(T[1]))
closed_vs_iterated = float(np.max(np.abs(w_iter - W[1])) / np.max(np.abs(W[1])))
print(f"T = {int(T[1])}: max |w_iterated - w_closed| / max |w_closed| = {closed_vs_iterated:.1e}")

# The mask at sigma_k is 1 - 1/e at T(k) (slightly above: T was rounded up)
at_k = masks[np.arange(len(KEEP)), np.array(KEEP) - 1]
print("mask at sigma_k:", np.round(at_k, 4).tolist(), "  1 - 1/e =", round(1 - np.exp(-1), 4))

# %% [markdown]
# ## Other solvers are other masks
#
# Ridge regression and PCA (truncated SVD) are the same formula with another mask: ridge is
# `sigma^2 / (sigma^2 + lam)`, PCA keeps the `k` largest components exactly. Gradient descent
# sits between the two: a smooth cut, like ridge, at a place set by `T`.

# %%
k_mid = KEEP[1]
sigma = solver.singular_values
lam = sigma[k_mid - 1] ** 2                    # ridge with its half-point at sigma_k
mask_ridge = solver.mask("ridge", lam=lam)
mask_pca = solver.mask("pca", k=k_mid)

# %% [markdown]
# ## The figure
#
# Left: the masks against the component index `i` (singular values in decreasing order):
# each GD run keeps about the first `k` components and fades out after them. Right: the
# signal and the three GD fits.

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
idx = np.arange(1, sigma.size + 1)
colors = plt.cm.viridis(np.linspace(0, 0.85, len(KEEP)))
for m, k, t, c in zip(masks, KEEP, T, colors, strict=True):
    ax0.semilogx(idx, m, color=c, label=f"GD, T = {int(t)} (k = {k})")
    ax0.axvline(k, color=c, lw=0.6, ls=":")
ax0.semilogx(idx, mask_ridge, "k--", lw=1, label=f"ridge (half at k = {k_mid})")
ax0.semilogx(idx, mask_pca, color="tab:red", lw=1, label=f"PCA, k = {k_mid}")
ax0.set(xlabel="component i (decreasing sigma_i)", ylabel="mask m(sigma_i)",
        title="Gradient descent is a shrinkage of singular values")
ax0.legend(fontsize=8)
ax1.plot(x, y, color="0.6", lw=2, label="signal (camera row)")
for f, k, c in zip(fits, KEEP, colors, strict=True):
    ax1.plot(x, f, color=c, lw=1, label=f"GD keeping ~{k} components")
ax1.set(xlabel="x", ylabel="value", title="The fits")
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()
