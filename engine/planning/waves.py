"""Waves by cluster: which instances (and which of their clusters) each wave upgrades, and
the rule that a commit of a wave changes nothing a cluster outside the wave renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.errors import Location, Problem, UsageError
from engine.repo.config import Wave, check_wave, wave_of
from engine.repo.detect import Instance
from engine.repo.flux.model import FluxModel, where


@dataclass(frozen=True)
class WavePlan:
    """The waves to plan, in rollout order, and the clusters each one may change."""

    waves: list[Wave]
    clusters: dict[str, list[str]]  # wave name -> cluster names it holds


def selected_waves(waves: Sequence[Wave], wanted: str | None, model: FluxModel) -> WavePlan:
    """The waves of waypath.yaml, or the ones `--wave` names. `--wave a,b` plans waves a
    and b as one wave: the way to move clusters that share a base together."""
    names = [n.strip() for n in wanted.split(",")] if wanted else []
    for name in names:
        check_wave(list(waves), name)
    chosen = [w for w in waves if not names or w.name in names]
    if len(names) > 1:
        joined = Wave(
            name=",".join(w.name for w in chosen),
            clusters=[p for w in chosen for p in w.clusters],
            paths=[p for w in chosen for p in w.paths],
        )
        chosen = [joined]
    clusters = {
        w.name: [c.name for c in model.clusters if w.holds_cluster(c.name, c.root)] for w in chosen
    }
    return WavePlan(chosen, clusters)


def _all_clusters(waves: Sequence[Wave], model: FluxModel) -> dict[str, str]:
    """cluster -> the first wave of waypath.yaml that holds it."""
    found: dict[str, str] = {}
    for wave in waves:
        for cluster in model.clusters:
            if wave.holds_cluster(cluster.name, cluster.root):
                found.setdefault(cluster.name, wave.name)
    return found


def assign(
    instances: Sequence[Instance],
    waves: Sequence[Wave],
    plan: WavePlan,
    model: FluxModel,
    component: str,
) -> list[tuple[Instance, str]]:
    """Each instance once per selected wave that holds some of its clusters, narrowed to
    those clusters; instances the model places in no cluster go by folder, as before."""
    of_cluster = _all_clusters(waves, model)
    roots = {c.name: c.root for c in model.clusters}
    lost = sorted(
        {f"cluster {c} ({roots.get(c, c)})" for i in instances for c in i.clusters if c not in of_cluster}
        | {i.scope for i in instances if not i.clusters and wave_of(list(waves), i.scope, i.core.path) is None}
    )  # fmt: skip
    if lost:
        raise UsageError(
            f"{len(lost)} {component} place(s) belong to no wave of waypath.yaml: "
            + ", ".join(lost),
            hint="add them to a wave's `clusters:` (or `paths:`) so every cluster has a place "
            "in the rollout",
        )
    found: list[tuple[Instance, str]] = []
    for wave in plan.waves:
        held = set(plan.clusters[wave.name])
        for instance in instances:
            if instance.clusters:
                mine = [c for c in instance.clusters if c in held]
                if mine:
                    found.append((replace(instance, clusters=mine), wave.name))
                continue
            named = wave_of(list(waves), instance.scope, instance.core.path)
            if named is not None and named in wave.name.split(","):
                found.append((instance, wave.name))
    return found


def check_commit(
    paths: Sequence[str],
    wave: str,
    allowed: Sequence[str],
    waves: Sequence[Wave],
    model: FluxModel,
    what: str,
) -> None:
    """Refuse a commit of `wave` that changes a file a cluster outside the wave renders
    (a shared base), naming the clusters it reaches and the ways out."""
    problems = []
    outside: set[str] = set()
    for path in paths:
        reached = model.clusters_of(path)
        others = [c for c in reached if c not in allowed]
        if others:
            outside.update(others)
            problems.append(Problem(where(reached), location=Location(path)))
    if not problems:
        return
    of_cluster = _all_clusters(waves, model)
    together = {of_cluster.get(c, "") for c in (*allowed, *outside)} | set(wave.split(","))
    order = [w.name for w in waves if w.name in together]
    raise UsageError(
        f"{what} of wave {wave} would change what clusters outside the wave render: "
        + ", ".join(sorted(outside)),
        problems=problems,
        hint="move them together: `--wave " + ",".join(order) + "` plans those waves as "
        "one, or put the clusters in one wave of waypath.yaml",
    )
