"""The documentation site (mkdocs.yml; ``make docs``) and its checker (scripts/check_site.py).

The default suite checks that the API reference covers every public export and that the
checker catches what it should on small hand-made sites. The test marked slow builds the real
site with ``mkdocs build --strict`` (executing the notebooks) and checks it in headless
Chromium; it needs the docs extra and Debian's ``chromium``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import specbias

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


check_site = _load(ROOT / "scripts" / "check_site.py", "check_site")


def test_api_reference_covers_every_public_export():
    documented: dict[str, str] = {}
    for page in (ROOT / "docs" / "api").glob("*.md"):
        for path in re.findall(r"^::: (specbias\.[\w.]+)$", page.read_text(), flags=re.M):
            module, _, name = path.rpartition(".")
            documented[name] = module
    missing = sorted(set(specbias._EXPORTS) - set(documented))
    assert not missing, f"public exports missing from docs/api/*.md: {missing}"
    for name in specbias._EXPORTS:
        # the documented path is where the object is defined
        obj = getattr(specbias, name)
        assert documented[name] == obj.__module__, (name, documented[name], obj.__module__)


def test_every_docs_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix()
                   for p in (ROOT / "docs").glob("**/*.md") if "results" not in p.parts)
    for page in pages:
        assert page in nav, f"docs/{page} is not in mkdocs.yml's nav"
    for nb in (ROOT / "docs" / "notebooks").glob("*.py"):
        assert f"notebooks/{nb.name}" in nav, nb.name


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for rel, body in pages.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return tmp_path


def test_link_checker_passes_a_clean_site(tmp_path):
    site = _site(tmp_path, {
        "index.html": '<h1 id="top">Home</h1><a href="api/">api</a> <a href="#top">top</a>'
                      '<a href="api/#f">f</a><img src="img/a.png"><a href="https://example.org">x</a>'
                      '<script src="/js/app.js"></script><a href="mailto:a@b.c">mail</a>',
        "api/index.html": '<h2 id="f">f</h2><a href="../">home</a><a href="../index.html#top">t</a>',
        "img/a.png": "png",
        "js/app.js": "",
    })
    assert check_site.check_links(site) == []


@pytest.mark.parametrize("body, expected", [
    ('<a href="missing/">x</a>', "broken <a> missing/"),
    ('<img src="nope.png">', "broken <img> nope.png"),
    ('<a href="#nowhere">x</a>', "missing anchor #nowhere"),
    ('<a href="other.html#gone">x</a>', "missing anchor other.html#gone"),
    ('<script src="https://cdn.example.org/x.js"></script>', "external resource"),
    ('<link rel="stylesheet" href="https://fonts.example.org/css">', "external resource"),
    ('<script src=""> </script>', "empty src"),
    ('<a href="../../outside.html">x</a>', "leaves the site"),
])
def test_link_checker_catches(tmp_path, body, expected):
    site = _site(tmp_path / "site", {"index.html": body, "other.html": '<p id="here"></p>'})
    problems = check_site.check_links(site)
    assert len(problems) == 1 and expected in problems[0], problems


def test_doctest_fences():
    pytest.importorskip("griffe")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from gen_griffe import doctest_fences
    finally:
        sys.path.remove(str(ROOT / "docs"))
    text = ("See :func:`train` and :class:`~specbias.nn.MLP`.\n\n>>> a = 1\n>>> a\n1\n\n"
            "Examples\n--------\n>>> b\n2")
    out = doctest_fences(text)
    assert out.startswith("See ``train`` and ``specbias.nn.MLP``.")
    assert "```pycon\n>>> a = 1\n>>> a\n1\n```" in out
    # an Examples section is left to the numpy parser
    assert out.endswith("Examples\n--------\n>>> b\n2")


@pytest.mark.slow
def test_site_builds_strict_and_renders_in_chromium(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_jupyter")
    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    site = tmp_path / "site"
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    proc = subprocess.run(mkdocs, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # the generated parts are there
    experiments = (site / "experiments" / "index.html").read_text()
    assert "lucey-spectrum" in experiments and "rahaman-frequencies" in experiments
    assert (site / "assets" / "mathjax" / "tex-mml-chtml.js").is_file()
    for nb in ("which_frequencies", "shrinkage_in_ten_lines", "choosing_omega0_sigma"):
        html = (site / "notebooks" / nb / "index.html").read_text()
        assert "data:image/png" in html, f"{nb}: no figure in the executed notebook"
    assert check_site.main([str(site)]) == 0


@pytest.mark.slow
def test_browser_check_catches_a_missing_image(tmp_path):
    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    site = _site(tmp_path, {"index.html": "<h1>Home</h1><img src='gone.png'>"})
    problems = check_site.check_browser(site, chromium, pages=[("index.html", ["Home"])])
    assert any("gone.png" in p and "404" in p for p in problems), problems
    problems = check_site.check_browser(site, chromium, pages=[("index.html", ["Absent"])])
    assert any("does not contain 'Absent'" in p for p in problems), problems


def test_makefile_has_a_docs_target():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^docs:", text, flags=re.M) and "mkdocs build --strict" in text
    phony = next(line for line in text.splitlines() if line.startswith(".PHONY:"))
    assert "docs" in phony.split()


def test_every_public_export_documents_its_parameters_and_returns():
    import inspect

    missing = []
    for name in specbias._EXPORTS:
        obj = getattr(specbias, name)
        doc = inspect.getdoc(obj) or ""
        sections = ["Parameters"] + ([] if inspect.isclass(obj) else ["Returns"])
        missing += [f"{name}: {s}" for s in sections
                    if not re.search(rf"^{s}\n-+$", doc, flags=re.M)]
    assert not missing, f"docstrings without numpy sections: {missing}"
