"""Clustering AUC of zero-planes (Radon-spline paper, Exp. 3, Fig. 9 (f)): properties over a
range of (K, d), the random-plane baseline, and the paper's signed form it replaces.

``d`` below is the dimension of the augmented weights ``[w, b]`` (input dimension + 1): d = 3
is the 2-D toy of the pinning experiments, d = 785 is MNIST."""

import math

import numpy as np
import pytest

from specbias import ParameterError
from specbias.zeroplanes import (
    CLUSTERING_METHODS,
    clustering_auc,
    clustering_baseline,
    clustering_min_auc,
    normalized_clustering,
)

# (K, d): K >> d (40 and 160 planes in R^2 / R^3), K ~ d, K << d (MNIST-like)
GRID = [(12, 2), (40, 2), (16, 3), (40, 3), (160, 3), (40, 5), (64, 20), (64, 785)]
PSD_METHODS = ("magnitude", "squared")


def tight_clusters(K, d, C, rng, spread=0.03):
    """K planes in C tight clusters (about ``spread`` radians wide) around random centres, each
    with a random orientation (a plane and its flip are the same plane)."""
    centers = rng.standard_normal((C, d))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    Z = centers[np.arange(K) % C] + spread * rng.standard_normal((K, d)) / math.sqrt(d)
    return Z * rng.choice([-1.0, 1.0], size=(K, 1))


def _seeds(K, d, C, n=8):
    return [np.random.default_rng([K, d, C, s]) for s in range(n)]


# ----------------------------------------------------------------------------- the case


def test_paper_form_ranks_random_planes_above_clusters_when_planes_outnumber_dimensions():
    # 40 planes in 2-D inputs (d = 3): the signed spectrum of |Z Z^T| overshoots 1
    rng = np.random.default_rng(0)
    rnd, cl = rng.standard_normal((40, 3)), tight_clusters(40, 3, 3, rng)
    paper_rnd = clustering_auc(rnd, method="paper", baseline=False)
    paper_cl = clustering_auc(cl, method="paper", baseline=False)
    assert paper_rnd.auc > 1.05 and paper_rnd.curve.max() > 1.1  # the overshoot
    assert np.linalg.eigvalsh(paper_rnd.similarity).min() < -0.5  # S is not PSD
    assert paper_rnd.auc > paper_cl.auc  # random beats clusters: the bug
    # the default form: clusters above random, random near its baseline
    new_rnd, new_cl = clustering_auc(rnd), clustering_auc(cl)
    assert new_cl.auc > new_rnd.auc
    assert new_cl.normalized_auc > 0.8
    assert abs(new_rnd.auc - new_rnd.baseline) < 3 * new_rnd.baseline_std
    # and the paper form's own baseline is above 1: its normalized score is undefined
    paper = clustering_auc(rnd, method="paper")
    assert paper.baseline > 1 and math.isnan(paper.normalized_auc)
    # the overshoot grows with K (towards the positive mass of the |cos| kernel, ~1.46 in R^3)
    assert clustering_baseline(200, 2, draws=5, method="paper") > paper.baseline + 0.1


# ----------------------------------------------------------------------------- properties


@pytest.mark.parametrize("method", PSD_METHODS)
@pytest.mark.parametrize(("K", "d"), GRID)
def test_spectrum_non_negative_curve_monotone_ends_at_one(K, d, method):
    rng = np.random.default_rng([K, d])
    for Z in (rng.standard_normal((K, d)), tight_clusters(K, d, 3, rng)):
        r = clustering_auc(Z, method=method, baseline=False)
        assert np.all(r.eigenvalues >= 0)
        assert np.all(np.diff(r.eigenvalues) <= 1e-15)
        assert np.all(np.diff(r.curve) >= -1e-12) and r.curve[-1] == pytest.approx(1.0)
        assert r.min_auc - 1e-12 <= r.auc <= 1 + 1e-12
        if method == "squared":  # the similarity itself is PSD (Schur product theorem)
            assert np.linalg.eigvalsh(r.similarity).min() > -1e-10


