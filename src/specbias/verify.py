"""``specbias verify``: run the experiments and check every paper claim they declare.

Each experiment runs (seed 0, the given preset) into ``OUT/NAME`` as ``specbias run`` would;
a result already there with the same config is reused, so an interrupted verify resumes. The
claims are then evaluated with today's declarations (:mod:`specbias.claims`) on each run's
metrics, and ``OUT/verify.json`` and ``OUT/verify.html`` hold the table "paper says / we
measured / verdict" of all of them. Verification fails when a claim fails (a check that does
not pass, a documented finding that no longer reproduces, a metric that is missing), when an
experiment declares no claim, or when a run raises.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._validation import ParameterError
from .claims import FAILS, FINDING, HOLDS, NOT_CHECKED, evaluate_claims
from .interrupts import terminate_as_interrupt
from .io import atomic_write_json, atomic_write_text
from .outdir import clean_directory, destination_path, ensure_writable
from .progress import progress
from .report import _CSS, claims_table
from .runner import finished_summary, resolve_config

MANIFEST = "verify.json"


class VerifyInterrupted(KeyboardInterrupt):
    """Verification was stopped by Ctrl-C or SIGTERM; finished runs are kept."""


@dataclass
class VerifyResult:
    preset: str
    names: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    ran: int = 0

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r["verdict"] == verdict)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["verdict"] == FAILS]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


def check_verify_dir(out: str | os.PathLike) -> Path:
    """A verify directory: new, empty, or an earlier verify (it holds ``verify.json``)."""
    path = destination_path(out)
    if path.is_dir() and os.listdir(path) and not (path / MANIFEST).is_file():
        raise ParameterError(f"--out {os.fspath(out)!r} is not empty and holds no specbias "
                             "verification; choose a new or empty directory.")
    ensure_writable(path, out)
    return path


def parse_only(only: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]`` (names checked against the registry)."""
    from .experiments import get

    if not only:
        return []
    names = [n.strip() for n in only.split(",") if n.strip()]
    if not names:
        raise ParameterError(f"--only expects comma-separated experiment names. Got {only!r}.")
    for n in names:
        get(n)
    return names


def claim_rows(name: str, summary: dict[str, Any] | None, preset: str) -> list[dict[str, Any]]:
    """The claim rows of experiment ``name`` evaluated on ``summary``'s metrics with today's
    declarations; an experiment that declares no claim gets one failing row saying so."""
    from .experiments import get

    exp = get(name)
    if not exp.claims:
        return [{"experiment": name, "id": "-", "statement": "(no claim declared)",
                 "where": exp.reproduces, "paper_value": None, "check": "-", "measured": "",
                 "finding": None, "verdict": FAILS}]
    rows = evaluate_claims(exp.claims, (summary or {}).get("metrics", {}), preset)
    return [{"experiment": name, **r} for r in rows]


def run_verify(names: list[str] | None = None, *, preset: str = "quick",
               out: str | os.PathLike = "out/verify", workers: int = 1,
               echo: Callable[[str], None] = print, executor: Any = None) -> VerifyResult:
    """Run ``names`` (default: every registered experiment) at ``preset`` into ``out`` and
    evaluate their claims; see the module docstring. Runs go to ``executor``
    (:mod:`specbias.executors`; default: ``workers`` local processes)."""
    from .executors import LocalExecutor, Task
    from .experiments import all_experiments, get

    exps = all_experiments()
    names = list(names or exps)
    configs = {}
    for n in names:
        exp = get(n)
        if preset not in exp.presets:
            raise ParameterError(f"Unknown preset {preset!r} for {n}. Choose one of: "
                                 f"{', '.join(exp.preset_names())}.")
        configs[n] = resolve_config(n, preset).model_dump(mode="json")  # all validated first
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"The 'workers' parameter of verify must be an int >= 1. Got "
                             f"{workers!r} instead.")
    root = check_verify_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    clean_directory(root)
    result = VerifyResult(preset=preset, names=names)
    summaries: dict[str, dict[str, Any]] = {}
    todo = []
    for n in names:
        s = finished_summary(root / n, configs[n], 0, experiment=n)
        if s is not None:
            summaries[n] = s
        else:
            todo.append(n)
    if len(todo) < len(names):
        echo(f"{len(names) - len(todo)} of {len(names)} runs finished earlier with the same "
             "config: kept")
    bar = progress(total=len(todo), desc=f"verify ({preset})")

    def done(pid, summary=None, error=None, trace=None):
        if error is None:
            summaries[pid] = summary
        else:
            result.errors[pid] = error
            echo(f"   {pid}: error: {error}")
        bar.update()
        write()

    def write() -> None:
        result.rows = [r for n in names if n not in result.errors
                       for r in claim_rows(n, summaries.get(n), preset) if n in summaries]
        atomic_write_json(root / MANIFEST, {
            "preset": preset, "written": datetime.now(UTC).isoformat(), "experiments": names,
            "pending": [n for n in names if n not in summaries and n not in result.errors],
            "errors": result.errors, "claims": result.rows,
            "counts": {v: result.count(v) for v in (HOLDS, FINDING, FAILS, NOT_CHECKED)}})
        atomic_write_text(root / "verify.html", render_verify(result, pending=[
            n for n in names if n not in summaries and n not in result.errors]))

    if executor is None:
        executor = LocalExecutor(workers=workers)
    try:
        tasks: list[Task] = [(n, n, preset, {}, 0) for n in todo]
        with terminate_as_interrupt():
            executor.run(tasks, root, done)
    except KeyboardInterrupt:
        bar.close()
        write()
        raise VerifyInterrupted(f"{len(summaries)} of {len(names)} runs finished and kept in "
                                f"{str(out)!r}") from None
    bar.close()
    result.ran = len(todo)
    write()
    return result


def render_verify(result: VerifyResult, pending: list[str] | None = None) -> str:
    """The HTML page of a verification: counts, then every claim of every experiment."""
    counts = ", ".join(f"{result.count(v)} {v}" for v in (HOLDS, FINDING, FAILS, NOT_CHECKED))
    errors = "".join(f"<li><b>{html.escape(n)}</b>: {html.escape(m)}</li>"
                     for n, m in result.errors.items())
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>specbias verify</title>"
             f"<style>{_CSS}</style></head><body><h1>specbias verify</h1>",
             f"<p class='sub'>preset <b>{html.escape(result.preset)}</b> &middot; "
             f"{len(result.names)} experiments &middot; {counts}</p>"]
    if errors:
        parts.append(f"<div class='bad'><b>Runs that raised</b><ul>{errors}</ul></div>")
    if pending:
        parts.append("<p class='warn'>Not run yet: " + html.escape(", ".join(pending)) + "</p>")
    parts.append(claims_table(result.rows, experiment_column=True))
    parts.append("</body></html>")
    return "\n".join(parts)


def format_table(rows: list[dict[str, Any]], width: int = 100) -> list[str]:
    """Plain-text lines of the claims table for the terminal."""
    lines = []
    wn = max((len(r["experiment"]) for r in rows), default=10)
    wi = max((len(r["id"]) for r in rows), default=5)
    for r in rows:
        measured = r.get("measured") or ""
        if len(measured) > 48:
            measured = measured[:45] + "..."
        lines.append(f"{r['experiment']:<{wn}}  {r['id']:<{wi}}  {r['verdict']:<8}  {measured}")
    return lines
