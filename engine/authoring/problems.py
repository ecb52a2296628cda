"""One lint finding, printed as `file:line:col: code: message` (editors and CI parse it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.errors import Location


def shown_path(path: str) -> str:
    """Relative to the working directory when below it, so editors can open it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


@dataclass(frozen=True)
class LintProblem:
    location: Location
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        loc = self.location
        where = f"{shown_path(loc.path)}:{loc.line or 1}:{loc.column or 1}"
        tag = self.code if self.severity == "error" else f"{self.code} (warning)"
        return f"{where}: {tag}: {self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (str(Path(loc.path)), loc.line or 0, loc.column or 0, self.code)
