import numpy as np
import pytest

from specbias._validation import ParameterError, check_array, check_choice, check_scalar


def test_check_scalar_message_names_parameter_owner_range_and_value():
    with pytest.raises(ParameterError) as e:
        check_scalar(-1, "alpha", owner="Ridge", min_val=0.0)
    assert str(e.value) == (
        "The 'alpha' parameter of Ridge must be a float in the range [0.0, inf). Got -1 instead."
    )


@pytest.mark.parametrize("bad", [True, "3", 2.5, None])
def test_check_scalar_rejects_non_int(bad):
    with pytest.raises(ParameterError, match="'width'"):
        check_scalar(bad, "width", kind=int, min_val=1)


def test_check_scalar_bounds_and_passthrough():
    assert check_scalar(np.int64(3), "k", kind=int, min_val=1) == 3
    assert check_scalar(0.5, "lr", min_val=0, max_val=1, include_min=False) == 0.5
    with pytest.raises(ParameterError, match=r"\(0, inf\)"):
        check_scalar(0.0, "lr", min_val=0, include_min=False)
    with pytest.raises(ParameterError):
        check_scalar(float("nan"), "lr")


def test_check_array_finite_and_ndim():
    with pytest.raises(ParameterError, match="1 NaN or infinite"):
        check_array([1.0, np.nan], "y")
    with pytest.raises(ParameterError, match="1-D"):
        check_array(np.zeros((2, 2)), "x", ndim=1)
    with pytest.raises(ParameterError, match="array-like"):
        check_array("abc", "x")
    assert check_array([1, 2], "x", ndim=1).dtype == np.float64


def test_check_choice():
    with pytest.raises(ParameterError, match="one of"):
        check_choice("x", "kind", ["a", "b"])


def test_check_pair():
    from specbias._validation import check_pair

    assert check_pair([1, 2], "r", owner="f") == (1.0, 2.0)
    assert check_pair((2, 2), "r", owner="f") == (2.0, 2.0)
    with pytest.raises(ParameterError, match=r"'r' parameter of f must be a pair \(lo, hi\) of finite floats with lo < hi"):
        check_pair((2, 2), "r", owner="f", increasing=True)
    with pytest.raises(ParameterError, match="both > 0"):
        check_pair((0, 1), "r", owner="f", min_val=0, strict_min=True)
    for bad in [(1,), 3.0, ("a", "b"), (np.nan, 1.0), (2.0, 1.0)]:
        with pytest.raises(ParameterError, match="'r' parameter of f"):
            check_pair(bad, "r", owner="f")
