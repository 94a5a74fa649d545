"""Command-line edge cases: every bad input is one line with exit 2; failures are not silent;
the demo resumes; `run NAME --help` lists the config; reports handle wide tables and
diverged runs."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from specbias import demo as demo_module
from specbias.cli import cli
from specbias.experiments import ExperimentConfig, register_experiment
from specbias.runner import label_empty_axes, run_experiment


class _Cfg(ExperimentConfig):
    value: float = 1.0
    diverge: bool = False
    columns: int = 3


@register_experiment("_test-cli", config=_Cfg, description="test only", reproduces="-",
                     presets={"quick": {}, "paper": {"value": 9.0}})
def _exp(cfg, ctx):
    import matplotlib.pyplot as plt
    import pandas as pd

    ctx.metric("value", cfg.value)
    y = np.full(5, np.nan) if cfg.diverge else np.arange(5.0)
    fig, ax = plt.subplots()
    ax.plot(np.arange(5), y, label="loss")
    ax.legend()
    ctx.figure("loss", fig)
    ctx.table("wide", pd.DataFrame({f"column_{i}": [1.0] for i in range(cfg.columns)}))
    if cfg.diverge:
        ctx.mark_diverged("member 0", "loss became non-finite at step 3")


@pytest.fixture
def runner():
    return CliRunner()


def _one_line(result):
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("args, needle", [
    (["run", "_test-cli", "--seed", str(2**64)], "'seed' parameter of run"),
    (["run", "_test-cli", "--seed", "-1"], "'seed' parameter of run"),
    (["run", "_test-cli", "--out", ""], "must not be empty"),
    (["sweep", "_test-cli", "--grid", "value=[1,2]", "--seeds", ",", "--out", "s"],
     "--seeds must be comma-separated integers"),
    (["sweep", "_test-cli", "--grid", "value=[1,2]", "--seeds", "0,x", "--out", "s"],
     "--seeds must be comma-separated integers"),
    (["sweep", "_test-cli", "--grid", "value=[1,2]", "--seeds", str(2**64), "--out", "s"],
     "'seed' parameter of sweep"),
    (["sweep", "_test-cli", "--grid", "value=[1,2]", "--workers", "0", "--out", "s"],
     "'workers' parameter"),
])
def test_bad_cli_input_is_one_line_exit_2(runner, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert needle in _one_line(r)
    assert list(tmp_path.iterdir()) == []


def test_sweep_out_that_is_a_file_or_a_users_directory(runner, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(cli, ["sweep", "_test-cli", "--grid", "value=[1]", "--out", str(f)])
    assert r.exit_code == 2 and "not a directory" in _one_line(r)
    d = tmp_path / "mine"
    d.mkdir()
    (d / "paper.tex").write_text("x")
    r = runner.invoke(cli, ["sweep", "_test-cli", "--grid", "value=[1]", "--out", str(d)])
    assert r.exit_code == 2 and "holds no specbias sweep" in _one_line(r)
    assert [p.name for p in d.iterdir()] == ["paper.tex"]


def test_sweep_out_on_a_read_only_directory(runner, tmp_path):
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        # root writes through permission bits: use a read-only filesystem instead
        target = ro / "sw" if not os.access(ro, os.W_OK) else "/sys/specbias-sweep"
        r = runner.invoke(cli, ["sweep", "_test-cli", "--grid", "value=[1]", "--out",
                                str(target)])
        assert r.exit_code == 2 and "not writable" in _one_line(r)
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("content, needle", [
    ("{}", "missing or malformed 'experiment'"),
    ("[]", "expected a JSON object"),
    ('{"experiment": "x", "preset": "quick", "seed": 0, "status": "ok", "metrics": {}}',
     "'timings'"),
    ("not json", "not valid JSON"),
])
def test_show_refuses_incomplete_summaries(runner, tmp_path, content, needle):
    (tmp_path / "summary.json").write_text(content)
    r = runner.invoke(cli, ["show", str(tmp_path)])
    assert r.exit_code == 2 and needle in _one_line(r)


def test_diverged_run_exits_1_and_its_report_says_so(runner, tmp_path):
    out = tmp_path / "d"
    r = runner.invoke(cli, ["run", "_test-cli", "--set", "diverge=true", "--out", str(out),
                            "--quiet"])
    assert r.exit_code == 1, r.output
    assert "diverged" in r.output.strip().splitlines()[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged"
    ok = runner.invoke(cli, ["run", "_test-cli", "--out", str(tmp_path / "ok"), "--quiet"])
    assert ok.exit_code == 0, ok.output


def test_empty_axes_are_labelled_not_drawn_blank():
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1, 2], [np.nan, np.inf, np.nan], label="diverged member")
    a.legend()
    b.plot([0, 1], [0, 1])
    assert label_empty_axes(fig, "diverged: nothing finite to plot") == 1
    assert a.get_legend() is None
    assert [t.get_text() for t in a.texts] == ["diverged: nothing finite to plot"]
    assert len(b.texts) == 0
    plt.close(fig)


def test_report_scrolls_wide_tables(tmp_path):
    run_experiment("_test-cli", out=tmp_path / "w", overrides={"columns": 40})
    html = (tmp_path / "w" / "report.html").read_text()
    assert re.search(r"<div class='scroll'><table[^>]*>\s*<thead>.*column_39", html, re.S)
    assert ".scroll{overflow-x:auto" in html


def test_run_help_lists_config_keys_types_defaults_and_presets(runner):
    for args in (["run", "_test-cli", "--help"], ["list", "_test-cli"]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.output
        assert re.search(r"value\s+float\s+= 1\.0", r.output), r.output
        assert re.search(r"diverge\s+bool\s+= false", r.output)
        assert "preset paper: value=9.0" in r.output
    r = runner.invoke(cli, ["run", "--help"])
    assert r.exit_code == 0 and "Run experiment NAME" in r.output
    r = runner.invoke(cli, ["run", "lucey-spectrm", "--help"])
    assert r.exit_code == 2 and "Did you mean: lucey-spectrum" in _one_line(r)
    r = runner.invoke(cli, ["list", "--markdown"])
    assert r.output.startswith("| experiment |") and "`lucey-spectrum`" in r.output


def test_demo_is_indexed_as_it_goes_and_resumes(runner, tmp_path, monkeypatch):
    out = tmp_path / "demo"
    real = demo_module.run_experiment
    calls = []

    def interrupted_second(name, **kw):
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(name, **kw)

    monkeypatch.setattr(demo_module, "run_experiment", interrupted_second)
    r = runner.invoke(cli, ["demo", "_test-cli", "lucey-mask", "--out", str(out), "--quiet"])
    assert r.exit_code == 130
    assert "1 of 2 runs finished" in r.output and "rerun" in r.output
    index = (out / "index.html").read_text()
    assert "_test-cli/report.html" in index and "not run yet" in index
    assert not (out / "lucey-mask").exists()
    # rerun: the finished run is kept, only the rest runs
    calls.clear()
    monkeypatch.setattr(demo_module, "run_experiment", real)
    r = runner.invoke(cli, ["demo", "_test-cli", "lucey-mask", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "finished earlier with the same config: kept" in r.output
    index = (out / "index.html").read_text()
    assert "lucey-mask/report.html" in index and "not run yet" not in index


def test_demo_index_shows_failed_parts_and_refuses_a_users_directory(runner, tmp_path):
    out = tmp_path / "demo"
    r = runner.invoke(cli, ["demo", "_test-cli", "--out", str(out), "--quiet"])
    assert r.exit_code == 0
    summary = json.loads((out / "_test-cli" / "summary.json").read_text())
    from specbias.report import render_index

    summary["failed"] = {"sinc": "test accuracy at chance", "wavepacket": "did not fit"}
    html = render_index([summary])
    assert "failed to train: sinc, wavepacket" in html
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("<html>my homepage</html>")
    r = runner.invoke(cli, ["demo", "_test-cli", "--out", str(mine)])
    assert r.exit_code == 2 and "holds no specbias demo" in _one_line(r)
    assert (mine / "index.html").read_text() == "<html>my homepage</html>"
