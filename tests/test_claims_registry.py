"""Every registered experiment declares the paper's claims it reproduces, and the README's
experiment table is the one generated from the registry and those claims."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from specbias.cli import cli
from specbias.experiments import all_experiments

README = Path(__file__).resolve().parents[1] / "README.md"


def _ours():
    """The experiments specbias ships (tests register private ones of their own)."""
    return {n: e for n, e in all_experiments().items()
            if e.fn.__module__.startswith("specbias.experiments.")}


def test_every_registered_experiment_declares_a_claim_with_a_check():
    for name, exp in _ours().items():
        assert exp.claims, f"{name} declares no claim"
        for c in exp.claims:
            assert c.statement and c.where and c.check.describe(), (name, c.id)
            if c.finding:
                assert "docs/" in c.finding, f"{name}:{c.id}: a finding must point at its evidence"


def test_readme_experiment_table_is_the_generated_one():
    from specbias.report import experiments_markdown

    runner = CliRunner()
    res = runner.invoke(cli, ["list", "--markdown"])
    assert res.exit_code == 0
    assert "| `lucey-mask` (demo) |" in res.output
    text = README.read_text()
    m = re.search(r"<!-- experiments-table -->\n(.*?)<!-- /experiments-table -->", text, re.S)
    assert m, "README lost its experiments-table markers"
    assert experiments_markdown(_ours()).strip() in m.group(1), \
        "README's experiment table is stale: paste `specbias list --markdown` between the markers"
