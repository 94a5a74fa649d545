"""How much memory this machine has: what configs and models are checked against before any
allocation (so that a size that cannot fit is refused with one line, not an OOM kill)."""

from __future__ import annotations

import os


def _pages_bytes(*names: str) -> int | None:
    """Bytes in the first of the ``os.sysconf`` page counts ``names`` the platform reports."""
    for name in names:
        try:
            pages, size = os.sysconf(name), os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
            continue
        if pages > 0 and size > 0:
            return pages * size
    return None


def physical_memory() -> int | None:
    """Physical memory of this machine in bytes (``None`` where the platform does not say)."""
    return _pages_bytes("SC_PHYS_PAGES")


def available_memory() -> float | None:
    """Bytes of memory this machine can still give a new run: ``MemAvailable`` from
    ``/proc/meminfo`` where readable, else the free (or, failing that, all) physical pages;
    ``None`` when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    n = _pages_bytes("SC_AVPHYS_PAGES", "SC_PHYS_PAGES")
    return None if n is None else float(n)
