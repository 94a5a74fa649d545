"""The experiment registry.

Every reproduced figure or table is one module in this package that registers one experiment:

.. code-block:: python

    from pydantic import Field
    from specbias.experiments import ExperimentConfig, register_experiment

    class Config(ExperimentConfig):
        width: int = Field(64, ge=1, description="hidden width K")

    @register_experiment("my-exp", config=Config, description="...", reproduces="Paper, Fig. 1",
                         presets={"quick": {}, "paper": {"width": 1024}})
    def run(cfg: Config, ctx) -> None:
        ctx.metric("answer", 42.0)

The field defaults are the ``quick`` preset; ``paper`` overrides some of them. A run is a pure
function of ``(config, seed)``: everything random comes from ``ctx.rng`` / ``ctx.torch_generator()``.
Modules in this package are discovered automatically (:func:`load_all`).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from .._validation import ParameterError


class ExperimentConfig(BaseModel):
    """Base class of experiment configs: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)


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
        for values in presets.values():  # presets must be valid configs
            config(**values)
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
