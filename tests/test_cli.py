import subprocess
import sys

import pytest
from click.testing import CliRunner

from specbias.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def _last_line(result):
    return result.output.strip().splitlines()[-1]


def test_list_shows_experiments_with_reproduces(runner):
    r = runner.invoke(cli, ["list"])
    assert r.exit_code == 0
    assert "lucey-spectrum" in r.output and "Lucey, Fig. 3" in r.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "nope"], "Unknown experiment 'nope'"),
        (["run", "lucey-spectrum", "--set", "bogus=1"], "Unknown parameter 'bogus'"),
        (["run", "lucey-spectrum", "--set", "width=-3"], "'width' parameter"),
        (["run", "lucey-spectrum", "--set", "width=abc"], "'width' parameter"),
        (["run", "lucey-spectrum", "--preset", "huge"], "Unknown preset 'huge'"),
        (["show", "does-not-exist"], "No finished run"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner, args, needle):
    r = runner.invoke(cli, args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.output
    assert "Traceback" not in r.output


def test_run_and_show(runner, tmp_path):
    out = tmp_path / "ls"
    r = runner.invoke(cli, ["run", "lucey-spectrum", "--out", str(out), "--set", "width=64",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert "decay_exponent.relu" in r.output and "report:" in r.output
    r2 = runner.invoke(cli, ["show", str(out)])
    assert r2.exit_code == 0 and "decay_exponent.relu" in r2.output


def test_entry_point_exit_status_is_2():
    r = subprocess.run([sys.executable, "-m", "specbias.cli", "run", "lucey-spectrum", "--set",
                        "width=-3"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "width" in r.stderr


def test_sweep_cli_quiet_and_resume(tmp_path):
    args = [sys.executable, "-m", "specbias.cli", "sweep", "lucey-spectrum", "--grid",
            "width=[32,48]", "--set", "activations=[\"relu\"]", "--out", str(tmp_path / "sw")]
    loud = subprocess.run(args, capture_output=True, text=True)
    assert loud.returncode == 0, loud.stderr
    assert "2 points (2 run now" in loud.stdout
    assert "sweep lucey-spectrum" in loud.stderr  # the sweep's progress bar
    quiet = subprocess.run(args + ["--quiet"], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert "2 points (0 run now" in quiet.stdout  # resumed: nothing run again
    assert quiet.stderr == ""


def test_demo_writes_index_with_links_and_thumbnails(runner, tmp_path):
    import re

    out = tmp_path / "demo"
    r = runner.invoke(cli, ["demo", "lucey-spectrum", "lucey-iterations", "--out", str(out),
                            "--quiet"])
    assert r.exit_code == 0, r.output
    index = (out / "index.html").read_text()
    links = re.findall(r"href='([^']+)'", index)
    thumbs = re.findall(r"<img class='thumb'[^>]* src='([^']+)'", index)
    assert {"lucey-spectrum/report.html", "lucey-iterations/report.html"} <= set(links)
    assert len(thumbs) == 2
    for rel in links + thumbs:  # every link and thumbnail points to a written file
        assert (out / rel).is_file(), rel
