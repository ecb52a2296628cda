"""Where the shared reference data lives: `<repo>/../shared`, or $WAYPATH_SHARED."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class SharedDataMissing(RuntimeError):
    """The schemas or chart defaults the checks need are not where CI puts them."""


def shared_dir() -> Path:
    """The shared folder; raises SharedDataMissing (never skips) when it is not there."""
    env = os.environ.get("WAYPATH_SHARED")
    folder = Path(env) if env else REPO.parent / "shared"
    needed = [folder / "schemas" / "flux", folder / "reference" / "charts" / "index.tsv"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise SharedDataMissing(
            "the scenario checks need the shared reference data, not found: "
            + ", ".join(missing)
            + ". CI checks out `shared/` beside the repository; elsewhere set "
            "WAYPATH_SHARED=/path/to/shared."
        )
    return folder
