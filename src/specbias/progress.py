"""Progress bars that a run (or the CLI's ``--quiet``) can silence.

Long loops wrap their iterable in :func:`progress`. Whether bars show is a context setting
(:func:`quiet`), not a global: it never changes any result.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys

from tqdm.auto import tqdm

_QUIET = contextvars.ContextVar("specbias_quiet", default=False)


@contextlib.contextmanager
def quiet(enabled: bool = True):
    """Silence (or re-enable) progress bars inside the ``with`` block."""
    token = _QUIET.set(enabled)
    try:
        yield
    finally:
        _QUIET.reset(token)


def is_quiet() -> bool:
    return _QUIET.get()


def progress(iterable=None, *, desc: str | None = None, total: int | None = None, leave=False,
             **kwargs):
    """Wrap ``iterable`` in a tqdm bar on stderr unless progress is silenced."""
    return tqdm(iterable, desc=desc, total=total, leave=leave, disable=is_quiet(),
                file=sys.stderr, dynamic_ncols=True, **kwargs)
