#!/usr/bin/env python3
"""Check the built documentation site (``make docs`` -> site/).

1. Links: every local ``href``/``src`` of every page in the site resolves to a file of the
   site, and every ``#anchor`` of a local page link exists on the target page; the pages load
   nothing from outside (scripts, stylesheets, images, fonts).
2. Browser: the site is served on localhost and headless Chromium opens the home page, one
   API reference page and the theory page. Each must render (its DOM holds the expected
   headings; MathJax typesets the theory page's equations) and the browser must request no
   missing file (a 404 from the server is a broken link, image, script or font).

    python scripts/check_site.py [SITE_DIR] [--chromium PATH] [--no-browser]

Exit status 0 when every check passes, 1 otherwise (each problem is printed). Chromium comes
from Debian's ``chromium`` package (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

# (page, strings its rendered DOM must contain)
BROWSER_PAGES: list[tuple[str, list[str]]] = [
    ("index.html", ["<h1", "specbias", "Where to start", "API reference"]),
    ("api/ntk/index.html", ["The neural tangent kernel", "LinearizedGD", "empirical_ntk",
                            "Parameters"]),
    ("theory/index.html", ["Theory", "<mjx-container"]),
]

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage", "--virtual-time-budget=10000",
]

# attributes that load or link a resource, per tag
LINK_ATTRS = {"a": ("href",), "link": ("href",), "img": ("src",), "script": ("src",),
              "source": ("src",), "iframe": ("src",), "video": ("src", "poster"),
              "audio": ("src",)}
# tags whose external URL would be loaded by the page (an <a> to elsewhere is just a link)
LOADING_TAGS = {"img", "script", "source", "iframe", "video", "audio"}
LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "manifest", "preconnect"}


@dataclass
class Page:
    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attr/rel, url)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name"):
            if key in a and (key == "id" or tag == "a"):
                self.page.ids.add(a[key])
        for attr in LINK_ATTRS.get(tag, ()):
            if attr in a:
                kind = a.get("rel", attr) if tag == "link" else attr
                self.page.links.append((tag, kind, a[attr]))


def parse(path: Path) -> Page:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.page


def _target(site: Path, page: Path, path: str) -> Path:
    base = site if path.startswith("/") else page.parent
    target = (base / unquote(path.lstrip("/"))).resolve()
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def check_links(site: Path) -> list[str]:
    """Problems with the local links and resources of every HTML page of ``site``."""
    site = site.resolve()
    pages = {p.resolve(): parse(p) for p in sorted(site.rglob("*.html"))}
    problems: list[str] = []
    for path, page in pages.items():
        rel = path.relative_to(site).as_posix()
        for tag, kind, url in page.links:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                loads = tag in LOADING_TAGS or (tag == "link" and set(kind.split()) & LOADING_RELS)
                if loads:
                    problems.append(f"{rel}: loads an external resource <{tag}> {url}")
                continue
            if parts.scheme or (tag == "script" and not url):  # mailto:, data:, javascript:
                if tag == "script" and not url:
                    problems.append(f"{rel}: <script> with an empty src")
                continue
            if not parts.path:  # "#anchor" on the same page
                if parts.fragment and unquote(parts.fragment) not in page.ids:
                    problems.append(f"{rel}: link to a missing anchor {url}")
                continue
            target = _target(site, path, parts.path)
            if not target.is_relative_to(site):
                problems.append(f"{rel}: link leaves the site: {url}")
            elif not target.is_file():
                problems.append(f"{rel}: broken <{tag}> {url}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{rel}: link to a missing anchor {url}")
    return problems


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self.requests.append((self.path, code))
        super().send_response(code, message)


def find_chromium(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def check_browser(site: Path, chromium: str, pages=BROWSER_PAGES,
                  timeout: float = 120.0) -> list[str]:
    """Open ``pages`` in headless Chromium from a local server; problems found."""
    requests: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    problems: list[str] = []
    try:
        port = server.server_address[1]
        for page, expected in pages:
            url = f"http://127.0.0.1:{port}/{page}"
            start = len(requests)
            with tempfile.TemporaryDirectory(prefix="check-site-") as profile:
                cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                          check=False)
                except subprocess.TimeoutExpired:
                    problems.append(f"{page}: Chromium did not finish within {timeout:.0f} s")
                    continue
            dom = proc.stdout
            if proc.returncode != 0 or not dom.strip():
                problems.append(f"{page}: Chromium failed (exit {proc.returncode}): "
                                f"{proc.stderr.strip()[-500:]}")
                continue
            for text in expected:
                if text not in dom:
                    problems.append(f"{page}: the rendered page does not contain {text!r}")
            for path, code in requests[start:]:
                if code >= 400:
                    problems.append(f"{page}: the browser's request for {path} got HTTP {code}")
            if not any(p.split("?")[0] == "/" + page for p, _ in requests[start:]):
                problems.append(f"{page}: the browser never requested the page")
    finally:
        server.shutdown()
        server.server_close()
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site", nargs="?", default=str(ROOT / "site"), help="the built site")
    ap.add_argument("--chromium", help="the Chromium binary (default: found on PATH)")
    ap.add_argument("--no-browser", action="store_true", help="check the links only")
    args = ap.parse_args(argv)
    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"no built site at {site} (run make docs first)", file=sys.stderr)
        return 1
    problems = check_links(site)
    n_pages = sum(1 for _ in site.rglob("*.html"))
    print(f"links: {n_pages} pages checked, {len(problems)} problems")
    if not args.no_browser:
        chromium = find_chromium(args.chromium)
        if chromium is None:
            print("Chromium not found (apt-get install -y chromium), or pass --no-browser",
                  file=sys.stderr)
            return 1
        found = check_browser(site, chromium)
        print(f"browser: {len(BROWSER_PAGES)} pages opened in {os.path.basename(chromium)}, "
              f"{len(found)} problems")
        problems += found
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
