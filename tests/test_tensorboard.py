"""TensorBoard logging: the event files hold the losses, the spectra (as scalars and as the
frequency x step heatmap image) and the run's metrics, read back with TensorBoard's own reader."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from specbias._validation import MissingDependencyError, ParameterError  # noqa: E402
from specbias.callbacks import SpectrumTracker  # noqa: E402
from specbias.nn import MLP  # noqa: E402
from specbias.tensorboard import TensorBoardLogger, heatmap_image, summary_writer  # noqa: E402
from specbias.training import train  # noqa: E402


def _events(directory: Path) -> EventAccumulator:
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0, "images": 0,
                                                          "tensors": 0})
    acc.Reload()
    return acc


def test_logger_writes_losses_spectra_and_the_heatmap(tmp_path):
    X = torch.linspace(0, 1, 64)[:, None]
    y = torch.sin(2 * np.pi * 2 * X[:, 0]) + 0.5 * torch.sin(2 * np.pi * 9 * X[:, 0])
    net = MLP(1, 32, 3, generator=torch.Generator().manual_seed(0))
    tracker = SpectrumTracker(X, [2.0, 9.0], every=20)
    logger = TensorBoardLogger(tmp_path / "tb", every=10, spectrum=tracker, image_every=100)
    train(net, (X, y), 200, lr=3e-3, callbacks=[tracker, logger], progress=False)
    acc = _events(tmp_path / "tb")
    tags = acc.Tags()
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == list(range(0, 201, 10))
    assert loss[-1].value < loss[0].value
    low = acc.Scalars("train/spectrum/k=2")
    assert [e.step for e in low] == list(range(0, 201, 20))
    np.testing.assert_allclose([e.value for e in low], tracker.spectra()[:, 0], rtol=1e-6)
    assert "train/spectrum_heatmap" in tags["images"]
    images = acc.Images("train/spectrum_heatmap")
    assert [e.step for e in images] == [100, 200, 200]
    assert images[-1].width >= tracker.spectra().shape[0] and images[-1].height >= 2


def test_heatmap_image_puts_frequency_up_and_time_right():
    S = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])  # 3 records x 2 frequencies
    img = heatmap_image(S)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    top_left, bottom_right = img[0, 0], img[-1, -1]  # k=2 at t=0 dark, k=1 at the end bright
    assert top_left.sum() < bottom_right.sum()


def test_run_with_tensorboard_logs_every_loop_and_the_summary(tmp_path):
    from specbias.runner import run_experiment

    s = run_experiment("rahaman-frequencies", overrides={"steps": 200, "seeds": 2,
                                                         "profiles": ["equal"], "every": 20,
                                                         "norm_every": 100},
                       out=tmp_path / "run", quiet_progress=True, tensorboard=tmp_path / "tb")
    root = tmp_path / "tb" / "rahaman-frequencies"
    loop = _events(root / "loop-1")
    assert "loop-1/loss_mean" in loop.Tags()["scalars"]
    assert any(t.startswith("loop-1/spectrum/k=") for t in loop.Tags()["scalars"])
    assert "loop-1/spectrum_heatmap" in loop.Tags()["images"]
    summ = _events(root / "summary")
    metric_tags = summ.Tags()["scalars"]
    assert any(t.startswith("metrics/") for t in metric_tags)
    assert "claims/text_summary" in summ.Tags()["tensors"]
    assert s["status"] == "ok"


def test_missing_tensorboard_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'specbias\[tensorboard\]'"):
        summary_writer(tmp_path)
    with pytest.raises(ParameterError, match="SpectrumTracker"):
        TensorBoardLogger(tmp_path, spectrum=object())
