"""Zero-plane analysis (docs/theory.md section 4): W2 motion, clustering AUC, block order, pinning,
recorder, total magnitude at radius of shallow networks."""

import itertools
import math

import numpy as np
import pytest
import torch

from specbias import ParameterError, ShallowNet, train
from specbias.regimes import shallow_net
from specbias.training import Callback
from specbias.zeroplanes import (
    ZeroPlaneMotion,
    ZeroPlaneRecord,
    ZeroPlaneRecorder,
    cluster_order,
    clustering_auc,
    clustering_baseline,
    datapoint_pinning,
    motion_share,
    network_radial_magnitude,
    w2_distance,
    zero_plane_motion,
)


def _planes(rng, K, d):
    th = rng.standard_normal((K, d))
    th /= np.linalg.norm(th, axis=1, keepdims=True)
    return th, rng.uniform(-1, 1, K)


def _brute_w2(ta, ga, tb, gb, metric):
    K = ta.shape[0]
    best = np.inf
    for perm in itertools.permutations(range(K)):
        p = list(perm)
        if metric == "chordal":
            d2 = ((ta - tb[p]) ** 2).sum(1)
        else:
            d2 = np.arccos(np.clip((ta * tb[p]).sum(1), -1, 1)) ** 2
        best = min(best, float(np.mean(d2 + (ga - gb[p]) ** 2)))
    return math.sqrt(best)


# ----------------------------------------------------------------------------- W2 motion


@pytest.mark.parametrize("metric", ["chordal", "geodesic"])
@pytest.mark.parametrize("seed", range(4))
def test_w2_equals_brute_force_over_permutations(metric, seed):
    rng = np.random.default_rng(seed)
    K, d = 6, 3
    ta, ga = _planes(rng, K, d)
    tb, gb = _planes(rng, K, d)
    w2, perm = w2_distance(ta, ga, tb, gb, metric=metric)
    assert w2 == pytest.approx(_brute_w2(ta, ga, tb, gb, metric), rel=1e-12, abs=1e-14)
    assert sorted(perm.tolist()) == list(range(K))
    # zero_plane_motion over a 3-record stack gives the same per-interval values
    tc, gc = _planes(rng, K, d)
    rec = {"theta": np.stack([ta, tb, tc]), "gamma": np.stack([ga, gb, gc]),
           "step": np.array([0, 4, 10])}
    m = zero_plane_motion(rec, metric=metric)
    assert m.w2[0] == pytest.approx(_brute_w2(ta, ga, tb, gb, metric), rel=1e-12)
    assert m.w2[1] == pytest.approx(_brute_w2(tb, gb, tc, gc, metric), rel=1e-12)
    assert m.step.tolist() == [4, 10] and m.span.tolist() == [4, 6]
    assert m.per_step == pytest.approx(m.w2 / np.array([4, 6]))


def test_w2_is_a_metric_and_ignores_order():
    rng = np.random.default_rng(5)
    sets = [_planes(rng, 7, 4) for _ in range(3)]
    (ta, ga), (tb, gb), (tc, gc) = sets
    p = rng.permutation(7)
    assert w2_distance(ta, ga, ta[p], ga[p])[0] == 0.0  # exact zero for a relabelling
    ab, bc, ac = (w2_distance(*x, *y)[0] for x, y in [(sets[0], sets[1]), (sets[1], sets[2]),
                                                       (sets[0], sets[2])])
    assert ac <= ab + bc + 1e-12
    assert w2_distance(tb, gb, ta, ga)[0] == pytest.approx(ab, rel=1e-12)
    # crossing planes: swapping two units between records is no motion, and is counted
    rec = {"theta": np.stack([ta, ta[p]]), "gamma": np.stack([ga, ga[p]])}
    m = zero_plane_motion(rec)
    assert m.w2[0] == 0.0 and m.reordered[0] == int(np.count_nonzero(p != np.arange(7)))


def test_geodesic_at_least_chordal():
    rng = np.random.default_rng(2)
    ta, ga = _planes(rng, 5, 3)
    tb, gb = _planes(rng, 5, 3)
    assert w2_distance(ta, ga, tb, gb, metric="geodesic")[0] >= w2_distance(ta, ga, tb, gb)[0]


def test_motion_share():
    m = ZeroPlaneMotion(step=np.array([5, 10, 15, 20]), span=np.full(4, 5),
                        w2=np.array([4.0, 2.0, 1.0, 1.0]), reordered=np.zeros(4, int))
    assert motion_share(m, 10) == pytest.approx(0.75)
    assert motion_share(m, 100) == pytest.approx(1.0)
    zero = ZeroPlaneMotion(m.step, m.span, np.zeros(4), m.reordered)
    assert math.isnan(motion_share(zero, 10))


