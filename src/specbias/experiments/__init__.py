"""The experiment registry, and the toolkit an experiment is written with.

Every reproduced figure or table is one module in this package that registers one experiment:

.. code-block:: python

    from pydantic import Field
    from specbias.claims import Between, Claim
    from specbias.experiments import ExperimentConfig, RunContext, register_experiment
    from specbias.experiments._blocks import ActivationNames

    class Config(ExperimentConfig):
        width: int = Field(64, ge=1, le=4096, description="hidden width K")
        activations: ActivationNames = Field(default_factory=lambda: ["relu"], min_length=1,
                                             max_length=20)

        def memory_estimate(self):  # the dominant arrays, by the field that drives them
            return {"width": (8.0 * self.width**2, "width x width x 8 bytes")}

    @register_experiment("my-exp", config=Config, description="...", reproduces="Paper, Fig. 1",
                         presets={"quick": {}, "paper": {"width": 1024}},
                         claims=[Claim("answer", "The answer is 42.", "Paper, Sec. 1",
                                       Between("answer", 41.5, 42.5), paper_value="42")])
    def run(cfg: Config, ctx: RunContext) -> None:
        with ctx.timer("answer_s"):
            ctx.metric("answer", 42.0)

Size fields have upper bounds; single values are checked by their type (the shared field types
of :mod:`specbias.experiments._blocks`: activation names checked against the zoo, dtypes,
frequency lists below the grid's Nyquist limit, existing files), relations between fields by
``@model_validator(mode="after")`` methods raising :class:`ParameterError` (see
:meth:`ExperimentConfig.invalid`), and a config whose :meth:`ExperimentConfig.memory_estimate`
exceeds the memory the machine has available is refused, so a bad config fails when it is
built, before any work, with an error that names the field.

The field defaults are the ``quick`` preset; ``paper`` overrides some of them. A run is a pure
function of ``(config, seed)``: everything random comes from ``ctx.rng`` / ``ctx.torch_generator()``.
``run`` receives a :class:`RunContext`. Modules in this package are discovered automatically
(:func:`load_all`); modules whose name starts with ``_`` (the shared building blocks,
:mod:`specbias.experiments._blocks`) are not experiments. An experiment module imports from
``_blocks`` and the library, never from another experiment module. docs/adding-an-experiment.md
walks through a complete example.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from .._memory import available_memory
from .._validation import ParameterError
from ..claims import Claim, check_claims

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from matplotlib.figure import Figure

#: Share of the available memory a run may plan to use (the rest is left to everything else).
MEMORY_SHARE = 0.8
_GIB = float(1024**3)


def format_bytes(n: float) -> str:
    """``"15.2 GiB"`` / ``"340 MiB"``."""
    if n >= 0.1 * _GIB:
        return f"{n / _GIB:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def check_memory(experiment: str, name: str, need: float, how: str) -> None:
    """Raise :class:`ParameterError` when ``need`` bytes (attributed to parameter ``name``,
    computed as ``how``) exceed :data:`MEMORY_SHARE` of the available memory."""
    avail = available_memory()
    if avail is None:
        return
    usable = MEMORY_SHARE * avail
    if need > usable:
        raise ParameterError(
            f"The '{name}' parameter of {experiment} needs about {format_bytes(need)} ({how}), "
            f"more than the {format_bytes(usable)} this machine has available."
        )


class FieldError(ValueError):
    """Raised by the validator of a field type: the value must ``must`` (e.g. "hold activation
    names from the zoo"). :func:`specbias.runner.resolve_config` words it as "The 'field'
    parameter of <experiment> must <must>. Got <value> instead.", naming the field."""

    def __init__(self, must: str):
        super().__init__(must)
        self.must = must


_NAMES: dict[type, str] = {}


class ExperimentConfig(BaseModel):
    """Base class of experiment configs: unknown keys are errors, values are validated.

    Subclasses check relations between fields in ``@model_validator(mode="after")`` methods
    that raise :class:`ParameterError` (see :meth:`invalid`), so that a bad config is refused
    when it is built, and override :meth:`memory_estimate`; a config whose estimate exceeds
    what the machine has available is refused too.
    """

    # validate_default: a field type's check sees a default too (frequencies under a smaller
    # grid's Nyquist limit, say, when only the grid is overridden)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True,
                              allow_inf_nan=False, validate_default=True)

    @classmethod
    def experiment_name(cls) -> str:
        """The name this config is registered under."""
        return _NAMES.get(cls) or cls.__module__.rsplit(".", 1)[-1].replace("_", "-")

    def invalid(self, name: str, must: str, got: Any) -> ParameterError:
        """``ParameterError("The 'name' parameter of <experiment> must <must>. Got <got> instead.")``."""
        return ParameterError(f"The '{name}' parameter of {self.experiment_name()} must {must}. "
                              f"Got {got!r} instead.")

    @staticmethod
    def memory_total(parts: dict[str, tuple[float, str]]) -> dict[str, tuple[float, str]]:
        """Sum the ``{field: (bytes, how)}`` parts of one phase into one entry, attributed to the
        field of the largest part (for :meth:`memory_estimate`)."""
        parts = {k: v for k, v in parts.items() if v[0] > 0}
        if not parts:
            return {}
        order = sorted(parts, key=lambda k: -parts[k][0])
        return {order[0]: (sum(v[0] for v in parts.values()),
                           " + ".join(parts[k][1] for k in order))}

    def memory_estimate(self) -> dict[str, tuple[float, str]]:
        """Rough peak memory of a run in bytes, by the field that drives it:
        ``{field: (bytes, "how, e.g. n_test x width x 8 bytes")}``. Each entry is one phase's
        dominant arrays; the largest is compared with the machine's available memory."""
        return {}

    @model_validator(mode="after")
    def _fits_in_memory(self, info: ValidationInfo):
        if info.context and info.context.get("check_memory") is False:
            return self
        estimate = {k: v for k, v in self.memory_estimate().items() if v[0] > 0}
        if not estimate:
            return self
        name, (need, how) = max(estimate.items(), key=lambda kv: kv[1][0])
        check_memory(self.experiment_name(), name, need, how)
        return self