@pytest.mark.parametrize(("K", "d"), GRID)
def test_tight_clusters_score_above_random_planes(K, d):
    for C in (1, 2, 3):
        for rng in _seeds(K, d, C):
            r = clustering_auc(tight_clusters(K, d, C, rng))
            assert r.auc > r.baseline + 1.5 * r.baseline_std, (K, d, C)
            assert r.normalized_auc > 0.4, (K, d, C)


@pytest.mark.parametrize(("K", "d"), GRID)
def test_random_planes_sit_at_their_baseline(K, d):
    n = 30
    rng = np.random.default_rng([K, d, 99])  # not the baseline's seed
    vals = [clustering_auc(rng.standard_normal((K, d))) for _ in range(n)]
    base, std = vals[0].baseline, vals[0].baseline_std
    assert std > 0
    mean = np.mean([v.auc for v in vals])
    # standard error of the difference: n fresh draws against the baseline's 100 draws
    assert abs(mean - base) < 4 * std * math.sqrt(1 / n + 1 / 100)
    assert abs(np.mean([v.normalized_auc for v in vals])) < 4 * std / (1 - base) * math.sqrt(
        1 / n + 1 / 100)
    assert base > clustering_min_auc(K, d)  # random planes are not the most even configuration


@pytest.mark.parametrize(("K", "d"), GRID)
def test_more_clusters_score_lower(K, d):
    means = [np.mean([clustering_auc(tight_clusters(K, d, C, rng)).normalized_auc
                      for rng in _seeds(K, d, C)]) for C in (1, 2, 3, 4)]
    assert means[0] == pytest.approx(1.0, abs=0.01)
    assert means[0] > means[1] > means[2] > means[3] > 0.3, means


def test_orthogonal_tight_clusters_closed_form_for_every_method():
    # C clusters along orthogonal axes: S has entries 0 and 1, all forms agree, 1 - (C-1)/(2K)
    for method in CLUSTERING_METHODS:
        for C, m in [(1, 6), (2, 5), (3, 4), (5, 2)]:
            K = C * m
            W = np.repeat(np.eye(C), m, axis=0) * np.random.default_rng(C).choice([-2, 0.5], (K, 1))
            r = clustering_auc(W, np.zeros(K), method=method, baseline=False)
            assert r.auc == pytest.approx(1 - (C - 1) / (2 * K), abs=1e-12)


def test_magnitude_equals_paper_form_when_similarity_is_psd():
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((20, 100))  # few planes, high dimension: |Z Z^T| is PSD
    paper = clustering_auc(Z, method="paper")
    assert np.linalg.eigvalsh(paper.similarity).min() > 0
    mag = clustering_auc(Z)
    assert mag.auc == pytest.approx(paper.auc, abs=1e-12)
    assert mag.baseline == pytest.approx(paper.baseline, abs=1e-3)
    # with many planes in low dimension they differ, and only the magnitudes stay below 1
    Z = rng.standard_normal((40, 3))
    assert clustering_auc(Z, method="paper", baseline=False).auc > 1
    assert clustering_auc(Z, baseline=False).auc < 1


@pytest.mark.parametrize("method", CLUSTERING_METHODS)
def test_invariant_to_scale_and_orientation_of_each_plane(method):
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((25, 4))
    sc = rng.uniform(0.1, 10, 25) * rng.choice([-1, 1], 25)
    a = clustering_auc(Z, method=method, baseline=False).auc
    b = clustering_auc(Z * sc[:, None], method=method, baseline=False).auc
    assert a == pytest.approx(b, abs=1e-12)


# ----------------------------------------------------------------------------- baseline


