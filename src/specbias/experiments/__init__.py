"""The experiment registry.

Every reproduced figure or table is one module in this package that registers one experiment:

.. code-block:: python

    from pydantic import Field
    from specbias.experiments import ExperimentConfig, register_experiment

    class Config(ExperimentConfig):
        width: int = Field(64, ge=1, le=4096, description="hidden width K")

        def memory_estimate(self):  # the dominant arrays, by the field that drives them
            return {"width": (8.0 * self.width**2, "width x width x 8 bytes")}

    @register_experiment("my-exp", config=Config, description="...", reproduces="Paper, Fig. 1",
                         presets={"quick": {}, "paper": {"width": 1024}})
    def run(cfg: Config, ctx) -> None:
        ctx.metric("answer", 42.0)

Size fields have upper bounds; relations between fields are checked by
``@model_validator(mode="after")`` methods raising :class:`ParameterError`, and a config whose
:meth:`ExperimentConfig.memory_estimate` exceeds the memory the machine has available is
refused, so a bad config fails when it is built, before any work.

The field defaults are the ``quick`` preset; ``paper`` overrides some of them. A run is a pure
function of ``(config, seed)``: everything random comes from ``ctx.rng`` / ``ctx.torch_generator()``.
Modules in this package are discovered automatically (:func:`load_all`).
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from .._validation import ParameterError

#: Share of the available memory a run may plan to use (the rest is left to everything else).
MEMORY_SHARE = 0.8
_GIB = float(1024**3)


def available_memory() -> float | None:
    """Bytes of memory this machine can still give a new run: ``MemAvailable`` from
    ``/proc/meminfo`` where readable, else the free physical pages; ``None`` when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            pages, size = os.sysconf(name), os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            continue
        if pages > 0 and size > 0:
            return float(pages) * float(size)
    return None


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


_NAMES: dict[type, str] = {}


class ExperimentConfig(BaseModel):
    """Base class of experiment configs: unknown keys are errors, values are validated.

    Subclasses check relations between fields in ``@model_validator(mode="after")`` methods
    that raise :class:`ParameterError` (see :meth:`invalid`), so that a bad config is refused
    when it is built, and override :meth:`memory_estimate`; a config whose estimate exceeds
    what the machine has available is refused too.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True,
                              allow_inf_nan=False)

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


@dataclass
class Experiment:
    name: str
    fn: Callable[..., None]
    config: type[ExperimentConfig]
    description: str
    reproduces: str
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    demo: bool = False  # part of ``make demo``

    def preset_names(self) -> list[str]:
        return sorted(set(self.presets) | {"quick"})


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def register_experiment(name: str, *, config: type[ExperimentConfig], description: str,
                        reproduces: str, presets: dict[str, dict[str, Any]] | None = None,
                        demo: bool = False):
    """Decorator registering ``fn(cfg, ctx)`` as experiment ``name``."""
    presets = dict(presets or {})
    presets.setdefault("quick", {})

    def deco(fn):
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise RuntimeError(f"experiment {name!r} registered twice")
        _NAMES[config] = name
        for values in presets.values():  # presets must be valid configs (on any machine)
            config.model_validate(values, context={"check_memory": False})
        _REGISTRY[name] = Experiment(name, fn, config, description, reproduces, presets, demo)
        return fn

    return deco


def load_all() -> None:
    """Import every module of this package so that its experiment registers."""
    global _LOADED
    if _LOADED:
        return
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
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
