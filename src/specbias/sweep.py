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
import signal
import traceback
from collections import deque
from pathlib import Path
from typing import Any

import pandas as pd

from ._validation import ParameterError, SpecbiasError, check_scalar
from .interrupts import die_with_parent, terminate_as_interrupt
from .io import atomic_write_bytes, atomic_write_json, atomic_write_text
from .outdir import clean_directory, clean_leftovers, destination_path, ensure_writable
from .progress import progress
from .report import flatten
from .runner import check_seed, finished_summary, parse_overrides, resolve_config, run_experiment


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
              workers: int = 1) -> pd.DataFrame:
    """Run ``name`` at every grid point and seed; skip points already finished.

    Returns (and writes to ``out/sweep.parquet``) one row per point: the grid values, the seed,
    ``status`` (``ok``, ``diverged``, ``failed`` or ``error``), ``error`` (the message of a point
    that raised or whose worker process died; its traceback is in ``out/POINT.error.txt``) and
    every flattened metric. A failing point fails alone: the others finish. ``fixed`` overrides
    apply to all points. Every point's config is validated before any point runs.

    Ctrl-C or SIGTERM stops the sweep within seconds: running points are abandoned (their
    staging directories removed), finished points stay, and :class:`SweepInterrupted` says how
    many; rerunning the same call resumes. Worker processes end with the sweep, also when the
    sweep's process is killed.
    """
    workers = check_scalar(workers, "workers", kind=int, owner="run_sweep", min_val=1,
                           max_val=max(64, 4 * (os.cpu_count() or 1)))
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
            if workers == 1 or len(todo) <= 1:
                for pid, overrides, seed in todo:
                    try:
                        s = run_experiment(name, preset=preset, overrides=overrides, seed=seed,
                                           out=out / pid, quiet_progress=True)
                    except Exception as exc:  # noqa: BLE001 - a failing point fails alone
                        done(pid, error=_one_line(exc), trace=traceback.format_exc())
                    else:
                        done(pid, summary=s)
            else:
                tasks = [(pid, name, preset, ov, seed) for pid, ov, seed in todo]
                run_parallel(tasks, out, min(workers, len(todo)), done)
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


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    text = msg[0] if msg else ""
    return text if isinstance(exc, SpecbiasError) else f"{type(exc).__name__}: {text}"


# ------------------------------------------------------------------ worker processes
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_main(conn, parent_pid: int, threads: int) -> None:
    """A sweep worker: run the points it is sent until told to stop or its parent dies."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent coordinates Ctrl-C
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover
        pass
    with terminate_as_interrupt():
        try:
            while True:
                task = conn.recv()
                if task is None:
                    return
                pid, name, preset, overrides, seed, out = task
                try:
                    s = run_experiment(name, preset=preset, overrides=overrides, seed=seed,
                                       out=out, quiet_progress=True)
                except Exception as exc:  # noqa: BLE001 - reported to the parent
                    conn.send(("error", pid, _one_line(exc), traceback.format_exc()))
                else:
                    conn.send(("ok", pid, s, None))
        except (EOFError, OSError, KeyboardInterrupt):
            return


class _Worker:
    def __init__(self, mp_ctx, threads: int):
        parent_conn, child_conn = mp_ctx.Pipe()
        self.conn = parent_conn
        self.task: str | None = None
        saved_env = {k: os.environ.get(k) for k in _THREAD_VARS}
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: workers ignore ^C
        try:
            os.environ.update({k: str(threads) for k in _THREAD_VARS})
            self.proc = mp_ctx.Process(target=_worker_main, args=(child_conn, os.getpid(), threads),
                                       daemon=True, name="specbias-sweep-worker")
            self.proc.start()
        finally:
            signal.signal(signal.SIGINT, old_int)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child_conn.close()

    def died(self) -> str:
        code = self.proc.exitcode
        if code is not None and code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            return f"its worker process was killed by {sig}"
        return f"its worker process exited with status {code}"


def run_parallel(tasks, out: Path, n_workers: int, done) -> None:
    """Run ``tasks`` (``(pid, experiment, preset, overrides, seed)``, each into ``out / pid``)
    on ``n_workers`` spawned worker processes; ``done(pid, summary=...)`` or ``done(pid,
    error=..., trace=...)`` is called in this process as each finishes (a task whose worker dies
    is reported as an error and its leftovers removed). Ctrl-C / SIGTERM stop every worker."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    mp_ctx = mp.get_context("spawn")  # no fork of a process with live BLAS/OpenMP threads
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    queue = deque(tasks)
    pool: list[_Worker] = []
    try:
        while queue or any(w.task for w in pool):
            while queue and len(pool) < n_workers:
                pool.append(_Worker(mp_ctx, threads))
            for w in pool:
                if w.task is None and queue:
                    pid, name, preset, overrides, seed = queue.popleft()
                    w.task = pid
                    try:
                        w.conn.send((pid, name, preset, overrides, seed, out / pid))
                    except OSError:
                        pass  # the worker is gone; its sentinel reports it below
            busy = [w for w in pool if w.task]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
            for w in busy:
                if w.task is None:  # pragma: no cover - busy workers have a task
                    continue
                if w.conn in ready:
                    try:
                        kind, pid, payload, trace = w.conn.recv()
                    except (EOFError, OSError):
                        pass  # died while answering; handled as a death below
                    else:
                        if kind == "ok":
                            done(pid, summary=payload)
                        else:
                            done(pid, error=payload, trace=trace)
                        w.task = None
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    w.proc.join(timeout=5)
                    msg = f"point {w.task} did not finish: {w.died()}"
                    clean_leftovers(out / w.task)
                    done(w.task, error=msg, trace=msg)
                    w.task = None
                    pool.remove(w)
    finally:
        _shutdown(pool, out)


def _shutdown(pool: list[_Worker], out: Path, grace_s: float = 5.0) -> None:
    """Stop every worker: idle ones are told to stop, busy ones get SIGTERM (they discard their
    staging directory), and whatever is alive after ``grace_s`` is killed."""
    import time

    for w in pool:
        try:
            if w.task is None:
                w.conn.send(None)
            else:
                w.proc.terminate()
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + grace_s
    for w in pool:
        w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in pool:
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(timeout=5)
        if w.task:
            clean_leftovers(out / w.task)
        w.conn.close()
