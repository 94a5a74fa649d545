"""Zero-plane dynamics of shallow networks in the adaptive regime (docs/theory.md section 4).

Every hidden unit ``c_k act(s_k (theta_k . x - gamma_k))`` of a :class:`specbias.nn.ShallowNet`
owns a *zero-plane* ``{x : theta_k . x = gamma_k}`` (a breakline in 2D), a point
``(theta_k, gamma_k)`` on the cylinder ``S^{d-1} x R`` (Radon-spline paper, Sec. IV). The
training callback :class:`specbias.callbacks.ZeroPlaneRecorder` records every unit's
``(theta_k, gamma_k, s_k, c_k)`` during :func:`specbias.train` (it only copies into preallocated
buffers) as a :class:`ZeroPlaneRecord`. This module, numpy only,

* measures how far the set of zero-planes moves between records (:func:`zero_plane_motion`,
  the 2-Wasserstein distance under the optimal matching);
* measures clustering (:func:`clustering_auc`: eigenvalue AUC of the similarity matrix of the
  normalized augmented weights, beside the AUC of random planes; :func:`cluster_order` sorts
  the matrix into blocks);
* detects datapoint pinning (:func:`datapoint_pinning`: breaklines passing through training
  points, and how far they rotate about them while pinned);
* computes the total magnitude at radius of a shallow network's Fourier transform
  (:func:`network_radial_magnitude`), which lives on lines through the origin, compares the
  shapes of two such curves (:func:`radial_shape_change`), and measures how close the units'
  normals come to each other (:func:`nearest_normal_angle`: only near-parallel units interfere).

>>> import numpy as np, torch
>>> from specbias import ShallowNet, ZeroPlaneRecorder, train, zero_plane_motion, clustering_auc
>>> X = torch.tensor([[-0.5, -0.3], [0.6, -0.2], [0.0, 0.7]]); y = torch.tensor([1.0, -0.5, 0.8])
>>> net = ShallowNet(2, 8, "relu", generator=torch.Generator().manual_seed(0))
>>> rec = ZeroPlaneRecorder(every=5)
>>> res = train(net, (X, y), steps=50, lr=1e-2, callbacks=[rec], progress=False)
>>> record = res.records["zero_planes"]
>>> record.theta.shape, record.step[:3].tolist()
((11, 8, 2), [0, 5, 10])
>>> motion = zero_plane_motion(record)
>>> motion.w2.shape, bool(np.all(motion.w2 >= 0))
((10,), True)
>>> 0.5 < clustering_auc(record.theta[-1], -record.gamma[-1]).auc <= 1.0 + 1e-9
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import ParameterError, check_array, check_choice, check_scalar

__all__ = [
    "ZeroPlaneRecord",
    "ZeroPlaneMotion",
    "w2_distance",
    "zero_plane_motion",
    "motion_share",
    "ClusteringResult",
    "clustering_auc",
    "clustering_baseline",
    "clustering_min_auc",
    "normalized_clustering",
    "CLUSTERING_METHODS",
    "cluster_order",
    "PinningResult",
    "datapoint_pinning",
    "network_radial_magnitude",
    "radial_shape_change",
    "nearest_normal_angle",
]


# ============================================================================ the record


class ZeroPlaneRecord:
    """Zero-planes of every unit at every recorded step (docs/theory.md section 4).

    Holds the recorded raw parameters (in the model's dtype) and converts them to the cylinder
    coordinates in float64 on access, so that recording stays cheap and a long record of a wide
    network is never duplicated whole unless asked for:

    * ``record.at(i)`` -> dict ``theta (K, d), gamma (K,), s (K,), c (K[, m])`` of record ``i``;
    * ``record.gamma``, ``record.s``, ``record.c`` -> ``(T, K[, m])`` arrays (cheap);
    * ``record.theta`` -> ``(T, K, d)`` array (computed once, then cached: ``T K d`` floats).

    Attributes
    ----------
    step : (T,) int
        Optimizer steps done at each record (0 = initialisation).
    epoch : (T,) int
        Epoch of the batch of that step (0 for the initial record).
    theta : (T, K, d)
        Unit normals ``theta_k`` (``|theta_k| = 1``).
    gamma : (T, K)
        Offsets ``gamma_k``: the zero-plane is ``theta_k . x = gamma_k``.
    s : (T, K)
        Horizontal scales ``s_k``.
    c : (T, K) or (T, K, m)
        Output weights (one column per output for vector-valued networks).
    """

    def __init__(self, step, epoch, mode: str, raw: dict):
        self.step = np.asarray(step, dtype=np.int64)
        self.epoch = np.asarray(epoch, dtype=np.int64)
        self._mode, self._raw = mode, raw
        self._cache: dict[str, np.ndarray] = {}

    @classmethod
    def from_arrays(cls, theta, gamma, s, c, step=None, epoch=None) -> ZeroPlaneRecord:
        """A record from arrays of cylinder coordinates ``theta (T, K, d)``, ``gamma, s (T, K)``,
        ``c (T, K[, m])``."""
        owner = "ZeroPlaneRecord.from_arrays"
        th = check_array(theta, "theta", owner=owner, ndim=3)
        T, K = th.shape[:2]
        g = check_array(gamma, "gamma", owner=owner, ndim=2, finite=False)
        sv = check_array(s, "s", owner=owner, ndim=2, finite=False)
        cv = check_array(c, "c", owner=owner, ndim=(2, 3), finite=False)
        for name, arr in (("gamma", g), ("s", sv), ("c", cv)):
            if arr.shape[:2] != (T, K):
                raise ParameterError(
                    f"The '{name}' parameter of {owner} must have shape ({T}, {K}{', m' if name == 'c' else ''}) "
                    f"to match 'theta' {th.shape}. Got {arr.shape} instead."
                )
        step = np.arange(T) if step is None else step
        epoch = np.zeros(T, dtype=np.int64) if epoch is None else epoch
        for name, arr in (("step", step), ("epoch", epoch)):
            a = check_array(arr, name, owner=owner, ndim=1)
            if a.shape != (T,) or np.any(a != np.round(a)):
                raise ParameterError(
                    f"The '{name}' parameter of {owner} must hold {T} integers (one per record). "
                    f"Got shape {a.shape} instead."
                )
        return cls(step, epoch, "planes", {"theta": th, "gamma": g, "s": sv, "c": cv})

    def __len__(self) -> int:
        return int(self.step.shape[0])

    def __getitem__(self, key: str) -> np.ndarray:
        return getattr(self, key)

    def keys(self):
        return ("step", "epoch", "theta", "gamma", "s", "c")

    def __repr__(self) -> str:
        T, K = self.gamma.shape
        return f"ZeroPlaneRecord(records={T}, units={K}, dim={self.dim})"

    @property
    def dim(self) -> int:
        r = self._raw
        return int((r["theta_raw"] if "theta_raw" in r else r["w"] if "w" in r else r["theta"]).shape[-1])

    # ---------------------------------------------------------------- conversion
    def _norms(self) -> np.ndarray:
        """``(T, K)`` float64 norms of the raw normals (``|w_k|`` or ``|theta_raw_k|``)."""
        if "norms" not in self._cache:
            raw = self._raw["w"] if self._mode == "standard" else self._raw["theta_raw"]
            self._cache["norms"] = np.sqrt(np.einsum("tkd,tkd->tk", raw, raw, dtype=np.float64))
        return self._cache["norms"]

    def _theta_at(self, i) -> np.ndarray:
        if self._mode == "planes":
            return self._raw["theta"][i]
        raw = self._raw["w"] if self._mode == "standard" else self._raw["theta_raw"]
        return raw[i].astype(np.float64) / self._norms()[i][..., None]

    def at(self, i: int) -> dict[str, np.ndarray]:
        """Cylinder coordinates of record ``i`` (float64): ``theta, gamma, s, c``."""
        return {"theta": self._theta_at(i), "gamma": self.gamma[i], "s": self.s[i],
                "c": self.c[i]}

    @property
    def theta(self) -> np.ndarray:
        if "theta" not in self._cache:
            self._cache["theta"] = (self._raw["theta"] if self._mode == "planes"
                                    else self._theta_at(slice(None)))
        return self._cache["theta"]

    @property
    def gamma(self) -> np.ndarray:
        if "gamma" not in self._cache:
            if self._mode == "standard":
                with np.errstate(divide="ignore", invalid="ignore"):
                    g = -self._raw["b"].astype(np.float64) / self._norms()
            else:
                g = self._raw["gamma"].astype(np.float64)
            self._cache["gamma"] = g
        return self._cache["gamma"]

    @property
    def s(self) -> np.ndarray:
        if "s" not in self._cache:
            self._cache["s"] = (self._norms() if self._mode == "standard"
                                else self._raw["s"].astype(np.float64))
        return self._cache["s"]

    @property
    def c(self) -> np.ndarray:
        if "c" not in self._cache:
            self._cache["c"] = self._raw["v" if self._mode == "standard" else "c"].astype(np.float64)
        return self._cache["c"]

    @property
    def planes(self) -> np.ndarray:
        """``(T, K, d + 1)``: the cylinder coordinates ``(theta_k, gamma_k)``."""
        return np.concatenate([self.theta, self.gamma[..., None]], axis=-1)

    def standard(self, index: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """Input weights and biases ``(w, b) = (s theta, -s gamma)`` at record ``index``."""
        r = self.at(index)
        return r["theta"] * r["s"][:, None], -r["gamma"] * r["s"]


# ============================================================================ motion


def _as_record(record, owner: str) -> ZeroPlaneRecord:
    """A :class:`ZeroPlaneRecord` from a record, a recorder, or a mapping of arrays."""
    if not isinstance(record, ZeroPlaneRecord | Mapping) and hasattr(record, "record"):
        record = record.record  # a ZeroPlaneRecorder after training
    if isinstance(record, ZeroPlaneRecord):
        return record
    if not isinstance(record, Mapping) or "theta" not in record or "gamma" not in record:
        raise ParameterError(
            f"The 'record' parameter of {owner} must be a ZeroPlaneRecord (or a mapping with "
            f"'theta' and 'gamma'). Got {type(record).__name__} instead."
        )
    theta = check_array(record["theta"], "theta", owner=owner, ndim=3)
    gamma = check_array(record["gamma"], "gamma", owner=owner, ndim=2)
    if gamma.shape != theta.shape[:2]:
        raise ParameterError(
            f"The record's 'gamma' {gamma.shape} does not match its 'theta' {theta.shape} in {owner}."
        )
    ones = np.ones_like(gamma)
    return ZeroPlaneRecord.from_arrays(theta, gamma, record.get("s", ones), record.get("c", ones),
                                       step=record.get("step"), epoch=record.get("epoch"))


def _matched_sq(theta_a, gamma_a, theta_b, gamma_b, metric: str) -> np.ndarray:
    """Squared distances of the pairs (a_k, b_k), computed directly (exact 0 for equal planes)."""
    dg = (gamma_a - gamma_b) ** 2
    if metric == "chordal":
        return ((theta_a - theta_b) ** 2).sum(axis=1) + dg
    dots = np.clip((theta_a * theta_b).sum(axis=1), -1.0, 1.0)
    same = np.all(theta_a == theta_b, axis=1)
    return np.where(same, 0.0, np.arccos(dots) ** 2) + dg


def _cost(theta_a, gamma_a, theta_b, gamma_b, metric: str) -> np.ndarray:
    """Squared cylinder distances between every plane of set a and every plane of set b."""
    dg = (gamma_a[:, None] - gamma_b[None, :]) ** 2
    dots = np.clip(theta_a @ theta_b.T, -1.0, 1.0)
    if metric == "chordal":
        # |theta_a - theta_b|^2 = 2 - 2 theta_a . theta_b for unit normals
        return np.maximum(2.0 - 2.0 * dots, 0.0) + dg
    return np.arccos(dots) ** 2 + dg


def w2_distance(theta_a, gamma_a, theta_b, gamma_b, *, metric: str = "chordal"):
    """2-Wasserstein distance between two equal-size sets of zero-planes (docs/theory.md section 4).

    Each set is a uniform distribution over ``K`` points ``(theta_k, gamma_k)`` of the cylinder
    ``S^{d-1} x R``. With the squared ground distance

    * ``metric="chordal"`` (default): ``d^2 = |theta - theta'|^2 + (gamma - gamma')^2``, the
      Euclidean distance of the cylinder embedded in ``R^{d+1}`` (the distance between the
      parameter vectors ``(theta, gamma)``);
    * ``metric="geodesic"``: ``d^2 = arccos(theta . theta')^2 + (gamma - gamma')^2``, the
      cylinder's intrinsic distance;

    ``W2 = min_pi sqrt( (1/K) sum_k d(z_k, z'_pi(k))^2 )`` over permutations ``pi``, solved
    exactly by :func:`scipy.optimize.linear_sum_assignment` (the distances of the matched pairs
    are then recomputed directly, so that unmoved planes give exactly 0). ``(theta, gamma)`` and
    ``(-theta, -gamma)`` are the same plane with opposite active sides: different points.

    Returns ``(w2, perm)`` with ``perm[k]`` the plane of set b matched to plane ``k`` of set a.

    >>> import numpy as np
    >>> th = np.array([[1.0, 0.0], [0.0, 1.0]]); g = np.array([0.0, 0.5])
    >>> w2, perm = w2_distance(th, g, th[::-1], g[::-1])
    >>> round(w2, 12), perm.tolist()
    (0.0, [1, 0])
    """
    check_choice(metric, "metric", ["chordal", "geodesic"], owner="w2_distance")
    ta = check_array(theta_a, "theta_a", owner="w2_distance", ndim=2)
    tb = check_array(theta_b, "theta_b", owner="w2_distance", ndim=2)
    ga = check_array(gamma_a, "gamma_a", owner="w2_distance", ndim=1)
    gb = check_array(gamma_b, "gamma_b", owner="w2_distance", ndim=1)
    if ta.shape != tb.shape or ga.shape[0] != ta.shape[0] or gb.shape[0] != tb.shape[0]:
        raise ParameterError(
            "The two zero-plane sets of w2_distance must have the same shape. Got theta "
            f"{ta.shape} / {tb.shape}, gamma {ga.shape} / {gb.shape}."
        )
    cost = _cost(ta, ga, tb, gb, metric)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(ta.shape[0], dtype=np.int64)
    perm[rows] = cols
    sq = _matched_sq(ta, ga, tb[perm], gb[perm], metric)
    return float(np.sqrt(sq.mean())), perm


@dataclass
class ZeroPlaneMotion:
    """Per-interval motion of the zero-plane set (output of :func:`zero_plane_motion`).

    ``w2[i]`` is the W2 distance between records ``i`` and ``i + 1``, which end at ``step[i]``
    after ``span[i]`` optimizer steps; ``reordered[i]`` counts the planes whose optimal partner is
    not their own unit (planes that crossed). ``per_step = w2 / span``.
    """

    step: np.ndarray
    span: np.ndarray
    w2: np.ndarray
    reordered: np.ndarray
    metric: str = "chordal"

    @property
    def per_step(self) -> np.ndarray:
        return self.w2 / np.maximum(self.span, 1)

    @property
    def total(self) -> float:
        """Sum of the per-interval distances (the length of the path of the zero-plane set)."""
        return float(self.w2.sum())


def zero_plane_motion(record, *, metric: str = "chordal") -> ZeroPlaneMotion:
    """W2 distance between consecutive recorded zero-plane sets (docs/theory.md section 4; Radon-spline
    paper, Exp. 3 and its footnote: the mean distance between optimally matched pairs).

    For records ``t`` and ``t + 1`` the sets ``{(theta_k, gamma_k)}`` are matched by the
    permutation minimizing ``sum_k d^2`` (``linear_sum_assignment``) and
    ``W2 = sqrt(mean_k d(z_k^t, z_pi(k)^{t+1})^2)``; see :func:`w2_distance` for ``metric``.

    Parameters
    ----------
    record : ZeroPlaneRecord, ZeroPlaneRecorder or mapping
        A record, or a mapping with ``theta`` (T, K, d), ``gamma`` (T, K) and optionally
        ``step`` (T,).
    metric : {"chordal", "geodesic"}
        The distance between two zero-planes (:func:`w2_distance`).

    Returns
    -------
    ZeroPlaneMotion
        ``w2`` (T - 1,) between consecutive records, with the steps and the reordering counts.

    Examples
    --------
    >>> import numpy as np
    >>> theta = np.tile(np.array([[1.0, 0.0], [0.0, 1.0]]), (3, 1, 1))
    >>> gamma = np.array([[0.0, 0.0], [0.3, 0.0], [0.3, 0.4]])
    >>> zero_plane_motion({"theta": theta, "gamma": gamma}).w2.round(6).tolist()
    [0.212132, 0.282843]
    """
    check_choice(metric, "metric", ["chordal", "geodesic"], owner="zero_plane_motion")
    rec = _as_record(record, "zero_plane_motion")
    gamma = rec.gamma
    T, K = gamma.shape
    w2 = np.zeros(max(T - 1, 0))
    reordered = np.zeros(max(T - 1, 0), dtype=np.int64)
    ident = np.arange(K)
    th_next = rec._theta_at(0) if T else np.empty((0, 0))
    for t in range(T - 1):
        th_prev, th_next = th_next, rec._theta_at(t + 1)
        cost = _cost(th_prev, gamma[t], th_next, gamma[t + 1], metric)
        if not np.all(np.isfinite(cost)):
            raise ParameterError(
                f"zero_plane_motion: the zero-planes of records {t} and {t + 1} are not finite "
                "(a diverged run?); pass the finite part of the record."
            )
        rows, cols = linear_sum_assignment(cost)
        sq = _matched_sq(th_prev[rows], gamma[t][rows], th_next[cols], gamma[t + 1][cols],
                         metric)
        w2[t] = math.sqrt(float(sq.mean()))
        reordered[t] = int(np.count_nonzero(cols != ident[rows]))
    step = rec.step
    return ZeroPlaneMotion(step=step[1:], span=np.diff(step), w2=w2, reordered=reordered,
                           metric=metric)


def motion_share(motion: ZeroPlaneMotion, until_step: int) -> float:
    """Fraction of the total motion ``sum w2`` that happened in intervals ending at or before
    ``until_step`` (e.g. the first epoch's share). ``nan`` when nothing moved.

    >>> m = ZeroPlaneMotion(np.array([1, 2, 3]), np.ones(3, int), np.array([3.0, 1.0, 0.0]),
    ...                     np.zeros(3, int))
    >>> motion_share(m, 1)
    0.75
    """
    if not isinstance(motion, ZeroPlaneMotion):
        raise ParameterError(
            f"The 'motion' parameter of motion_share must be a ZeroPlaneMotion. Got {type(motion).__name__} instead."
        )
    until_step = check_scalar(until_step, "until_step", kind=int, owner="motion_share", min_val=0)
    total = motion.w2.sum()
    if total <= 0:
        return float("nan")
    return float(motion.w2[motion.step <= until_step].sum() / total)


# ============================================================================ clustering

#: Spectra of :func:`clustering_auc`: ``"magnitude"`` (default), the eigenvalue magnitudes of
#: ``|Z Z^T|`` (the spectrum of its matrix modulus); ``"squared"``, the eigenvalues of the squared
#: cosines ``(Z Z^T)**2``; ``"paper"``, the signed eigenvalues of ``|Z Z^T|`` (the Radon-spline
#: paper's description, kept for comparison).
CLUSTERING_METHODS = ("magnitude", "squared", "paper")
BASELINE_DRAWS = 100
BASELINE_SEED = 0


@dataclass
class ClusteringResult:
    """Output of :func:`clustering_auc`.

    ``similarity`` S (K, K); ``eigenvalues`` the spectrum of ``method`` (eigenvalue magnitudes
    for ``"magnitude"``) sorted descending and normalized to sum 1; ``curve`` their cumulative
    sum; ``auc`` the area under ``curve`` on ``x = 1/K, 2/K, ..., 1``;
    ``min_auc``: the smallest AUC any K planes in the same dimension can have under ``method``
    (see :func:`clustering_min_auc`); ``baseline``: the expected AUC of K isotropic random planes
    in the same dimension under the same ``method`` (Monte Carlo, :func:`clustering_baseline`)
    and ``baseline_std`` the standard deviation of one random draw's AUC about it (both ``nan``
    when not computed).
    """

    auc: float
    eigenvalues: np.ndarray
    curve: np.ndarray
    similarity: np.ndarray
    min_auc: float
    method: str = "magnitude"
    baseline: float = float("nan")
    baseline_std: float = float("nan")

    @property
    def normalized_auc(self) -> float:
        """``(auc - baseline) / (1 - baseline)``: 0 for planes as clustered as random ones, 1 for
        one tight cluster, negative for planes spread more evenly than random ones. ``nan`` when
        the baseline was not computed or is 1 (e.g. K = 1: every configuration scores 1)."""
        return normalized_clustering(self.auc, self.baseline)

    def summary(self) -> dict[str, float]:
        """``{"auc", "random_baseline", "normalized"}`` as plain floats (for metrics)."""
        return {"auc": float(self.auc), "random_baseline": float(self.baseline),
                "normalized": self.normalized_auc}


def normalized_clustering(auc: float, baseline: float) -> float:
    """``(auc - baseline) / (1 - baseline)``; ``nan`` if either is ``nan`` or ``baseline >= 1``.

    >>> normalized_clustering(0.9, 0.8)
    0.5
    """
    auc, baseline = float(auc), float(baseline)
    if not (math.isfinite(auc) and math.isfinite(baseline)) or 1.0 - baseline <= 1e-12:
        return float("nan")
    return (auc - baseline) / (1.0 - baseline)


def _unit_rows(Z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(Z, axis=1)
    return Z / np.where(norms > 0, norms, 1.0)[:, None]


def _similarity(Zn: np.ndarray, method: str) -> np.ndarray:
    G = Zn @ Zn.T
    return G * G if method == "squared" else np.abs(G)


def _spectrum(S: np.ndarray, method: str) -> np.ndarray:
    ev = np.linalg.eigvalsh(S)
    if method == "squared":
        ev = np.clip(ev, 0.0, None)  # positive semi-definite: only rounding falls below 0
    elif method == "magnitude":
        ev = np.abs(ev)
    ev = np.sort(ev)[::-1]
    return ev / ev.sum()


def _auc_of(Z: np.ndarray, method: str) -> float:
    return float(np.cumsum(_spectrum(_similarity(_unit_rows(Z), method), method)).mean())


@functools.lru_cache(maxsize=256)
def _random_auc_stats(n: int, d: int, method: str, draws: int, seed: int) -> tuple[float, float]:
    return _random_auc_draws(n, d, method, draws, np.random.default_rng(seed))


def _random_auc_draws(n, d, method, draws, rng) -> tuple[float, float]:
    vals = np.array([_auc_of(rng.standard_normal((n, d)), method) for _ in range(draws)])
    return float(vals.mean()), (float(vals.std(ddof=1)) if draws > 1 else float("nan"))


def clustering_min_auc(n: int, d: int, method: str = "magnitude") -> float:
    """The smallest AUC any ``n`` planes with augmented weights in ``R^d`` can have.

    For every method the top-``j`` sums of sorted eigenvalues are at least ``j / n`` of the total,
    so ``AUC >= (n + 1) / (2n)`` (the flat spectrum, attained by orthogonal planes when
    ``n <= d``). For ``method="squared"`` two more facts bind: ``S = (Z Z^T)**2`` is the Gram
    matrix of the projectors ``z z^T`` (symmetric ``d x d`` matrices), so its rank is at most
    ``r = min(n, d(d+1)/2)``; and the projectors all have trace 1, so the top normalized
    eigenvalue is at least ``a = max(1/d, 1/r)``. The most even spectrum under both,
    ``(a, (1-a)/(r-1), ...)``, gives ``1 - (1 - a) r / (2n)``; for ``n >= d(d+1)/2`` that is
    ``1 - (d^2 - 1)/(4n)``, attained by planes forming a projective 2-design (three lines at
    60 degrees for ``d = 2``, the six diagonals of the icosahedron for ``d = 3``) and reached by
    isotropic random planes as ``n -> infinity``.

    >>> clustering_min_auc(40, 3), clustering_min_auc(40, 3, "squared"), clustering_min_auc(10, 20, "squared")
    (0.5125, 0.95, 0.55)
    """
    n = check_scalar(n, "n", kind=int, owner="clustering_min_auc", min_val=1)
    d = check_scalar(d, "d", kind=int, owner="clustering_min_auc", min_val=1)
    check_choice(method, "method", CLUSTERING_METHODS, owner="clustering_min_auc")
    if method != "squared":
        return (n + 1) / (2 * n)
    r = min(n, d * (d + 1) // 2)
    a = max(1.0 / d, 1.0 / r)
    return float(1.0 - (1.0 - a) * r / (2 * n))


def _check_rng(rng, owner: str):
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"The 'rng' parameter of {owner} must be a seed (non-negative int), a "
            f"numpy Generator or None. Got {rng!r} instead."
        ) from exc


def clustering_auc(weights, biases=None, *, method: str = "magnitude", baseline: bool = True,
                   baseline_draws: int = BASELINE_DRAWS,
                   baseline_seed: int = BASELINE_SEED) -> ClusteringResult:
    """Clustering of zero-planes by the eigenvalue AUC of their similarity matrix (Radon-spline
    paper, Exp. 3, Fig. 9 (f)), beside the AUC of random planes.

    ``Z`` = the augmented weights ``[w_k, b_k]`` with rows normalized to unit length and
    ``S = |Z Z^T|`` (entry-wise absolute cosine similarity; ``similarity`` of the result, except
    for ``method="squared"``). Its spectrum, by ``method``:

    * ``"magnitude"`` (default): the magnitudes ``|lambda_i|`` of the eigenvalues of ``S``, i.e.
      the eigenvalues of its matrix modulus ``|S|_op = (S S)^{1/2}``, which is positive
      semi-definite; they are ``S``'s singular values. Equal to ``"paper"`` whenever ``S`` is
      positive semi-definite (typical when the planes are fewer than the dimension).
    * ``"squared"``: the eigenvalues of ``S = (Z Z^T)**2``, the squared cosines: the Gram matrix of
      the projectors ``z_k z_k^T`` (``<z z^T, y y^T>_F = (z . y)^2``), positive semi-definite
      (Schur product theorem) of rank at most ``d(d+1)/2``: in low dimension it resolves only a
      few clusters (see :func:`clustering_min_auc`).
    * ``"paper"``: the signed eigenvalues of ``S = |Z Z^T|``. ``S`` is not positive
      semi-definite; when the planes outnumber the dimension its negative eigenvalues are large,
      the curve overshoots 1 and the AUC measures the overshoot (40 random planes in ``R^3``
      score about 1.1, more than tight clusters). For comparison only.

    The eigenvalues, sorted descending and normalized to sum 1, give the curve
    ``C_j = sum_{i <= j} lambda_i`` and ``AUC = (1/K) sum_j C_j``; for the first two methods
    the curve rises monotonically to 1. One tight cluster (all rows parallel) gives
    ``AUC = 1``; C tight clusters along orthogonal directions give ``1 - (C - 1)/(2K)`` under
    every method (``S`` has entries 0 and 1 only); orthogonal planes give the flat spectrum
    ``(K + 1)/(2K)``.

    The AUC depends on K and on the dimension ``d`` of ``Z``: with ``baseline=True`` the result
    also holds the expected AUC of K isotropic random planes in ``R^d`` under the same method
    (:func:`clustering_baseline`: Monte Carlo over ``baseline_draws`` draws with the fixed seed
    ``baseline_seed``, cached), and ``normalized_auc = (AUC - baseline)/(1 - baseline)``,
    comparable across K and d.

    For a radon-parameterized net ``[w, b] = s [theta, -gamma]`` and ``s`` drops out of the
    normalization: ``clustering_auc(theta, -gamma)``.

    Parameters
    ----------
    weights : (K, d) array
        The zero-plane normals (input weights).
    biases : (K,) array or None
        The offsets (``None``: no augmentation).
    method : {"magnitude", "squared", "paper"}
        How the similarity spectrum is formed (see above).
    baseline : bool
        Compute the random-plane baseline (``False`` skips the Monte Carlo).
    baseline_draws : int
        Number of random draws of the baseline.
    baseline_seed : int
        Seed of the baseline's draws.

    Returns
    -------
    ClusteringResult
        ``auc``, the ``eigenvalues``, the ``baseline`` and the ``normalized_auc``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.repeat(np.eye(3), 4, axis=0)          # three tight clusters of four
    >>> r = clustering_auc(w, np.zeros(12))
    >>> round(r.auc, 4), r.eigenvalues[:4].round(4).tolist()
    (0.9167, [0.3333, 0.3333, 0.3333, 0.0])
    >>> round(r.baseline, 2), round(r.normalized_auc, 2)   # vs 12 random planes in R^4
    (0.86, 0.41)
    """
    W = check_array(weights, "weights", owner="clustering_auc", ndim=2)
    check_choice(method, "method", CLUSTERING_METHODS, owner="clustering_auc")
    if not isinstance(baseline, bool | np.bool_):
        raise ParameterError(
            f"The 'baseline' parameter of clustering_auc must be True or False. Got {baseline!r} instead."
        )
    baseline_draws = check_scalar(baseline_draws, "baseline_draws", kind=int,
                                  owner="clustering_auc", min_val=1)
    baseline_seed = check_scalar(baseline_seed, "baseline_seed", kind=int,
                                 owner="clustering_auc", min_val=0)
    if biases is not None:
        b = check_array(biases, "biases", owner="clustering_auc", ndim=1)
        if b.shape[0] != W.shape[0]:
            raise ParameterError(
                f"The 'biases' parameter of clustering_auc must have {W.shape[0]} entries (one per row of weights). Got {b.shape[0]} instead."
            )
        Z = np.concatenate([W, b[:, None]], axis=1)
    else:
        Z = W
    if not np.any(np.linalg.norm(Z, axis=1) > 0):
        raise ParameterError("The 'weights' parameter of clustering_auc has only zero rows.")
    S = _similarity(_unit_rows(Z), method)
    ev = _spectrum(S, method)
    curve = np.cumsum(ev)
    K, d = Z.shape
    mean = std = float("nan")
    if baseline:
        mean, std = _random_auc_stats(K, d, method, baseline_draws, baseline_seed)
    return ClusteringResult(auc=float(curve.mean()), eigenvalues=ev, curve=curve, similarity=S,
                            min_auc=clustering_min_auc(K, d, method), method=method,
                            baseline=mean, baseline_std=std)


def clustering_baseline(n: int, dim: int, *, draws: int = BASELINE_DRAWS, rng=BASELINE_SEED,
                        method: str = "magnitude", return_std: bool = False):
    """Expected :func:`clustering_auc` of ``n`` random planes: augmented weights drawn
    isotropically (standard normal) in ``R^{dim + 1}`` (``dim`` = input dimension), by Monte
    Carlo over ``draws`` draws. An int ``rng`` (default: a fixed seed) makes the value
    reproducible and cached; a Generator or None draws afresh. With ``return_std`` also the
    standard deviation of one draw's AUC (the spread of random planes about the baseline).

    For ``method="squared"`` the baseline lies above :func:`clustering_min_auc` and tends to it
    as ``n`` grows (``1 - (d^2 - 1)/(4n)``, ``d = dim + 1``, for ``n >> d^2``): the projectors of
    random planes have the mean ``I/d`` and spread evenly over the other ``d(d+1)/2 - 1``
    directions of the symmetric matrices.

    >>> round(clustering_baseline(64, 784), 3), round(clustering_baseline(64, 784, method="squared"), 3)
    (0.569, 0.512)
    >>> [round(clustering_baseline(40, 2, method=m), 2) for m in ("magnitude", "squared", "paper")]
    [0.92, 0.96, 1.1]
    """
    n = check_scalar(n, "n", kind=int, owner="clustering_baseline", min_val=1)
    dim = check_scalar(dim, "dim", kind=int, owner="clustering_baseline", min_val=1)
    draws = check_scalar(draws, "draws", kind=int, owner="clustering_baseline", min_val=1)
    check_choice(method, "method", CLUSTERING_METHODS, owner="clustering_baseline")
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        mean, std = _random_auc_stats(n, dim + 1, method, draws, int(rng))
    else:
        mean, std = _random_auc_draws(n, dim + 1, method, draws,
                                      _check_rng(rng, "clustering_baseline"))
    return (mean, std) if return_std else mean


def cluster_order(similarity, *, method: str = "average") -> np.ndarray:
    """A permutation of rows/columns that shows clusters of a similarity matrix as blocks.

    Agglomerative clustering (``scipy.cluster.hierarchy.linkage`` with ``method``) of the
    distance ``1 - S``, leaves in the optimal order (Radon-spline paper, Fig. 9 (g)).
    Use ``S[np.ix_(order, order)]``.

    Parameters
    ----------
    similarity : array_like (n, n)
        Square similarity matrix ``S`` (1 for identical items; symmetrized as ``(S + S^T) / 2``).
    method : {"average", "complete", "single", "weighted"}, default "average"
        The linkage method.

    Returns
    -------
    ndarray (n,) of int64
        The permutation (the identity for ``n < 3``).

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 0, 2, 1, 2, 0])
    >>> S = (labels[:, None] == labels[None, :]).astype(float)
    >>> order = cluster_order(S)
    >>> [int(v) for v in labels[order]] in ([0, 0, 0, 1, 1, 2, 2], [0, 0, 0, 2, 2, 1, 1],
    ...     [1, 1, 0, 0, 0, 2, 2], [1, 1, 2, 2, 0, 0, 0], [2, 2, 0, 0, 0, 1, 1],
    ...     [2, 2, 1, 1, 0, 0, 0])
    True
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    check_choice(method, "method", ["average", "complete", "single", "weighted"],
                 owner="cluster_order")
    S = check_array(similarity, "similarity", owner="cluster_order", ndim=2)
    if S.shape[0] != S.shape[1]:
        raise ParameterError(f"The 'similarity' parameter of cluster_order must be square. Got {S.shape} instead.")
    n = S.shape[0]
    if n < 3:
        return np.arange(n)
    D = np.clip(1.0 - 0.5 * (S + S.T), 0.0, None)
    np.fill_diagonal(D, 0.0)
    Zl = linkage(squareform(D, checks=False), method=method, optimal_ordering=True)
    return leaves_list(Zl).astype(np.int64)


