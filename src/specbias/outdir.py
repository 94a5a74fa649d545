"""Result directories: never delete what specbias did not write, replace a result atomically.

A run writes into a *staging* directory beside its destination (``.NAME.partial-PID-TOKEN``)
and publishes it with one atomic step:

- the destination does not exist (or is an empty directory): ``rename`` (no-replace);
- the destination is a previous specbias result: ``renameat2(RENAME_EXCHANGE)`` swaps the two
  directories in one system call, so that at every instant the destination holds either the
  old complete result or the new one; the old one, now under the staging name, is removed.
  Where the filesystem cannot exchange, a two-rename fallback keeps the old result under
  ``.NAME.old-PID-TOKEN`` for the instant between the renames, and the next run restores it
  if a crash fell in between.

A destination that exists and is neither empty nor a specbias result (some file in it is not
one the result's ``summary.json`` lists) is refused before anything runs: :func:`check_out_dir`.
Staging and old directories left by killed processes are removed by the next run that writes
beside them (their process id is no longer alive). Publishing holds an advisory lock on the
parent directory, so two writers of the same destination never race: the last one wins.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from ._validation import ParameterError

SUMMARY = "summary.json"
REPORT = "report.html"
_NAME_MAX = 255
_SUFFIX_ROOM = len(".partial-4294967295-0123456789ab") + 1  # what a staging name adds


# ------------------------------------------------------------------- what is ours
def result_files(directory: str | os.PathLike) -> set[str] | None:
    """The file names a specbias result in ``directory`` consists of (from its summary), or
    ``None`` when ``directory`` holds no readable ``summary.json`` of a specbias run."""
    path = Path(directory) / SUMMARY
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("experiment"), str):
        return None
    names = {SUMMARY, REPORT}
    for t in summary.get("tables", []) or []:
        if isinstance(t, str):
            names.add(t)
    for f in summary.get("figures", []) or []:
        if isinstance(f, dict) and isinstance(f.get("file"), str):
            names.add(f["file"])
    return names


def foreign_entries(directory: str | os.PathLike) -> list[str]:
    """Entries of ``directory`` that are not part of a specbias result (sorted). Every entry
    is foreign when the directory holds no specbias result; none when it is empty."""
    directory = Path(directory)
    entries = sorted(os.listdir(directory))
    if not entries:
        return []
    ours = result_files(directory)
    if ours is None:
        return entries
    return [e for e in entries if e not in ours or not (directory / e).is_file()
            or (directory / e).is_symlink()]


def is_replaceable(directory: str | os.PathLike) -> bool:
    """True when ``directory`` does not exist, is empty, or holds only a specbias result."""
    directory = Path(directory)
    if not directory.exists() and not directory.is_symlink():
        return True
    if directory.is_symlink() or not directory.is_dir():
        return False
    return not foreign_entries(directory)


def destination_path(out: str | os.PathLike, *, option: str = "--out") -> Path:
    """``out`` as an absolute path, after the checks every destination needs: a non-empty
    path without NUL, not a filesystem root, each name short enough for the filesystem (with
    room for a staging suffix), not a symbolic link, not an existing non-directory."""
    raw = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    if not isinstance(raw, str):
        raise ParameterError(f"{option} must be a path. Got {out!r} instead.")
    if not raw.strip():
        raise ParameterError(f"{option} must not be empty. Got {raw!r} instead.")
    if "\x00" in raw:
        raise ParameterError(f"{option} must not contain a NUL character. Got {raw!r} instead.")
    path = Path(os.path.abspath(raw))
    if path.parent == path:
        raise ParameterError(f"{option} {raw!r} is a filesystem root; give a directory below it.")
    too_long = [p for p in path.parts[1:] if len(os.fsencode(p)) > _NAME_MAX]
    if too_long or len(os.fsencode(path.name)) > _NAME_MAX - _SUFFIX_ROOM:
        raise ParameterError(
            f"{option} name {path.name[:40] + '...'!r} is too long: a directory name may have "
            f"at most {_NAME_MAX - _SUFFIX_ROOM} bytes here. Got {len(os.fsencode(path.name))}.")
    if path.is_symlink():
        raise ParameterError(f"{option} {raw!r} is a symbolic link; give the directory itself.")
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option} {raw!r} exists and is not a directory.")
    return path


def ensure_writable(directory: Path, raw: str | os.PathLike, *, option: str = "--out") -> None:
    """Create ``directory`` (and its parents) if needed and check that it can be written;
    one :class:`ParameterError` line naming ``option`` otherwise."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"{option} {os.fspath(raw)!r} is not writable: {exc.strerror}.") \
            from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {os.fspath(raw)!r} is not writable (permission denied).")