# ----------------------------------------------------------------------------- clustering


def test_clustering_auc_closed_form_for_orthogonal_tight_clusters():
    # k clusters of m identical rows along orthogonal axes: S = blockdiag(ones(m)),
    # eigenvalues m (k times) and 0, normalized 1/k: curve j/k (j <= k), then 1.
    for k, m in [(1, 8), (3, 4), (5, 2), (6, 1)]:
        K = k * m
        W = np.repeat(np.eye(k), m, axis=0) * np.random.default_rng(k).uniform(0.5, 2, (K, 1))
        r = clustering_auc(W, np.zeros(K))
        expected = (sum(j / k for j in range(1, k + 1)) + (K - k)) / K
        assert r.auc == pytest.approx(expected, abs=1e-12)
        assert r.curve[-1] == pytest.approx(1.0)
    # k = K singletons: the flat spectrum, the minimum (K + 1) / (2K), more even than random
    # planes: a negative normalized score
    r = clustering_auc(np.eye(10))
    assert r.auc == pytest.approx(r.min_auc) and r.min_auc == pytest.approx(11 / 20)
    assert r.baseline > r.auc and r.normalized_auc < 0


def test_clustering_auc_planted_clusters_near_one_random_planes_near_minimum():
    rng = np.random.default_rng(0)
    K, d = 64, 784
    centers = rng.standard_normal((2, d + 1))
    Z = centers[rng.integers(0, 2, K)] + 0.02 * rng.standard_normal((K, d + 1))
    planted = clustering_auc(Z[:, :-1], Z[:, -1]).auc
    Zr = rng.standard_normal((K, d + 1))
    rnd = clustering_auc(Zr[:, :-1], Zr[:, -1])
    assert planted > 0.95
    assert rnd.auc - rnd.min_auc < 0.08  # within a few percent of the minimum 0.508
    assert rnd.auc < planted
    base = clustering_baseline(K, d, draws=3, rng=1)
    assert abs(base - rnd.auc) < 0.02
    assert abs(rnd.baseline - rnd.auc) < 4 * rnd.baseline_std  # the result's own baseline
    assert abs(rnd.normalized_auc) < 0.05 and clustering_auc(Z[:, :-1], Z[:, -1]).normalized_auc > 0.9
    # invariance: the scale of each row and the sign of a row do not matter
    sc = rng.uniform(0.1, 10, K) * rng.choice([-1, 1], K)
    again = clustering_auc(Zr[:, :-1] * sc[:, None], Zr[:, -1] * sc).auc
    assert again == pytest.approx(rnd.auc, abs=1e-12)