# ============================================================================ pinning


@dataclass
class PinningResult:
    """Output of :func:`datapoint_pinning`.

    ``distance`` (T, K, N): signed distance ``theta_k . x_n - gamma_k`` of point ``n`` to
    plane ``k`` at each record; ``pinned`` = ``|distance| <= tol``; ``pinned_to`` (K,): the point
    plane ``k`` stays pinned to over the final window (-1 if none; the closest if several);
    ``pinned_since`` (K,): first record of that final uninterrupted pinned run (-1 if none);
    ``rotation`` (K,): angle (radians) ``theta_k`` turned between ``pinned_since`` and the end;
    ``n_points`` (K,): how many points plane ``k`` passes through at the end.
    """

    distance: np.ndarray
    pinned: np.ndarray
    pinned_to: np.ndarray
    pinned_since: np.ndarray
    rotation: np.ndarray
    n_points: np.ndarray
    tol: float
    window: int

    @property
    def fraction(self) -> float:
        """Fraction of units pinned to a datapoint at the end (over the final window)."""
        return float(np.mean(self.pinned_to >= 0))

    @property
    def fraction_initial(self) -> float:
        """Fraction of units within ``tol`` of a datapoint at the first record (chance level)."""
        return float(np.mean(self.pinned[0].any(axis=1)))

    @property
    def through_two(self) -> int:
        """Number of units passing through two or more datapoints at the end."""
        return int(np.count_nonzero(self.n_points >= 2))


