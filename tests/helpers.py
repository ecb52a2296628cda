"""Build small repos for tests: a dict of files in, a folder (optionally a git repo) out."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECIPES = Path(__file__).parent / "data" / "recipes"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}


def build_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
    return root


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def git_repo(root: Path, files: Mapping[str, str | bytes]) -> Path:
    build_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def snapshot_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root except .git, as bytes: to compare whole trees."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


MESHY_RELEASE = """\
# The meshy control plane. Values are reviewed by the platform team.
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: meshy
  namespace: meshy
spec:
  interval: 10m
  chart:
    spec:
      chart: meshy
      version: "{pin}"  # pinned on purpose
      sourceRef:
        kind: HelmRepository
        name: meshy
        namespace: flux-system
  values:
    # keep the namespace out of the chart
    installNamespace: false
    legacyFlag: true
    oldPolicy: 'all-authenticated'
    cluster: ${{cluster_name}}
    proxy:
      image:
        name: registry.example.com/meshy/proxy
        version: v1.0.0 # {{"$imagepolicy": "flux-system:meshy-proxy:tag"}}
    note: |
      multi-line
      text
"""

GOTK_BAIT = """\
# truncated stand-in for gotk-components.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmreleases.helm.toolkit.fluxcd.io
spec:
  names:
    kind: HelmRelease
    listKind: HelmReleaseList
"""


def meshy_files(clusters: tuple[str, ...] = ("nonprod", "prod"), pin: str = "1.0.0") -> dict[str, str]:
    files: dict[str, str] = {}
    for cluster in clusters:
        base = f"clusters/{cluster}"
        files[f"{base}/flux-system/gotk-components.yaml"] = GOTK_BAIT
        files[f"{base}/apps.yaml"] = (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
            "kind: Kustomization\n"
            "metadata:\n  name: meshy\n  namespace: flux-system\n"
            "spec:\n  interval: 10m\n"
            f"  path: ./{base}/meshy\n"
            "  prune: true\n"
            "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        )
        files[f"{base}/meshy/kustomization.yaml"] = (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources:\n  - repository.yaml\n  - release.yaml\n"
        )
        files[f"{base}/meshy/repository.yaml"] = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
            "metadata:\n  name: meshy\n  namespace: flux-system\n"
            "spec:\n  interval: 1h\n  url: https://charts.example.com/meshy\n"
        )
        files[f"{base}/meshy/release.yaml"] = MESHY_RELEASE.format(pin=pin)
    return files


# A last recipe phase that moves the meshy pin to 1.1.0, appended to toy recipes that test
# something else, so that they arrive at their target (the planner checks that they do).
BUMP_PHASE = """\
  - name: bump
    message: bump
    steps:
      - patch:
          select: {detector: core}
          ops: [{op: replace, path: /spec/chart/spec/version, value: "1.1.0"}]
"""


def hermetic_git(monkeypatch: Any, *, date: str | None = "2024-01-02T03:04:05+00:00") -> None:
    """git without the user's config, with a fixed identity (and, unless None, fixed dates)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
        if date is not None:
            monkeypatch.setenv(f"GIT_{who}_DATE", date)


class CountingList(list[Any]):
    """A list that counts the items read through it (indexing, slices, iteration): tests
    of the quadratic sites of issue 12 hold lookups to what they need, by count, not time."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self.touched = 0

    def __getitem__(self, key: Any) -> Any:
        found = super().__getitem__(key)
        self.touched += len(found) if isinstance(key, slice) else 1
        return found

    def __iter__(self) -> Any:
        self.touched += len(self)
        return super().__iter__()


def count_calls(monkeypatch: Any, module: Any, name: str) -> list[Any]:
    """Replace `module.name` by a wrapper that records each call's first argument (a path,
    for the readers and parsers this counts) in the returned list, then calls it."""
    calls: list[Any] = []
    real = getattr(module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def generated_fleet(root: Path, clusters: int) -> Path:
    """A fleet repo of `clusters` clusters from the benchmark's generator (flat shape)."""
    bench = Path(__file__).parent.parent / "bench" / "gen_fleet.py"
    subprocess.run([sys.executable, str(bench), str(root), "--clusters", str(clusters)],
                   check=True, capture_output=True)  # fmt: skip
    return root
