"""Run a registered experiment: resolve its config, seed everything, collect its outputs and
write them atomically (``summary.json``, tables, figures, ``report.html``).

A run is a pure function of ``(experiment, resolved config, seed)``: :func:`run_experiment`
seeds numpy, torch and Python's ``random`` itself and hands the experiment a
``numpy.random.Generator`` (``ctx.rng``) and torch generators built from the same seed.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from . import experiments as registry
from ._validation import ParameterError, SpecbiasError
from .io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    swap_directory,
    to_jsonable,
)
from .progress import progress, quiet

SUMMARY = "summary.json"


class RunContext:
    """What an experiment receives besides its config: randomness, and sinks for its outputs."""

    def __init__(self, name: str, config, seed: int, staging: Path):
        self.name, self.config, self.seed = name, config, seed
        self.out = staging
        self.rng = np.random.default_rng(seed)
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.tables: list[str] = []
        self.figures: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.diverged: dict[str, str] = {}
        self.failed: dict[str, str] = {}

    # -------------------------------------------------------------- randomness
    def torch_generator(self, offset: int = 0):
        """A ``torch.Generator`` seeded from the run seed (``offset`` gives independent streams)."""
        import torch

        g = torch.Generator()
        g.manual_seed(int(self.seed) * 1_000_003 + int(offset))
        return g

    def child_seed(self, *keys: int) -> int:
        """A deterministic integer seed for a sub-task (e.g. one replication)."""
        ss = np.random.SeedSequence([int(self.seed), *[int(k) for k in keys]])
        return int(ss.generate_state(1)[0])

    # -------------------------------------------------------------- outputs
    def metric(self, name: str, value: Any) -> None:
        """Record a named metric (numbers, lists or nested dicts). Deterministic given the seed."""
        self.metrics[name] = to_jsonable(value)

    def timing(self, name: str, seconds: float) -> None:
        """Record a wall time (kept apart from metrics: timings are not reproducible)."""
        self.timings[name] = float(seconds)

    def table(self, name: str, df: pd.DataFrame) -> Path:
        """Write a table as Parquet (CSV if Parquet is unavailable)."""
        if not isinstance(df, pd.DataFrame):
            df = pd.DataFrame(df)
        buf = io.BytesIO()
        try:
            df.to_parquet(buf, index=False)
            fname = f"{name}.parquet"
        except (ImportError, ValueError):
            buf = io.BytesIO(df.to_csv(index=False).encode())
            fname = f"{name}.csv"
        path = self.out / fname
        atomic_write_bytes(path, buf.getvalue())
        self.tables.append(fname)
        return path

    def figure(self, name: str, fig, caption: str = "") -> Path:
        """Save a matplotlib figure as PNG and close it."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        path = self.out / f"{name}.png"
        atomic_write_bytes(path, buf.getvalue())
        self.figures.append({"file": path.name, "caption": caption})
        return path

    def note(self, text: str) -> None:
        """A sentence for the report (what the figures show, what was left out)."""
        self.notes.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def mark_diverged(self, label: str, message: str) -> None:
        """Record that one part of the run (e.g. one activation) diverged; the run goes on."""
        self.diverged[label] = message

    def mark_failed(self, label: str, message: str) -> None:
        """Record that one part of the run finished with finite numbers but did not learn (e.g.
        an activation that fails to train, as a paper reports); the run goes on."""
        self.failed[label] = message

    def progress(self, iterable=None, desc: str | None = None, total: int | None = None):
        return progress(iterable, desc=desc, total=total)


def parse_overrides(items: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    """``["width=64", "acts=[\"relu\"]"]`` -> ``{"width": 64, "acts": ["relu"]}`` (JSON values,
    falling back to the raw string)."""
    if items is None:
        return {}
    if isinstance(items, dict):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"--set expects key=value. Got {item!r}.")
        key, raw = item.split("=", 1)
        key = key.strip()
        try:
            val = json.loads(raw)
        except json.JSONDecodeError:
            val = raw
        out[key] = val
    return out