def test_baseline_is_for_the_same_K_d_and_method():
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal((30, 6)), rng.standard_normal(30)
    for method in CLUSTERING_METHODS:
        r = clustering_auc(w, b, method=method, baseline_draws=40, baseline_seed=3)
        # clustering_baseline takes the input dimension; the planes live in R^{6 + 1}
        mean, std = clustering_baseline(30, 6, draws=40, rng=3, method=method, return_std=True)
        assert (r.baseline, r.baseline_std) == (mean, std)
        assert r.normalized_auc == pytest.approx((r.auc - mean) / (1 - mean)) or mean >= 1
    # different K or d: a different baseline
    assert clustering_baseline(30, 6) != clustering_baseline(31, 6) != clustering_baseline(31, 7)
    # a Generator draws afresh: close to the seeded value, not equal
    g = clustering_baseline(30, 6, draws=40, rng=np.random.default_rng(11))
    assert g != clustering_baseline(30, 6, draws=40) and abs(g - clustering_baseline(30, 6)) < 0.02


def test_normalized_score_endpoints():
    one = clustering_auc(np.ones((10, 3)) * np.arange(1, 11)[:, None])  # one tight cluster
    assert one.auc == pytest.approx(1.0) and one.normalized_auc == pytest.approx(1.0)
    spread = clustering_auc(np.eye(10))  # orthogonal planes: more even than random ones
    assert spread.auc == pytest.approx(spread.min_auc) and spread.normalized_auc < 0
    assert math.isnan(clustering_auc(np.ones((1, 3))).normalized_auc)  # K = 1: baseline 1
    assert math.isnan(clustering_auc(np.eye(4), baseline=False).normalized_auc)
    assert normalized_clustering(0.75, 0.5) == 0.5 and math.isnan(normalized_clustering(1.0, 1.0))
    s = spread.summary()
    assert set(s) == {"auc", "random_baseline", "normalized"} and s["normalized"] < 0


# ----------------------------------------------------------------------------- squared-cosine theory


def _psd_lower_bounds(K, d):
    """Two lower bounds on the expected squared-cosine AUC of random planes (the AUC is a convex
    function of S: a non-negative combination of Ky Fan sums): the AUC of E[S] and of the
    expected projector moment operator, eigenvalues 1/d and 2/(d(d+2)) (d(d+1)/2 - 1 times)."""
    w = (K + 1 - np.arange(1, K + 1)) / K
    es = np.full(K, (1 - 1 / d) / K)
    es[0] += 1 / d
    m = d * (d + 1) // 2
    mu = np.r_[1 / d, np.full(m - 1, 2 / (d * (d + 2)))][:K]
    return float(w @ es), float(w[: mu.size] @ mu)


@pytest.mark.parametrize(("K", "d"), GRID)
def test_squared_baseline_above_its_theoretical_lower_bounds(K, d):
    base, std = clustering_baseline(K, d - 1, method="squared", return_std=True)
    tol = 3 * std / 10  # Monte Carlo error of 100 draws
    for bound in _psd_lower_bounds(K, d):
        assert base >= bound - tol
    assert base >= clustering_min_auc(K, d, "squared")


def test_squared_baseline_tends_to_the_population_limit():
    # K >> d^2: random projectors fill their d(d+1)/2 dimensions evenly, AUC -> 1 - (d^2-1)/(4K)
    for K, d in [(400, 2), (600, 3)]:
        limit = 1 - (d * d - 1) / (4 * K)
        assert clustering_min_auc(K, d, "squared") == pytest.approx(limit)
        base = clustering_baseline(K, d - 1, draws=20, method="squared")
        assert 0 < base - limit < 0.05 * (1 - limit)


