"""The Rahaman experiments' claims (specbias.claims) and the small helpers behind their new
metrics: every claim reads metrics the experiment records, every check can fail, and the
helpers measure what they say."""

import numpy as np
import pytest

from specbias.claims import FAILS, FINDING, HOLDS, NOT_CHECKED, evaluate_claims
from specbias.experiments import get
from specbias.experiments.rahaman_manifold import knn_vote, spectral_centroid
from specbias.experiments.rahaman_mnist_noise import rbf_eigenvectors
from specbias.experiments.rahaman_random_labels import (
    flat_points,
    full_points,
    intrinsic_dimension,
)

NAMES = ["rahaman-frequencies", "rahaman-perturbation", "rahaman-mnist-noise",
         "rahaman-manifold", "rahaman-ablation", "rahaman-random-labels"]


@pytest.mark.parametrize("name", NAMES)
def test_every_rahaman_experiment_declares_claims(name):
    exp = get(name)
    assert len(exp.claims) >= 2
    for c in exp.claims:
        assert c.where.startswith("Rahaman") or c.id == "stable"
        assert c.statement.endswith(".")
        # the one declared contradiction (docs/rahaman.md#knn)
        assert c.finding is None or c.id == "dnn-smoother-than-knn-quick"


# metrics shaped like the quick presets' (values near what they measure)
GOOD = {
    "rahaman-frequencies": {
        "rank_correlation": {"equal": 1.0, "increasing": 1.0},
        "reached_fraction": {"equal": {"2": 1.0, "20": 1.0}},
        "spectral_norm_growth": {"layers.0.weight": 0.9, "layers.1.weight": 2.0,
                                 "out.weight": 3.0}},
    "rahaman-perturbation": {"rank_correlation": -0.99, "trained_amplitude": {"2": 1.0, "20": 0.97}},
    "rahaman-ablation": {
        "high_freq_mean_amplitude": {"depth": {"2": 0.002, "4": 0.05, "6": 0.37},
                                     "width": {"16": 0.003, "32": 0.08, "64": 0.53},
                                     "clip": {"0.1": 0.002, "0.2": 0.03, "0.5": 0.45, "1": 0.6}},
        "high_freq_final": {"clip": {"0.1": 0.005}},
        "low_first_rank_correlation": 0.99,
        "loss_spikes": {"depth": {"6": 0.0}, "width": {"64": 0.0}}},
    "rahaman-random-labels": {"mean_loss": {"mnist": 0.06, "flat": 0.10, "full": 0.05}},
}
# one change that must make the named claim fail
BAD = {
    "rahaman-frequencies": ("order-equal", ("rank_correlation", "equal"), 0.5),
    "rahaman-perturbation": ("robustness-falls", ("rank_correlation",), 0.2),
    "rahaman-ablation": ("depth", ("high_freq_mean_amplitude", "depth", "6"), 0.04),
    "rahaman-random-labels": ("flat-harder", ("mean_loss", "flat"), 0.05),
}


def _set(m, path, value):
    import copy

    m = copy.deepcopy(m)
    node = m
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return m


@pytest.mark.parametrize("name", sorted(GOOD))
def test_claims_hold_on_good_metrics_and_fail_on_bad(name):
    claims = get(name).claims
    rows = evaluate_claims(claims, GOOD[name], "paper")  # every claim is checked at paper
    assert {r["verdict"] for r in rows} == {HOLDS}, rows
    cid, path, value = BAD[name]
    rows = {r["id"]: r["verdict"] for r in evaluate_claims(claims, _set(GOOD[name], path, value),
                                                           "paper")}
    assert rows[cid] == FAILS
    assert sum(v == FAILS for v in rows.values()) == 1


def test_budget_bound_claims_are_checked_at_the_paper_preset_only():
    for name, cid in [("rahaman-frequencies", "all-learned"), ("rahaman-perturbation", "trained")]:
        claim = next(c for c in get(name).claims if c.id == cid)
        assert not claim.applies_to("quick") and claim.applies_to("paper")


def test_frequencies_norm_claim_ignores_the_first_layer_but_not_the_others():
    claims = [c for c in get("rahaman-frequencies").claims if c.id == "norms-grow"]
    m = GOOD["rahaman-frequencies"]
    assert evaluate_claims(claims, m, "quick")[0]["verdict"] == HOLDS
    m = _set(m, ("spectral_norm_growth", "out.weight"), 0.99)
    assert evaluate_claims(claims, m, "quick")[0]["verdict"] == FAILS


