"""Ctrl-C, SIGTERM and kill -9 on `run` and `sweep`: exit within seconds, say what was kept,
leave no process behind. Each test drives the real command line in its own process group and
is bounded in time."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(180)

_DRIVER = textwrap.dedent('''
    import os, time
    from pydantic import Field
    from specbias.experiments import ExperimentConfig, register_experiment

    class SlowConfig(ExperimentConfig):
        seconds: float = Field(0.0, ge=0)
        value: float = 1.0

    @register_experiment("_test-slow", config=SlowConfig, description="test only",
                         reproduces="-")
    def _slow(cfg, ctx):
        piddir = os.environ.get("SPECBIAS_TEST_PIDDIR")
        if piddir:  # tell the test which process runs which point
            open(os.path.join(piddir, f"{os.getpid()}-{cfg.seconds:g}"), "w").close()
        t0 = time.monotonic()
        while time.monotonic() - t0 < cfg.seconds:
            time.sleep(0.05)
        ctx.metric("value", cfg.value)

    if __name__ == "__main__":
        from specbias.cli import main
        main()
''')


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _Proc:
    """A started command whose output goes to files, not pipes: ``communicate`` waits for the
    process itself to exit (a pipe would also wait for any descendant that inherited it; the
    tests check separately that no descendant is left)."""

    def __init__(self, args, env, directory, n):
        self.out_path, self.err_path = directory / f"out{n}.txt", directory / f"err{n}.txt"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            # as a terminal starts a foreground job: SIGINT at its default disposition, whatever
            # this test process inherited or was left with
            self.p = subprocess.Popen(args, env=env, text=True, start_new_session=True,
                                      stdout=out, stderr=err, preexec_fn=_default_sigint)
        self.pid = self.p.pid

    @property
    def returncode(self):
        return self.p.returncode

    @property
    def stderr(self):
        return io.StringIO(self.err_path.read_text())

    def wait(self, timeout=None):
        return self.p.wait(timeout=timeout)

    def poll(self):
        return self.p.poll()

    def send_signal(self, sig):
        self.p.send_signal(sig)

    def kill(self):
        self.p.kill()

    def communicate(self, timeout=None):
        self.p.wait(timeout=timeout)
        return self.out_path.read_text(), self.err_path.read_text()


@pytest.fixture
def driver(tmp_path, monkeypatch):
    (tmp_path / "driver.py").write_text(_DRIVER)
    (tmp_path / "pids").mkdir()
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "SPECBIAS_TEST_PIDDIR": str(tmp_path / "pids")}
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(*args):
        return _Proc([sys.executable, "driver.py", *args], env, logs, len(started))

    started = []

    def launcher(*args):
        p = start(*args)
        started.append(p)
        return p

    yield launcher
    for p in started:  # never leave a process behind, whatever the test did
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)


def _wait_for_points(piddir, n, timeout=90.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        entries = os.listdir(piddir)
        if len(entries) >= n:
            time.sleep(0.3)  # let the points get into their work
            return {e.split("-", 1)[1]: int(e.split("-", 1)[0]) for e in entries}
        time.sleep(0.1)
    raise AssertionError(f"{n} points did not start within {timeout} s")


def _group_gone(pgid, timeout=15.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _leftovers(directory):
    return [p for p in os.listdir(directory) if ".partial-" in p or ".old-" in p]


def test_sigterm_on_run_keeps_previous_result(driver, tmp_path):
    first = driver("run", "_test-slow", "--set", "value=4", "--out", "r", "--quiet")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    os.remove(tmp_path / "pids" / os.listdir(tmp_path / "pids")[0])
    p = driver("run", "_test-slow", "--set", "seconds=60", "--out", "r", "--quiet")
    _wait_for_points(tmp_path / "pids", 1)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 130
    assert err.strip().count("\n") == 0 and "interrupted" in err and "unchanged" in err
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["metrics"]["value"] == 4
    assert _leftovers(tmp_path) == []
    assert _group_gone(p.pid)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupting_a_parallel_sweep_exits_and_leaves_no_process(driver, tmp_path, how):
    p = driver("sweep", "_test-slow", "--grid", "seconds=[60,61,0.5]", "--workers", "2",
               "--out", "sw", "--quiet")
    _wait_for_points(tmp_path / "pids", 2)
    t0 = time.monotonic()
    if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
        os.killpg(p.pid, signal.SIGINT)
    else:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 15
    assert p.returncode == 130, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted; 0 of 3 points finished" in lines[0], err
    assert "Traceback" not in err and "Aborted" not in err
    assert _group_gone(p.pid), "a worker process outlived the sweep"
    assert _leftovers(tmp_path / "sw") == []


def test_killing_the_sweep_parent_ends_its_workers(driver, tmp_path):
    p = driver("sweep", "_test-slow", "--grid", "seconds=[60,61]", "--workers", "2",
               "--out", "sw", "--quiet")
    workers = _wait_for_points(tmp_path / "pids", 2)
    p.kill()  # kill -9: no handler runs in the parent
    p.wait(timeout=30)
    assert _group_gone(p.pid, timeout=15), "orphaned workers kept running"
    for pid in workers.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # the staging directories the killed workers left are removed when the sweep resumes
    assert len(_leftovers(tmp_path / "sw")) == 2
    r = driver("sweep", "_test-slow", "--grid", "seconds=[0]", "--out", "sw", "--quiet")
    assert r.wait(timeout=120) == 0, r.stderr.read()
    assert _leftovers(tmp_path / "sw") == []


def test_a_killed_worker_fails_its_point_alone(driver, tmp_path):
    p = driver("sweep", "_test-slow", "--grid", "seconds=[60,0.5,0.6]", "--workers", "2",
               "--out", "sw", "--quiet")
    workers = _wait_for_points(tmp_path / "pids", 2)
    os.kill(workers["60"], signal.SIGKILL)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    assert "1 of 3 points failed" in err and "killed by SIGKILL" in err
    assert "Traceback" not in err and "BrokenProcessPool" not in err
    df = pd.read_parquet(tmp_path / "sw" / "sweep.parquet")
    status = dict(zip(df["param.seconds"], df["status"], strict=True))
    assert status == {60: "error", 0.5: "ok", 0.6: "ok"}
    assert _leftovers(tmp_path / "sw") == []
    assert _group_gone(p.pid)
