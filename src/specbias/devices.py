"""Where torch experiments run: ``cpu`` (the default, bit-reproducible), ``cuda``, ``cuda:N``,
``mps`` or ``auto`` (the first of cuda, mps, cpu that this machine has).

:func:`resolve_device` checks a request against the machine and refuses an unavailable device
with one clear :class:`~specbias._validation.ParameterError`; :func:`use_device` makes it the
default device of torch inside a run, so models and tensors the experiment creates land on it,
and ``ctx.torch_generator()`` draws on it. On the CPU nothing changes. Results on a GPU differ
from the CPU's in the last bits (and random draws differ), so ``summary.json`` records the
device; ``bench/device_check.py`` compares one experiment's metrics on both.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from ._validation import ParameterError

DEVICES = "cpu, cuda, cuda:N, mps or auto"


def _cuda_count() -> int:
    import torch

    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken driver counts as no CUDA
        return 0


def _mps() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: str | None = "cpu") -> str:
    """The canonical name of the requested device (``"cpu"``, ``"cuda:0"``, ``"mps"``), or a
    :class:`ParameterError` saying why it cannot be used here.

    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None:
        device = "cpu"
    if not isinstance(device, str) or not re.fullmatch(r"cpu|auto|mps|cuda(:\d+)?", device):
        raise ParameterError(f"The 'device' parameter must be one of {DEVICES}. Got {device!r} "
                             "instead.")
    if device == "cpu":
        return "cpu"
    if device == "auto":
        if _cuda_count():
            return "cuda:0"
        return "mps" if _mps() else "cpu"
    if device == "mps":
        if not _mps():
            raise ParameterError("The 'device' parameter asks for mps, but this machine has no "
                                 "usable Apple GPU (torch.backends.mps.is_available() is False).")
        return "mps"
    count = _cuda_count()
    index = int(device.split(":")[1]) if ":" in device else 0
    if count == 0:
        raise ParameterError(f"The 'device' parameter asks for {device}, but CUDA is not "
                             "available on this machine (torch.cuda.is_available() is False); "
                             "use --device cpu.")
    if index >= count:
        raise ParameterError(f"The 'device' parameter asks for {device}, but this machine has "
                             f"{count} CUDA device(s): cuda:0 to cuda:{count - 1}.")
    return f"cuda:{index}"


@contextlib.contextmanager
def use_device(device: str) -> Iterator[None]:
    """Inside the block, torch creates tensors and modules on ``device`` by default (nothing
    changes for ``cpu``)."""
    if device == "cpu":
        yield
        return
    import torch

    with torch.device(device):
        yield
