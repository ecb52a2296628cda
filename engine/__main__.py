"""`python -m engine`: the same as the `waypath` command."""

from __future__ import annotations

from engine.cli import entry

entry()