def test_radon_form_of_clustering_auc():
    net = ShallowNet(5, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = net.radon_parameters()
    std = net.standard_parameters()
    a = clustering_auc(r["theta"].numpy(), -r["gamma"].numpy()).auc
    b = clustering_auc(std["w"].numpy(), std["b"].numpy()).auc
    assert a == pytest.approx(b, abs=1e-12)


def test_cluster_order_makes_blocks():
    rng = np.random.default_rng(3)
    labels = rng.permutation(np.repeat(np.arange(4), [5, 3, 6, 2]))
    centers = rng.standard_normal((4, 30))
    Z = centers[labels] + 0.05 * rng.standard_normal((16, 30))
    S = clustering_auc(Z).similarity
    order = cluster_order(S)
    assert sorted(order.tolist()) == list(range(16))
    seq = labels[order]
    for lab in range(4):  # each cluster occupies one contiguous run
        pos = np.flatnonzero(seq == lab)
        assert pos.max() - pos.min() + 1 == pos.size


# ----------------------------------------------------------------------------- pinning


def test_datapoint_pinning_rotation_about_a_point():
    T, x0 = 21, np.array([0.3, -0.2])
    ang = np.linspace(0.2, 0.9, T)
    th_rot = np.stack([np.cos(ang), np.sin(ang)], -1)
    g_rot = th_rot @ x0
    # unit 1 arrives at x0 halfway; unit 2 drifts away from it; unit 3 never near any point
    g_arr = np.where(np.arange(T) < 10, g_rot + np.linspace(0.5, 0.0, T) * 2, g_rot)
    th_fix = np.tile([1.0, 0.0], (T, 1))
    g_away = x0[0] + np.linspace(0.0, 0.5, T)
    g_far = np.full(T, 5.0)
    theta = np.stack([th_rot, th_rot, th_fix, th_fix], axis=1)
    gamma = np.stack([g_rot, g_arr, g_away, g_far], axis=1)
    X = np.array([x0, [-0.7, 0.6]])
    r = datapoint_pinning({"theta": theta, "gamma": gamma}, X, tol=1e-3, window=0.3)
    assert r.pinned_to.tolist() == [0, 0, -1, -1]
    assert r.pinned_since.tolist()[:2] == [0, 10]
    assert r.rotation[0] == pytest.approx(0.7, abs=1e-9)
    assert r.rotation[1] == pytest.approx(ang[-1] - ang[10], abs=1e-9)
    assert r.fraction == 0.5 and r.fraction_initial == pytest.approx(0.5)
    np.testing.assert_allclose(np.abs(r.distance[:, 0, 0]), 0, atol=1e-12)
    # through two points: the line through x0 and the second point
    x1 = X[1]
    n = np.array([-(x1 - x0)[1], (x1 - x0)[0]]) / np.linalg.norm(x1 - x0)
    two = {"theta": np.tile(n, (3, 1, 1)), "gamma": np.full((3, 1), n @ x0)}
    assert datapoint_pinning(two, X, tol=1e-9).through_two == 1


def test_pinning_validation():
    rec = {"theta": np.zeros((2, 3, 2)) + [1.0, 0.0], "gamma": np.zeros((2, 3))}
    with pytest.raises(ParameterError, match="columns"):
        datapoint_pinning(rec, np.zeros((4, 3)))
    with pytest.raises(ParameterError, match="'tol'"):
        datapoint_pinning(rec, np.zeros((4, 2)), tol=0)
    with pytest.raises(ParameterError, match="ZeroPlaneRecord"):
        zero_plane_motion([1, 2, 3])


# ----------------------------------------------------------------------------- the recorder


class _Snapshots(Callback):
    """Reference: clone radon_parameters() at every step."""

    name = "snap"

    def on_train_begin(self, state):
        self.record = {0: state.model.radon_parameters()}

    def on_step_end(self, state):
        self.record[state.step] = state.model.radon_parameters()


@pytest.mark.parametrize("parameterization", ["radon", "standard"])
def test_recorder_matches_reference_snapshots(parameterization):
    g = torch.Generator().manual_seed(0)
    net = shallow_net(3, 6, "relu", out_dim=2, parameterization=parameterization, generator=g,
                      dtype=torch.float64)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 2, generator=g, dtype=torch.float64)
    rec, ref = ZeroPlaneRecorder(every=3, chunk=2), _Snapshots()
    res = train(net, (X, y), 10, lr=0.05, optimizer="sgd", callbacks=[rec, ref], progress=False)
    r = res.records["zero_planes"]
    assert r.step.tolist() == [0, 3, 6, 9, 10]  # the final state is always kept
    for i, st in enumerate(r.step):
        snap = ref.record[int(st)]
        np.testing.assert_allclose(r.theta[i], snap["theta"].numpy(), atol=1e-12)
        np.testing.assert_allclose(r.gamma[i], snap["gamma"].numpy(), atol=1e-12)
        np.testing.assert_allclose(r.s[i], snap["s"].numpy(), atol=1e-12)
        np.testing.assert_allclose(r.c[i], snap["c"].numpy(), atol=1e-12)
    assert r.c.shape == (5, 6, 2)
    np.testing.assert_allclose(np.linalg.norm(r.theta, axis=-1), 1.0, atol=1e-12)
    w, b = r.standard(-1)
    std = net.standard_parameters()
    np.testing.assert_allclose(w, std["w"].numpy(), atol=1e-12)
    np.testing.assert_allclose(b, std["b"].numpy(), atol=1e-12)


def test_recorder_epochs_and_rejects_other_models():
    net = ShallowNet(2, 3, generator=torch.Generator().manual_seed(0))
    X, y = torch.randn(10, 2), torch.randn(10)
    rec = ZeroPlaneRecorder()
    train(net, (X, y), 6, batch_size=5, lr=1e-2, callbacks=[rec], progress=False,
          generator=torch.Generator().manual_seed(1))
    assert rec.record.epoch.tolist() == [0, 0, 0, 1, 1, 2, 2]
    with pytest.raises(ParameterError, match="ShallowNet"):
        train(torch.nn.Linear(2, 1), (X, y[:, None]), 1, callbacks=[ZeroPlaneRecorder()],
              progress=False)