@runtime_checkable
class RunContext(Protocol):
    """What ``run(cfg, ctx)`` receives besides its config: the run's randomness and the sinks
    for its outputs (implemented by :class:`specbias.runner.RunContext`).

    Metrics are deterministic given ``(config, seed)``; wall times go to :meth:`timer` /
    :meth:`timing`, never to metrics. A part of a run that diverges or fails to learn is
    reported (:meth:`record_divergence`, :meth:`mark_diverged`, :meth:`mark_failed`) and the run
    goes on; a bad config never reaches ``run`` (the config's validators refuse it).
    """

    name: str
    config: ExperimentConfig
    seed: int
    out: Path
    rng: np.random.Generator
    metrics: dict[str, Any]
    diverged: dict[str, str]
    failed: dict[str, str]

    def torch_generator(self, offset: int = 0) -> torch.Generator:
        """A ``torch.Generator`` seeded from the run seed (``offset``: independent streams)."""
        ...

    def child_seed(self, *keys: int) -> int:
        """A deterministic integer seed for a sub-task (e.g. one replication)."""
        ...

    def metric(self, name: str, value: Any) -> None:
        """Record a named metric (numbers, lists or nested dicts)."""
        ...

    def timing(self, name: str, seconds: float) -> None:
        """Record a wall time in seconds (kept apart from the metrics)."""
        ...

    def timer(self, name: str) -> AbstractContextManager[None]:
        """``with ctx.timer("train_s"): ...`` records the wall time of the block as ``name``."""
        ...

    def table(self, name: str, df: pd.DataFrame) -> Path:
        """Write a table (Parquet, else CSV) into the run's output."""
        ...

    def figure(self, name: str, fig: Figure, caption: str = "") -> Path:
        """Save a matplotlib figure as PNG with a caption for the report, and close it."""
        ...

    def note(self, text: str) -> None:
        """A sentence for the report."""
        ...

    def warn(self, text: str) -> None:
        """A warning for the report."""
        ...

    def mark_diverged(self, label: str, message: str) -> None:
        """Record that part ``label`` of the run diverged; the run goes on."""
        ...

    def mark_failed(self, label: str, message: str) -> None:
        """Record that part ``label`` finished with finite numbers but did not learn."""
        ...

    def record_divergence(self, result: Any, label: str | Sequence[str] | None = None, *,
                          prefix: str = "") -> dict[str, str]:
        """Mark every diverged run or ensemble member of a training ``result`` as diverged,
        reading its structured fields (``diverged``, ``diverged_at``, ``divergence_reason``,
        ``message``); returns the ``{label: message}`` entries recorded."""
        ...

    def progress(self, iterable: Iterable[Any] | None = None, desc: str | None = None,
                 total: int | None = None) -> Any:
        """``iterable`` wrapped in a progress bar (silent under ``--quiet``)."""
        ...


