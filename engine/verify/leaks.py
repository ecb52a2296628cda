"""Wave isolation for `plan --verify`: a commit of a wave may change what only the clusters
of its wave render. What a cluster renders is summed up per repo file (the origin of each
object of its builds, after substitution); a cluster outside the wave whose sums differ
between the state before the commit and after it is a leak, named with the files."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from engine.verify.report import CheckResult

if TYPE_CHECKING:
    from engine.planning.planmodel import Commit, Plan
    from engine.verify.discovery import Obj

Rendered = dict[str, str]  # repo file -> digest of the objects a cluster gets from it


def rendered(objects: Iterable[Obj]) -> Rendered:
    texts: dict[str, list[str]] = {}
    for obj in objects:
        texts.setdefault(obj.origin, []).append(json.dumps(obj.data, sort_keys=True, default=str))
    return {
        origin: hashlib.sha256("\0".join(sorted(docs)).encode()).hexdigest()
        for origin, docs in texts.items()
    }


def wave_clusters(plan: Plan, commit: Commit) -> set[str] | None:
    """The clusters the commit's wave may change: its instances' clusters in that wave;
    None when the commit has no wave or its instances are placed by folder, not cluster."""
    if commit.wave is None:
        return None
    clusters = {
        cluster
        for instance in plan.instances
        if instance.wave == commit.wave and instance.instance in commit.instances
        for cluster in instance.clusters
    }
    return clusters or None


def changed_files(before: Rendered, after: Rendered) -> list[str]:
    return sorted(f for f in before.keys() | after.keys() if before.get(f) != after.get(f))


def check_wave(
    wave: str,
    allowed: set[str],
    before: dict[str, Rendered],
    after: dict[str, Rendered],
    changed: Sequence[str],
) -> list[CheckResult]:
    """A failure per cluster outside `allowed` whose rendered output changed, or one pass."""
    results: list[CheckResult] = []
    for cluster in sorted(before.keys() | after.keys()):
        if cluster in allowed:
            continue
        files = changed_files(before.get(cluster, {}), after.get(cluster, {}))
        if files:
            results.append(
                CheckResult(
                    "wave", "fail", files[0], f"cluster {cluster}",
                    f"a commit of wave {wave} changes what cluster {cluster} renders, "
                    f"outside the wave ({', '.join(sorted(allowed))}): " + ", ".join(files),
                )
            )  # fmt: skip
    return results or [
        CheckResult("wave", "pass", changed[0] if changed else "", f"wave {wave}")
    ]