# ----------------------------------------------------------------------------- radial magnitude


@pytest.mark.parametrize("act", ["gaussian", "cauchy", "wavepacket", "oberhettinger"])
def test_radial_magnitude_1d_equals_direct_fourier_sum(act):
    # in 1D all units are (anti)parallel: one group, a coherent sum; compare with a direct
    # quadrature of f(x) e^{-i r x} for a network of decaying activations
    from specbias.activations import activation

    a = activation(act)
    rng = np.random.default_rng(0)
    K = 5
    theta = rng.choice([-1.0, 1.0], K)[:, None]
    gamma, s, c = rng.uniform(-1, 1, K), rng.uniform(0.7, 2.0, K), rng.standard_normal(K)
    x = np.linspace(-400, 400, 800_001) if act == "cauchy" else np.linspace(-30, 30, 60_001)
    f = (c * a(s * (x[:, None] * theta[:, 0] - gamma))).sum(1)
    radii = np.array([0.3, 1.0, 2.5])
    h = x[1] - x[0]
    ft = np.array([(f * np.exp(-1j * r * x)).sum() * h for r in radii])
    ftm = np.array([(f * np.exp(1j * r * x)).sum() * h for r in radii])
    expected = np.abs(ft) + np.abs(ftm)
    M = network_radial_magnitude(theta, gamma, s, c, a, radii, parallel_tol=1e-6)
    # Cauchy: truncated 1/x^2 tails; Oberhettinger (z e^-z, complex transform): kink at 0
    rtol = {"cauchy": 2e-3, "oberhettinger": 1e-5}.get(act, 1e-8)
    np.testing.assert_allclose(M, expected, rtol=rtol)
    # with no grouping each unit counts on its own: an upper bound (triangle inequality)
    assert np.all(network_radial_magnitude(theta, gamma, s, c, a, radii) >= M - 1e-12)


def test_radial_magnitude_antiparallel_cancellation():
    # relu(t) - relu(-t) = t: its transform lives at omega = 0 only, so M(r) = 0 for r > 0
    th = np.array([[0.6, 0.8], [-0.6, -0.8]])
    g = np.array([0.2, -0.2])
    r = np.array([0.5, 1.0, 3.0])
    M = network_radial_magnitude(th, g, np.ones(2), np.array([1.0, -1.0]), "relu", r,
                                 parallel_tol=1e-9)
    np.testing.assert_allclose(M, 0.0, atol=1e-12)
    single = network_radial_magnitude(th, g, np.ones(2), np.array([1.0, -1.0]), "relu", r)
    np.testing.assert_allclose(single, 4 / r**2, rtol=1e-12)


def test_radial_magnitude_validation():
    with pytest.raises(ParameterError, match="radii"):
        network_radial_magnitude(np.eye(2), np.zeros(2), np.ones(2), np.ones(2), "relu", [0.0])


class _Wrapped(torch.nn.Module):
    """A module that is not a ShallowNet but exposes radon_parameters() (generic path)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)

    def radon_parameters(self):
        return self.net.radon_parameters()


def test_recorder_generic_modules_and_lazy_conversion():
    g = torch.Generator().manual_seed(4)
    a = ShallowNet(2, 5, generator=g, dtype=torch.float64)
    b = _Wrapped(ShallowNet(2, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    X, y = torch.randn(12, 2, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    ra, rb = ZeroPlaneRecorder(every=2), ZeroPlaneRecorder(every=2)
    train(a, (X, y), 6, lr=0.05, optimizer="sgd", callbacks=[ra], progress=False)
    train(b, (X, y), 6, lr=0.05, optimizer="sgd", callbacks=[rb], progress=False)
    for key in ("theta", "gamma", "s", "c"):
        np.testing.assert_allclose(ra.record[key], rb.record[key], atol=1e-12)
    for i in range(len(ra.record)):  # at(i) agrees with the full arrays
        np.testing.assert_allclose(ra.record.at(i)["theta"], ra.record.theta[i], atol=0)
    np.testing.assert_allclose(zero_plane_motion(ra.record).w2, zero_plane_motion(rb).w2,
                               atol=1e-12)


def test_motion_rejects_non_finite_records():
    rec = ZeroPlaneRecord.from_arrays(np.ones((2, 3, 2)) / np.sqrt(2),
                                      np.array([[0.0, 1.0, 2.0], [0.0, np.nan, 2.0]]),
                                      np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ParameterError, match="not finite"):
        zero_plane_motion(rec)
