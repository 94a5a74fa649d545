"""Clean stops: SIGTERM behaves like Ctrl-C, and child processes die with their parent.

:func:`terminate_as_interrupt` turns SIGTERM (``kill``, a batch scheduler's time limit) into a
:class:`Terminated` exception, a :class:`KeyboardInterrupt`, so that the code that cleans up
after Ctrl-C (staging directories, worker processes) runs for both.
:func:`die_with_parent` makes a worker process end when the process that started it is gone,
even after ``kill -9`` of the parent or the OOM killer.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated(f"received signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def terminate_as_interrupt():
    """Inside the block, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the
    main thread. Outside the main thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, *, poll_s: float = 1.0) -> None:
    """End this process when ``parent_pid`` is no longer its parent.

    On Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    everywhere a daemon thread also polls ``os.getppid()`` and exits the process when the
    parent has gone (re-parented processes get a new parent id).
    """
    with contextlib.suppress(AttributeError, OSError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        import time

        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="specbias-parent-watch", daemon=True).start()