def test_squared_rank_and_floor_attained_by_designs():
    rng = np.random.default_rng(8)
    for d in (2, 3, 4):
        S = clustering_auc(rng.standard_normal((50, d)), method="squared", baseline=False).similarity
        assert np.linalg.matrix_rank(S, tol=1e-9) == d * (d + 1) // 2
    # projective 2-designs reach the floor: 3 lines at 60 degrees in R^2, the 6 diagonals of
    # the icosahedron in R^3; orthogonal planes when K <= d
    ang = np.array([0, np.pi / 3, 2 * np.pi / 3])
    phi = (1 + math.sqrt(5)) / 2
    ico = np.array([[0, 1, phi], [0, 1, -phi], [1, phi, 0], [1, -phi, 0], [phi, 0, 1], [phi, 0, -1]])
    for Z in (np.c_[np.cos(ang), np.sin(ang)], ico, np.eye(5)[:4]):
        r = clustering_auc(Z, method="squared", baseline=False)
        assert r.auc == pytest.approx(clustering_min_auc(*Z.shape, "squared"), abs=1e-12)
    # no configuration goes below the floor
    for K, d in [(12, 2), (40, 3), (30, 5), (8, 20)]:
        for _ in range(20):
            Z = rng.standard_normal((K, d)) * rng.uniform(0.01, 1, d)  # anisotropic too
            assert clustering_auc(Z, method="squared", baseline=False).auc >= (
                clustering_min_auc(K, d, "squared") - 1e-12)


def test_squared_form_cannot_see_clusters_arranged_as_a_design():
    # a known limit of the squared cosines: three tight clusters at 60 degrees in R^2 have the
    # spectrum of a 2-design, the floor, below random planes; the magnitudes rank them above
    K = 42
    ang = np.repeat([0, np.pi / 3, 2 * np.pi / 3], K // 3)
    Z = np.c_[np.cos(ang), np.sin(ang)]
    sq = clustering_auc(Z, method="squared")
    assert sq.auc == pytest.approx(1 - 3 / (4 * K)) and sq.normalized_auc < 0
    mag = clustering_auc(Z)
    assert mag.auc == pytest.approx(1 - 0.5 / K) and mag.normalized_auc > 0.4


# ----------------------------------------------------------------------------- MNIST's low score


def test_random_initial_weights_dilute_clustered_updates():
    # why trained MNIST planes score far below 1 (docs/adaptive.md): the final weights are the
    # random initial ones plus a clustered learned change; SGD never removes the initial part,
    # so the score of the sum falls as the change shrinks relative to it
    K, d = 64, 785
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((K, d))
    W0 *= 1.0 / np.linalg.norm(W0, axis=1, keepdims=True)
    D = tight_clusters(K, d, 3, rng)  # the learned change: three tight clusters, unit rows
    learned = clustering_auc(D).normalized_auc
    scores = [clustering_auc(W0 + t * D).normalized_auc for t in (0.25, 0.5, 1.0, 2.0, 8.0)]
    assert learned > 0.9 and abs(clustering_auc(W0).normalized_auc) < 0.05
    assert all(a < b for a, b in zip(scores, scores[1:], strict=False))
    assert scores[0] < 0.2 < scores[-1] and scores[-1] > 0.8


# ----------------------------------------------------------------------------- input checks


def test_clustering_parameters_are_checked():
    Z = np.eye(3)
    with pytest.raises(ParameterError, match="'method' parameter of clustering_auc"):
        clustering_auc(Z, method="signed")
    with pytest.raises(ParameterError, match="'baseline' parameter of clustering_auc"):
        clustering_auc(Z, baseline="yes")
    with pytest.raises(ParameterError, match="'baseline_draws' parameter of clustering_auc"):
        clustering_auc(Z, baseline_draws=0)
    with pytest.raises(ParameterError, match="'baseline_seed' parameter of clustering_auc"):
        clustering_auc(Z, baseline_seed=-1)
    with pytest.raises(ParameterError, match="'method' parameter of clustering_baseline"):
        clustering_baseline(3, 2, method="x")
    with pytest.raises(ParameterError, match="'rng' parameter of clustering_baseline"):
        clustering_baseline(3, 2, rng=-1)
    with pytest.raises(ParameterError, match="'d' parameter of clustering_min_auc"):
        clustering_min_auc(3, 0)
