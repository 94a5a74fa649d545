"""The papers' claims as data: what a paper says, where, its value, and a check over our metrics.

Every registered experiment declares the claims it reproduces (``register_experiment(...,
claims=[...])``). After a run, :func:`evaluate_claims` checks each claim against the run's
metrics and gives it a verdict:

``holds``
    the check passes;
``fails``
    the check does not pass, or a metric it reads is missing;
``finding``
    a contradiction with the paper that we stand behind: the claim's ``finding`` says what we
    measure instead and where the docs give the evidence, and its check encodes *our* finding
    (so a finding that stops reproducing fails like any other claim);
``not checked at this preset``
    the claim is only checked at other presets (``presets=("paper",)``: e.g. a trend that needs
    the paper's sizes to show).

A check names the metrics it reads by dotted path into the nested metrics dict
(``"rank_correlation"``, ``"rel_error_pct.relu"``; keys that contain dots, such as
``"relu3.5"``, are found too) and is one of a few declarative kinds, so that the report and
``specbias verify`` can print it: :class:`AtLeast`, :class:`AtMost`, :class:`Between`,
:class:`Ordered`, :class:`AllAtLeast`, :class:`AllAtMost`, :class:`IsTrue` or
:class:`Predicate` (any function, with a sentence saying what it checks).

Example
-------
>>> claim = Claim("spearman", "Lower frequencies are learned first.", "Rahaman, Fig. 1",
...               AtLeast("rank_correlation", 0.9))
>>> [r["verdict"] for r in evaluate_claims([claim], {"rank_correlation": 0.97}, "quick")]
['holds']
>>> evaluate_claims([claim], {"rank_correlation": 0.5}, "quick")[0]["measured"]
'0.5'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HOLDS, FAILS, FINDING, NOT_CHECKED = "holds", "fails", "finding", "not checked at this preset"
VERDICTS = (HOLDS, FINDING, FAILS, NOT_CHECKED)


class MissingMetric(LookupError):
    """A check reads a metric the run did not record."""


def lookup(metrics: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in nested ``metrics``; keys may themselves contain dots
    (``"high_freq.relu3.5"`` finds ``metrics["high_freq"]["relu3.5"]``)."""

    def find(node: Any, rest: str) -> Any:
        if not isinstance(node, Mapping):
            raise MissingMetric(path)
        if rest in node:
            return node[rest]
        parts = rest.split(".")
        for i in range(len(parts) - 1, 0, -1):  # the longest key first
            key = ".".join(parts[:i])
            if key in node:
                try:
                    return find(node[key], ".".join(parts[i:]))
                except MissingMetric:
                    continue
        raise MissingMetric(path)

    return find(metrics, path)


