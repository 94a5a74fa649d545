"""``make demo``: the headline experiments (quick presets) and an index page of their reports.

The index (``OUT/index.html``) and a manifest (``OUT/demo.json``) are rewritten as each run
finishes, so an interrupted demo leaves a valid index of what finished; rerunning skips the
runs whose result already holds the same config and seed. A run that raises is recorded and
the others go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._validation import ParameterError, SpecbiasError
from .io import atomic_write_json, atomic_write_text
from .outdir import destination_path, ensure_writable
from .report import render_index
from .runner import finished_summary, resolve_config, run_experiment

MANIFEST = "demo.json"


class DemoInterrupted(KeyboardInterrupt):
    """The demo was stopped by Ctrl-C or SIGTERM; finished runs are kept and indexed."""


@dataclass
class DemoResult:
    names: list[str]
    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    index: Path | None = None


def check_demo_dir(out: str | os.PathLike) -> Path:
    """A demo directory: new, empty, or an earlier demo (it holds ``demo.json`` or a specbias
    demo ``index.html``); anything else is refused."""
    path = destination_path(out)
    if path.is_dir() and os.listdir(path):
        ours = (path / MANIFEST).is_file()
        if not ours and (path / "index.html").is_file():
            try:
                ours = "<title>specbias demo</title>" in (path / "index.html").read_text()
            except (OSError, UnicodeDecodeError):
                ours = False
        if not ours:
            raise ParameterError(f"--out {os.fspath(out)!r} is not empty and holds no specbias "
                                 "demo; choose a new or empty directory.")
    ensure_writable(path, out)
    return path


def _finished(directory: Path, name: str) -> dict[str, Any] | None:
    """The summary in ``directory`` if it is a finished quick-preset, seed-0 run of ``name``
    with today's config."""
    config = resolve_config(name, "quick").model_dump(mode="json")
    s = finished_summary(directory, config, 0, experiment=name)
    if s is None or not (directory / "report.html").is_file():
        return None
    s["out"] = str(directory)
    return s


def run_demo(names: list[str], *, out: str | os.PathLike = "out/demo", quiet: bool = False,
             echo: Callable[[str], None] = print,
             print_summary: Callable[[dict], None] | None = None,
             device: str = "cpu") -> DemoResult:
    """Run ``names`` (default: every experiment registered with ``demo=True``) into ``out``
    on ``device``."""
    from .devices import resolve_device
    from .experiments import all_experiments, get

    exps = all_experiments()
    names = list(names) or [n for n, e in exps.items() if e.demo]
    for n in names:
        get(n)  # unknown names are refused before anything runs
    device = resolve_device(device)
    root = check_demo_dir(out)
    result = DemoResult(names=names, index=Path(out) / "index.html")

    def write_index(pending: list[str]):
        atomic_write_text(root / "index.html", render_index(result.runs, errors=result.errors,
                                                            pending=pending))
        atomic_write_json(root / MANIFEST, {"runs": [s["experiment"] for s in result.runs],
                                            "errors": result.errors, "pending": pending})

    for i, n in enumerate(names):
        echo(f"== {n}")
        s = _finished(root / n, n)
        if s is not None:
            echo("   finished earlier with the same config: kept")
        else:
            try:
                s = run_experiment(n, preset="quick", out=root / n, quiet_progress=quiet,
                                   device=device)
            except KeyboardInterrupt:
                write_index(names[i:])
                raise DemoInterrupted(
                    f"{len(result.runs)} of {len(names)} runs finished and kept in "
                    f"{str(out)!r} (index.html lists them)") from None
            except SpecbiasError as exc:
                result.errors[n] = str(exc)
                echo(f"   error: {exc}")
                write_index(names[i + 1:])
                continue
        s["out"] = str(Path(out) / n)
        if print_summary is not None:
            print_summary(s)
        result.runs.append(s)
        write_index(names[i + 1:])
    return result
