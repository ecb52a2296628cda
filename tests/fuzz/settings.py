"""The fuzz budget, one place for every fuzz test.

Default (and CI): `n` examples per property, derandomized, no example database — every
run, on every machine, tries the same cases, so CI is deterministic. `WAYPATH_FUZZ_EXAMPLES=N`
runs N examples per property with a random seed (the long run of docs/security.md);
`WAYPATH_FUZZ_SEED=S` makes that run repeatable, `WAYPATH_FUZZ_NO_SHRINK=1` reports a
failure as found instead of shrinking it first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, seed, settings

F = TypeVar("F", bound=Callable[..., Any])

LONG = int(os.environ.get("WAYPATH_FUZZ_EXAMPLES", "0"))
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)  # a long run's failures, fast


def fuzz_settings(n: int) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        func = settings(
            max_examples=LONG or n,
            derandomize=not LONG,
            database=None,
            deadline=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
            phases=NO_SHRINK if os.environ.get("WAYPATH_FUZZ_NO_SHRINK") else tuple(Phase),
        )(func)
        if LONG and os.environ.get("WAYPATH_FUZZ_SEED"):
            func = seed(int(os.environ["WAYPATH_FUZZ_SEED"]))(func)
        return func

    return decorate
