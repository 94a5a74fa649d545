"""Parameter validation with scikit-learn style messages.

Every public function validates what it is given up front, so that a bad argument produces one
clear line naming the parameter, what was expected and what was received, never a traceback from
deep inside numpy.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


class SpecbiasError(ValueError):
    """Base class of the errors specbias raises on bad input or failed runs.

    Also a ``ValueError``; it carries nothing but its message.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, how to fix it (``str(error)``, ``error.args[0]``).
    """


class ParameterError(SpecbiasError):
    """A parameter has the wrong type, shape or value.

    Parameters
    ----------
    message : str
        Names the parameter and its owner, what it must be and what was given.
    """


class MissingDependencyError(ParameterError, ImportError):
    """A method was asked for whose optional dependency is not installed (also an ImportError).

    Parameters
    ----------
    message : str
        Names the missing package and how to install it.
    """


class DivergenceError(SpecbiasError):
    """An iterative computation diverged (non-finite values or a provably unstable step).

    Parameters
    ----------
    message : str
        Says where the computation diverged and why.
    """


def _owner(owner: str | None) -> str:
    return f" of {owner}" if owner else ""


def check_scalar(
    value: Any,
    name: str,
    *,
    kind: type | tuple[type, ...] = numbers.Real,
    owner: str | None = None,
    min_val: float | None = None,
    max_val: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> Any:
    """Check that ``value`` is a scalar of ``kind`` inside an interval and return it.

    >>> check_scalar(3, "width", kind=int, min_val=1)
    3
    >>> check_scalar(-1, "alpha", owner="Ridge", min_val=0.0)
    Traceback (most recent call last):
    ...
    specbias._validation.ParameterError: The 'alpha' parameter of Ridge must be a float in the range [0.0, inf). Got -1 instead.
    """
    want_int = kind is int or kind is numbers.Integral
    kind_name = "an int" if want_int else "a float"
    lo = "-inf" if min_val is None else repr(min_val)
    hi = "inf" if max_val is None else repr(max_val)
    lb = "[" if (include_min and min_val is not None) else "("
    rb = "]" if (include_max and max_val is not None) else ")"
    msg = (
        f"The '{name}' parameter{_owner(owner)} must be {kind_name} in the range "
        f"{lb}{lo}, {hi}{rb}. Got {value!r} instead."
    )
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise ParameterError(msg)
    if want_int:
        if not isinstance(value, numbers.Integral):
            raise ParameterError(msg)
        value = int(value)
    else:
        if not isinstance(value, numbers.Real):
            raise ParameterError(msg)
        value = float(value)
        if not np.isfinite(value):
            raise ParameterError(msg)
    if min_val is not None and (value < min_val or (not include_min and value == min_val)):
        raise ParameterError(msg)
    if max_val is not None and (value > max_val or (not include_max and value == max_val)):
        raise ParameterError(msg)
    return value


def _complex_dtype_name(value: Any) -> str | None:
    """The dtype name of ``value`` when it is complex (numpy or torch), else None."""
    dt = getattr(value, "dtype", None)
    if dt is None:
        return None
    if getattr(dt, "is_complex", False) is True:  # a torch dtype
        return str(dt).replace("torch.", "")
    try:
        return np.dtype(dt).name if np.dtype(dt).kind == "c" else None
    except TypeError:
        return None


def reject_kind(value: Any, name: str, *, owner: str | None = None) -> np.ndarray | None:
    """Refuse complex numbers and strings where real numbers are expected.

    numpy and torch would silently keep only the real part of complex input, and numpy turns
    strings such as ``"10"`` into numbers; both hide a mistake of the caller, so they raise a
    :class:`ParameterError` naming ``name``. Anything else passes (the caller converts it); a
    list or tuple converted on the way is returned (else None) so that it is converted once.
    """
    def complex_error(kind: str) -> ParameterError:
        return ParameterError(
            f"The '{name}' parameter{_owner(owner)} must be real. Got complex values ({kind}) "
            "instead."
        )

    def str_error(kind: str) -> ParameterError:
        return ParameterError(
            f"The '{name}' parameter{_owner(owner)} must be array-like of numbers. Got {kind} "
            "instead."
        )

    if isinstance(value, str | bytes):
        raise str_error(type(value).__name__)
    if isinstance(value, complex | np.complexfloating):
        raise complex_error(type(value).__name__)
    kind = _complex_dtype_name(value)
    if kind is not None:
        raise complex_error(kind)
    converted = None
    if isinstance(value, np.ndarray):
        arr = value
    elif hasattr(value, "dtype"):  # a tensor, a pandas object, ...: look closer only at text
        if type(value).__module__.split(".")[0] == "torch":
            return None  # real (complex was refused above)
        try:
            kind = np.dtype(value.dtype).kind
        except TypeError:  # e.g. a pandas extension dtype (strings, nullable numbers)
            kind = "O"
        if kind not in "USaO":
            return None
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            return None
    elif isinstance(value, list | tuple):
        try:
            arr = converted = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):  # ragged or odd: reported by the caller
            return None
    else:
        return None
    if arr.dtype.kind == "c":
        raise complex_error(arr.dtype.name)
    if arr.dtype.kind in "USa":
        raise str_error(f"an array of strings ({arr.dtype})")
    if arr.dtype.kind == "O":
        for item in arr.flat:
            if isinstance(item, str | bytes):
                raise str_error(f"a {type(item).__name__} element")
            if isinstance(item, complex | np.complexfloating) or _complex_dtype_name(item):
                raise complex_error(type(item).__name__)
        return None
    return converted


def check_array(
    value: Any,
    name: str,
    *,
    owner: str | None = None,
    ndim: int | tuple[int, ...] | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
    min_size: int = 1,
) -> np.ndarray:
    """Convert ``value`` to an array and check its dimensionality and finiteness.

    Strings (also numeric ones such as ``"10"``) are not numbers here, and complex input is
    refused rather than cut down to its real part.

    >>> check_array([1, 2], "x").tolist()
    [1.0, 2.0]
    >>> check_array([1 + 2j], "x", owner="fit")
    Traceback (most recent call last):
    ...
    specbias._validation.ParameterError: The 'x' parameter of fit must be real. Got complex values (complex128) instead.
    """
    converted = reject_kind(value, name, owner=owner)
    try:
        arr = np.asarray(value if converted is None else converted, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must be array-like of numbers. "
            f"Got {type(value).__name__} instead."
        ) from exc
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in dims:
            want = " or ".join(f"{d}-D" for d in dims)
            raise ParameterError(
                f"The '{name}' parameter{_owner(owner)} must be a {want} array. "
                f"Got an array of shape {arr.shape} instead."
            )
    if arr.size < min_size:
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must have at least {min_size} element(s). "
            f"Got shape {arr.shape} instead."
        )
    if finite and np.issubdtype(arr.dtype, np.number) and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must be finite. Got {bad} NaN or infinite "
            f"value(s) instead."
        )
    return arr


def check_choice(value: Any, name: str, choices, *, owner: str | None = None) -> Any:
    """Check that ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must be one of {choices}. Got {value!r} instead."
        )
    return value