def check_out_dir(out: str | os.PathLike, *, option: str = "--out") -> Path:
    """Validate a run's destination before any work and return it as an absolute path.

    Refuses (one :class:`ParameterError` line) what :func:`destination_path` refuses, a
    directory that holds anything but a previous specbias result, and a parent that cannot be
    created or written.
    """
    path = destination_path(out, option=option)
    if path.is_dir():
        try:
            foreign = foreign_entries(path)
        except OSError as exc:
            raise ParameterError(f"{option} {os.fspath(out)!r} cannot be read: {exc.strerror}.") \
                from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                             else "")
            raise ParameterError(
                f"{option} {os.fspath(out)!r} is not empty and is not a specbias result (it holds "
                f"{shown}); refusing to replace it. Choose a new or empty directory.")
    ensure_writable(path.parent, out, option=option)
    return path


# ------------------------------------------------------------------- staging and publishing
_STAGE_RE = r"^\.{name}\.(partial|old)-(\d+)-[0-9a-f]+$"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(directory: Path):
    """An advisory exclusive lock on ``directory`` (serializes publishers in one parent)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _leftovers(final: Path) -> list[tuple[str, int, Path]]:
    pattern = re.compile(_STAGE_RE.format(name=re.escape(final.name)))
    out: list[tuple[str, int, Path]] = []
    try:
        entries = os.listdir(final.parent)
    except OSError:
        return out
    for entry in entries:
        m = pattern.match(entry)
        if m:
            out.append((m.group(1), int(m.group(2)), final.parent / entry))
    return out


def _recover_and_clean(final: Path) -> None:
    """Restore a result a crash left only under ``.NAME.old-*`` and remove dead processes'
    staging directories. Call with the parent's lock held."""
    dead = [(kind, path) for kind, pid, path in _leftovers(final) if not _pid_alive(pid)]
    if not final.exists():
        olds = [p for kind, p in dead if kind == "old" and result_files(p) is not None]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            os.rename(newest, final)
            dead = [(k, p) for k, p in dead if p != newest]
    for _, path in dead:
        shutil.rmtree(path, ignore_errors=True)


def make_staging(final: str | os.PathLike) -> Path:
    """Create a fresh staging directory beside ``final`` (after cleaning dead leftovers)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent):
        _recover_and_clean(final)
    staging = final.parent / f".{final.name}.partial-{os.getpid()}-{secrets.token_hex(6)}"
    staging.mkdir()
    return staging


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_renameat2: Any
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
except (AttributeError, OSError):  # pragma: no cover - non-glibc platforms
    _renameat2 = None


def _rename2(src: Path, dst: Path, flags: int) -> None:
    """``renameat2(src, dst, flags)``; raises OSError (ENOSYS/EINVAL when unsupported)."""
    if _renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(dst))


def _exchange(staging: Path, final: Path) -> None:
    _rename2(staging, final, _RENAME_EXCHANGE)


def _between_renames() -> None:
    """Hook between the two renames of the fallback path (tests inject a crash here)."""


def _swap_fallback(staging: Path, final: Path) -> None:
    old = final.parent / f".{final.name}.old-{os.getpid()}-{secrets.token_hex(6)}"
    os.rename(final, old)
    _between_renames()
    os.rename(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def publish(staging: str | os.PathLike, final: str | os.PathLike) -> None:
    """Make the complete directory ``staging`` appear at ``final`` in one atomic step.

    ``final`` must be absent, empty, or a previous specbias result; anything else raises
    :class:`ParameterError` and leaves both directories as they are.
    """
    staging, final = Path(staging), Path(final)
    with _locked(final.parent):
        _recover_and_clean(final)
        if not is_replaceable(final):
            raise ParameterError(
                f"--out {str(final)!r} is not empty and is not a specbias result; refusing to "
                f"replace it. The new result was left in {str(staging)!r}.")
        if final.is_dir() and not os.listdir(final):
            os.rmdir(final)
        if not final.exists():
            try:
                _rename2(staging, final, _RENAME_NOREPLACE)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOSYS, errno.EINVAL):
                    raise
            os.rename(staging, final)  # no renameat2: plain rename onto a missing name
            return
        try:
            _exchange(staging, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            _swap_fallback(staging, final)
            return
    shutil.rmtree(staging, ignore_errors=True)  # now holds the previous result


def discard(staging: str | os.PathLike) -> None:
    """Remove a staging directory (an interrupted or failed run)."""
    shutil.rmtree(staging, ignore_errors=True)


def clean_leftovers(final: str | os.PathLike) -> None:
    """Remove the staging directories that dead processes left beside ``final`` (and restore
    a result a crash left only under its ``.old`` name)."""
    final = Path(os.path.abspath(final))
    if final.parent.is_dir():
        with _locked(final.parent):
            _recover_and_clean(final)


_ANY_STAGE_RE = re.compile(r"^\.(.+)\.(?:partial|old)-\d+-[0-9a-f]+$")


def clean_directory(directory: str | os.PathLike) -> None:
    """:func:`clean_leftovers` for every destination in ``directory`` that has leftovers (a
    sweep calls this on its directory before it resumes)."""
    directory = Path(os.path.abspath(directory))
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    names = {m.group(1) for e in entries if (m := _ANY_STAGE_RE.match(e))}
    for name in sorted(names):
        clean_leftovers(directory / name)
