"""--out never deletes what specbias did not write; publishing a result is atomic."""

import json
import multiprocessing as mp
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from specbias import outdir
from specbias._validation import ParameterError
from specbias.cli import cli
from specbias.experiments import ExperimentConfig, register_experiment
from specbias.runner import load_summary, run_experiment


class _Cfg(ExperimentConfig):
    value: float = 1.0


@register_experiment("_test-outdir", config=_Cfg, description="test only", reproduces="-")
def _exp(cfg, ctx):
    import matplotlib.pyplot as plt

    ctx.metric("value", cfg.value)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, cfg.value])
    ctx.figure("line", fig)


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def _one_error_line(result):
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_users_directory_is_refused_and_untouched(tmp_path):
    x = tmp_path / "x"
    (x / "sub").mkdir(parents=True)
    (x / "thesis.tex").write_text("keep")
    before = _tree(x)
    r = CliRunner().invoke(cli, ["run", "lucey-spectrum", "--set", "width=32", "--out", str(x)])
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert "not a specbias result" in line and "thesis.tex" in line
    assert _tree(x) == before and (x / "thesis.tex").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no staging left


def test_current_directory_and_a_sweep_are_refused(tmp_path, monkeypatch):
    (tmp_path / "data.csv").write_text("1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match="not a specbias result"):
        run_experiment("_test-outdir", out=".")
    assert (tmp_path / "data.csv").read_text() == "1"
    from specbias.sweep import run_sweep

    run_sweep("_test-outdir", {"value": [1.0, 2.0]}, out=tmp_path / "sw")
    before = _tree(tmp_path / "sw")
    with pytest.raises(ParameterError, match="not a specbias result.*sweep.json"):
        run_experiment("_test-outdir", out=tmp_path / "sw")
    assert _tree(tmp_path / "sw") == before


def test_empty_directory_and_previous_result_are_replaced(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    run_experiment("_test-outdir", out=out)
    assert load_summary(out)["metrics"]["value"] == 1.0
    run_experiment("_test-outdir", out=out, overrides={"value": 2.0})
    assert load_summary(out)["metrics"]["value"] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.parametrize("bad, needle", [
    ("", "must not be empty"),
    ("a" * 300, "too long"),
    ("nul\x00byte", "NUL"),
])
def test_bad_out_names_are_one_line(tmp_path, monkeypatch, bad, needle):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=needle):
        run_experiment("_test-outdir", out=bad)
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_out_exits_2(tmp_path):
    r = CliRunner().invoke(cli, ["run", "_test-outdir", "--out", ""])
    assert r.exit_code == 2 and "must not be empty" in _one_error_line(r)
    r = CliRunner().invoke(cli, ["run", "_test-outdir", "--out", str(tmp_path / ("b" * 300))])
    assert r.exit_code == 2 and "too long" in _one_error_line(r)


def test_failed_exchange_leaves_previous_result(tmp_path, monkeypatch):
    out = tmp_path / "r"
    run_experiment("_test-outdir", out=out)
    before = (out / "summary.json").read_text()

    def broken(staging, final):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(outdir, "_exchange", broken)
    with pytest.raises(OSError):
        run_experiment("_test-outdir", out=out, overrides={"value": 7.0})
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_fallback_swap_without_exchange(tmp_path, monkeypatch):
    out = tmp_path / "r"
    run_experiment("_test-outdir", out=out)

    def unsupported(staging, final):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(outdir, "_exchange", unsupported)
    run_experiment("_test-outdir", out=out, overrides={"value": 3.0})
    assert load_summary(out)["metrics"]["value"] == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


_CRASH_BETWEEN_RENAMES = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[2])
    import test_outdir  # registers _test-outdir
    from specbias import outdir
    from specbias.runner import run_experiment
    outdir._exchange = lambda s, f: (_ for _ in ()).throw(OSError(38, "no exchange"))
    outdir._between_renames = lambda: os._exit(9)  # a kill between the two renames
    run_experiment("_test-outdir", out=sys.argv[1], overrides={"value": 5.0})
""")


def test_kill_between_fallback_renames_is_recovered(tmp_path):
    out = tmp_path / "r"
    run_experiment("_test-outdir", out=out)  # value 1.0
    code = subprocess.run([sys.executable, "-c", _CRASH_BETWEEN_RENAMES, str(out),
                           os.path.dirname(__file__)], timeout=120).returncode
    assert code == 9
    assert not out.exists()  # the crash fell between the renames
    olds = [p.name for p in tmp_path.iterdir() if ".old-" in p.name]
    assert len(olds) == 1
    outdir.clean_leftovers(out)  # what every later run beside it does first
    assert load_summary(out)["metrics"]["value"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_stale_staging_of_dead_processes_is_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".r.partial-{dead.pid}-0123456789ab"
    stale.mkdir()
    (stale / "summary.json").write_text("{}")
    old = tmp_path / f".r.old-{dead.pid}-0123456789ab"
    old.mkdir()
    live = tmp_path / f".r.partial-{os.getpid()}-abcdef012345"  # a live writer's: kept
    live.mkdir()
    other = tmp_path / ".notes.partial-1-00"  # not ours by name: kept
    other.mkdir()
    run_experiment("_test-outdir", out=tmp_path / "r")
    assert not stale.exists() and not old.exists()
    assert live.exists() and other.exists()


def _publish_many(final, n, value):
    for i in range(n):
        staging = outdir.make_staging(final)
        (staging / "summary.json").write_text(json.dumps(
            {"experiment": "x", "tables": [], "figures": [], "writer": value, "i": i}))
        outdir.publish(staging, final)


def test_two_writers_of_one_destination_never_fail(tmp_path):
    final = tmp_path / "point"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_publish_many, args=(str(final), 60, v)) for v in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    s = json.loads((final / "summary.json").read_text())
    assert s["writer"] in (1, 2) and s["i"] == 59
    assert sorted(p.name for p in tmp_path.iterdir()) == ["point"]
