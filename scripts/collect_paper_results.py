"""Copy paper-preset results into docs/results/paper/: each experiment's summary.json and its
figures, and a README.md with the claims table "paper says / we measured / verdict".

    specbias verify --preset paper --only A,B --out out/paper     # hours: run in the background
    python scripts/collect_paper_results.py out/paper [out/paper2 ...]   # then commit them
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "docs" / "results" / "paper"


def _md(text: str) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def main(sources: list[str]) -> int:
    from specbias.verify import claim_rows

    runs: dict[str, Path] = {}  # experiment -> its run directory (later sources win)
    for src in sources:
        src_dir = Path(src)
        verify = json.loads((src_dir / "verify.json").read_text())
        for name in verify["experiments"]:
            if (src_dir / name / "summary.json").is_file():
                runs[name] = src_dir / name
    DEST.mkdir(parents=True, exist_ok=True)
    lines = ["# Paper-preset results", "",
             "Produced by `specbias verify --preset paper` on a 2-core CPU machine; each "
             "directory holds the run's `summary.json` (config, metrics, timings, versions) and its "
             "figures. The claims are judged with today's declarations on the committed metrics.",
             "", "| experiment | claim | paper says | paper's value | we measured | verdict |",
             "|---|---|---|---|---|---|"]
    done = []
    for name, run in sorted(runs.items()):
        summary_path = run / "summary.json"
        summary = json.loads(summary_path.read_text())
        out = DEST / name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        shutil.copy2(summary_path, out / "summary.json")
        for fig in summary.get("figures", []):
            f = run / fig["file"]
            if f.is_file():
                shutil.copy2(f, out / f.name)
        wall = summary["timings"]["wall_s"]
        done.append((name, wall))
        for r in claim_rows(name, summary, "paper"):
            lines.append(f"| [`{name}`]({name}/summary.json) | {_md(r['id'])} | "
                         f"{_md(r['statement'])} | {_md(r.get('paper_value'))} | "
                         f"{_md(r.get('measured'))} | {r['verdict']} |")
    lines += ["", "Wall times on this machine: "
              + ", ".join(f"`{n}` {w / 60:.1f} min" for n, w in done) + ".", ""]
    if (DEST / "NOTES.md").is_file():
        lines += ["The claims that fail at the paper preset, and what we know of each: "
                  "[NOTES.md](NOTES.md).", ""]
    notes = DEST / "NOT_RUN.md"
    if notes.is_file():
        lines += ["The paper presets not run here, and the machine they need: "
                  "[NOT_RUN.md](NOT_RUN.md).", ""]
    (DEST / "README.md").write_text("\n".join(lines))
    print(f"{len(done)} experiments -> {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["out/paper"]))