def _number(metrics: Mapping[str, Any], path: str) -> float:
    value = lookup(metrics, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        if value is None:
            return math.nan
        raise MissingMetric(f"{path} (not a number: {value!r})")
    return float(value)


def fmt(value: Any) -> str:
    """A short text form of a measured value."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    return str(value)


class Check:
    """A test over a run's metrics: :meth:`__call__` gives ``(passed, measured)``, where
    ``measured`` is what the report prints; :meth:`describe` says what is checked."""

    def __call__(self, metrics: Mapping[str, Any]) -> tuple[bool, Any]:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def paths(self) -> list[str]:
        """The metric paths this check reads."""
        return []


@dataclass(frozen=True)
class AtLeast(Check):
    """``metric >= threshold`` (NaN fails)."""

    metric: str
    threshold: float

    def __call__(self, metrics):
        v = _number(metrics, self.metric)
        return bool(v >= self.threshold), v

    def describe(self) -> str:
        return f"{self.metric} >= {self.threshold:g}"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class AtMost(Check):
    """``metric <= threshold`` (NaN fails)."""

    metric: str
    threshold: float

    def __call__(self, metrics):
        v = _number(metrics, self.metric)
        return bool(v <= self.threshold), v

    def describe(self) -> str:
        return f"{self.metric} <= {self.threshold:g}"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class Between(Check):
    """``low <= metric <= high`` (NaN fails)."""

    metric: str
    low: float
    high: float

    def __call__(self, metrics):
        v = _number(metrics, self.metric)
        return bool(self.low <= v <= self.high), v

    def describe(self) -> str:
        return f"{self.low:g} <= {self.metric} <= {self.high:g}"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class Ordered(Check):
    """The metrics, in the order given, increase (``"increasing"``) or decrease
    (``"decreasing"``); each step by more than ``margin`` (``strict``) or by at least
    ``-margin`` (not strict: small dips up to ``margin`` allowed)."""

    metrics: tuple[str, ...]
    direction: str = "increasing"
    strict: bool = True
    margin: float = 0.0

    def __post_init__(self):
        if self.direction not in ("increasing", "decreasing"):
            raise ValueError(f"Ordered direction must be 'increasing' or 'decreasing'. Got "
                             f"{self.direction!r} instead.")
        if len(self.metrics) < 2:
            raise ValueError("Ordered needs at least two metrics.")

    def __call__(self, metrics):
        vals = [_number(metrics, m) for m in self.metrics]
        sign = 1.0 if self.direction == "increasing" else -1.0
        steps = [sign * (b - a) for a, b in zip(vals, vals[1:], strict=False)]
        ok = all(s > self.margin for s in steps) if self.strict else \
            all(s >= -self.margin for s in steps)
        return bool(ok), dict(zip(self.metrics, vals, strict=True))

    def describe(self) -> str:
        op = {"increasing": " < ", "decreasing": " > "}[self.direction]
        if not self.strict:
            op = {"increasing": " <= ", "decreasing": " >= "}[self.direction]
        tail = f" (margin {self.margin:g})" if self.margin else ""
        return op.join(self.metrics).strip() + tail

    def paths(self) -> list[str]:
        return list(self.metrics)


def _values(metrics, path: str) -> dict[str, float]:
    node = lookup(metrics, path)
    if isinstance(node, Mapping):
        out = {}
        for k, v in node.items():
            if isinstance(v, bool) or not isinstance(v, int | float | None):
                raise MissingMetric(f"{path}.{k} (not a number: {v!r})")
            out[str(k)] = math.nan if v is None else float(v)
        if not out:
            raise MissingMetric(f"{path} (empty)")
        return out
    if isinstance(node, list | tuple):
        if not node:
            raise MissingMetric(f"{path} (empty)")
        return {str(i): math.nan if v is None else float(v) for i, v in enumerate(node)}
    raise MissingMetric(f"{path} (not a dict or list of numbers)")


@dataclass(frozen=True)
class AllAtLeast(Check):
    """Every value of the dict (or list) metric is ``>= threshold``; ``only`` restricts it to
    some keys."""

    metric: str
    threshold: float
    only: tuple[str, ...] | None = None

    def __call__(self, metrics):
        vals = _values(metrics, self.metric)
        if self.only is not None:
            missing = [k for k in self.only if k not in vals]
            if missing:
                raise MissingMetric(f"{self.metric}.{missing[0]}")
            vals = {k: vals[k] for k in self.only}
        return all(v >= self.threshold for v in vals.values()), vals

    def describe(self) -> str:
        which = f"[{', '.join(self.only)}]" if self.only else "[*]"
        return f"{self.metric}{which} >= {self.threshold:g}"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class AllAtMost(Check):
    """Every value of the dict (or list) metric is ``<= threshold``; ``only`` restricts it to
    some keys."""

    metric: str
    threshold: float
    only: tuple[str, ...] | None = None

    def __call__(self, metrics):
        vals = _values(metrics, self.metric)
        if self.only is not None:
            missing = [k for k in self.only if k not in vals]
            if missing:
                raise MissingMetric(f"{self.metric}.{missing[0]}")
            vals = {k: vals[k] for k in self.only}
        return all(v <= self.threshold for v in vals.values()), vals

    def describe(self) -> str:
        which = f"[{', '.join(self.only)}]" if self.only else "[*]"
        return f"{self.metric}{which} <= {self.threshold:g}"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class IsTrue(Check):
    """A boolean metric is true."""

    metric: str

    def __call__(self, metrics):
        v = lookup(metrics, self.metric)
        if not isinstance(v, bool):
            raise MissingMetric(f"{self.metric} (not a boolean: {v!r})")
        return v, v

    def describe(self) -> str:
        return f"{self.metric} is true"

    def paths(self) -> list[str]:
        return [self.metric]


@dataclass(frozen=True)
class Predicate(Check):
    """Any check: ``fn(metrics) -> (passed, measured)``; ``text`` says what it checks and
    ``reads`` names the metrics it reads (a missing one fails the claim)."""

    text: str
    fn: Callable[[Mapping[str, Any]], tuple[bool, Any]] = field(compare=False)
    reads: tuple[str, ...] = ()

    def __call__(self, metrics):
        for p in self.reads:
            lookup(metrics, p)
        try:
            ok, measured = self.fn(metrics)
        except (KeyError, TypeError) as exc:
            raise MissingMetric(f"{self.text}: {exc}") from None
        return bool(ok), measured

    def describe(self) -> str:
        return self.text

    def paths(self) -> list[str]:
        return list(self.reads)


@dataclass(frozen=True)
class Claim:
    """One claim of a paper an experiment reproduces.

    Parameters
    ----------
    id : str
        Short key, unique within the experiment (``"order"``).
    statement : str
        What the paper says, in a sentence.
    where : str
        Where in the paper (``"Lucey, Fig. 3b"``).
    check : Check
        The test over our metrics. For a ``finding`` it encodes what *we* measure.
    paper_value : str, optional
        The paper's number where its text has one (``"0.93"``, ``"a few percent"``).
    presets : tuple of str, optional
        The presets the claim is checked at (default: every preset); at others the verdict is
        ``not checked at this preset``.
    finding : str, optional
        Set for a contradiction we stand behind: what we find instead, and where the evidence
        is in the docs (``"... (docs/radon.md#sinc-generalizes)"``).
    """

    id: str
    statement: str
    where: str
    check: Check
    paper_value: str | None = None
    presets: tuple[str, ...] | None = None
    finding: str | None = None

    def applies_to(self, preset: str) -> bool:
        return self.presets is None or preset in self.presets


def check_claims(experiment: str, claims: Sequence[Claim], presets: Sequence[str]) -> None:
    """Refuse malformed declarations when an experiment registers (duplicate ids, a preset
    that does not exist, a claim that is not a :class:`Claim`)."""
    seen: set[str] = set()
    for c in claims:
        if not isinstance(c, Claim):
            raise TypeError(f"claims of {experiment} must be Claim objects. Got {c!r}.")
        if c.id in seen:
            raise ValueError(f"claim id {c.id!r} declared twice in {experiment}")
        seen.add(c.id)
        if not isinstance(c.check, Check):
            raise TypeError(f"claim {c.id!r} of {experiment}: check must be a Check. Got "
                            f"{c.check!r}.")
        for p in c.presets or ():
            if p not in presets:
                raise ValueError(f"claim {c.id!r} of {experiment} names preset {p!r}; the "
                                 f"experiment has {', '.join(presets)}")


def evaluate_claim(claim: Claim, metrics: Mapping[str, Any], preset: str) -> dict[str, Any]:
    """The claim's row: ``id, statement, where, paper_value, check, measured, verdict,
    finding`` (``measured`` is text)."""
    row: dict[str, Any] = {"id": claim.id, "statement": claim.statement, "where": claim.where,
                           "paper_value": claim.paper_value, "check": claim.check.describe(),
                           "finding": claim.finding}
    if not claim.applies_to(preset):
        row.update(measured="", verdict=NOT_CHECKED)
        return row
    try:
        ok, measured = claim.check(metrics)
    except MissingMetric as exc:
        row.update(measured=f"missing metric {exc.args[0]}", verdict=FAILS)
        return row
    row["measured"] = fmt(measured)
    row["verdict"] = (FINDING if claim.finding else HOLDS) if ok else FAILS
    return row


def evaluate_claims(claims: Sequence[Claim], metrics: Mapping[str, Any],
                    preset: str) -> list[dict[str, Any]]:
    """Every claim's row (:func:`evaluate_claim`), in declaration order."""
    return [evaluate_claim(c, metrics, preset) for c in claims]


def failed(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows whose verdict is ``fails``."""
    return [r for r in rows if r.get("verdict") == FAILS]
