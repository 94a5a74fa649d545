"""Run a registered experiment: resolve its config, seed everything, collect its outputs and
write them atomically (``summary.json``, tables, figures, ``report.html``).

A run is a pure function of ``(experiment, resolved config, seed)``: :func:`run_experiment`
seeds numpy, torch and Python's ``random`` itself and hands the experiment a
``numpy.random.Generator`` (``ctx.rng``) and torch generators built from the same seed.
:class:`RunContext` implements the :class:`specbias.experiments.RunContext` protocol that every
experiment's ``run(cfg, ctx)`` is typed with.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from . import experiments as registry
from ._validation import ParameterError, SpecbiasError
from .claims import evaluate_claims
from .io import atomic_write_bytes, atomic_write_json, atomic_write_text, to_jsonable
from .outdir import check_out_dir, discard, make_staging, publish
from .progress import progress, quiet

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

SUMMARY = "summary.json"


class RunContext:
    """What an experiment receives besides its config: randomness, and sinks for its outputs
    (the :class:`specbias.experiments.RunContext` protocol)."""

    def __init__(self, name: str, config: registry.ExperimentConfig, seed: int, staging: Path,
                 device: str = "cpu"):
        self.name, self.config, self.seed = name, config, seed
        self.device = device
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
    def torch_generator(self, offset: int = 0) -> torch.Generator:
        """A ``torch.Generator`` seeded from the run seed (``offset`` gives independent streams)."""
        import torch

        g = torch.Generator(device=self.device)
        g.manual_seed((int(self.seed) * 1_000_003 + int(offset)) % 2**63)
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

    @contextlib.contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """``with ctx.timer("train_s"): ...`` records the wall time of the block as ``name``
        (:meth:`timing`), also when the block raises."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timing(name, time.perf_counter() - t0)

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

    def figure(self, name: str, fig: Figure, caption: str = "") -> Path:
        """Save a matplotlib figure as PNG and close it."""
        import matplotlib.pyplot as plt

        reason = ("diverged: nothing finite to plot" if self.diverged
                  else "no finite values to plot")
        label_empty_axes(fig, reason)
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
        """A warning for the report."""
        self.warnings.append(text)

    def mark_diverged(self, label: str, message: str) -> None:
        """Record that one part of the run (e.g. one activation) diverged; the run goes on."""
        self.diverged[label] = message

    def mark_failed(self, label: str, message: str) -> None:
        """Record that one part of the run finished with finite numbers but did not learn (e.g.
        an activation that fails to train, as a paper reports); the run goes on."""
        self.failed[label] = message

    def record_divergence(self, result: Any, label: str | Sequence[str] | None = None, *,
                          prefix: str = "") -> dict[str, str]:
        """Mark every diverged run or ensemble member of a training ``result`` (what
        :func:`specbias.train`, :func:`specbias.train_ensemble`,
        :func:`specbias.regimes.train_regime` or :func:`specbias.regimes.train_kernel_regime`
        returned) as diverged, from its structured fields (``diverged``, ``diverged_at``,
        ``divergence_reason``, ``message``): one entry ``prefix + label`` for a single model
        (``label`` defaults to ``"run"``), one per diverged member for an ensemble, labelled
        ``prefix + label[e]`` (default ``"member e"``) in the order they diverged. Returns the
        ``{label: message}`` entries recorded (empty when nothing diverged)."""
        from .training import divergence_entries

        entries = divergence_entries(result, label, prefix=prefix)
        for key, message in entries.items():
            self.mark_diverged(key, message)
        return entries

    def progress(self, iterable: Iterable[Any] | None = None, desc: str | None = None,
                 total: int | None = None) -> Any:
        """``iterable`` wrapped in a progress bar (silent under ``--quiet``)."""
        return progress(iterable, desc=desc, total=total)


if TYPE_CHECKING:
    def _implements_the_protocol(ctx: RunContext) -> registry.RunContext:
        return ctx  # the type checker verifies that RunContext has what experiments use


def _has_finite_data(ax) -> bool:
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float)
        finite = np.isfinite(x) & np.isfinite(y) if x.shape == y.shape else np.isfinite(y)
        if np.any(finite):
            return True
    for coll in ax.collections:
        arr = coll.get_array()
        if arr is not None and np.size(arr) and np.any(np.isfinite(np.asarray(arr, dtype=float))):
            return True
        offsets = np.asarray(coll.get_offsets(), dtype=float)
        if offsets.size and np.any(np.all(np.isfinite(offsets), axis=-1)):
            return True
        if any(np.all(np.isfinite(p.vertices)) and len(p.vertices) for p in coll.get_paths()):
            return True
    for im in ax.get_images():
        if np.any(np.isfinite(np.asarray(im.get_array(), dtype=float))):
            return True
    for patch in ax.patches:
        if hasattr(patch, "get_height") and np.isfinite(patch.get_height()) \
                and patch.get_height() != 0:
            return True
    return False


