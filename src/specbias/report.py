"""Self-contained HTML reports: figures inlined as PNG data, metrics, config, tables."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} figure{margin:1em 0} img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em} .warn{background:#fff4e5;padding:.5em 1em;border-left:4px solid #f90}
.bad{background:#fdecea;padding:.5em 1em;border-left:4px solid #d33}
code{background:#f6f6f6;padding:1px 4px}
.scroll{overflow-x:auto;max-width:100%} .scroll table{margin-top:0}
td.v-holds{background:#e8f5e9} td.v-fails{background:#fdecea;font-weight:bold}
td.v-finding{background:#fff4e5} td.v-not{color:#888}
table.claims td.claim{min-width:16em;max-width:28em} table.claims td.val{max-width:16em;
overflow-wrap:anywhere} table.claims td.chk{max-width:18em;overflow-wrap:anywhere;font-size:.85em}
table.claims td.v-holds,table.claims td.v-fails,table.claims td.v-finding,table.claims td.v-not
{min-width:7em;max-width:22em} small.where{color:#777}
"""


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        if len(v) > 12:
            return html.escape(json.dumps(v[:12])[:-1] + ", ...]")
        return html.escape(json.dumps([round(x, 6) if isinstance(x, float) else x for x in v]))
    if v is None:
        return "<i>n/a</i>"
    return html.escape(str(v))


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{_fmt(v)}</td></tr>"
                   for k, v in flatten(d).items())
    return f"<div class='scroll'><table><tr><th>name</th><th>value</th></tr>{rows}</table></div>"


def _read_table(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception:  # noqa: BLE001 - a broken table must not break the report
        return None


def _verdict_cell(verdict: str) -> str:
    cls = {"holds": "v-holds", "fails": "v-fails", "finding": "v-finding"}.get(verdict, "v-not")
    return f"<td class='{cls}'>{html.escape(verdict)}</td>"


def claims_table(rows: list[dict[str, Any]], *, experiment_column: bool = False) -> str:
    """The HTML table "paper says / we measured / verdict" of claim rows (as
    :func:`specbias.claims.evaluate_claims` gives them): the claim and where it is in the paper,
    the paper's value, our measurement, the verdict (a finding's explanation under it) and the
    check that decided it."""
    if not rows:
        return "<p class='warn'>This experiment declares no claims.</p>"
    head = ("<tr>" + ("<th>experiment</th>" if experiment_column else "")
            + "<th>paper says</th><th>paper's value</th><th>we measured</th><th>verdict</th>"
              "<th>check</th></tr>")
    body = []
    for r in rows:
        finding = (f"<br><small>{html.escape(r['finding'])}</small>"
                   if r.get("finding") and r.get("verdict") != "not checked at this preset"
                   else "")
        exp = (f"<td><a href='{html.escape(r['experiment'])}/report.html'>"
               f"{html.escape(r['experiment'])}</a></td>" if experiment_column else "")
        body.append(f"<tr>{exp}<td class='claim'>{html.escape(r['statement'])}"
                    f"<br><small class='where'>{html.escape(r['where'])}</small></td>"
                    f"<td class='val'>{html.escape(r.get('paper_value') or '')}</td>"
                    f"<td class='val'>{html.escape(r.get('measured', ''))}</td>"
                    + _verdict_cell(r["verdict"]).replace("</td>", finding + "</td>")
                    + f"<td class='chk'><code>{html.escape(r['check'])}</code></td></tr>")
    return f"<div class='scroll'><table class='claims'>{head}{''.join(body)}</table></div>"


def render_report(summary: dict[str, Any], directory: str | Path) -> str:
    """The HTML of a run's report; figures are embedded, so the file stands alone."""
    directory = Path(directory)
    title = html.escape(summary["experiment"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{title}</h1>",
             f"<p class='sub'>{html.escape(summary.get('description', ''))}<br>"
             f"Reproduces: {html.escape(summary.get('reproduces', ''))} &middot; preset "
             f"<b>{html.escape(summary.get('preset', ''))}</b> &middot; seed {summary.get('seed')}"
             f" &middot; {summary['timings']['wall_s']:.1f} s</p>"]
    if "claims" in summary:
        parts.append("<h2>The paper's claims beside our numbers</h2>"
                     + claims_table(summary["claims"]))
    if summary.get("diverged"):
        items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                        for k, v in summary["diverged"].items())
        parts.append(f"<div class='bad'><b>Diverged</b><ul>{items}</ul></div>")
    if summary.get("failed"):
        items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                        for k, v in summary["failed"].items())
        parts.append(f"<div class='bad'><b>Failed to train</b><ul>{items}</ul></div>")
    for w in summary.get("warnings", []):
        parts.append(f"<p class='warn'>{html.escape(w)}</p>")
    for n in summary.get("notes", []):
        parts.append(f"<p>{html.escape(n)}</p>")
    parts.append("<h2>Figures</h2>")
    for fig in summary.get("figures", []):
        p = directory / fig["file"]
        if p.is_file():
            data = base64.b64encode(p.read_bytes()).decode()
            parts.append(f"<figure><img alt='{html.escape(fig['file'])}' src='data:image/png;base64,"
                         f"{data}'><figcaption>{html.escape(fig['file'])}: "
                         f"{html.escape(fig.get('caption', ''))}</figcaption></figure>")
    parts.append("<h2>Metrics</h2>" + _kv_table(summary.get("metrics", {})))
    tables = summary.get("tables", [])
    if tables:
        parts.append("<h2>Tables</h2>")
        for t in tables:
            df = _read_table(directory / t)
            if df is None:
                continue
            more = f" (first 30 of {len(df)} rows)" if len(df) > 30 else ""
            parts.append(f"<h3>{html.escape(t)}{more}</h3><div class='scroll'>"
                         + df.head(30).to_html(index=False, float_format=lambda x: f"{x:.5g}")
                         + "</div>")
    parts.append("<h2>Config</h2>" + _kv_table(summary.get("config", {})))
    parts.append("<h2>Timings (s)</h2>" + _kv_table(summary.get("timings", {})))
    parts.append("<h2>Versions</h2>" + _kv_table(summary.get("versions", {})))
    parts.append("</body></html>")
    return "\n".join(parts)


