"""Sweeps: one experiment over a grid of config values and seeds, resumable.

Each grid point is an ordinary run written atomically to ``OUT/<point-id>/``; a point whose
``summary.json`` exists with the same resolved config and seed is skipped, so an interrupted
sweep resumes where it stopped. Points can run in parallel processes (``workers``), since a
run is a pure function of ``(config, seed)``. The metrics of all points are collected into
``OUT/sweep.parquet`` (flattened metric names as columns).

>>> from specbias.sweep import grid_points
>>> grid_points({"width": [64, 128], "scale": [1.0]}, seeds=[0, 1])[:2]
[({'width': 64, 'scale': 1.0}, 0), ({'width': 64, 'scale': 1.0}, 1)]
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._validation import ParameterError, check_scalar
from .executors import Executor, LocalExecutor, Task
from .interrupts import terminate_as_interrupt
from .io import atomic_write_bytes, atomic_write_json, atomic_write_text
from .outdir import clean_directory, destination_path, ensure_writable
from .progress import progress
from .report import flatten
from .runner import check_seed, finished_summary, parse_overrides, resolve_config


def grid_points(grid: dict[str, list[Any]], seeds=(0,)) -> list[tuple[dict[str, Any], int]]:
    """The Cartesian product of ``grid`` values, times ``seeds``, in a stable order."""
    if not isinstance(grid, dict):
        raise ParameterError("The 'grid' parameter of sweep must be a dict of lists.")
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], list | tuple) or len(grid[k]) == 0:
            raise ParameterError(f"Grid values for {k!r} must be a non-empty list. Got {grid[k]!r}.")
    seeds = [check_seed(s, owner="sweep") for s in seeds]
    combos = itertools.product(*(grid[k] for k in keys)) if keys else [()]
    return [(dict(zip(keys, c, strict=True)), s) for c in combos for s in seeds]


def point_id(values: dict[str, Any], seed: int) -> str:
    """A readable, filesystem-safe directory name for a grid point."""
    body = json.dumps(values, sort_keys=True) + f"|{seed}"
    digest = hashlib.sha1(body.encode()).hexdigest()[:8]
    short = "_".join(f"{k}={v}" for k, v in sorted(values.items()))
    short = "".join(ch if ch.isalnum() or ch in "=._-" else "-" for ch in short)[:60]
    return f"{short or 'default'}_seed{seed}_{digest}"


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["width=[64,128]", "scale=2"]`` -> ``{"width": [64, 128], "scale": [2]}``."""
    grid = {}
    for k, v in parse_overrides(items).items():
        grid[k] = v if isinstance(v, list) else [v]
    return grid


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C or SIGTERM; ``kept`` points finished and stay on disk."""

    def __init__(self, kept: int, total: int, out):
        super().__init__(f"{kept} of {total} points finished and kept in {os.fspath(out)!r}")
        self.kept, self.total, self.out = kept, total, out


def check_sweep_dir(out: str | os.PathLike, name: str) -> Path:
    """A sweep's directory: new, empty, or an earlier sweep of the same experiment (resume).
    Anything else is refused with one line before any point runs."""
    path = destination_path(out)
    if path.is_dir() and os.listdir(path):
        try:
            info = json.loads((path / "sweep.json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            info = None
        if not isinstance(info, dict):
            raise ParameterError(
                f"--out {os.fspath(out)!r} is not empty and holds no specbias sweep (no "
                "sweep.json); choose a new or empty directory.")
        if info.get("experiment") != name:
            raise ParameterError(
                f"--out {os.fspath(out)!r} holds a sweep of {info.get('experiment')!r}, not "
                f"{name!r}; choose another directory.")
    ensure_writable(path, out)
    return path


def _error_file(out: Path, pid: str) -> Path:
    return out / f"{pid}.error.txt"


def run_sweep(name: str, grid: dict[str, list[Any]], *, preset: str = "quick", seeds=(0,),
              out: str | os.PathLike, fixed: dict[str, Any] | None = None,
              workers: int = 1, executor: Executor | None = None,
              retries: int = 0) -> pd.DataFrame:
    """Run ``name`` at every grid point and seed; skip points already finished.

    Returns (and writes to ``out/sweep.parquet``) one row per point: the grid values, the seed,
    ``status`` (``ok``, ``diverged``, ``failed`` or ``error``), ``error`` (the message of a point
    that raised or whose worker process died; its traceback is in ``out/POINT.error.txt``) and
    every flattened metric. A failing point fails alone: the others finish. ``fixed`` overrides
    apply to all points. Every point's config is validated before any point runs.

    Points run on ``executor`` (:mod:`specbias.executors`): by default a
    :class:`~specbias.executors.LocalExecutor` of ``workers`` processes on this host (in this
    process for ``workers=1``); a :class:`~specbias.executors.DaskExecutor` runs them on a
    dask cluster. ``retries`` reruns a point that raises that many times (with the default
    executor).

    Ctrl-C or SIGTERM stops the sweep within seconds: running points are abandoned (their
    staging directories removed), finished points stay, and :class:`SweepInterrupted` says how
    many; rerunning the same call resumes. Worker processes end with the sweep, also when the
    sweep's process is killed.
    """
    workers = check_scalar(workers, "workers", kind=int, owner="run_sweep", min_val=1,
                           max_val=max(64, 4 * (os.cpu_count() or 1)))
    if executor is None:
        executor = LocalExecutor(workers=int(workers), retries=retries)
    seeds = list(seeds)
    if not seeds:
        raise ParameterError("The 'seeds' parameter of run_sweep must name at least one seed. "
                             "Got none.")
    seeds = [check_seed(s, owner="sweep") for s in seeds]
    fixed = dict(fixed or {})
    points = grid_points(grid, seeds)
    todo, summaries, configs = [], {}, {}
    for values, seed in points:
        overrides = {**fixed, **values}
        configs[point_id(values, seed)] = resolve_config(name, preset, overrides).model_dump(
            mode="json")  # validate all first
    out_given = out
    out = check_sweep_dir(out, name)
    clean_directory(out)  # what killed workers or runs left here
    for values, seed in points:
        pid = point_id(values, seed)
        earlier = finished_summary(out / pid, configs[pid], seed)
        if earlier is not None:
            summaries[pid] = earlier
        else:
            todo.append((pid, {**fixed, **values}, seed))
    atomic_write_json(out / "sweep.json", {"experiment": name, "preset": preset, "grid": grid,
                                           "seeds": seeds, "fixed": fixed})
    errors: dict[str, str] = {}
    bar = progress(total=len(todo), desc=f"sweep {name}")

    def done(pid, summary=None, error=None, trace=None):
        if error is None:
            summaries[pid] = summary
            _error_file(out, pid).unlink(missing_ok=True)
        else:
            errors[pid] = error
            with contextlib.suppress(OSError):
                atomic_write_text(_error_file(out, pid), trace or error)
        bar.update()

    try:
        with terminate_as_interrupt():
            tasks: list[Task] = [(pid, name, preset, ov, seed) for pid, ov, seed in todo]
            executor.run(tasks, out, done)
    except KeyboardInterrupt:
        bar.close()
        kept = len(points) - len(todo) + sum(1 for pid, _, _ in todo if pid in summaries)
        raise SweepInterrupted(kept, len(points), out_given) from None
    bar.close()
    rows = []
    for values, seed in points:
        pid = point_id(values, seed)
        s = summaries.get(pid, {})
        rows.append({**{f"param.{k}": (json.dumps(v) if isinstance(v, list | dict) else v)
                        for k, v in values.items()},
                     "seed": seed, "status": "error" if pid in errors else s.get("status"),
                     "error": errors.get(pid), "dir": pid,
                     **{f"metric.{k}": v for k, v in flatten(s.get("metrics", {})).items()
                        if not isinstance(v, list)}})
    df = pd.DataFrame(rows)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(out / "sweep.parquet", buf.getvalue())
    df.attrs["ran"] = len(todo)
    df.attrs["errors"] = dict(errors)
    return df