def label_empty_axes(fig, reason: str) -> int:
    """Write ``reason`` across every visible axes of ``fig`` that shows no finite data (e.g. the
    curves of a diverged run) and drop its empty legend; returns how many were labelled."""
    n = 0
    for ax in fig.axes:
        if not ax.axison or _has_finite_data(ax):
            continue
        if getattr(ax, "_colorbar", None) is not None:
            continue
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        ax.text(0.5, 0.5, reason, transform=ax.transAxes, ha="center", va="center",
                color="#b22", fontsize=11, wrap=True)
        n += 1
    return n


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
    inner = (err.get("ctx") or {}).get("error")
    field = str(err["loc"][0]) if err.get("loc") else None
    if isinstance(inner, registry.FieldError) and field is not None:  # a field type's check
        return (f"The '{field}' parameter of {exp_name} must {inner.must}. "
                f"Got {err.get('input')!r} instead.")
    if isinstance(inner, SpecbiasError):  # a validator's own message names the parameter
        text = str(inner)
        if field is not None and f"'{field}'" not in text:
            return f"The '{field}' parameter of {exp_name} is invalid: {text}"
        return text
    if not err.get("loc") and isinstance(inner, Exception):  # a cross-field validator
        return f"The config of {exp_name} is invalid: {inner}"
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


def check_writable(out: str | os.PathLike) -> Path:
    """Fail early, with one line, when ``out`` cannot be a run's destination (see
    :func:`specbias.outdir.check_out_dir`); return it as an absolute path."""
    return check_out_dir(out)


MAX_SEED = 2**63 - 1


def check_seed(seed, owner: str = "run") -> int:
    """A run seed: an int in ``[0, 2**63 - 1]``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"The 'seed' parameter of {owner} must be an int in the range "
                             f"[0, {MAX_SEED}]. Got {seed!r} instead.")
    return int(seed)


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
                   report: bool = True, checkpoint_every: int | None = None,
                   checkpoints: bool = True, device: str = "cpu",
                   tensorboard: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run experiment ``name`` and write its results to ``out`` (default ``out/NAME``).

    Returns the summary dict (also written to ``out/summary.json``). Outputs are produced in a
    staging directory next to ``out`` and moved into place only when complete.

    Training loops checkpoint themselves into ``.NAME.checkpoint`` beside ``out``
    (:mod:`specbias.checkpoint`; every ``checkpoint_every`` steps, by default every few minutes
    of work) and a run started again with the same config, seed and ``out`` resumes from them
    (``summary["resumed_from_step"]``); they are removed once the result is published.
    ``checkpoints=False`` turns this off. ``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps`` or
    ``auto``) is where torch experiments put their models and data (:mod:`specbias.devices`).
    With ``tensorboard=DIR`` every training loop logs its loss and spectra to
    ``DIR/NAME/loop-n`` as it trains, and the finished metrics and claims go to
    ``DIR/NAME/summary`` (:mod:`specbias.tensorboard`).

    Parameters
    ----------
    name : str
        Registered experiment name (``specbias list``).
    preset : str, default "quick"
        The experiment's preset (e.g. ``"quick"`` or ``"paper"``).
    overrides : dict or list of str, optional
        Config values replacing the preset's: a dict, or ``"key=value"`` strings (JSON values).
    seed : int, default 0
        Seed of every random generator of the run.
    out : str or os.PathLike, optional
        Output directory; default ``out/NAME``.
    quiet_progress : bool, default False
        Silence the progress bars.
    report : bool, default True
        Also write ``report.html``.
    checkpoint_every : int, optional
        Checkpoint training loops every this many steps (default: every few minutes of work).
    checkpoints : bool, default True
        Checkpoint training loops and resume from their checkpoints.
    device : str, default "cpu"
        Torch device: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.
    tensorboard : str or os.PathLike, optional
        Directory for TensorBoard logs (none when ``None``).

    Returns
    -------
    dict
        The summary (as in ``out/summary.json``): config, status, metrics, claims and timings,
        plus ``"out"``, the output directory as given.
    """
    from . import checkpoint as ck
    from . import tensorboard as tb
    from .devices import resolve_device, use_device

    exp = registry.get(name)
    cfg = resolve_config(name, preset, overrides)
    seed = check_seed(seed)
    dev = resolve_device(device)
    if checkpoint_every is not None:
        from ._validation import check_scalar

        checkpoint_every = int(check_scalar(checkpoint_every, "checkpoint_every", kind=int,
                                            owner="run", min_val=1))
    out_given = out if out is not None else Path("out") / name
    out = check_writable(out_given)
    try:
        staging = make_staging(out)
    except OSError as exc:
        raise ParameterError(f"--out {str(out_given)!r} is not writable: {exc.strerror}.") from None
    ctx = RunContext(name, cfg, seed, staging, device=dev)
    checkpointer = None
    if checkpoints:
        checkpointer = ck.Checkpointer(
            ck.checkpoint_dir(out), ck.run_key(name, cfg.model_dump(mode="json"), seed),
            every_steps=checkpoint_every,
            say=lambda msg: print(f"{name}: {msg}", file=sys.stderr, flush=True))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg", force=False)
    try:
        _seed_everything(seed)
        tb_dir = Path(tensorboard) / name if tensorboard is not None else None
        with quiet(quiet_progress), ck.activate(checkpointer), use_device(dev), \
                tb.activate(tb_dir):
            exp.fn(cfg, ctx)
        wall = time.perf_counter() - t0
        if checkpointer is not None and checkpointer.saves:
            ctx.timing("checkpoint_s", checkpointer.save_seconds)
        summary = _summary(exp, preset, seed, cfg, ctx, wall, started)
        summary["device"] = dev
        summary["resumed_from_step"] = (checkpointer.resumed_from_step
                                        if checkpointer is not None else None)
        atomic_write_json(staging / SUMMARY, summary)
        if report:
            from .report import render_report

            atomic_write_text(staging / "report.html", render_report(summary, staging))
        publish(staging, out)
    except BaseException:
        discard(staging)
        raise
    if checkpointer is not None:
        checkpointer.remove()
    if tensorboard is not None:
        tb.log_summary(Path(tensorboard) / name, json.loads((out / SUMMARY).read_text()))
    summary = json.loads((out / SUMMARY).read_text())
    summary["out"] = str(out_given)
    return summary


