"""Checkpoints: a run killed part-way resumes from its last checkpoint, and its finished numbers
equal an uninterrupted run's; a corrupt checkpoint is reported and ignored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from specbias import checkpoint as ck
from specbias.callbacks import SpectrumTracker, ZeroPlaneRecorder
from specbias.ensemble import train_ensemble
from specbias.nn import MLP, ShallowNet
from specbias.training import Callback, LossRecorder, train

pytestmark = pytest.mark.timeout(300)


class _Crash(Callback):
    """Raises KeyboardInterrupt after ``at`` steps (never with ``None``): a kill in the middle
    of training. Present in every run, so that the callbacks match the checkpoint's."""

    _checkpoint_exclude = ("at",)

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


def _data():
    g = torch.Generator().manual_seed(3)
    X = torch.rand(48, 1, generator=g, dtype=torch.float64)
    y = torch.sin(6 * X[:, 0]) + 0.5 * torch.sin(20 * X[:, 0])
    return X, y


def _train_minibatch(crash_at=None, seed=0):
    """Mini-batch Adam with a sampling generator and two callbacks."""
    torch.manual_seed(seed)
    X, y = _data()
    net = MLP(1, 16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    tracker = SpectrumTracker(torch.linspace(0, 1, 32, dtype=torch.float64)[:, None],
                              [1.0, 3.0], every=5)
    losses = LossRecorder(every=5)
    cbs = [tracker, losses, _Crash(crash_at)]
    res = train(net, (X, y), 60, lr=1e-2, batch_size=10, callbacks=cbs, progress=False,
                generator=torch.Generator().manual_seed(7))
    return res, tracker, net


def test_a_training_loop_resumes_to_the_same_numbers(tmp_path):
    ref, ref_tracker, ref_net = _train_minibatch()
    said = []
    cp = ck.Checkpointer(tmp_path / "c", "k1", every_steps=10, say=said.append)
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        _train_minibatch(crash_at=37)
    assert (tmp_path / "c" / "loop-1.pt").is_file()
    cp = ck.Checkpointer(tmp_path / "c", "k1", every_steps=10, say=said.append)
    with ck.activate(cp):
        res, tracker, net = _train_minibatch()
    assert cp.resumed == {"loop-1": 30} and "checkpoint at step 30" in said[-1]
    assert res.final_loss == ref.final_loss
    np.testing.assert_array_equal(tracker.spectra(), ref_tracker.spectra())
    np.testing.assert_array_equal(tracker.steps(), ref_tracker.steps())
    for a, b in zip(net.parameters(), ref_net.parameters(), strict=True):
        assert torch.equal(a, b)
    # a third run finds the finished loop and returns at once with the same result
    cp = ck.Checkpointer(tmp_path / "c", "k1", every_steps=10, say=said.append)
    with ck.activate(cp):
        res3, tracker3, _ = _train_minibatch()
    assert "(finished)" in said[-1] and res3.final_loss == ref.final_loss
    np.testing.assert_array_equal(tracker3.spectra(), ref_tracker.spectra())


def test_checkpoints_of_another_run_and_corrupt_ones_are_ignored(tmp_path):
    ref, ref_tracker, _ = _train_minibatch()
    said = []
    cp = ck.Checkpointer(tmp_path / "c", "k1", every_steps=10, say=said.append)
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        _train_minibatch(crash_at=25)
    # another key (another config or seed): the directory is cleared, nothing resumes
    cp = ck.Checkpointer(tmp_path / "c", "other", every_steps=1000, say=said.append)
    assert not (tmp_path / "c").exists()
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        _train_minibatch(crash_at=25)
    assert cp.resumed == {}
    # a truncated checkpoint: reported, removed, the loop starts from step 0
    cp = ck.Checkpointer(tmp_path / "d", "k2", every_steps=10, say=said.append)
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        _train_minibatch(crash_at=25)
    path = tmp_path / "d" / "loop-1.pt"
    path.write_bytes(path.read_bytes()[:200])
    cp = ck.Checkpointer(tmp_path / "d", "k2", every_steps=10, say=said.append)
    with ck.activate(cp):
        res, tracker, _ = _train_minibatch()
    assert "could not be read" in said[-1] and "starts from step 0" in said[-1]
    assert cp.resumed == {} and res.final_loss == ref.final_loss
    np.testing.assert_array_equal(tracker.spectra(), ref_tracker.spectra())


def test_an_ensemble_with_a_diverging_member_and_a_zero_plane_recorder_resume(tmp_path):
    def run(crash_at=None):
        torch.manual_seed(0)
        X, y = _data()
        members = [MLP(1, 8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
                   for i in range(3)]
        cbs = [_Crash(crash_at)]
        return train_ensemble(members, (X, y), 40, lr=1e-2, progress=False, callbacks=cbs,
                              record_every=4)

    ref = run()
    cp = ck.Checkpointer(tmp_path / "e", "k", every_steps=8, say=lambda m: None)
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        run(crash_at=21)
    cp = ck.Checkpointer(tmp_path / "e", "k", every_steps=8, say=lambda m: None)
    with ck.activate(cp):
        res = run()
    assert cp.resumed == {"loop-1": 16}
    np.testing.assert_array_equal(res.losses, ref.losses)
    np.testing.assert_array_equal(res.final_loss, ref.final_loss)

    def shallow(crash_at=None):
        net = ShallowNet(1, 6, "relu", generator=torch.Generator().manual_seed(2),
                         dtype=torch.float64)
        X, y = _data()
        rec = ZeroPlaneRecorder(every=3, chunk=4)
        cbs = [rec, _Crash(crash_at)]
        train(net, (X, y), 30, lr=1e-2, callbacks=cbs, progress=False)
        return rec.record

    ref_rec = shallow()
    cp = ck.Checkpointer(tmp_path / "z", "k", every_steps=5, say=lambda m: None)
    with ck.activate(cp), pytest.raises(KeyboardInterrupt):
        shallow(crash_at=17)
    cp = ck.Checkpointer(tmp_path / "z", "k", every_steps=5, say=lambda m: None)
    with ck.activate(cp):
        rec = shallow()
    assert cp.resumed == {"loop-1": 15}
    assert list(rec.step) == list(ref_rec.step)
    np.testing.assert_array_equal(rec.gamma, ref_rec.gamma)


_ARGS = ["run", "rahaman-frequencies", "--set", "steps=1000", "--set", "seeds=2",
         "--set", 'profiles=["equal"]', "--set", "every=25", "--set", "norm_every=100",
         "--quiet"]


def test_sigkill_mid_training_then_rerun_resumes_with_the_same_metrics(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "specbias", *_ARGS]
    ref = subprocess.run([*cmd, "--out", str(tmp_path / "ref"), "--no-checkpoint"], env=env,
                         capture_output=True, text=True, timeout=240)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "run"
    p = subprocess.Popen([*cmd, "--out", str(out), "--checkpoint-every", "100"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loop = tmp_path / ".run.checkpoint" / "loop-1.pt"
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and p.poll() is None:
        if loop.is_file() and loop.stat().st_size > 64:
            time.sleep(0.3)
            break
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be killed"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert not (out / "summary.json").exists()
    r = subprocess.run([*cmd, "--out", str(out), "--checkpoint-every", "100"], env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "resumed loop-1 of this run from its checkpoint at step" in r.stderr  # even --quiet
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] >= 100
    reference = json.loads((tmp_path / "ref" / "summary.json").read_text())
    assert reference["resumed_from_step"] is None
    assert summary["metrics"] == reference["metrics"]
    assert not (tmp_path / ".run.checkpoint").exists()  # removed once the result is published
