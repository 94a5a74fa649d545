"""The ``specbias`` command line: list, run, show, demo.

Bad input exits with status 2 and one line naming the problem.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._validation import SpecbiasError


def _fail(msg: str, code: int = 2):
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specbias")
def cli():
    """specbias: measure, predict and control the spectral bias of neural networks."""


@cli.command("list")
def list_cmd():
    """Every experiment, what it shows, and the figure/table it reproduces."""
    from .experiments import all_experiments

    exps = all_experiments()
    width = max((len(n) for n in exps), default=10)
    for name, exp in exps.items():
        click.echo(f"{name:<{width}}  {exp.description}  [{exp.reproduces}]")


@cli.command("run")
@click.argument("name")
@click.option("--preset", default="quick", show_default=True, help="quick or paper")
@click.option("--out", "out", default=None, help="output directory (default out/NAME)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a config value (JSON values accepted); repeatable")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quiet", is_flag=True, help="no progress bars")
def run_cmd(name, preset, out, sets, seed, quiet):
    """Run experiment NAME and write summary.json, tables, figures and report.html."""
    from .runner import run_experiment

    try:
        summary = run_experiment(name, preset=preset, overrides=list(sets), seed=seed, out=out,
                                 quiet_progress=quiet)
    except SpecbiasError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; no partial results were written", code=130)
    _print_summary(summary)
    click.echo(f"report: {Path(summary['out']) / 'report.html'}")


def _print_summary(summary):
    from .report import flatten

    click.echo(f"{summary['experiment']} ({summary['preset']}, seed {summary['seed']}): "
               f"{summary['status']} in {summary['timings']['wall_s']:.1f} s")
    for k, v in summary.get("diverged", {}).items():
        click.echo(f"  diverged: {k}: {v}")
    for k, v in summary.get("failed", {}).items():
        click.echo(f"  failed to train: {k}: {v}")
    for k, v in flatten(summary.get("metrics", {})).items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, list) and len(v) > 8:
            v = json.dumps(v[:8])[:-1] + ", ...]"
        click.echo(f"  {k} = {v}")


@cli.command("show")
@click.argument("directory")
def show_cmd(directory):
    """Print the summary of a finished run."""
    from .runner import load_summary

    try:
        summary = load_summary(directory)
    except SpecbiasError as exc:
        _fail(str(exc))
    _print_summary(summary)


@cli.command("demo")
@click.argument("names", nargs=-1)
@click.option("--out", "out", default="out/demo", show_default=True)
@click.option("--quiet", is_flag=True, help="no progress bars")
def demo_cmd(names, out, quiet):
    """Run the headline experiments (quick presets) and write an index of their reports."""
    from .experiments import all_experiments
    from .io import atomic_write_text
    from .report import render_index
    from .runner import run_experiment

    exps = all_experiments()
    names = list(names) or [n for n, e in exps.items() if e.demo]
    runs = []
    try:
        for n in names:
            click.echo(f"== {n}")
            s = run_experiment(n, preset="quick", out=Path(out) / n, quiet_progress=quiet)
            _print_summary(s)
            runs.append(s)
    except SpecbiasError as exc:
        _fail(str(exc))
    atomic_write_text(Path(out) / "index.html", render_index(runs))
    for s in runs:
        click.echo(f"report: {Path(s['out']) / 'report.html'}")
    click.echo(f"index:  {Path(out) / 'index.html'}")


@cli.command("sweep")
@click.argument("name")
@click.option("--grid", "grid", multiple=True, metavar="KEY=[V1,V2,...]",
              help="a swept config value (JSON list); repeatable")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="fixed override")
@click.option("--seeds", default="0", show_default=True, help="comma-separated seeds")
@click.option("--preset", default="quick", show_default=True)
@click.option("--out", "out", required=True, help="sweep directory (resumable)")
@click.option("--workers", default=1, show_default=True, type=int, help="parallel processes")
@click.option("--quiet", is_flag=True, help="no progress bar")
def sweep_cmd(name, grid, sets, seeds, preset, out, workers, quiet):
    """Run NAME over a grid of config values and seeds; rerun to resume an interrupted sweep."""
    from .progress import quiet as quiet_progress
    from .runner import parse_overrides
    from .sweep import parse_grid, run_sweep

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        _fail(f"--seeds must be comma-separated integers. Got {seeds!r}.")
    try:
        with quiet_progress(quiet):
            df = run_sweep(name, parse_grid(list(grid)), preset=preset, seeds=seed_list, out=out,
                           fixed=parse_overrides(list(sets)), workers=workers)
    except SpecbiasError as exc:
        _fail(str(exc))
    click.echo(f"{len(df)} points ({df.attrs.get('ran', 0)} run now, the rest resumed) -> "
               f"{Path(out) / 'sweep.parquet'}")


def main():  # pragma: no cover - thin wrapper
    try:
        cli(standalone_mode=True)
    except SpecbiasError as exc:
        _fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
