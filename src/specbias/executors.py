"""Where sweep points run: one interface, two engines.

An executor takes tasks ``(pid, experiment, preset, overrides, seed)`` and runs each into
``OUT/pid`` (a finished specbias run, written atomically), calling ``done(pid, summary=...)``
or ``done(pid, error=..., trace=...)`` in the calling process as each finishes. A task that
raises fails alone; ``retries`` runs it again that many times first.

- :class:`LocalExecutor` (the default, nothing to start): in this process, or on ``workers``
  spawned processes of this host whose BLAS/torch threads share the cores.
- :class:`DaskExecutor`: on a ``dask.distributed`` cluster, a ``LocalCluster`` started on this
  host or a running scheduler given by address (``tcp://HOST:PORT``) whose workers the user
  started (``dask worker tcp://HOST:PORT --nthreads 1`` on each machine). No shared filesystem
  is needed: a worker runs the point in a temporary directory of its own and sends the result
  (summary, tables, figures as bytes) back; this process writes it into ``OUT/pid``.

Experiments registered outside specbias reach worker processes through the environment variable
``SPECBIAS_EXPERIMENT_MODULES`` (comma-separated importable modules, imported by
:func:`specbias.experiments.load_all`); set it where the workers start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ._validation import ParameterError, SpecbiasError, check_scalar
from .interrupts import die_with_parent, terminate_as_interrupt
from .io import atomic_write_bytes
from .outdir import clean_leftovers, discard, make_staging, publish
from .runner import run_experiment

#: ``(pid, experiment, preset, overrides, seed)``
Task = tuple[str, str, str, dict[str, Any], int]
Done = Callable[..., None]


class Executor(Protocol):
    """Runs tasks into ``out / pid`` and reports each to ``done`` (see the module docstring)."""

    def run(self, tasks: Sequence[Task], out: Path, done: Done) -> None: ...


def _check_retries(retries, owner: str) -> int:
    return int(check_scalar(retries, "retries", kind=int, owner=owner, min_val=0, max_val=100))


class LocalExecutor:
    """This host: in this process (``workers=1``) or on ``workers`` spawned processes."""

    def __init__(self, workers: int = 1, retries: int = 0, run_options: dict | None = None):
        self.run_options = dict(run_options or {})  # e.g. device, checkpoint_every
        self.workers = int(check_scalar(workers, "workers", kind=int, owner="LocalExecutor",
                                        min_val=1, max_val=max(64, 4 * (os.cpu_count() or 1))))
        self.retries = _check_retries(retries, "LocalExecutor")

    def run(self, tasks: Sequence[Task], out: Path, done: Done) -> None:
        if self.workers == 1 or len(tasks) <= 1:
            for pid, name, preset, overrides, seed in tasks:
                for attempt in range(self.retries + 1):
                    try:
                        s = run_experiment(name, preset=preset, overrides=overrides, seed=seed,
                                           out=out / pid, quiet_progress=True, **self.run_options)
                    except Exception as exc:  # noqa: BLE001 - a failing point fails alone
                        if attempt == self.retries:
                            done(pid, error=one_line(exc), trace=traceback.format_exc())
                    else:
                        done(pid, summary=s)
                        break
        else:
            run_parallel(list(tasks), out, min(self.workers, len(tasks)), done,
                         retries=self.retries, run_options=self.run_options)


class DaskExecutor:
    """A ``dask.distributed`` cluster: ``scheduler`` (``tcp://HOST:PORT``) of a running one, or
    a ``LocalCluster`` of ``workers`` processes (one thread each) started on this host for the
    sweep and closed after it. Each point's torch/BLAS threads are pinned to its worker's share:
    ``threads`` when given, else the worker's ``--nthreads`` (a local cluster: the cores divided
    among its workers). A point whose worker is lost is rerun by the engine on another worker;
    ``retries`` also reruns points that raise."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 retries: int = 0, threads: int | None = None, run_options: dict | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:  # pragma: no cover - a declared dependency
            from ._validation import MissingDependencyError

            raise MissingDependencyError("the dask executor needs dask.distributed: "
                                         "pip install 'dask[distributed]'") from None
        if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
            raise ParameterError(f"The 'scheduler' parameter of DaskExecutor must be an address "
                                 f"like tcp://HOST:PORT. Got {scheduler!r} instead.")
        self.scheduler = scheduler
        self.run_options = dict(run_options or {})
        cores = os.cpu_count() or 1
        self.workers = int(check_scalar(workers if workers is not None else cores, "workers",
                                        kind=int, owner="DaskExecutor", min_val=1,
                                        max_val=max(64, 4 * cores)))
        self.retries = _check_retries(retries, "DaskExecutor")
        if threads is None and scheduler is None:
            threads = max(1, cores // self.workers)
        self.threads = threads

    def _client(self, stack: contextlib.ExitStack):
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                return stack.enter_context(Client(self.scheduler, timeout="20s"))
            except OSError as exc:
                raise ParameterError(f"Cannot reach the dask scheduler at {self.scheduler}: "
                                     f"{exc}. Start one with 'dask scheduler' and workers with "
                                     f"'dask worker {self.scheduler} --nthreads 1'.") from None
        cluster = stack.enter_context(LocalCluster(
            n_workers=self.workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR))
        return stack.enter_context(Client(cluster))

    def run(self, tasks: Sequence[Task], out: Path, done: Done) -> None:
        from distributed import as_completed

        if not tasks:
            return
        with contextlib.ExitStack() as stack:
            client = self._client(stack)
            futures = {}
            for pid, name, preset, overrides, seed in tasks:
                fut = client.submit(run_point_portable, name, preset, overrides, seed,
                                    self.threads, self.run_options, key=f"specbias-{pid}-{os.urandom(4).hex()}",
                                    pure=False, retries=self.retries)
                futures[fut] = pid
            try:
                for fut in as_completed(list(futures)):
                    pid = futures[fut]
                    if fut.status == "finished":
                        payload = fut.result()
                        write_point(out / pid, payload["files"])
                        done(pid, summary=payload["summary"])
                    else:
                        exc = fut.exception()
                        tb = fut.traceback()
                        trace = "".join(traceback.format_exception(type(exc), exc, tb))
                        done(pid, error=one_line(exc), trace=trace)
            except BaseException:
                client.cancel(list(futures), force=True)
                raise


def make_executor(executor: str = "local", *, workers: int = 1, scheduler: str | None = None,
                  retries: int = 0, run_options: dict[str, Any] | None = None) -> Executor:
    """The executor ``"local"`` or ``"dask"`` (a given ``scheduler`` implies dask);
    ``run_options`` go to every :func:`specbias.runner.run_experiment` (``device``,
    ``checkpoint_every``)."""
    if scheduler is not None:
        if executor not in ("local", "dask"):
            raise ParameterError(f"--executor must be local or dask. Got {executor!r}.")
        return DaskExecutor(scheduler=scheduler, retries=retries, run_options=run_options)
    if executor == "local":
        return LocalExecutor(workers=workers, retries=retries, run_options=run_options)
    if executor == "dask":
        return DaskExecutor(workers=workers, retries=retries, run_options=run_options)
    raise ParameterError(f"--executor must be local or dask. Got {executor!r} instead.")


def _pin_threads(threads: int | None) -> None:
    if threads is None:
        try:
            from distributed import get_worker

            threads = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):
            threads = 1
    threads = max(1, int(threads))
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(threads)
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)


