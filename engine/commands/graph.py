"""`waypath graph`: the recipes as a version graph, as text or Mermaid."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from engine.commands import common
from engine.error_handler import EXIT_OK


def run(*, recipe_dirs: Sequence[Path], component: str | None, fmt: str, out: TextIO) -> int:
    lib = common.library(recipe_dirs)
    names = [component] if component else sorted(lib.components)
    for name in names:
        graph = lib.graph(name)
        if fmt == "mermaid":
            out.write(graph.to_mermaid())
        else:
            out.write(f"# {name}\n")
            out.write(graph.to_text())
        if not out.closed:
            out.write("\n")
    if not names:
        out.write("no components found\n")
    return EXIT_OK
