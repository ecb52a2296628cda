"""The repo as each commit of a plan leaves it: bytes per file, parsed on demand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.planning.planmodel import Commit, FileChange, Plan

YAML_SUFFIXES = (".yaml", ".yml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HELM_RELEASE_LINE = re.compile(rb"^kind:\s*HelmRelease\s*$", re.MULTILINE)


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (no .git), by repo-relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@lru_cache(maxsize=64)
def patch_files(root: Path) -> frozenset[str]:
    """Files every document of which is a kustomize patch (read by a build, rendered by
    none): partial objects, so the object checks leave them alone."""
    from engine.planning.safety import is_patch
    from engine.repo.flux.model import build_model
    from engine.repo.workspace import Workspace

    workspace = Workspace(root)
    model = build_model(workspace)
    return frozenset(
        path
        for path in workspace.yaml_files()
        if workspace.documents(path)
        and all(is_patch(model, path, doc.index) for doc in workspace.documents(path))
    )


def load_documents(path: str, data: bytes) -> list[Any]:
    """The YAML documents of one file; raises ValueError naming the file if it is not YAML."""
    try:
        return [d for d in yaml.load_all(data.decode("utf-8"), Loader=_LOADER) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid YAML after the commit: {exc}") from exc


@dataclass(frozen=True)
class Release:
    """One HelmRelease object as it stands in one state of the repo."""

    path: str
    data: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        meta = self.data.get("metadata") or {}
        return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    @property
    def label(self) -> str:
        ns, name = self.key
        return f"HelmRelease {ns + '/' if ns else ''}{name} ({self.path})"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}


def releases_in(path: str, data: bytes | None) -> list[Release]:
    if data is None or not path.endswith(YAML_SUFFIXES) or not _HELM_RELEASE_LINE.search(data):
        return []
    return list(_parse_releases(path, data))


@lru_cache(maxsize=4096)
def _parse_releases(path: str, data: bytes) -> tuple[Release, ...]:
    # Plans repeat the same file states many times (every commit's before and after).
    return tuple(
        Release(path, doc)
        for doc in load_documents(path, data)
        if isinstance(doc, dict)
        and doc.get("kind") == "HelmRelease"
        and str(doc.get("apiVersion", "")).startswith("helm.toolkit.fluxcd.io/")
    )


@dataclass
class Step:
    """One commit and the repo before and after it."""

    index: int
    commit: Commit
    before: dict[str, bytes]
    after: dict[str, bytes]

    def written(self) -> Iterator[FileChange]:
        """Changes that leave a file with content (added or modified)."""
        for change in self.commit.changes:
            if change.content is not None:
                yield change


def walk(plan: Plan, initial: dict[str, bytes]) -> Iterator[Step]:
    """Replay the commits of a plan over the initial tree."""
    state = dict(initial)
    for index, commit in enumerate(plan.commits):
        before = dict(state)
        for change in commit.changes:
            if change.content is None:
                state.pop(change.path, None)
            else:
                state[change.path] = change.content
        yield Step(index, commit, before, dict(state))


def all_releases(tree: dict[str, bytes]) -> dict[tuple[str, str], Release]:
    found: dict[tuple[str, str], Release] = {}
    for path, data in sorted(tree.items()):
        for release in releases_in(path, data):
            found[release.key] = release
    return found


def final_state(plan: Plan, initial: dict[str, bytes]) -> dict[str, bytes]:
    """The tree after the last commit of the plan."""
    state = dict(initial)
    for step in walk(plan, initial):
        state = step.after
    return state
