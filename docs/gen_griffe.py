"""A griffe extension for the API reference (mkdocs.yml: mkdocstrings ``extensions``).

The library's docstrings are numpy style with reST touches that Markdown does not know:

* doctest blocks (``>>>`` lines and their output) outside an ``Examples`` section would render
  as nested block quotes: they become ``pycon`` code blocks;
* Sphinx roles (``:func:`train```, ``:class:`~specbias.nn.MLP```) become inline code.

The docstrings themselves are left as they are (they are also read by ``help()`` and tested
as doctests).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")
_SECTION = re.compile(r"^\s*(Examples?)\s*$")


def doctest_fences(text: str) -> str:
    """``text`` with Sphinx roles as inline code and doctest blocks fenced as ``pycon``."""
    text = _ROLE.sub(lambda m: f"``{m[1]}``", text)
    lines = text.split("\n")
    out: list[str] = []
    i, in_examples = 0, False
    while i < len(lines):
        line = lines[i]
        if (_SECTION.match(line) and i + 1 < len(lines)
                and set(lines[i + 1].strip()) == {"-"}):
            in_examples = True
        stripped = line.lstrip()
        if in_examples or not stripped.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        block = []
        while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
            block.append(lines[i][len(indent):])
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [indent + "```pycon", *(indent + b for b in block), indent + "```", ""]
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Rewrite every docstring with :func:`doctest_fences` as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = doctest_fences(obj.docstring.value)