def run_point_portable(name: str, preset: str, overrides: dict[str, Any], seed: int,
                       threads: int | None = None,
                       run_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one point in a temporary directory of this (worker) process and return
    ``{"summary": ..., "files": {name: bytes}}``; nothing is left on the worker's disk. A point
    that raises raises here (the engine reports it, or retries it)."""
    _pin_threads(threads)
    tmp = Path(tempfile.mkdtemp(prefix="specbias-point-"))
    try:
        summary = run_experiment(name, preset=preset, overrides=overrides, seed=seed,
                                 out=tmp / "run", quiet_progress=True, **(run_options or {}))
        files = {p.name: p.read_bytes() for p in sorted((tmp / "run").iterdir()) if p.is_file()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary.pop("out", None)
    return {"summary": summary, "files": files}


def write_point(dest: Path, files: dict[str, bytes]) -> None:
    """Write a point's files (as :func:`run_point_portable` returned them) into ``dest``
    atomically: all of them or, on failure, the previous content."""
    staging = make_staging(dest)
    try:
        for fname, data in files.items():
            if "/" in fname or fname.startswith("."):
                raise ValueError(f"unexpected file name in a point's result: {fname!r}")
            atomic_write_bytes(staging / fname, data)
        publish(staging, dest)
    except BaseException:
        discard(staging)
        raise


def one_line(exc: BaseException) -> str:
    """One line for a failed point: a specbias error's message, else ``Type: message``."""
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
                pid, name, preset, overrides, seed, out, options = task
                try:
                    s = run_experiment(name, preset=preset, overrides=overrides, seed=seed,
                                       out=out, quiet_progress=True, **options)
                except Exception as exc:  # noqa: BLE001 - reported to the parent
                    conn.send(("error", pid, one_line(exc), traceback.format_exc()))
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


def run_parallel(tasks, out: Path, n_workers: int, done, retries: int = 0,
                 run_options: dict[str, Any] | None = None) -> None:
    """Run ``tasks`` (``(pid, experiment, preset, overrides, seed)``, each into ``out / pid``)
    on ``n_workers`` spawned worker processes; ``done(pid, summary=...)`` or ``done(pid,
    error=..., trace=...)`` is called in this process as each finishes (a task whose worker dies
    is reported as an error and its leftovers removed). A task that raises or loses its worker
    is run again up to ``retries`` times. Ctrl-C / SIGTERM stop every worker."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    mp_ctx = mp.get_context("spawn")  # no fork of a process with live BLAS/OpenMP threads
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    queue = deque(tasks)
    by_pid = {t[0]: t for t in tasks}
    attempts: dict[str, int] = {}
    pool: list[_Worker] = []

    def failed(pid, error, trace):
        attempts[pid] = attempts.get(pid, 0) + 1
        if attempts[pid] <= retries:
            queue.append(by_pid[pid])
        else:
            done(pid, error=error, trace=trace)
    try:
        while queue or any(w.task for w in pool):
            while queue and len(pool) < n_workers:
                pool.append(_Worker(mp_ctx, threads))
            for w in pool:
                if w.task is None and queue:
                    pid, name, preset, overrides, seed = queue.popleft()
                    w.task = pid
                    try:
                        w.conn.send((pid, name, preset, overrides, seed, out / pid,
                                     dict(run_options or {})))
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
                            failed(pid, payload, trace)
                        w.task = None
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    w.proc.join(timeout=5)
                    msg = f"point {w.task} did not finish: {w.died()}"
                    clean_leftovers(out / w.task)
                    failed(w.task, msg, msg)
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