def run_status(summary: dict[str, Any]) -> str:
    """One line on how a run ended: ``ok``, or which parts diverged / failed to train."""
    parts = []
    for key, label in (("diverged", "diverged"), ("failed", "failed to train")):
        bad = summary.get(key) or {}
        if bad:
            parts.append(f"{label}: {', '.join(bad)}")
    return "; ".join(parts) if parts else str(summary.get("status", "?"))


def render_index(runs: list[dict[str, Any]], *, errors: dict[str, str] | None = None,
                 pending: list[str] | None = None) -> str:
    """An index page linking the reports of several runs (``make demo``), each with its first
    figure as a thumbnail and how it ended; runs that raised (``errors``) and runs not yet made
    (``pending``, an interrupted demo) are listed too. The page sits beside the run
    directories, named by experiment."""
    rows = []
    for s in runs:
        name = html.escape(s["experiment"])
        status = run_status(s)
        cls = " class='bad'" if status != "ok" else ""
        figs = s.get("figures", [])
        thumb = (f"<a href='{name}/report.html'><img class='thumb' alt='{html.escape(figs[0]['file'])}'"
                 f" src='{name}/{html.escape(figs[0]['file'])}'></a>" if figs else "")
        rows.append(f"<tr><td><a href='{name}/report.html'>{name}</a><br>"
                    f"<small>{html.escape(s.get('description', ''))}</small></td>"
                    f"<td>{html.escape(s.get('reproduces', ''))}</td><td{cls}>{html.escape(status)}"
                    f"</td><td>{s['timings']['wall_s']:.1f}</td><td>{thumb}</td></tr>")
    for name, msg in (errors or {}).items():
        rows.append(f"<tr><td>{html.escape(name)}</td><td></td><td class='bad'>error: "
                    f"{html.escape(msg)}</td><td></td><td></td></tr>")
    for name in pending or []:
        rows.append(f"<tr><td>{html.escape(name)}</td><td></td><td class='warn'>not run yet "
                    "(interrupted; rerun to finish)</td><td></td><td></td></tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>specbias demo</title>"
            f"<style>{_CSS} img.thumb{{width:320px;border:1px solid #ddd}}</style></head><body>"
            f"<h1>specbias demo</h1><table><tr><th>experiment</th><th>reproduces</th>"
            f"<th>status</th><th>wall s</th><th>first figure</th></tr>{''.join(rows)}</table>"
            "</body></html>")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def experiments_markdown(exps: dict[str, Any]) -> str:
    """The Markdown table of the registered experiments (``specbias list --markdown``; the
    README's experiment table): name (``(demo)`` for those ``make demo`` runs), what it
    reproduces, what it shows, and the paper's claims it checks, with the check and the presets
    it is checked at; a declared finding is marked as such."""
    lines = ["| experiment | reproduces | what it shows | claims checked (paper says; our check) |",
             "|---|---|---|---|"]
    for name, exp in exps.items():
        claims = []
        for c in exp.claims:
            at = f" [{', '.join(c.presets)} preset]" if c.presets else ""
            tag = "**finding**: " if c.finding else ""
            paper = f" (paper: {c.paper_value})" if c.paper_value else ""
            claims.append(f"{tag}{_md(c.statement)}{paper}; `{_md(c.check.describe())}`{at}")
        demo = " (demo)" if exp.demo else ""
        lines.append(f"| `{name}`{demo} | {_md(exp.reproduces)} | {_md(exp.description)} | "
                     f"{'<br>'.join(claims) or '(none)'} |")
    return "\n".join(lines)
