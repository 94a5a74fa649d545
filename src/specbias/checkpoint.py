"""Checkpoints of training loops, so that a long run killed part-way resumes instead of
starting again.

While :func:`specbias.runner.run_experiment` runs an experiment it activates a
:class:`Checkpointer` for the run (a directory beside ``--out``, keyed by the experiment, its
resolved config and its seed). Every training loop of the run goes through the one engine,
:func:`specbias.training.run_loop`, which asks :func:`active` for the checkpointer; the n-th loop
of the run saves its state as ``loop-n.pt`` every ``every_steps`` steps (default: when
``every_seconds`` of work have passed since the last save) and once more when it ends, if it
saved before. The state is everything the rest of the loop depends on: the model and optimizer
state, the step, the divergence bookkeeping, the callbacks' records, the trainer's own state
(mini-batch position, a sampling generator) and the global torch / numpy / Python RNG states.

A run is a pure function of its config and seed, so when it is started again the code before
and between loops recomputes the same values, and loop n picks up from its checkpoint; a loop
that had finished returns its final state at once. The finished metrics are those of an
uninterrupted run. A checkpoint that cannot be read (truncated, corrupt, made by another
version) is reported and ignored, and that loop starts from step 0. The directory is removed
once the run's result is published.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
_ACTIVE: contextvars.ContextVar[Checkpointer | None] = contextvars.ContextVar(
    "specbias_checkpointer", default=None)


def checkpoint_dir(out: str | os.PathLike) -> Path:
    """Where the checkpoints of a run whose result goes to ``out`` live: ``.NAME.checkpoint``
    beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoint"


def run_key(experiment: str, config: dict[str, Any], seed: int) -> str:
    """A digest of what a run's numbers depend on."""
    text = json.dumps({"experiment": experiment, "config": config, "seed": seed,
                       "format": FORMAT}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Checkpointer:
    """The checkpoints of one run (see the module docstring).

    Parameters
    ----------
    directory : path
        Where ``loop-n.pt`` files go (created on the first save).
    key : str
        :func:`run_key` of the run; checkpoints made under another key are ignored.
    every_steps : int, optional
        Save every this many steps of a loop; default: by time, ``every_seconds``.
    every_seconds : float
        With ``every_steps`` unset, save once this much wall time has passed since the loop's
        last save (or its start).
    say : callable
        Where messages go (resumed from step N; a checkpoint could not be read).
    """

    def __init__(self, directory: str | os.PathLike, key: str, *, every_steps: int | None = None,
                 every_seconds: float = 180.0, say: Callable[[str], None] | None = None):
        self.directory = Path(directory)
        self.key = key
        self.every_steps = every_steps
        self.every_seconds = float(every_seconds)
        self.say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.loops = 0
        self.resumed: dict[str, int] = {}  # loop label -> step it resumed from
        self.saves = 0
        self.save_seconds = 0.0
        self._valid_dir = self._check_directory()

    def _check_directory(self) -> bool:
        """Checkpoints of another run (another config or seed) are removed."""
        meta = self.directory / "run.json"
        if not self.directory.exists():
            return False
        try:
            ok = json.loads(meta.read_text()).get("key") == self.key
        except (OSError, ValueError, AttributeError):
            ok = False
        if not ok:
            shutil.rmtree(self.directory, ignore_errors=True)
        return ok

    def next_loop(self) -> LoopCheckpoint:
        self.loops += 1
        return LoopCheckpoint(self, f"loop-{self.loops}")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def resumed_from_step(self) -> int | None:
        """The step the run resumed from: that of the first loop that had not finished (or of the
        last loop, when all had); ``None`` for a run that started from scratch."""
        if not self.resumed:
            return None
        return list(self.resumed.values())[-1]


class LoopCheckpoint:
    """The checkpoint of one training loop of a run."""

    def __init__(self, owner: Checkpointer, label: str):
        self.owner, self.label = owner, label
        self.path = owner.directory / f"{label}.pt"
        self.saved = False
        self._last = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state, or ``None`` (nothing saved, or unreadable: said, and removed)."""
        import torch

        if not self.owner._valid_dir or not self.path.is_file():
            return None
        try:
            raw = self.path.read_bytes()
            digest, payload = raw[:64].decode("ascii"), raw[64:]
            if hashlib.sha256(payload).hexdigest() != digest:
                raise ValueError("its checksum does not match (truncated or corrupt)")
            state = torch.load(io.BytesIO(payload), weights_only=False)
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                raise ValueError("it was written by another version of specbias")
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is ignored
            self.owner.say(f"checkpoint {self.path.name} could not be read ({exc}); "
                           f"{self.label} starts from step 0")
            with contextlib.suppress(OSError):
                self.path.unlink()
            return None
        self.owner.resumed[self.label] = int(state["step"])
        self.saved = True
        return state

    def due(self, step: int) -> bool:
        if self.owner.every_steps is not None:
            return step % self.owner.every_steps == 0
        return time.monotonic() - self._last >= self.owner.every_seconds

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically (a temporary file renamed over the old one)."""
        import torch

        t0 = time.perf_counter()
        owner = self.owner
        owner.directory.mkdir(parents=True, exist_ok=True)
        if not owner._valid_dir:
            meta = owner.directory / "run.json"
            tmp = meta.with_suffix(".tmp")
            tmp.write_text(json.dumps({"key": owner.key}))
            os.replace(tmp, meta)
            owner._valid_dir = True
        buf = io.BytesIO()
        torch.save({**state, "format": FORMAT}, buf)
        payload = buf.getvalue()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(hashlib.sha256(payload).hexdigest().encode("ascii"))
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.saved = True
        self._last = time.monotonic()
        owner.saves += 1
        owner.save_seconds += time.perf_counter() - t0


def active() -> Checkpointer | None:
    """The checkpointer of the run in progress, if any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def activate(checkpointer: Checkpointer | None) -> Iterator[Checkpointer | None]:
    """Make ``checkpointer`` the one training loops use inside the block."""
    token = _ACTIVE.set(checkpointer)
    try:
        yield checkpointer
    finally:
        _ACTIVE.reset(token)


def rng_state() -> dict[str, Any]:
    """The global RNG states (torch, numpy, Python)."""
    import torch

    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
