"""--device: cpu is the default and changes nothing; an unavailable device is one line, exit 2,
before anything is written."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from specbias._validation import ParameterError
from specbias.cli import cli
from specbias.devices import resolve_device, use_device

NO_CUDA = not torch.cuda.is_available()


def test_resolve_device_names_and_refusals():
    assert resolve_device("cpu") == "cpu" and resolve_device(None) == "cpu"
    assert resolve_device("auto") in ("cpu", "mps", "cuda:0")
    for bad in ("gpu", "cuda:x", "CUDA", 3):
        with pytest.raises(ParameterError, match="'device' parameter must be one of"):
            resolve_device(bad)


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("cmd", [
    ["run", "lucey-mask", "--device", "cuda"],
    ["run", "lucey-mask", "--device", "cuda:1"],
    ["sweep", "lucey-mask", "--grid", "width=[64]", "--device", "cuda"],
    ["demo", "lucey-mask", "--device", "cuda"],
    ["verify", "--only", "lucey-mask", "--device", "cuda"],
])
def test_cuda_on_a_machine_without_it_is_one_line_and_exit_2(tmp_path, cmd):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, [*cmd, "--out", str(out)])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "CUDA is not available" in lines[0] and "Traceback" not in r.output
    assert not out.exists()


def test_use_device_cpu_changes_nothing_and_the_summary_records_the_device(tmp_path):
    with use_device("cpu"):
        assert torch.zeros(1).device.type == "cpu"
    from specbias.runner import run_experiment

    s = run_experiment("lucey-mask", out=tmp_path / "r", quiet_progress=True, device="auto"
                       if NO_CUDA and not torch.backends.mps.is_available() else "cpu")
    assert s["device"] == "cpu"