def datapoint_pinning(record, X, *, tol: float = 0.02, window: float = 0.1) -> PinningResult:
    """Detect zero-planes pinned to training points (Radon-spline paper, Sec. IV-A, Figs. 4-5).

    Plane ``k`` passes through point ``x_n`` at a record when its distance
    ``|theta_k . x_n - gamma_k| <= tol`` (input units: ``|theta_k| = 1``). It is *pinned* to
    ``x_n`` at the end when this holds over the last ``window`` fraction of the records (at
    least the last one). A pinned breakline can still rotate about the point: ``rotation``
    reports the angle its normal turned while pinned. Written for 2D (breaklines) but valid in
    any dimension.

    Parameters
    ----------
    record : ZeroPlaneRecord, ZeroPlaneRecorder or mapping
        A record, or a mapping with ``theta`` (T, K, d) and ``gamma`` (T, K).
    X : array_like (N, d)
        The training points.
    tol : float, default 0.02
        Distance (input units) within which a plane passes through a point (positive).
    window : float in [0, 1], default 0.1
        Final fraction of the records over which a plane must stay on a point to be pinned.

    Returns
    -------
    PinningResult
        Distances, the pinned mask, and per plane the point it is pinned to, since when, how
        far it rotated and how many points it passes through at the end.

    Examples
    --------
    >>> import numpy as np
    >>> ang = np.linspace(0, 1, 5)                    # a line turning about (0.5, 0.5)
    >>> theta = np.stack([np.cos(ang), np.sin(ang)], -1)[:, None, :]
    >>> gamma = theta[..., 0] * 0.5 + theta[..., 1] * 0.5
    >>> r = datapoint_pinning({"theta": theta, "gamma": gamma}, [[0.5, 0.5], [2.0, 0.0]], window=0.5)
    >>> r.pinned_to.tolist(), round(float(r.rotation[0]), 6)
    ([0], 1.0)
    """
    rec = _as_record(record, "datapoint_pinning")
    theta, gamma = rec.theta, rec.gamma
    X = check_array(X, "X", owner="datapoint_pinning", ndim=2)
    if X.shape[1] != theta.shape[2]:
        raise ParameterError(
            f"The 'X' parameter of datapoint_pinning must have {theta.shape[2]} columns (the input dimension). Got {X.shape[1]} instead."
        )
    tol = check_scalar(tol, "tol", owner="datapoint_pinning", min_val=0.0, include_min=False)
    window = check_scalar(window, "window", owner="datapoint_pinning", min_val=0.0, max_val=1.0)
    T, K = gamma.shape
    dist = np.einsum("tkd,nd->tkn", theta, X) - gamma[..., None]
    pinned = np.abs(dist) <= tol
    w = max(1, int(math.ceil(window * T)))
    stay = pinned[T - w:].all(axis=0)  # (K, N)
    pinned_to = np.full(K, -1, dtype=np.int64)
    since = np.full(K, -1, dtype=np.int64)
    rotation = np.zeros(K)
    for k in range(K):
        cand = np.flatnonzero(stay[k])
        if cand.size == 0:
            continue
        n = int(cand[np.argmin(np.abs(dist[-1, k, cand]))])
        pinned_to[k] = n
        run = pinned[:, k, n]
        t0 = T - 1
        while t0 > 0 and run[t0 - 1]:
            t0 -= 1
        since[k] = t0
        rotation[k] = float(np.arccos(np.clip(theta[t0, k] @ theta[-1, k], -1.0, 1.0)))
    return PinningResult(distance=dist, pinned=pinned, pinned_to=pinned_to, pinned_since=since,
                         rotation=rotation, n_points=pinned[-1].sum(axis=1), tol=tol, window=w)


