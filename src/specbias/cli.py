"""The ``specbias`` command line: list, run, show, demo, sweep, verify, plan.

Exit status: 0 done; 1 a run diverged or some points/runs failed (the results are written and
say so); 2 bad input (one line naming the problem, nothing written); 130 interrupted by Ctrl-C
or SIGTERM (one line saying what was kept). A previous result at ``--out`` is replaced only
by a complete new one, and a directory that is not a specbias result is never touched.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

# Idle OpenMP threads (torch's) sleep instead of spin-waiting. Set before torch is first imported,
# and inherited by sweep workers: on a machine with other work running, spinning threads fight
# it for the cores, and a quick preset ran over 15x slower than with this set. A value already
# in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import click  # noqa: E402

from ._validation import SpecbiasError  # noqa: E402

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _fail(msg: str, code: int = EXIT_USAGE):
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def _guarded(fn):
    """Bad input -> one line, exit 2; Ctrl-C / SIGTERM -> one line, exit 130 (the command's
    own handler says what was kept); a filesystem error -> one line, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .interrupts import terminate_as_interrupt

        try:
            with terminate_as_interrupt():
                return fn(*args, **kwargs)
        except SpecbiasError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted", code=EXIT_INTERRUPTED)
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            _fail(f"{exc.strerror or exc}{where}", code=EXIT_FAILED)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="specbias")
def cli():
    """specbias: measure, predict and control the spectral bias of neural networks."""


# ----------------------------------------------------------------------------- list
def _config_help(name: str) -> str:
    """The config keys of experiment ``name``: type, default (quick preset), description, and
    the values each other preset sets."""
    from .experiments import get

    exp = get(name)
    lines = [f"{exp.name}: {exp.description}", f"reproduces: {exp.reproduces}", "",
             f"usage: specbias run {exp.name} [--preset {'|'.join(exp.preset_names())}] "
             "[--set KEY=VALUE ...] [--seed N] [--out DIR]", "", "config keys (default = quick preset):"]
    quick = exp.presets.get("quick", {})
    rows = []
    for key, field in exp.config.model_fields.items():
        ann = field.annotation
        kind = getattr(ann, "__name__", None) or str(ann).replace("typing.", "")
        default = quick.get(key, field.get_default(call_default_factory=True))
        rows.append((key, kind, json.dumps(default, default=str), field.description or ""))
    wk = max((len(r[0]) for r in rows), default=4)
    wt = max((len(r[1]) for r in rows), default=4)
    for key, kind, default, desc in rows:
        if len(default) > 60:
            default = default[:57] + "..."
        lines.append(f"  {key:<{wk}}  {kind:<{wt}}  = {default}" + (f"  ({desc})" if desc else ""))
    for preset in exp.preset_names():
        if preset == "quick":
            continue
        values = ", ".join(f"{k}={json.dumps(v)}" for k, v in exp.presets[preset].items())
        lines.append(f"preset {preset}: {values or '(the defaults)'}")
    return "\n".join(lines)


@cli.command("list")
@click.argument("name", required=False)
@click.option("--markdown", is_flag=True, help="a Markdown table of every experiment")
@_guarded
def list_cmd(name, markdown):
    """Every experiment, what it shows, and the figure/table it reproduces; with NAME, the
    experiment's config keys (type, default, description) and presets."""
    from .experiments import all_experiments

    if name:
        click.echo(_config_help(name))
        return
    exps = all_experiments()
    if markdown:
        from .report import experiments_markdown

        click.echo(experiments_markdown(exps))
        return
    width = max((len(n) for n in exps), default=10)
    for n, exp in exps.items():
        click.echo(f"{n:<{width}}  {exp.description}  [{exp.reproduces}]")


# ----------------------------------------------------------------------------- run
@cli.command("run", context_settings={"help_option_names": []})
@click.argument("name", required=False)
@click.option("--preset", default="quick", show_default=True, help="quick or paper")
@click.option("--out", "out", default=None, help="output directory (default out/NAME); must be "
              "new, empty, or a previous result")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="override a config value (JSON values accepted); repeatable")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="cpu", show_default=True,
              help="cpu, cuda, cuda:N, mps or auto (cpu is bit-reproducible)")
@click.option("--checkpoint-every", "checkpoint_every", default=None, type=int, metavar="STEPS",
              help="checkpoint training every STEPS steps (default: every few minutes of work); "
                   "rerunning with the same --out resumes from the last checkpoint")
@click.option("--no-checkpoint", "no_checkpoint", is_flag=True, help="no checkpoints")
@click.option("--tensorboard", "tensorboard", default=None, metavar="DIR",
              help="log losses, spectra and metrics to DIR while training (tensorboard --logdir "
                   "DIR); needs the tensorboard extra")
@click.option("--quiet", is_flag=True, help="no progress bars")
@click.option("-h", "--help", "show_help", is_flag=True,
              help="this help; with NAME, the experiment's config keys")
