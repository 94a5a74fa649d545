"""Packaging: `pip install specbias` keeps the torch a user already has, the project metadata
is complete, and `python -m specbias` runs the command line."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_torch_is_a_range_and_our_environment_pins_the_cpu_build():
    deps = PYPROJECT["project"]["dependencies"]
    torch = [d for d in deps if re.match(r"torch\b", d)]
    assert torch == ["torch>=2.2"], torch
    constraints = (ROOT / "constraints" / "cpu-torch.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", constraints, re.M)
    make = (ROOT / "Makefile").read_text()
    # every pip install of make's environment runs under the constraints file
    installs = [ln for ln in make.splitlines() if "pip install" in ln]
    assert installs and all("-c constraints/cpu-torch.txt" in ln for ln in installs), installs


def test_project_metadata_license_and_citation():
    project = PYPROJECT["project"]
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(project["urls"])
    assert any(c.startswith("License :: OSI Approved :: MIT") for c in project["classifiers"])
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = (ROOT / "CITATION.cff").read_text()
    assert cff.startswith("cff-version: 1.2.0")
    for title in ("Gradient Descent as a Shrinkage Operator for Spectral Bias",
                  "On the Spectral Bias of Neural Networks",
                  "The Spectral Bias of Shallow Neural Network Learning is Shaped by the Choice"):
        assert title in cff
    from specbias import __version__

    assert f"version: {__version__}" in cff


def test_python_dash_m_specbias_runs_the_command_line():
    r = subprocess.run([sys.executable, "-m", "specbias", "list"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "lucey-spectrum" in r.stdout
    r = subprocess.run([sys.executable, "-m", "specbias", "run", "nope"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "Unknown experiment 'nope'" in r.stderr


def _fake_torch(site: Path, version: str) -> None:
    """A stand-in for an installed torch of ``version``: its metadata and an importable module
    (a real second torch build is gigabytes)."""
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    info = site / f"torch-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
    (info / "RECORD").write_text("")
    (info / "INSTALLER").write_text("pip\n")


def test_installing_into_a_venv_with_another_torch_keeps_that_torch(tmp_path):
    """A fresh venv holding torch 2.5 (in the supported range, not the build we pin) installs the
    specbias wheel and still holds torch 2.5. The other dependencies come from this environment
    (a .pth file), so nothing is downloaded."""
    wheel_dir = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--no-index", "-q", "-w", str(wheel_dir), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "No module named pip" in r.stderr:  # pragma: no cover
        pytest.skip("this environment has no pip")
    assert r.returncode == 0, r.stderr
    wheel = next(wheel_dir.glob("specbias-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    _fake_torch(site, "2.5.0")
    (site / "zz_project_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([py, "-m", "pip", "install", "--no-index", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"Requirement already satisfied: torch>=2\.2 .*\(2\.5\.0\)", r.stdout), r.stdout
    assert "Installing collected packages: specbias" in r.stdout
    out = subprocess.run([py, "-c", "import torch, specbias; print(torch.__version__)"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "2.5.0", out.stderr
