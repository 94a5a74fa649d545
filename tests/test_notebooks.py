"""The notebooks of the docs site (docs/notebooks/*.py, jupytext percent format) run as
written, at their small sizes (SPECBIAS_NOTEBOOK_SMALL=1), and compute what their text says."""

from __future__ import annotations

import math
import runpy
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"


def _cells(path: Path) -> list[tuple[str, str]]:
    """``(kind, text)`` of each percent-format cell; kind is "markdown" or "code"."""
    cells: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    return [(kind, "\n".join(lines)) for kind, lines in cells]


def _run(name: str, monkeypatch) -> dict:
    monkeypatch.setenv("SPECBIAS_NOTEBOOK_SMALL", "1")
    matplotlib.use("Agg")
    plt.close("all")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*")  # plt.show() on Agg
        namespace = runpy.run_path(str(NOTEBOOKS / name), run_name="__main__")
    assert namespace["SMALL"] is True
    # every notebook ends with a figure
    assert plt.get_fignums(), f"{name} drew no figure"
    plt.close("all")
    return namespace


def test_notebooks_have_the_expected_shape():
    names = sorted(p.name for p in NOTEBOOKS.glob("*.py"))
    assert names == ["choosing_omega0_sigma.py", "shrinkage_in_ten_lines.py",
                     "which_frequencies.py"]
    for name in names:
        text = (NOTEBOOKS / name).read_text()
        assert "format_name: percent" in text, name
        cells = _cells(NOTEBOOKS / name)
        # opens with a markdown cell saying what it shows (a title and a paragraph)
        kind, first = cells[0]
        assert kind == "markdown" and first.lstrip("# \n").strip(), name
        assert first.splitlines()[0].startswith("# # "), name
        assert len(first.splitlines()) > 5, name
        # ends with the figure
        kind, last = cells[-1]
        assert kind == "code" and "plt.show()" in last, name
        # the small-size switch
        assert 'SMALL = os.environ.get("SPECBIAS_NOTEBOOK_SMALL") == "1"' in text, name


def test_notebooks_convert_with_jupytext():
    jupytext = pytest.importorskip("jupytext")
    for path in sorted(NOTEBOOKS.glob("*.py")):
        nb = jupytext.read(path)
        assert nb.cells[0].cell_type == "markdown"
        assert nb.cells[-1].cell_type == "code"
        assert sum(c.cell_type == "code" for c in nb.cells) >= 3


def test_which_frequencies(monkeypatch):
    ns = _run("which_frequencies.py", monkeypatch)
    # the wide network stays in the kernel regime: prediction matches measurement
    assert ns["max_gap"] < 0.05
    # lower frequencies are half learned no later than higher ones (the spectral bias)
    half = ns["first_half"]
    assert np.all(np.isfinite(half[:3]))
    finite = half[np.isfinite(half)]
    assert np.all(np.diff(finite) >= 0)
    # the rescaled first layer learns far more of the high frequencies than the default one
    scaled = ns["measured"]["scaled first layer"][-1]
    default = ns["measured"]["default init"][-1]
    assert scaled[-1] > default[-1] + 0.2
    assert np.mean(scaled) > np.mean(default)


def test_shrinkage_in_ten_lines(monkeypatch):
    ns = _run("shrinkage_in_ten_lines.py", monkeypatch)
    # the closed form is gradient descent
    assert ns["closed_vs_iterated"] < 1e-10
    # T(k) puts the mask at sigma_k at 1 - 1/e (T rounded up: at or just above)
    level = 1.0 - math.exp(-1.0)
    assert np.all(ns["at_k"] >= level - 1e-12) and np.all(ns["at_k"] < level + 0.05)
    # more steps keep more components: a closer fit
    psnrs = [ns["psnr"](ns["y"], f, peak=1.0) for f in ns["fits"]]
    assert psnrs == sorted(psnrs) and psnrs[-1] > psnrs[0] + 2


def test_choosing_omega0_sigma(monkeypatch):
    ns = _run("choosing_omega0_sigma.py", monkeypatch)
    target = ns["TARGET"]
    for knob in ("sigma", "omega0"):
        values, bands = ns["sweeps"][knob]
        # the predicted bandwidth rises with the knob (a staircase) and covers the target
        assert np.all(np.diff(bands) >= 0) and bands[0] < target < bands[-1], knob
        plan = ns["plans"][knob]
        lo, hi = plan.interval
        assert lo <= plan.value <= hi and plan.prediction.bandwidth == target, knob
        # a fresh network trained at the plan learns the target bandwidth (one random draw of
        # initialization and phases: within 2 frequencies)
        assert abs(ns["plan_errors"][knob]) <= 2, (knob, ns["plan_errors"])
