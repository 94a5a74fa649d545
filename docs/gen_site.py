"""MkDocs hooks of the documentation site (mkdocs.yml: ``hooks``).

* ``experiments.md`` is generated at build time from the experiment registry
  (``specbias list --markdown``), so the table never goes stale;
* MathJax 3 is served from the site itself, copied from the ``django-static-mathjax`` package
  (package data only; it does not need Django), with the configuration that
  ``pymdownx.arithmatex`` (generic mode) expects: no CDN;
* pages that scripts generate (the paper-preset results) join the navigation when present;
* the notebooks (``notebooks/*.py``, executed by mkdocs-jupyter) draw their figures inline
  whatever ``MPLBACKEND`` the build was started with, their links to other pages
  (``../ntk.md``, as Jupyter opens them) become the site's URLs, and their pages load no
  MathJax 2.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import subprocess
import sys
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.gen_site")

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENTS_PAGE = """# Experiments

Every experiment registered with specbias, what it reproduces and the paper's claims it checks.
This table is generated from the registry when the site is built (`specbias list --markdown`).
Run one with `specbias run NAME --preset quick --out DIR`, check its claims with
`specbias verify --only NAME`, and see `specbias list NAME` for its settings. How to add one:
[Adding an experiment](adding-an-experiment.md).

{table}
"""

MATHJAX_CONFIG = """\
window.MathJax = {
  tex: {
    inlineMath: [["\\\\(", "\\\\)"]],
    displayMath: [["\\\\[", "\\\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
"""

# the parts of MathJax's es5 build that tex-mml-chtml.js loads (extensions, fonts, menu)
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y")


def experiment_table() -> str:
    """The Markdown table of every registered experiment, from the CLI."""
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "specbias", "list", "--markdown"],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if proc.returncode != 0 or not proc.stdout.strip().startswith("|"):
        raise PluginError(f"specbias list --markdown failed (exit {proc.returncode}):\n"
                          f"{proc.stderr.strip()}")
    return proc.stdout.strip()


def mathjax_dir() -> Path:
    try:
        import mathjax  # django-static-mathjax
    except ImportError as exc:  # pragma: no cover - the docs extra installs it
        raise PluginError("MathJax is missing: install the docs extra "
                          '(pip install -e ".[docs]", it holds django-static-mathjax).') from exc
    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


# pages produced by scripts (present only once generated): nav title -> path under docs/
OPTIONAL_PAGES = {"Paper-preset results": "results/paper/README.md",
                  "Paper-preset failures": "results/paper/NOTES.md",
                  "Paper presets not run": "results/paper/NOT_RUN.md"}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    # the notebook kernels inherit the environment: draw inline, not with Agg
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    nav = config.nav or []
    at = next((i + 1 for i, item in enumerate(nav)
               if isinstance(item, dict) and "Experiments" in item), len(nav))
    for title, path in OPTIONAL_PAGES.items():
        if (Path(config.docs_dir) / path).is_file():
            nav.insert(at, {title: path})
            at += 1
    return config


_MD_LINK = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|/|#)([^"#]+\.md)(#[^"]*)?"')


def _notebook_links(output: str, page: Page, files: Files) -> str:
    """Links between pages written in a notebook's Markdown (``../ntk.md``: right next to the
    notebook in Jupyter) as the site's URLs; mkdocs-jupyter leaves them as they are."""

    def repl(m: re.Match) -> str:
        src = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), m[1]))
        target = files.get_file_from_path(src)
        if target is None:
            log.warning("Doc file '%s' contains a link '%s', but the target '%s' is not found "
                        "among documentation files.", page.file.src_uri, m[1], src)
            return m[0]
        return f'href="{target.url_relative_to(page.file)}{m[2] or ""}"'

    return _MD_LINK.sub(repl, output)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri.startswith("notebooks/"):
        html = _notebook_links(html, page, files)
    return html


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    # nbconvert's template adds a MathJax 2 loader with an empty URL when none is configured
    # (the site's own MathJax 3 covers every page): drop the empty script tag
    return output.replace('<script src=""> </script>', "")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, "experiments.md",
                                content=EXPERIMENTS_PAGE.format(table=experiment_table())))
    files.append(File.generated(config, "assets/javascripts/mathjax-config.js",
                                content=MATHJAX_CONFIG))
    es5 = mathjax_dir()
    for part in MATHJAX_PARTS:
        src = es5 / part
        paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for path in paths:
            uri = "assets/mathjax/" + path.relative_to(es5).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
