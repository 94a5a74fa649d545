import json

import pytest

from specbias._validation import ParameterError
from specbias.experiments import ExperimentConfig, get, register_experiment
from specbias.runner import load_summary, parse_overrides, resolve_config, run_experiment


def test_parse_overrides_json_and_strings():
    assert parse_overrides(["a=3", "b=[1, 2]", "c=relu", "d=true", "e=1.5"]) == {
        "a": 3, "b": [1, 2], "c": "relu", "d": True, "e": 1.5}
    with pytest.raises(ParameterError, match="key=value"):
        parse_overrides(["novalue"])


def test_unknown_experiment_suggests_close_match():
    with pytest.raises(ParameterError, match="Did you mean: lucey-spectrum"):
        get("lucey-spectrm")


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ParameterError, match="Valid keys: width"):
        resolve_config("lucey-spectrum", "quick", ["bogus=1"])


def test_out_of_range_value_names_parameter():
    with pytest.raises(ParameterError, match="'width' parameter of lucey-spectrum.*Got -3"):
        resolve_config("lucey-spectrum", "quick", {"width": -3})


def test_presets_differ():
    assert resolve_config("lucey-spectrum", "paper").width > resolve_config("lucey-spectrum").width


def test_lucey_spectrum_decay_exponents_and_outputs(tmp_path):
    s = run_experiment("lucey-spectrum", out=tmp_path / "r", quiet_progress=True)
    p = s["metrics"]["decay_exponent"]
    # docs/theory.md section 2: ~1 for step/tanh, ~2 for relu/gelu/silu, ~3 for relu^2
    for a in ("heaviside", "tanh"):
        assert 0.8 < p[a] < 1.3, (a, p[a])
    for a in ("relu", "gelu", "silu"):
        assert 1.8 < p[a] < 2.4, (a, p[a])
    assert 2.8 < p["relu2"] < 3.5
    # non-monotonic activations are flat up to k ~ s
    assert p["sinc"] < 0.5 and p["gaussian"] < 0.5
    out = tmp_path / "r"
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["config"]["width"] == 256 and on_disk["seed"] == 0
    assert {"numpy", "torch", "specbias"} <= set(on_disk["versions"])
    assert on_disk["timings"]["wall_s"] > 0
    assert sorted(f["file"] for f in on_disk["figures"]) == [
        "spectrum_monotonic.png", "spectrum_non_monotonic.png"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "decay_exponent.relu" in html
    assert (out / "singular_values.parquet").is_file()
    assert not list(tmp_path.glob(".r.partial-*"))


def test_same_seed_same_metrics(tmp_path):
    a = run_experiment("lucey-spectrum", overrides={"width": 64}, out=tmp_path / "a",
                       quiet_progress=True)
    b = run_experiment("lucey-spectrum", overrides={"width": 64}, out=tmp_path / "b",
                       quiet_progress=True)
    assert a["metrics"] == b["metrics"]


class _Cfg(ExperimentConfig):
    fail: bool = False
    value: float = 1.0


@register_experiment("_test-random", config=_Cfg, description="test only", reproduces="-")
def _random_exp(cfg, ctx):
    import torch

    ctx.metric("np", float(ctx.rng.normal()))
    ctx.metric("torch", float(torch.randn(1, generator=ctx.torch_generator())))
    ctx.metric("value", cfg.value)
    if cfg.fail:
        raise RuntimeError("boom")


def test_seed_controls_randomness(tmp_path):
    a = run_experiment("_test-random", seed=1, out=tmp_path / "a")
    b = run_experiment("_test-random", seed=1, out=tmp_path / "b")
    c = run_experiment("_test-random", seed=2, out=tmp_path / "c")
    assert a["metrics"] == b["metrics"] and a["metrics"] != c["metrics"]
    with pytest.raises(ParameterError, match="seed"):
        run_experiment("_test-random", seed=-1, out=tmp_path / "d")


def test_failed_run_leaves_previous_results_intact(tmp_path):
    out = tmp_path / "run"
    run_experiment("_test-random", overrides={"value": 2.0}, out=out)
    before = (out / "summary.json").read_text()
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment("_test-random", overrides={"value": 3.0, "fail": True}, out=out)
    assert (out / "summary.json").read_text() == before
    assert load_summary(out)["metrics"]["value"] == 2.0
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_rerun_replaces_whole_previous_result(tmp_path):
    out = tmp_path / "run"
    run_experiment("_test-random", out=out)
    # a file the previous result lists (e.g. a figure the new config no longer draws) goes
    summary = json.loads((out / "summary.json").read_text())
    summary["figures"].append({"file": "old.png", "caption": ""})
    (out / "summary.json").write_text(json.dumps(summary))
    (out / "old.png").write_bytes(b"x")
    run_experiment("_test-random", overrides={"value": 5.0}, out=out)
    assert not (out / "old.png").exists()
    assert load_summary(out)["metrics"]["value"] == 5.0


def test_rerun_refuses_a_result_holding_a_users_file(tmp_path):
    out = tmp_path / "run"
    run_experiment("_test-random", out=out)
    (out / "notes.txt").write_text("mine")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(ParameterError, match="not a specbias result.*notes.txt"):
        run_experiment("_test-random", overrides={"value": 5.0}, out=out)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="not a directory|not writable"):
        run_experiment("_test-random", out=blocker)
    with pytest.raises(ParameterError, match="not writable"):
        run_experiment("_test-random", out=blocker / "sub")


def test_load_summary_missing(tmp_path):
    with pytest.raises(Exception, match="No finished run"):
        load_summary(tmp_path)
