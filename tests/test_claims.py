"""Claims as data (specbias.claims) and `specbias verify`: checks that can fail, verdicts,
the report's claims table, the registry's declarations and the generated README table."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from specbias.claims import (
    FAILS,
    FINDING,
    HOLDS,
    NOT_CHECKED,
    AllAtLeast,
    AllAtMost,
    AtLeast,
    AtMost,
    Between,
    Claim,
    IsTrue,
    MissingMetric,
    Ordered,
    Predicate,
    check_claims,
    evaluate_claim,
    evaluate_claims,
    lookup,
)
from specbias.cli import cli
from specbias.experiments import all_experiments

M = {"rho": 0.95, "err": {"relu": 0.01, "relu3.5": 0.07, "tanh": 0.02},
     "amp": {"2": 0.1, "4": 0.3, "6": 0.2}, "flag": True, "nan": None, "lst": [1.0, 2.0]}


def test_lookup_finds_nested_keys_and_keys_with_dots():
    assert lookup(M, "rho") == 0.95
    assert lookup(M, "err.relu3.5") == 0.07
    assert lookup(M, "amp.4") == 0.3
    with pytest.raises(MissingMetric):
        lookup(M, "err.gelu")
    with pytest.raises(MissingMetric):
        lookup(M, "rho.x")


@pytest.mark.parametrize("check, ok", [
    (AtLeast("rho", 0.9), True), (AtLeast("rho", 0.96), False),
    (AtMost("err.relu3.5", 0.0649), False), (AtMost("err.relu3.5", 0.08), True),
    (Between("rho", 0.9, 1.0), True), (Between("rho", 0.0, 0.9), False),
    (Ordered(("amp.2", "amp.4")), True), (Ordered(("amp.2", "amp.4", "amp.6")), False),
    (Ordered(("amp.2", "amp.4", "amp.6"), strict=False, margin=0.1), True),
    (Ordered(("amp.4", "amp.6"), direction="decreasing"), True),
    (AllAtMost("err", 0.05), False), (AllAtMost("err", 0.05, only=("relu", "tanh")), True),
    (AllAtLeast("lst", 1.0), True), (AllAtLeast("lst", 1.5), False),
    (IsTrue("flag"), True),
    (Predicate("relu beats tanh", lambda m: (m["err"]["relu"] < m["err"]["tanh"], 0)), True),
])
def test_every_check_kind_can_pass_and_fail(check, ok):
    passed, measured = check(M)
    assert passed is ok
    assert check.describe()


def test_nan_fails_and_missing_metric_fails_the_claim():
    assert evaluate_claim(Claim("a", "s", "w", AtLeast("nan", 0.0)), M, "quick")["verdict"] == FAILS
    row = evaluate_claim(Claim("a", "s", "w", AtLeast("nope", 0.0)), M, "quick")
    assert row["verdict"] == FAILS and "missing metric nope" in row["measured"]
    row = evaluate_claim(Claim("a", "s", "w", Predicate("x", lambda m: (m["zz"] > 0, 0))), M, "q")
    assert row["verdict"] == FAILS


def test_verdicts_holds_finding_fails_not_checked():
    holds = Claim("h", "s", "w", AtLeast("rho", 0.9))
    finding = Claim("f", "s", "w", AtLeast("rho", 0.9), finding="we find otherwise")
    broken_finding = Claim("b", "s", "w", AtLeast("rho", 0.99), finding="no longer true")
    paper_only = Claim("p", "s", "w", AtLeast("rho", 2.0), presets=("paper",))
    rows = evaluate_claims([holds, finding, broken_finding, paper_only], M, "quick")
    assert [r["verdict"] for r in rows] == [HOLDS, FINDING, FAILS, NOT_CHECKED]
    assert evaluate_claim(paper_only, M, "paper")["verdict"] == FAILS
    assert rows[0]["measured"] == "0.95"


def test_malformed_declarations_are_refused():
    c = Claim("a", "s", "w", AtLeast("rho", 0.9))
    with pytest.raises(ValueError, match="twice"):
        check_claims("x", [c, c], ["quick"])
    with pytest.raises(ValueError, match="preset 'papr'"):
        check_claims("x", [Claim("a", "s", "w", AtLeast("rho", 0.9), presets=("papr",))], ["quick"])
    with pytest.raises(TypeError):
        check_claims("x", ["not a claim"], ["quick"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        Ordered(("a",))


def test_run_summary_and_report_carry_the_claims(tmp_path, monkeypatch):
    from specbias.runner import run_experiment

    _fake_registry(monkeypatch, [Claim("ridge", "Ridge has a wider grey zone than GD.",
                                       "Lucey, Fig. 2", Ordered(("grey_zone_db.gd.1000",
                                                                 "grey_zone_db.ridge")))])
    s = run_experiment("lucey-mask", out=tmp_path / "r", quiet_progress=True)
    exp = all_experiments()["lucey-mask"]
    assert [r["id"] for r in s["claims"]] == [c.id for c in exp.claims]
    assert [r["verdict"] for r in s["claims"]] == [HOLDS]
    assert s["claims"][0]["measured"].startswith("grey_zone_db.gd.1000: 26.6")
    html = (tmp_path / "r" / "report.html").read_text()
    head = html[:html.index("<h2>Figures</h2>")]
    assert "paper says" in head and "we measured" in head and "verdict" in head


def _fake_registry(monkeypatch, claims):
    """lucey-mask with the given claims in place of its own (the run is real)."""
    from specbias import experiments

    exp = experiments.get("lucey-mask")
    monkeypatch.setattr(exp, "claims", tuple(claims))


def test_verify_writes_the_table_and_fails_on_a_failing_claim(tmp_path, monkeypatch):
    runner = CliRunner()
    out = tmp_path / "v"
    _fake_registry(monkeypatch, [Claim("grey", "GD's grey zone is wide.", "Lucey, Fig. 2",
                                       AtLeast("grey_zone_db.gd.1000", 0.0), paper_value="~ 26 dB")])
    res = runner.invoke(cli, ["verify", "--only", "lucey-mask", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "verify.json").read_text())
    assert data["counts"]["holds"] == 1 and data["claims"][0]["experiment"] == "lucey-mask"
    assert "GD&#x27;s grey zone is wide." in (out / "verify.html").read_text() or \
        "grey zone" in (out / "verify.html").read_text()
    # the same run, now judged by a claim that cannot hold: exit 1, the run is reused
    _fake_registry(monkeypatch, [Claim("grey", "s", "w", AtLeast("grey_zone_db.gd.1000", 1e9))])
    res = runner.invoke(cli, ["verify", "--only", "lucey-mask", "--out", str(out), "--quiet"])
    assert res.exit_code == 1
    assert "finished earlier" in res.output and "lucey-mask:grey" in res.output
    assert json.loads((out / "verify.json").read_text())["counts"]["fails"] == 1


def test_verify_refuses_bad_input_before_running(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["verify", "--only", "lucey-mask,nope", "--out", str(tmp_path / "a")])
    assert res.exit_code == 2 and "Unknown experiment 'nope'" in res.output
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("x")
    res = runner.invoke(cli, ["verify", "--only", "lucey-mask", "--out", str(foreign)])
    assert res.exit_code == 2 and (foreign / "chapter1.tex").read_text() == "x"
    assert sorted(p.name for p in foreign.iterdir()) == ["chapter1.tex"]
    res = runner.invoke(cli, ["verify", "--only", "lucey-mask", "--preset", "huge",
                              "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "Unknown preset" in res.output
    res = runner.invoke(cli, ["verify", "--workers", "0", "--only", "lucey-mask",
                              "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "'workers'" in res.output
