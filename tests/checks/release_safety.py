"""Check (c): no commit makes Flux uninstall a HelmRelease by accident.

Written from flux.md §1.3/§1.5 and linkerd.md §7.4–7.5, independently of engine/planning/safety.py:
we replay the commits of the plan and compare every HelmRelease in the whole repo before
and after each one. helm-controller uninstalls a release when its object is deleted while
not suspended (a rename is a delete plus a create), and uninstalls then reinstalls when
the chart name, release name, target namespace or storage namespace changes. Allowed:

- deleting (or renaming) an object that is suspended in the state the commit starts from,
  where the suspend came from an earlier commit with a gate (the cluster reconciled it)
  or was already in the repo;
- changing only the chart name when the new object sets
  `spec.upgrade.chartNameChangeStrategy: InPlaceUpdate`;
- changing the identity of an object that stays suspended and is deleted by a later
  commit (it never resumes with the new identity);
- anything the commit's reports declare as a deliberate uninstall (kind "uninstall").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.planning.planmodel import Commit, Plan
from tests.checks.repostate import Release, all_releases, walk


@dataclass(frozen=True)
class Identity:
    chart: str | None
    release_name: str
    target_namespace: str
    storage_namespace: str


def chart_of(spec: dict[str, Any]) -> str | None:
    chart = spec.get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        name = chart["spec"].get("chart")
        return None if name is None else str(name)
    ref = spec.get("chartRef")
    if isinstance(ref, dict):
        return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def identity(release: Release) -> Identity:
    """The Helm release a HelmRelease manages (Flux naming rules, linkerd.md §7.2)."""
    spec = release.spec
    namespace, name = release.key
    target = str(spec.get("targetNamespace") or "")
    if spec.get("releaseName"):
        release_name = str(spec["releaseName"])
    elif target:
        release_name = f"{target}-{name}"
    else:
        release_name = name
    return Identity(
        chart=chart_of(spec),
        release_name=release_name,
        target_namespace=target or namespace,
        storage_namespace=str(spec.get("storageNamespace") or namespace),
    )


def suspended(release: Release) -> bool:
    return release.spec.get("suspend") is True


def in_place(release: Release) -> bool:
    upgrade = release.spec.get("upgrade")
    return isinstance(upgrade, dict) and upgrade.get("chartNameChangeStrategy") == "InPlaceUpdate"


def declared_uninstall(commit: Commit, release: Release) -> bool:
    name = release.key[1]
    return any(
        r.kind == "uninstall" and (r.path in (None, release.path)) and name in r.message
        for r in commit.reports
    )


def check_plan(
    plan: Plan, initial: dict[str, bytes], patches: frozenset[str] = frozenset()
) -> list[str]:
    """`patches`: kustomize patch files; their HelmRelease documents are not objects."""
    steps = list(walk(plan, initial))

    def objects(tree: dict[str, bytes]) -> dict[tuple[str, str], Release]:
        return all_releases({p: b for p, b in tree.items() if p not in patches})

    states = [objects(initial)] + [objects(s.after) for s in steps]
    # Which commit (index) set the suspend that an object carries; -1: it was in the repo.
    suspended_by: dict[tuple[str, str], int] = {
        key: -1 for key, rel in states[0].items() if suspended(rel)
    }
    problems: list[str] = []
    for step in steps:
        before, after = states[step.index], states[step.index + 1]
        where = f"commit {step.index + 1} ({step.commit.recipe}/{step.commit.phase})"
        for key, old in sorted(before.items()):
            new = after.get(key)
            if declared_uninstall(step.commit, old):
                continue
            if new is None:
                if not suspended(old):
                    problems.append(
                        f"{where}: deletes or renames {old.label} while it is not suspended: "
                        f"Flux uninstalls release {identity(old).release_name!r}"
                    )
                elif not _reconciled(plan, suspended_by.get(key), step.index):
                    problems.append(
                        f"{where}: deletes {old.label}, suspended by a commit without a gate "
                        "(the cluster may not have seen the suspend)"
                    )
                continue
            was, now = identity(old), identity(new)
            if was != now:
                changed = [
                    f"{name} {getattr(was, name)!r} -> {getattr(now, name)!r}"
                    for name in ("chart", "release_name", "target_namespace", "storage_namespace")
                    if getattr(was, name) != getattr(now, name)
                ]
                only_chart = was.chart != now.chart and len(changed) == 1
                parked = (
                    suspended(old)
                    and suspended(new)
                    and any(key not in later for later in states[step.index + 2 :])
                )
                if not ((only_chart and in_place(new)) or parked):
                    problems.append(
                        f"{where}: {old.label} changes {', '.join(changed)}: Flux would "
                        "uninstall and reinstall the release"
                    )
        for key, rel in after.items():
            if suspended(rel) and key not in suspended_by:
                suspended_by[key] = step.index
            elif not suspended(rel):
                suspended_by.pop(key, None)
    return problems


def _reconciled(plan: Plan, by: int | None, now: int) -> bool:
    if by is None:
        return False
    if by == -1:
        return True
    return by < now and plan.commits[by].gate is not None