def check_pair(value: Any, name: str, *, owner: str | None = None, min_val: float | None = None,
               strict_min: bool = False, increasing: bool = False) -> tuple[float, float]:
    """Check that ``value`` is a pair ``(lo, hi)`` of finite floats with ``lo <= hi`` (``lo < hi``
    when ``increasing``), both ``>= min_val`` (``> min_val`` when ``strict_min``).

    >>> check_pair((0, 1), "extent", owner="grid", increasing=True)
    (0.0, 1.0)
    """
    want = "" if min_val is None else f" {'>' if strict_min else '>='} {min_val:g}"
    rule = f"(lo, hi) of finite floats with lo {'<' if increasing else '<='} hi" + (
        f", both{want}" if want else "")
    message = f"The '{name}' parameter{_owner(owner)} must be a pair {rule}. Got {value!r} instead."
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(message) from exc
    ok = np.isfinite(lo) and np.isfinite(hi) and (lo < hi if increasing else lo <= hi)
    if ok and min_val is not None:
        ok = lo > min_val if strict_min else lo >= min_val
    if not ok:
        raise ParameterError(message)
    return lo, hi


def check_real_output(out: Any, name: str, *, owner: str | None = None) -> np.ndarray:
    """What a user-supplied callable ``name`` returned, as a float64 array; complex values are
    refused (not cut to their real part), and so is anything that is not numbers."""
    if np.iscomplexobj(out):
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must return real numbers. Got complex values "
            f"({np.asarray(out).dtype}) instead."
        )
    try:
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"The '{name}' parameter{_owner(owner)} must return numbers. Got "
            f"{type(out).__name__} instead."
        ) from exc
