"""Executors: the same sweep on local processes and on dask gives the same numbers; a point
that raises fails alone (its row says why), `retries` reruns it; experiments registered outside
specbias reach the workers through $SPECBIAS_EXPERIMENT_MODULES."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap

import pandas as pd
import pytest
from click.testing import CliRunner

from specbias._validation import ParameterError
from specbias.cli import cli
from specbias.executors import DaskExecutor, LocalExecutor, make_executor, run_point_portable
from specbias.sweep import run_sweep

pytestmark = pytest.mark.timeout(240)

_FLAKY = textwrap.dedent('''
    import os
    import time
    from pydantic import Field
    from specbias.experiments import ExperimentConfig, register_experiment

    class FlakyConfig(ExperimentConfig):
        fail_times: int = Field(0, ge=0)
        value: float = 1.0
        marker_dir: str = ""
        seconds: float = Field(0.0, ge=0)

    @register_experiment("_test-flaky", config=FlakyConfig, description="test only",
                         reproduces="-")
    def _flaky(cfg, ctx):
        tag = f"v{cfg.value:g}-f{cfg.fail_times}-"  # one attempt counter per point
        seen = [f for f in os.listdir(cfg.marker_dir) if f.startswith(tag)]
        open(os.path.join(cfg.marker_dir, tag + str(len(seen))), "w").close()
        time.sleep(cfg.seconds)
        if len(seen) < cfg.fail_times:
            raise RuntimeError(f"attempt {len(seen) + 1} of point {cfg.value:g} failed")
        ctx.metric("value", cfg.value)
        ctx.metric("attempts", len(seen) + 1)
''')


@pytest.fixture(scope="module")
def flaky_module(tmp_path_factory):
    """A module registering `_test-flaky`, importable here and in worker processes."""
    d = tmp_path_factory.mktemp("plugins")
    (d / "specbias_test_flaky.py").write_text(_FLAKY)
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(d))
    mp.setenv("PYTHONPATH", os.pathsep.join([str(d), os.environ.get("PYTHONPATH", "")]))
    mp.setenv("SPECBIAS_EXPERIMENT_MODULES", "specbias_test_flaky")
    importlib.import_module("specbias_test_flaky")
    yield d
    mp.undo()
    sys.modules.pop("specbias_test_flaky", None)


@pytest.fixture(scope="module")
def cluster(flaky_module):
    """A two-worker dask cluster on this host (started after the plugin's environment is set)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as c:
        yield c


def test_dask_sweep_gives_the_local_numbers_and_writes_every_point(tmp_path, cluster):
    grid = {"width": [32, 48]}
    local = run_sweep("lucey-spectrum", grid, out=tmp_path / "local")
    dask = run_sweep("lucey-spectrum", grid, out=tmp_path / "dask",
                     executor=DaskExecutor(scheduler=cluster.scheduler_address))
    metrics = [c for c in local.columns if c.startswith("metric.")]
    assert metrics and (local[metrics].values == dask[metrics].values).all()
    for pid in dask["dir"]:  # the driver wrote each point from the bytes the worker sent back
        files = sorted(p.name for p in (tmp_path / "dask" / pid).iterdir())
        assert "summary.json" in files and "report.html" in files
        assert any(f.endswith(".png") for f in files)
    # resumed: nothing reruns
    again = run_sweep("lucey-spectrum", grid, out=tmp_path / "dask",
                      executor=DaskExecutor(scheduler=cluster.scheduler_address))
    assert again.attrs["ran"] == 0


@pytest.mark.parametrize("engine", ["local-processes", "dask"])
def test_a_failing_point_fails_alone_and_retries_rerun_it(tmp_path, cluster, engine):
    marks = tmp_path / "marks"
    marks.mkdir()
    fixed = {"marker_dir": str(marks)}

    def executor(retries):
        if engine == "dask":
            return DaskExecutor(scheduler=cluster.scheduler_address, retries=retries)
        return LocalExecutor(workers=2, retries=retries)

    # point 2 always fails, point 3 fails once; one retry each
    out = tmp_path / "b"
    rows = []
    for v, fails in ((1.0, 0), (2.0, 99), (3.0, 1)):
        rows.append(run_sweep("_test-flaky", {"value": [v]}, out=out / f"p{v:g}",
                              executor=executor(1), fixed={**fixed, "fail_times": fails}))
    status = [r["status"].iloc[0] for r in rows]
    assert status == ["ok", "error", "ok"]
    assert "attempt 2 of point 2 failed" in rows[1]["error"].iloc[0]
    assert rows[2]["metric.attempts"].iloc[0] == 2  # the retry ran it again
    err_files = list((out / "p2").glob("*.error.txt"))
    assert err_files and "RuntimeError" in err_files[0].read_text()


def test_one_failing_point_among_others_in_one_sweep(tmp_path, cluster):
    """Through the command line on the cluster: every other row is written and it exits 1."""
    marks = tmp_path / "marks"
    marks.mkdir()
    r = CliRunner().invoke(cli, ["sweep", "_test-flaky", "--grid", "fail_times=[0,99]",
                                 "--grid", "value=[5.0]", "--set", f"marker_dir={marks}",
                                 "--scheduler", cluster.scheduler_address,
                                 "--out", str(tmp_path / "s"), "--quiet"])
    assert r.exit_code == 1, r.output
    assert "1 of 2 points failed" in r.output and "attempt 1 of point 5 failed" in r.output
    df = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert sorted(df["status"]) == ["error", "ok"]


def test_the_portable_point_leaves_nothing_on_the_worker(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    payload = run_point_portable("lucey-spectrum", "quick", {"width": 32}, 0, threads=1)
    assert "summary.json" in payload["files"] and payload["summary"]["status"] == "ok"
    assert list(tmp_path.iterdir()) == []


def test_bad_executor_settings_are_refused():
    with pytest.raises(ParameterError, match="'scheduler' parameter"):
        DaskExecutor(scheduler="localhost:8786")
    with pytest.raises(ParameterError, match="'retries'"):
        LocalExecutor(retries=-1)
    with pytest.raises(ParameterError, match="'workers'"):
        DaskExecutor(workers=0)
    with pytest.raises(ParameterError, match="local or dask"):
        make_executor("slurm")


def test_sweep_cli_on_a_local_dask_cluster(tmp_path):
    r = CliRunner().invoke(cli, ["sweep", "lucey-spectrum", "--grid", "width=[32]", "--executor",
                                 "dask", "--workers", "1", "--out", str(tmp_path / "sw"),
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(tmp_path / "sw" / "sweep.parquet")
    assert list(df["status"]) == ["ok"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_scheduler_and_two_workers_survive_losing_a_worker(tmp_path, flaky_module):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as a user starts them; one
    worker is killed mid-sweep; every row is still written, equal to the local executor's."""
    import signal
    import subprocess
    import time

    bin_dir = os.path.dirname(sys.executable)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.environ["PYTHONPATH"],
           "SPECBIAS_EXPERIMENT_MODULES": "specbias_test_flaky"}
    procs = []

    def start(*args):
        p = subprocess.Popen([os.path.join(bin_dir, "dask"), *args], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        procs.append(p)
        return p

    marks = tmp_path / "marks"
    marks.mkdir()
    grid = {"value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    fixed = {"marker_dir": str(marks)}
    try:
        start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        workers = [start("worker", address, "--nthreads", "1", "--no-dashboard")
                   for _ in range(2)]
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)

        killed = {}

        def kill_first_worker_once_started():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not os.listdir(marks):
                time.sleep(0.05)
            os.killpg(workers[0].pid, signal.SIGKILL)
            killed["at"] = len(os.listdir(marks))

        import threading

        t = threading.Thread(target=kill_first_worker_once_started, daemon=True)
        t.start()
        df = run_sweep("_test-flaky", grid, out=tmp_path / "dask",
                       fixed={**fixed, "seconds": 1.0},
                       executor=DaskExecutor(scheduler=address))
        t.join(timeout=30)
        assert "at" in killed, "the worker was not killed during the sweep"
        assert workers[0].wait(timeout=30) == -signal.SIGKILL
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)
    assert list(df["status"]) == ["ok"] * 6
    marks2 = tmp_path / "marks2"
    marks2.mkdir()
    local = run_sweep("_test-flaky", grid, out=tmp_path / "local",
                      fixed={"marker_dir": str(marks2)})
    assert list(df["metric.value"]) == list(local["metric.value"])