@_guarded
def run_cmd(name, preset, out, sets, seed, device, checkpoint_every, no_checkpoint, tensorboard,
            quiet, show_help):
    """Run experiment NAME and write summary.json, tables, figures and report.html.

    `specbias run NAME --help` lists NAME's config keys, types, defaults and presets."""
    from .runner import run_experiment

    if show_help:
        click.echo(_config_help(name) if name else click.get_current_context().get_help())
        return
    if not name:
        _fail("specbias run needs the NAME of an experiment; 'specbias list' shows them all.")

    dest = out if out is not None else str(Path("out") / name)
    try:
        summary = run_experiment(name, preset=preset, overrides=list(sets), seed=seed, out=out,
                                 quiet_progress=quiet, device=device,
                                 checkpoint_every=checkpoint_every,
                                 checkpoints=not no_checkpoint, tensorboard=tensorboard)
    except KeyboardInterrupt:
        kept = "" if no_checkpoint else "; training checkpoints are kept: rerun to resume"
        _fail(f"interrupted; nothing was written to {dest!r} (a previous result there is "
              f"unchanged){kept}", code=EXIT_INTERRUPTED)
    _print_summary(summary)
    click.echo(f"report: {Path(summary['out']) / 'report.html'}")
    if summary["status"] == "diverged":
        _fail(f"{name} diverged ({', '.join(summary['diverged'])}); the results written say "
              "where", code=EXIT_FAILED)


def _print_summary(summary):
    from .report import flatten

    click.echo(f"{summary['experiment']} ({summary['preset']}, seed {summary['seed']}): "
               f"{summary['status']} in {summary['timings']['wall_s']:.1f} s")
    for k, v in (summary.get("diverged") or {}).items():
        click.echo(f"  diverged: {k}: {v}")
    for k, v in (summary.get("failed") or {}).items():
        click.echo(f"  failed to train: {k}: {v}")
    for k, v in flatten(summary.get("metrics") or {}).items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, list) and len(v) > 8:
            v = json.dumps(v[:8])[:-1] + ", ...]"
        click.echo(f"  {k} = {v}")


@cli.command("show")
@click.argument("directory")
@_guarded
def show_cmd(directory):
    """Print the summary of a finished run."""
    from .runner import load_summary

    _print_summary(load_summary(directory))


# ----------------------------------------------------------------------------- demo
@cli.command("demo")
@click.argument("names", nargs=-1)
@click.option("--out", "out", default="out/demo", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N, mps or auto")
@click.option("--quiet", is_flag=True, help="no progress bars")
@_guarded
def demo_cmd(names, out, device, quiet):
    """Run the headline experiments (quick presets) and write an index of their reports.

    The index is rewritten as each run finishes; rerunning skips runs already finished with
    the same config, so an interrupted demo resumes."""
    from .demo import DemoInterrupted, run_demo

    try:
        result = run_demo(list(names), out=out, quiet=quiet, echo=click.echo,
                          print_summary=_print_summary, device=device)
    except DemoInterrupted as exc:
        _fail(f"interrupted; {exc}; rerun the same command to finish the rest",
              code=EXIT_INTERRUPTED)
    for s in result.runs:
        click.echo(f"report: {Path(s['out']) / 'report.html'}")
    click.echo(f"index:  {result.index}")
    bad = [f"{n} ({msg})" for n, msg in result.errors.items()]
    bad += [f"{s['experiment']} ({s['status']})" for s in result.runs if s["status"] == "diverged"]
    if bad:
        _fail(f"{len(bad)} of {len(result.names)} demo runs did not finish cleanly: "
              f"{'; '.join(bad)}", code=EXIT_FAILED)


# ----------------------------------------------------------------------------- sweep
@cli.command("sweep")
@click.argument("name")
@click.option("--grid", "grid", multiple=True, metavar="KEY=[V1,V2,...]",
              help="a swept config value (JSON list); repeatable")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="fixed override")
@click.option("--seeds", default="0", show_default=True, help="comma-separated seeds")
@click.option("--preset", default="quick", show_default=True)
@click.option("--out", "out", required=True, help="sweep directory (resumable)")
@click.option("--workers", default=1, show_default=True, type=int,
              help="parallel processes (local executor) or workers of a local dask cluster")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="local processes, or dask.distributed")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="a running dask scheduler (implies --executor dask)")
@click.option("--retries", default=0, show_default=True, type=int,
              help="rerun a point that raises this many times before recording its error")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N, mps or auto")