# ============================================================================ Fourier view


def network_radial_magnitude(theta, gamma, s, c, act, radii, *, parallel_tol: float = 0.0):
    """Total magnitude at radius of a shallow network's Fourier transform (docs/theory.md section 3-4;
    Radon-spline paper, Sec. IV and Fig. 9 (h)).

    The transform of ``f(x) = sum_k c_k act(s_k (theta_k . x - gamma_k))`` lives on the lines
    ``xi = omega theta_k`` (Dirac lines), with density
    ``c_k e^{-i omega gamma_k} act^(omega / s_k) / s_k`` along line ``k``. The total magnitude at
    radius is the shell density ``M(r) = d/dr int_{|xi| <= r} |f^(xi)| dxi`` (in 2D this is
    ``int_0^{2pi} |f^(r cos t, r sin t)| r dt``, docs/theory.md section 3): each line crosses the sphere of
    radius ``r`` at ``+-r theta``, and units whose normals are parallel (within ``parallel_tol``
    radians, antiparallel ones with ``omega -> -omega``) add coherently there (interference):

    ``M(r) = sum_groups sum_{omega = +-r} | sum_{k in group} c_k e^{-i omega gamma_k}
    act^(omega / s_k) / s_k |`` (vector outputs: Euclidean norm over outputs).

    With ``parallel_tol = 0`` every unit is its own group and
    ``M(r) = sum_k 2 |c_k| |act^(r / s_k)| / s_k``.

    Parameters
    ----------
    theta : (K, d) array
        Unit normals of the zero-planes.
    gamma : (K,) array
        Offsets.
    s : (K,) array
        Slopes (scales) of the units.
    c : (K,) or (K, m) array
        Output weights.
    act : str or Activation
        Activation name or :class:`specbias.activations.Activation` with a ``fourier`` method.
    radii : (R,) array
        Positive radii.
    parallel_tol : float
        Angle (radians) below which two normals count as parallel.

    Returns
    -------
    ndarray
        ``M(r)`` at each radius.

    Examples
    --------
    >>> import numpy as np
    >>> th = np.array([[1.0, 0.0], [1.0, 0.0]]); g = np.array([0.0, np.pi])
    >>> M = network_radial_magnitude(th, g, np.ones(2), np.ones(2), "relu", [1.0, 2.0],
    ...                              parallel_tol=1e-6)
    >>> M.round(6).tolist()                  # 2 |1 + e^{-i r pi}| / r^2: cancels at r = 1
    [0.0, 1.0]
    """
    from .activations import activation as make_activation

    a = make_activation(act) if isinstance(act, str) else act
    if not hasattr(a, "fourier"):
        raise ParameterError("The 'act' parameter of network_radial_magnitude must have a Fourier transform.")
    th = check_array(theta, "theta", owner="network_radial_magnitude", ndim=2)
    g = check_array(gamma, "gamma", owner="network_radial_magnitude", ndim=1)
    sv = check_array(s, "s", owner="network_radial_magnitude", ndim=1)
    cv = check_array(c, "c", owner="network_radial_magnitude", ndim=(1, 2))
    r = check_array(radii, "radii", owner="network_radial_magnitude", ndim=1)
    parallel_tol = check_scalar(parallel_tol, "parallel_tol", owner="network_radial_magnitude",
                                min_val=0.0, max_val=math.pi / 2)
    K = th.shape[0]
    if not (g.shape[0] == sv.shape[0] == cv.shape[0] == K):
        raise ParameterError("theta, gamma, s and c of network_radial_magnitude must have one row per unit.")
    if np.any(r <= 0):
        raise ParameterError("The 'radii' parameter of network_radial_magnitude must be positive.")
    if np.any(sv == 0):
        raise ParameterError("The 's' parameter of network_radial_magnitude must be nonzero.")
    norms = np.linalg.norm(th, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ParameterError("The 'theta' parameter of network_radial_magnitude has a zero row.")
    cv = cv[:, None] if cv.ndim == 1 else cv
    th = th / norms
    groups = _parallel_groups(th, parallel_tol)
    total = np.zeros(r.shape[0])
    for members, signs in groups:
        for sign_r in (1.0, -1.0):
            amp = np.zeros((r.shape[0], cv.shape[1]), dtype=np.complex128)
            for k, sg in zip(members, signs, strict=True):
                om = sign_r * sg * r  # position along unit k's own line
                fk = a.fourier(om / sv[k]) / abs(sv[k])  # s < 0 is covered: act^(om/s)/|s|
                fk = np.where(np.isfinite(fk), fk, 0.0)
                amp += (fk * np.exp(-1j * om * g[k]))[:, None] * cv[k][None, :]
            total += np.linalg.norm(amp, axis=1)
    return total


def radial_shape_change(M_a, M_b, *, decades: float = 8.0) -> float:
    """How much the *shape* of a total-magnitude curve changed: the RMS of
    ``log10(M_b / M_a)`` about its mean over the radii (a constant factor is no change), on the
    radii where both curves are positive and within ``decades`` of their peaks. ``nan`` when
    fewer than two radii qualify.

    For a positively homogeneous activation of degree ``p`` (step, ReLU, ReLU^a) and units with
    no two normals parallel within the tolerance of :func:`network_radial_magnitude`, ``M(r)``
    is ``const * r^-(p+1)`` whatever the parameters: the shape cannot change, only through
    interference of (near-)parallel units. For other activations the spread of the scales
    ``s_k`` changes it too.

    >>> import numpy as np
    >>> r = np.array([1.0, 2.0, 4.0])
    >>> radial_shape_change(r ** -2, 5 * r ** -2)            # a constant factor: no change
    0.0
    >>> round(radial_shape_change(r ** -2, r ** -3), 4)      # one more power of r
    0.2458
    """
    a = check_array(M_a, "M_a", owner="radial_shape_change", ndim=1, finite=False)
    b = check_array(M_b, "M_b", owner="radial_shape_change", ndim=1, finite=False)
    if a.shape != b.shape:
        raise ParameterError(
            f"M_a and M_b of radial_shape_change must have the same shape. Got {a.shape} and "
            f"{b.shape} instead.")
    decades = check_scalar(decades, "decades", owner="radial_shape_change", min_val=0.0,
                           include_min=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        la, lb = np.log10(a), np.log10(b)
    ok = np.isfinite(la) & np.isfinite(lb)
    if ok.sum() < 2:
        return float("nan")
    with np.errstate(invalid="ignore"):
        ok &= (la > la[ok].max() - decades) & (lb > lb[ok].max() - decades)
    if ok.sum() < 2:
        return float("nan")
    d = lb[ok] - la[ok]
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def nearest_normal_angle(theta) -> np.ndarray:
    """For every unit, the angle (radians, in ``[0, pi/2]``) between its normal and the nearest
    other unit's normal, parallel or antiparallel: ``arccos max_{j != k} |theta_k . theta_j|``.

    Units interfere in the Fourier transform only where their Dirac lines ``xi = omega theta``
    (nearly) coincide (:func:`network_radial_magnitude`), so this says whether training brought
    any units close enough to interfere. Random normals in ``R^d`` sit near 90 degrees apart
    for large ``d``; clustering brings them closer. One unit gives ``[pi/2]``.

    >>> import numpy as np
    >>> th = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.01]])
    >>> np.degrees(nearest_normal_angle(th)).round(2).tolist()
    [0.57, 89.43, 0.57]
    """
    th = check_array(theta, "theta", owner="nearest_normal_angle", ndim=2)
    norms = np.linalg.norm(th, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ParameterError("The 'theta' parameter of nearest_normal_angle has a zero row.")
    th = th / norms
    if th.shape[0] < 2:
        return np.full(th.shape[0], math.pi / 2)
    C = np.abs(th @ th.T)
    np.fill_diagonal(C, -1.0)
    return np.arccos(np.clip(C.max(axis=1), 0.0, 1.0))


def _parallel_groups(theta: np.ndarray, tol: float):
    """Greedy grouping of unit normals that are parallel or antiparallel within ``tol``."""
    K = theta.shape[0]
    if tol == 0.0:
        return [([k], [1.0]) for k in range(K)]
    cos_tol = math.cos(tol)
    left = np.ones(K, dtype=bool)
    out = []
    dots = theta @ theta.T
    for k in range(K):
        if not left[k]:
            continue
        mem = np.flatnonzero(left & (np.abs(dots[k]) >= cos_tol - 1e-15))
        left[mem] = False
        out.append((mem.tolist(), np.sign(dots[k, mem]).tolist()))
    return out


def __getattr__(name: str):
    # ZeroPlaneRecorder, a torch training callback, lives in specbias.callbacks; this module is
    # the numpy analysis of what it records. The old import path keeps working.
    if name == "ZeroPlaneRecorder":
        from .callbacks import ZeroPlaneRecorder

        return ZeroPlaneRecorder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