def _format_validation_error(exp_name: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "?"
    msg = err.get("msg", "is invalid")
    msg = msg[0].lower() + msg[1:] if msg else msg
    got = err.get("input")
    return f"The '{loc}' parameter of {exp_name} is invalid: {msg}. Got {got!r} instead."


def resolve_config(name: str, preset: str = "quick", overrides=None):
    """The validated config of experiment ``name`` for ``preset`` with ``overrides`` applied."""
    exp = registry.get(name)
    if preset not in exp.presets:
        raise ParameterError(
            f"Unknown preset {preset!r} for {name}. Choose one of: {', '.join(exp.preset_names())}."
        )
    values = dict(exp.presets[preset])
    ov = parse_overrides(overrides)
    fields = exp.config.model_fields
    for key in ov:
        if key not in fields:
            import difflib

            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(
                f"Unknown parameter {key!r} for {name}{hint}. Valid keys: {', '.join(fields)}."
            )
    values.update(ov)
    try:
        return exp.config(**values)
    except ValidationError as exc:
        raise ParameterError(_format_validation_error(name, exc)) from None


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("specbias", "numpy", "scipy", "torch", "pandas", "matplotlib", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "unknown"
    return out


def check_writable(out: Path) -> None:
    """Fail early, with one line, when ``out`` cannot be created or written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {str(out)!r} exists and is not a directory.")
    parent = out.parent if not out.exists() else out
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out {str(out)!r} is not writable: {exc.strerror}.") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"--out {str(out)!r} is not writable (permission denied).")


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


def run_experiment(name: str, *, preset: str = "quick", overrides=None, seed: int = 0,
                   out: str | os.PathLike | None = None, quiet_progress: bool = False,
                   report: bool = True) -> dict[str, Any]:
    """Run experiment ``name`` and write its results to ``out`` (default ``out/NAME``).

    Returns the summary dict (also written to ``out/summary.json``). Outputs are produced in a
    staging directory next to ``out`` and moved into place only when complete.
    """
    exp = registry.get(name)
    cfg = resolve_config(name, preset, overrides)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"The 'seed' must be a non-negative int. Got {seed!r} instead.")
    out = Path(out) if out is not None else Path("out") / name
    check_writable(out)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise ParameterError(f"--out {str(out)!r} is not writable: {exc.strerror}.") from None
    ctx = RunContext(name, cfg, seed, staging)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg", force=False)
    try:
        _seed_everything(seed)
        with quiet(quiet_progress):
            exp.fn(cfg, ctx)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    wall = time.perf_counter() - t0
    summary = {
        "experiment": name,
        "description": exp.description,
        "reproduces": exp.reproduces,
        "preset": preset,
        "seed": seed,
        "config": cfg.model_dump(mode="json"),
        "status": "diverged" if ctx.diverged else "ok",
        "diverged": ctx.diverged,
        "failed": ctx.failed,
        "metrics": ctx.metrics,
        "timings": {"wall_s": wall, **ctx.timings},
        "started": started.isoformat(),
        "versions": versions(),
        "tables": ctx.tables,
        "figures": ctx.figures,
        "notes": ctx.notes,
        "warnings": ctx.warnings,
    }
    atomic_write_json(staging / SUMMARY, summary)
    if report:
        from .report import render_report

        atomic_write_text(staging / "report.html", render_report(summary, staging))
    swap_directory(staging, out)
    summary = json.loads((out / SUMMARY).read_text())
    summary["out"] = str(out)
    return summary


def load_summary(directory: str | os.PathLike) -> dict[str, Any]:
    """Read ``DIR/summary.json`` of a finished run."""
    path = Path(directory) / SUMMARY
    if not path.is_file():
        raise SpecbiasError(f"No finished run in {str(directory)!r}: {SUMMARY} not found.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SpecbiasError(f"{path} is not valid JSON: {exc}") from None