@click.option("--checkpoint-every", "checkpoint_every", default=None, type=int, metavar="STEPS",
              help="checkpoint each point's training every STEPS steps (default: every few "
                   "minutes of work)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@_guarded
def sweep_cmd(name, grid, sets, seeds, preset, out, workers, executor, scheduler, retries, device,
              checkpoint_every, quiet):
    """Run NAME over a grid of config values and seeds; rerun to resume an interrupted sweep.

    Points run in local processes (--workers N) or on dask: --executor dask starts a local
    cluster of N workers; --scheduler tcp://HOST:PORT uses a running cluster (start it with
    `dask scheduler` and `dask worker tcp://HOST:PORT --nthreads 1` on each machine)."""
    from .executors import make_executor
    from .progress import quiet as quiet_progress
    from .runner import parse_overrides
    from .sweep import SweepInterrupted, parse_grid, run_sweep

    parts = [s.strip() for s in seeds.split(",")]
    try:
        seed_list = [int(s) for s in parts]
    except ValueError:
        _fail(f"--seeds must be comma-separated integers, e.g. 0,1,2. Got {seeds!r}.")
    try:
        with quiet_progress(quiet):
            df = run_sweep(name, parse_grid(list(grid)), preset=preset, seeds=seed_list, out=out,
                           fixed=parse_overrides(list(sets)), workers=workers,
                           executor=make_executor(
                               executor, workers=workers, scheduler=scheduler, retries=retries,
                               run_options=_run_options(device, checkpoint_every)))
    except SweepInterrupted as exc:
        _fail(f"interrupted; {exc}; rerun the same command to resume", code=EXIT_INTERRUPTED)
    click.echo(f"{len(df)} points ({df.attrs.get('ran', 0)} run now, the rest resumed) -> "
               f"{Path(out) / 'sweep.parquet'}")
    errors = df.attrs.get("errors", {})
    if errors:
        first, msg = next(iter(errors.items()))
        _fail(f"{len(errors)} of {len(df)} points failed (rows with status 'error'; tracebacks "
              f"in {Path(out) / '<point>.error.txt'}); first: {first}: {msg}", code=EXIT_FAILED)


# ----------------------------------------------------------------------------- verify
@cli.command("verify")
@click.option("--preset", default="quick", show_default=True, help="quick or paper")
@click.option("--only", default=None, metavar="A,B", help="comma-separated experiments "
              "(default: all)")
@click.option("--workers", default=1, show_default=True, type=int, help="parallel processes")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="local processes, or dask.distributed")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="a running dask scheduler (implies --executor dask)")
@click.option("--out", "out", default="out/verify", show_default=True,
              help="where the runs, verify.json and verify.html go (rerun to resume)")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N, mps or auto")
@click.option("--quiet", is_flag=True, help="no progress bar")
@_guarded
def verify_cmd(preset, only, workers, executor, scheduler, out, device, quiet):
    """Run the experiments and check every paper claim they declare: prints "paper says / we
    measured / verdict" for each; exit 1 if a claim fails or a run raises."""
    from .executors import make_executor
    from .progress import quiet as quiet_progress
    from .verify import VerifyInterrupted, format_table, parse_only, run_verify

    names = parse_only(only)
    try:
        with quiet_progress(quiet):
            result = run_verify(names or None, preset=preset, out=out, workers=workers,
                                echo=click.echo,
                                executor=make_executor(
                                    executor, workers=workers, scheduler=scheduler,
                                    run_options=_run_options(device, None)))
    except VerifyInterrupted as exc:
        _fail(f"interrupted; {exc}; rerun the same command to finish the rest",
              code=EXIT_INTERRUPTED)
    for line in format_table(result.rows):
        click.echo(line)
    counts = ", ".join(f"{result.count(v)} {v}" for v in
                       ("holds", "finding", "fails", "not checked at this preset"))
    click.echo(f"{len(result.rows)} claims of {len(result.names)} experiments: {counts}")
    click.echo(f"table: {Path(out) / 'verify.html'}")
    if not result.ok:
        bad = [f"{r['experiment']}:{r['id']}" for r in result.failures]
        bad += [f"{n} (raised: {m})" for n, m in result.errors.items()]
        _fail(f"{len(bad)} claims failed or runs raised: {'; '.join(bad)}", code=EXIT_FAILED)


# ----------------------------------------------------------------------------- plan
def _register_plan() -> None:
    from .plan_cli import plan_cmd

    plan_cmd.callback = _guarded(plan_cmd.callback)
    cli.add_command(plan_cmd)


_register_plan()


def _run_options(device: str, checkpoint_every: int | None) -> dict:
    """Options every run of a sweep or verify gets; the device is checked here, once."""
    from .devices import resolve_device

    options: dict = {"device": resolve_device(device)}
    if checkpoint_every is not None:
        from ._validation import check_scalar

        options["checkpoint_every"] = int(check_scalar(checkpoint_every, "checkpoint_every",
                                                       kind=int, owner="sweep", min_val=1))
    return options


def main():  # pragma: no cover - thin wrapper
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _fail("interrupted", code=EXIT_INTERRUPTED)
    except SpecbiasError as exc:
        _fail(str(exc))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
