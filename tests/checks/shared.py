"""Where the shared reference data lives: $WAYPATH_SHARED, the copy in
`third_party/shared`, or `<repo>/../shared`."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class SharedDataMissing(RuntimeError):
    """The schemas or chart defaults the checks need are not where CI puts them."""


def shared_dir() -> Path:
    """The shared folder; raises SharedDataMissing (never skips) when it is not there."""
    env = os.environ.get("WAYPATH_SHARED")
    candidates = [Path(env)] if env else [REPO / "third_party" / "shared", REPO.parent / "shared"]
    missing: list[str] = []
    for folder in candidates:
        needed = [folder / "schemas" / "flux", folder / "reference" / "charts" / "index.tsv"]
        missing = [str(p) for p in needed if not p.exists()]
        if not missing:
            return folder
    raise SharedDataMissing(
        "the scenario checks need the shared reference data, not found: "
        + ", ".join(missing)
        + ". The repository carries a copy in third_party/shared; elsewhere set "
        "WAYPATH_SHARED=/path/to/shared."
    )