RunFn = TypeVar("RunFn", bound=Callable[..., None])


@dataclass
class Experiment:
    name: str
    fn: Callable[..., None]
    config: type[ExperimentConfig]
    description: str
    reproduces: str
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    demo: bool = False  # part of ``make demo``
    claims: tuple[Claim, ...] = ()  # the paper's claims it checks (specbias.claims)

    def preset_names(self) -> list[str]:
        return sorted(set(self.presets) | {"quick"})


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def register_experiment(name: str, *, config: type[ExperimentConfig], description: str,
                        reproduces: str, presets: dict[str, dict[str, Any]] | None = None,
                        demo: bool = False,
                        claims: Sequence[Claim] = ()) -> Callable[[RunFn], RunFn]:
    """Decorator registering ``run(cfg: Config, ctx: RunContext) -> None`` as experiment
    ``name``; every preset is validated here (without the memory check). ``claims`` are the
    paper's claims the experiment reproduces (:class:`specbias.claims.Claim`), checked on every
    run's metrics."""
    presets = dict(presets or {})
    presets.setdefault("quick", {})
    claims = tuple(claims)
    check_claims(name, claims, sorted(presets))

    def deco(fn: RunFn) -> RunFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise RuntimeError(f"experiment {name!r} registered twice")
        _NAMES[config] = name
        for values in presets.values():  # presets must be valid configs (on any machine)
            config.model_validate(values, context={"check_memory": False})
        _REGISTRY[name] = Experiment(name, fn, config, description, reproduces, presets, demo,
                                     claims)
        return fn

    return deco


#: Environment variable naming modules (comma-separated) that register experiments of their own;
#: :func:`load_all` imports them, so sweep and verify workers, local or on a dask cluster, know
#: those experiments too.
EXPERIMENT_MODULES_ENV = "SPECBIAS_EXPERIMENT_MODULES"


def load_all() -> None:
    """Import every module of this package so that its experiment registers, and the modules
    named in ``$SPECBIAS_EXPERIMENT_MODULES``."""
    global _LOADED
    if _LOADED:
        return
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    import os

    for extra in filter(None, (m.strip() for m in
                               os.environ.get(EXPERIMENT_MODULES_ENV, "").split(","))):
        try:
            importlib.import_module(extra)
        except ImportError as exc:
            raise ParameterError(f"${EXPERIMENT_MODULES_ENV} names {extra!r}, which cannot be "
                                 f"imported: {exc}") from None
    _LOADED = True


def all_experiments() -> dict[str, Experiment]:
    load_all()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Experiment:
    """The experiment ``name``; an unknown name raises with close matches."""
    exps = all_experiments()
    if name not in exps:
        close = difflib.get_close_matches(name, list(exps), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ParameterError(f"Unknown experiment {name!r}.{hint} Run 'specbias list' to see all.")
    return exps[name]