def test_mnist_noise_claims():
    m = {"best_val_loss": {"k=0.5": {"eps=0.25": 0.018, "eps=0.5": 0.054, "eps=1": 0.25},
                           "k=2": {"eps=1": 0.03}, "k=10": {"eps=1": 0.02}},
         "clean_best_val_loss": 0.0064,
         "dip": {"k=0.5": {"eps=1": 0.0}, "k=2": {"eps=1": 0.01}, "k=10": {"eps=1": 0.05}},
         "noise_spectral_centroid": {"k=0.5": 15.0, "k=2": 200.0, "k=10": 250.0},
         "band_first_reach": {"0-10": 20.0, "10-50": 70.0, "50-150": 90.0, "150-500": 170.0},
         "grid_eigvec_sign_changes": [0, 1, 2, 3]}
    claims = get("rahaman-mnist-noise").claims
    assert {r["verdict"] for r in evaluate_claims(claims, m, "quick")} == {HOLDS}
    for path, value, cid in [
            (("best_val_loss", "k=10", "eps=1"), 0.1, "high-k-insensitive"),
            (("best_val_loss", "k=0.5", "eps=0.5"), 0.01, "low-k-hurts"),
            (("dip", "k=10", "eps=1"), 0.0, "dip-grows"),
            (("grid_eigvec_sign_changes",), [0, 1, 3, 2], "eigvecs-sinusoids"),
            (("clean_best_val_loss",), 0.019, "clean-best"),
            (("band_first_reach", "10-50"), 10.0, "bands-in-order")]:
        rows = {r["id"]: r["verdict"] for r in evaluate_claims(claims, _set(m, path, value),
                                                               "quick")}
        assert rows[cid] == FAILS, (cid, rows)


def test_manifold_knn_claims():
    m = {"high_freq_mean_amplitude": {"0": 0.1, "4": 0.2, "10": 0.4, "16": 0.5},
         "final_loss": {"0": 0.5, "4": 0.3, "10": 0.1, "16": 0.05},
         "mean_accuracy": {"0": 0.7, "4": 0.8, "10": 0.9, "16": 0.95},
         "heldout_mean_accuracy": {"0": 0.6, "4": 0.7, "10": 0.8, "16": 0.9},
         "knn_mean_accuracy": {"1": {"0": 0.8, "16": 0.85}, "5": {"0": 0.8, "16": 0.7}},
         "input_space_frequency": {"0": 0.7, "16": 1.2},
         "knn_input_space_frequency": {"1": 1.9, "5": 1.8}}
    claims = get("rahaman-manifold").claims
    assert {r["verdict"] for r in evaluate_claims(claims, m, "paper")} == {HOLDS, NOT_CHECKED}
    for path, value, cid in [(("knn_mean_accuracy", "1", "16"), 1.2, "knn-no-geometry"),
                             (("input_space_frequency", "16"), 1.85, "dnn-smoother-than-knn"),
                             (("mean_accuracy", "10"), 0.75, "classification")]:
        rows = {r["id"]: r["verdict"] for r in evaluate_claims(claims, _set(m, path, value),
                                                               "paper")}
        assert rows[cid] == FAILS, (cid, rows)
    # the quick preset's finding: smoother than 1-NN, as smooth as the widest k-NN
    rows = {r["id"]: r["verdict"] for r in evaluate_claims(claims, m, "quick")}
    assert rows["dnn-smoother-than-knn-quick"] == FAILS  # 1.2 is clearly below 0.9 x 1.8
    m = _set(m, ("input_space_frequency", "16"), 1.75)
    rows = {r["id"]: r["verdict"] for r in evaluate_claims(claims, m, "quick")}
    assert rows["dnn-smoother-than-knn-quick"] == FINDING


# ------------------------------------------------------------------ helpers of the new metrics

def test_intrinsic_dimension_of_a_flat_patch():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(20, 3)))[0]  # a 3-D subspace of R^20
    X = rng.uniform(size=(800, 3)) @ basis.T
    assert 2.5 < intrinsic_dimension(X, 10) < 3.5
    Y = rng.normal(size=(800, 20))
    assert intrinsic_dimension(Y, 10) > 10  # full-dimensional points: far more


def test_flat_and_full_points_match_the_total_variance():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 30)) * np.linspace(3, 0.1, 30)
    total = ((X - X.mean(0)) ** 2).sum(1).mean()
    F = flat_points(X, 4, rng)
    assert np.linalg.matrix_rank(F - F.mean(0), tol=1e-8) == 4
    assert abs(((F - F.mean(0)) ** 2).sum(1).mean() / total - 1) < 0.2
    G = full_points(X, rng)
    assert np.linalg.matrix_rank(G - G.mean(0)) == 30
    assert abs(((G - G.mean(0)) ** 2).sum(1).mean() / total - 1) < 0.1


def test_spectral_centroid_of_a_plane_wave_is_its_frequency():
    side, G = 3.2, 64
    g = np.arange(G) / G * side
    for cycles in (2, 5):
        f = cycles / side
        P = np.sin(2 * np.pi * f * g)[None, :] * np.ones((G, 1))
        assert spectral_centroid(P, side) == pytest.approx(f, rel=1e-9)
    assert spectral_centroid(np.ones((8, 8)), 1.0) == 0.0


def test_knn_vote():
    D = np.array([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.5]])
    lab = np.array([1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(knn_vote(D, lab, 1), [1.0, 0.0])
    np.testing.assert_allclose(knn_vote(D, lab, 3), [2 / 3, 1 / 3])
    np.testing.assert_allclose(knn_vote(D, lab, 4), [0.5, 0.5])


def test_rbf_eigenvector_sign_changes_can_move():
    # the Fig. 6 metric: index-many sign changes at a sensible bandwidth, not at a huge one
    # (the eigenvectors beyond the first few are then numerical noise)
    x = np.linspace(0, 1, 50)[:, None]

    def changes(sigma):
        _, U, _ = rbf_eigenvectors(x, sigma)
        return [int(np.count_nonzero(np.diff(np.sign(U[:, i])) != 0)) for i in range(12)]

    assert changes(0.1) == list(range(12))
    assert changes(5.0) != list(range(12))
