"""The README's API tour runs as written (keeps the README true)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_tour_runs():
    text = README.read_text()
    tour = text[text.index("## A tour of the API"):]
    blocks = re.findall(r"```python\n(.*?)```", tour, flags=re.S)
    assert blocks, "README has no python block in its API tour"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md:api-tour", "exec"), namespace)
    # the tour's claims, checked on what it computed
    spectra = namespace["tracker"].spectra()[-1]
    assert spectra.shape == (2,)
    # after 500 steps the low frequency is fitted (amplitude 1), the high one (0.5) barely
    assert spectra[0] > 0.9 and spectra[1] < 0.25
    assert namespace["W"].shape[0] == 3