def _summary(exp, preset, seed, cfg, ctx, wall, started) -> dict[str, Any]:
    return {
        "experiment": exp.name,
        "description": exp.description,
        "reproduces": exp.reproduces,
        "preset": preset,
        "seed": seed,
        "config": cfg.model_dump(mode="json"),
        "status": "diverged" if ctx.diverged else ("failed" if ctx.failed else "ok"),
        "diverged": ctx.diverged,
        "failed": ctx.failed,
        "metrics": ctx.metrics,
        "claims": evaluate_claims(exp.claims, ctx.metrics, preset),
        "timings": {"wall_s": wall, **ctx.timings},
        "started": started.isoformat(),
        "versions": versions(),
        "tables": ctx.tables,
        "figures": ctx.figures,
        "notes": ctx.notes,
        "warnings": ctx.warnings,
    }


def finished_summary(directory: str | os.PathLike, config: dict[str, Any], seed: int, *,
                     experiment: str | None = None) -> dict[str, Any] | None:
    """The summary in ``directory`` if it is a finished run with exactly this resolved
    ``config`` (as ``model_dump(mode="json")`` gives it) and ``seed`` (and ``experiment``, when
    given); ``None`` when there is none, it cannot be read, or it was made with other settings.
    Resuming sweeps and the demo skip such runs."""
    try:
        s = json.loads((Path(directory) / SUMMARY).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(s, dict) or s.get("config") != config or s.get("seed") != seed:
        return None
    if experiment is not None and s.get("experiment") != experiment:
        return None
    return s


def load_summary(directory: str | os.PathLike) -> dict[str, Any]:
    """Read ``DIR/summary.json`` of a finished run."""
    path = Path(directory) / SUMMARY
    if not path.is_file():
        raise SpecbiasError(f"No finished run in {str(directory)!r}: {SUMMARY} not found.")
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SpecbiasError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise SpecbiasError(f"{path} cannot be read: {exc.strerror}.") from None
    if not isinstance(summary, dict):
        raise SpecbiasError(f"{path} is not a specbias summary: expected a JSON object, got "
                            f"{type(summary).__name__}.")
    missing = [k for k, kind in _SUMMARY_KEYS.items() if not isinstance(summary.get(k), kind)]
    wall = summary.get("timings", {}).get("wall_s") if isinstance(summary.get("timings"), dict) \
        else None
    if not isinstance(wall, int | float) or isinstance(wall, bool):
        missing.append("timings.wall_s")
    if missing:
        raise SpecbiasError(f"{path} is not a complete specbias summary: missing or malformed "
                            f"{', '.join(repr(k) for k in missing)}.")
    return summary


_SUMMARY_KEYS = {"experiment": str, "preset": str, "seed": int, "status": str, "timings": dict,
                 "metrics": dict}
