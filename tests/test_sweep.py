import pandas as pd
import pytest

from specbias._validation import ParameterError
from specbias.sweep import grid_points, parse_grid, point_id, run_sweep


def test_grid_points_product():
    pts = grid_points({"a": [1, 2], "b": ["x"]}, seeds=[0, 1])
    assert len(pts) == 4 and pts[0] == ({"a": 1, "b": "x"}, 0)
    with pytest.raises(ParameterError):
        grid_points({"a": []})


def test_parse_grid():
    assert parse_grid(["width=[8,16]", "scale=2"]) == {"width": [8, 16], "scale": [2]}


def test_sweep_runs_collects_and_resumes(tmp_path):
    grid = {"width": [16, 32]}
    df = run_sweep("lucey-spectrum", grid, seeds=[0], out=tmp_path,
                   fixed={"activations": ["relu", "heaviside"], "fit_first": 10})
    assert df.attrs["ran"] == 2 and len(df) == 2
    assert set(df["param.width"]) == {16, 32}
    assert "metric.decay_exponent.relu" in df.columns
    assert pd.read_parquet(tmp_path / "sweep.parquet").shape == df.shape
    # interrupted sweep: one point lost -> only that one reruns
    import shutil

    shutil.rmtree(tmp_path / point_id({"width": 32}, 0))
    df2 = run_sweep("lucey-spectrum", grid, seeds=[0], out=tmp_path,
                    fixed={"activations": ["relu", "heaviside"], "fit_first": 10})
    assert df2.attrs["ran"] == 1
    pd.testing.assert_frame_equal(df.drop(columns=[]), df2)
    # a changed fixed value is a different config: everything reruns
    df3 = run_sweep("lucey-spectrum", grid, seeds=[0], out=tmp_path,
                    fixed={"activations": ["relu"], "fit_first": 10})
    assert df3.attrs["ran"] == 2


def test_sweep_validates_every_point_before_running(tmp_path):
    with pytest.raises(ParameterError, match="width"):
        run_sweep("lucey-spectrum", {"width": [16, -1]}, out=tmp_path)
    assert not any(p.is_dir() for p in tmp_path.iterdir())
