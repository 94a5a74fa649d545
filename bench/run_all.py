"""Run every benchmark in bench/ (each in its own process) and print their tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = []
for script in sorted(here.glob("bench_*.py")):
    print(f"\n===== {script.name}", flush=True)
    rc = subprocess.call([sys.executable, str(script), *sys.argv[1:]])
    if rc != 0:
        failed.append(script.name)
if failed:
    print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1)
