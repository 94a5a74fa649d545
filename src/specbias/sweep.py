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

import hashlib
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from ._validation import ParameterError, check_scalar
from .io import atomic_write_bytes, atomic_write_json
from .progress import progress
from .report import flatten
from .runner import SUMMARY, parse_overrides, resolve_config, run_experiment


def grid_points(grid: dict[str, list[Any]], seeds=(0,)) -> list[tuple[dict[str, Any], int]]:
    """The Cartesian product of ``grid`` values, times ``seeds``, in a stable order."""
    if not isinstance(grid, dict):
        raise ParameterError("The 'grid' parameter of sweep must be a dict of lists.")
    keys = list(grid)
    for k in keys:
        if not isinstance(grid[k], list | tuple) or len(grid[k]) == 0:
            raise ParameterError(f"Grid values for {k!r} must be a non-empty list. Got {grid[k]!r}.")
    seeds = [check_scalar(s, "seed", kind=int, owner="sweep", min_val=0) for s in seeds]
    combos = itertools.product(*(grid[k] for k in keys)) if keys else [()]
    return [(dict(zip(keys, c, strict=True)), s) for c in combos for s in seeds]


def point_id(values: dict[str, Any], seed: int) -> str:
    """A readable, filesystem-safe directory name for a grid point."""
    body = json.dumps(values, sort_keys=True) + f"|{seed}"
    digest = hashlib.sha1(body.encode()).hexdigest()[:8]
    short = "_".join(f"{k}={v}" for k, v in sorted(values.items()))
    short = "".join(ch if ch.isalnum() or ch in "=._-" else "-" for ch in short)[:60]
    return f"{short or 'default'}_seed{seed}_{digest}"


def _is_done(path: Path, config: dict, seed: int) -> bool:
    f = path / SUMMARY
    if not f.is_file():
        return False
    try:
        s = json.loads(f.read_text())
    except json.JSONDecodeError:
        return False
    return s.get("config") == config and s.get("seed") == seed


def _run_point(name, preset, values, seed, out):
    summary = run_experiment(name, preset=preset, overrides=values, seed=seed, out=out,
                             quiet_progress=True)
    return summary


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["width=[64,128]", "scale=2"]`` -> ``{"width": [64, 128], "scale": [2]}``."""
    grid = {}
    for k, v in parse_overrides(items).items():
        grid[k] = v if isinstance(v, list) else [v]
    return grid


def run_sweep(name: str, grid: dict[str, list[Any]], *, preset: str = "quick", seeds=(0,),
              out: str | os.PathLike, fixed: dict[str, Any] | None = None,
              workers: int = 1) -> pd.DataFrame:
    """Run ``name`` at every grid point and seed; skip points already finished.

    Returns (and writes to ``out/sweep.parquet``) one row per point: the grid values, the seed,
    ``status`` and every flattened metric. ``fixed`` overrides apply to all points.
    """
    workers = check_scalar(workers, "workers", kind=int, owner="run_sweep", min_val=1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fixed = dict(fixed or {})
    points = grid_points(grid, seeds)
    todo, summaries = [], {}
    for values, seed in points:
        overrides = {**fixed, **values}
        cfg = resolve_config(name, preset, overrides).model_dump(mode="json")  # validate all first
        pid = point_id(values, seed)
        if _is_done(out / pid, cfg, seed):
            summaries[pid] = json.loads((out / pid / SUMMARY).read_text())
        else:
            todo.append((pid, overrides, seed))
    atomic_write_json(out / "sweep.json", {"experiment": name, "preset": preset, "grid": grid,
                                           "seeds": list(seeds), "fixed": fixed})
    bar = progress(total=len(todo), desc=f"sweep {name}")
    if workers == 1:
        for pid, overrides, seed in todo:
            summaries[pid] = _run_point(name, preset, overrides, seed, out / pid)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(_run_point, name, preset, ov, seed, out / pid): pid
                    for pid, ov, seed in todo}
            for fut in as_completed(futs):
                summaries[futs[fut]] = fut.result()
                bar.update()
    bar.close()
    rows = []
    for values, seed in points:
        s = summaries[point_id(values, seed)]
        rows.append({**{f"param.{k}": (json.dumps(v) if isinstance(v, list | dict) else v)
                        for k, v in values.items()},
                     "seed": seed, "status": s.get("status"), "dir": point_id(values, seed),
                     **{f"metric.{k}": v for k, v in flatten(s.get("metrics", {})).items()
                        if not isinstance(v, list)}})
    df = pd.DataFrame(rows)
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(out / "sweep.parquet", buf.getvalue())
    df.attrs["ran"] = len(todo)
    return df
