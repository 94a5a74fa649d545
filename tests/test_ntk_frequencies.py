"""ntk-frequencies: the NTK at initialization predicts which frequency full-batch SGD learns
when (docs/ntk.md, "Rahaman Exp. 1 through the NTK")."""

from __future__ import annotations

import pytest

from specbias._validation import ParameterError
from specbias.runner import resolve_config, run_experiment


def test_ntk_frequencies_quick_prediction_matches_at_the_wider_width(tmp_path):
    # the quick preset without the Adam contrast (same widths, frequencies and steps)
    summary = run_experiment("ntk-frequencies", overrides={"adam": False},
                             out=tmp_path / "run", quiet_progress=True)
    assert summary["status"] == "ok"
    m = summary["metrics"]
    for name in ("first_reach_step_predicted", "first_reach_step_measured", "rank_correlation",
                 "function_rel_error", "kernel_drift", "max_lr"):
        assert set(m[name]) == {"64", "256"}, name
    assert set(m["first_reach_step_measured"]["256"]) == {"1", "2", "3", "4"}
    # measured (seed 0): Spearman 1.0 at width 256 (-0.4 at width 64)
    assert m["rank_correlation"]["256"] >= 0.9
    # the lowest frequency is learned first, predicted and measured, at width 256
    pred, meas = m["first_reach_step_predicted"]["256"], m["first_reach_step_measured"]["256"]
    assert pred["1"] == min(v for v in pred.values() if v is not None)
    assert meas["1"] == min(v for v in meas.values() if v is not None)
    # the linearization is closer for the wider network (0.32 vs 0.45 measured)
    assert m["function_rel_error"]["256"] < m["function_rel_error"]["64"]
    assert all(v > 0 for v in m["kernel_drift"].values())
    assert (tmp_path / "run" / "heatmaps.png").is_file()
    assert (tmp_path / "run" / "first_reach.png").is_file()


def test_ntk_frequencies_is_deterministic_and_reports_adam(tmp_path):
    small = {"widths": [32], "steps": 200, "every": 20, "n_points": 32,
             "frequencies": [1.0, 2.0, 3.0]}
    a = run_experiment("ntk-frequencies", overrides=small, out=tmp_path / "a",
                       quiet_progress=True)
    b = run_experiment("ntk-frequencies", overrides=small, out=tmp_path / "b",
                       quiet_progress=True)
    assert a["metrics"] == b["metrics"]
    assert "32" in a["metrics"]["adam_function_rel_error"]
    assert any("gradient descent" in n for n in a["notes"])


def test_ntk_frequencies_refuses_bad_configs():
    with pytest.raises(ParameterError, match="'widths.1' parameter of ntk-frequencies"):
        resolve_config("ntk-frequencies", "quick", {"widths": [64, 0]})
    with pytest.raises(ParameterError, match="'widths' parameter of ntk-frequencies must hold "
                                             "distinct widths"):
        resolve_config("ntk-frequencies", "quick", {"widths": [64, 64]})
    with pytest.raises(ParameterError, match="'lr_fraction' parameter of ntk-frequencies"):
        resolve_config("ntk-frequencies", "quick", {"lr_fraction": 1.0})
