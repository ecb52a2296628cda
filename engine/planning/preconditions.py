"""Machine-checkable preconditions between commits, written as commit trailers.

A phase whose safety depends on an earlier one being reconciled says so in its trailers,
so CI can refuse a merge that would land both at once (`waypath gate check`):

- a commit that deletes a HelmRelease which is suspended before it
  `Waypath-Requires: suspended NAMESPACE/NAME PATH` — Flux must have applied the suspend,
  or deleting the object uninstalls the release (flux.md §1.5);
- a commit that changes a HelmRelease whose `dependsOn` names one an earlier commit of the
  plan changed (the control plane after its CRDs)
  `Waypath-Requires: ready NAMESPACE/NAME PATH` — helm-controller waits for Ready and
  generation == observedGeneration only at reconcile time (flux.md §1.1), not at merge time.

The earlier commit that brings the state carries the same value as `Waypath-Provides:`.
A requirement whose provider was merged in an earlier run has no provider in the plan; the
trailer stays, and `gate check --kubeconfig` checks it against the cluster.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import WaypathError
from engine.planning.planmodel import Commit
from engine.yamltext.yamldoc import parse_file

REQUIRES = "Waypath-Requires"
PROVIDES = "Waypath-Provides"
STATES = ("suspended", "ready")
UNSET = "-"  # the namespace of an object whose file does not set one
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")

Reader = Callable[[str], bytes | None]


@dataclass(frozen=True, order=True)
class Condition:
    state: str  # "suspended" or "ready"
    namespace: str
    name: str
    path: str  # the file that holds the HelmRelease

    def __str__(self) -> str:
        return f"{self.state} {self.namespace}/{self.name} {self.path}"

    @classmethod
    def parse(cls, text: str) -> Condition | None:
        """The condition of a trailer value, or None when it is not one."""
        state, _, rest = text.strip().partition(" ")
        key, _, path = rest.partition(" ")
        namespace, slash, name = key.partition("/")
        if state not in STATES or not slash or not path:
            return None
        if not ((namespace == UNSET or _NAME.fullmatch(namespace)) and _NAME.fullmatch(name)):
            return None  # Kubernetes names only: never an option to kubectl
        return cls(state, namespace, name, path.strip())


@dataclass
class _Release:
    suspended: bool
    depends_on: list[tuple[str, str]]
    data: Any


Key = tuple[str, str, str]  # namespace, name, path


def _releases(
    path: str, data: bytes | None, docs: list[Any] | None = None
) -> dict[Key, _Release]:
    """The HelmReleases of a file's content `data`; `docs` is its documents' data when
    the caller has them parsed already."""
    found: dict[Key, _Release] = {}
    if not data or not path.endswith((".yaml", ".yml")) or b"HelmRelease" not in data:
        return found
    if docs is None:
        try:
            docs = [doc.data for doc in parse_file(path, data.decode("utf-8"))]
        except (WaypathError, UnicodeDecodeError):
            return found
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "HelmRelease":
            continue
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        spec: dict[str, Any] = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
        # "-": set by kustomize or the Flux Kustomization, not in the file
        namespace = str(meta.get("namespace") or UNSET)
        deps = []
        for dep in spec.get("dependsOn") or []:
            if isinstance(dep, dict) and dep.get("name"):
                deps.append((str(dep.get("namespace") or namespace), str(dep["name"])))
        key = (namespace, str(meta.get("name")), path)
        found[key] = _Release(spec.get("suspend") is True, deps, doc)
    return found


def _scope(path: str, scopes: set[str]) -> str:
    """The deepest of `scopes` (folders, "." the root) that holds `path`: its folders
    looked up one by one, not every scope scanned (a commit of N clusters has N)."""
    folder = path.rstrip("/")
    while folder:
        if folder in scopes:
            return folder
        folder = posixpath.dirname(folder)
    return "."


def add_preconditions(
    commits: Sequence[Commit],
    read: Reader,
    parsed: Callable[[str], list[Any] | None] = lambda _: None,
) -> None:
    """Append Requires/Provides trailers to the commits' bodies (their trailer block).

    `read(path)` gives a file's bytes before the first commit, `parsed(path)` its
    documents' data when already parsed; a change's own `data` is used likewise."""
    requires: list[list[Condition]] = [[] for _ in commits]
    provides: list[set[Condition]] = [set() for _ in commits]
    suspended_by: dict[Condition, int] = {}
    changed_by: dict[tuple[str, str, str], tuple[int, str]] = {}  # (ns, name, scope)
    # A file's releases after one commit are its releases before the next: parsed once.
    known: dict[str, dict[Key, _Release]] = {}
    for index, commit in enumerate(commits):
        before: dict[Key, _Release] = {}
        after: dict[Key, _Release] = {}
        scopes = {s.rstrip("/") for s in commit.instances}
        for change in commit.changes:
            old = known.get(change.path)
            if old is None:
                content = read(change.path)
                old = _releases(change.path, content, parsed(change.path) if content else None)
            new = _releases(change.path, change.content, change.data)
            before.update(old)
            after.update(new)
            known[change.path] = new
        for key, old_release in sorted(before.items()):
            if key in after:
                continue
            changed_by.pop((key[0], key[1], _scope(key[2], scopes)), None)
            if old_release.suspended:
                need = Condition("suspended", *key)
                requires[index].append(need)
                if need in suspended_by:
                    provides[suspended_by[need]].add(need)
        touched = {k for k, r in after.items() if k not in before or before[k].data != r.data}
        names = {(k[0], k[1]) for k in touched}
        for key in sorted(touched):
            release = after[key]
            if release.suspended and not (key in before and before[key].suspended):
                suspended_by[Condition("suspended", *key)] = index
            scope = _scope(key[2], scopes)
            for dep in release.depends_on:
                earlier = changed_by.get((*dep, scope))
                if earlier is None or dep in names:
                    continue
                need = Condition("ready", *dep, earlier[1])
                if need not in requires[index]:
                    requires[index].append(need)
                provides[earlier[0]].add(need)
        for key in sorted(touched):
            scoped = (key[0], key[1], _scope(key[2], scopes))
            if after[key].suspended:
                changed_by.pop(scoped, None)  # a suspended release never becomes Ready
            else:
                changed_by[scoped] = (index, key[2])
    for index, commit in enumerate(commits):
        lines = [f"{PROVIDES}: {c}" for c in sorted(provides[index])]
        lines += [f"{REQUIRES}: {c}" for c in requires[index]]
        if lines:
            commit.body += "\n" + "\n".join(lines)


def conditions(body: str, trailer: str) -> list[Condition]:
    """The conditions of `trailer` lines in a commit body."""
    found = []
    for line in body.splitlines():
        if line.startswith(f"{trailer}: "):
            cond = Condition.parse(line[len(trailer) + 2 :])
            if cond is not None:
                found.append(cond)
    return found
