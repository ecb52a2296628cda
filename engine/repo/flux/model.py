"""The repo as Flux sees it: clusters, each a tree of Flux Kustomizations whose
`spec.path` kustomize builds, and for every document which clusters render it and how.

    cluster (clusters/<name>/flux-system/gotk-sync.yaml)
      └─ Flux Kustomization (spec.path, targetNamespace, spec.patches, dependsOn)
           └─ kustomize build of the path (resources, components, overlays, patches)
                └─ documents, each with its effective name/namespace and patches

Built once per run by `build_model(reader)`; pure (no writes, no network). What it cannot
follow is in `problems`, by file and reason.
"""

from __future__ import annotations

import json
import posixpath
import weakref
from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import WaypathError
from engine.repo.flux.kustomize import (
    Build,
    FluxFields,
    Kustomizer,
    ModelReader,
    finalize_names,
    join,
)
from engine.repo.flux.resources import FileReader, Patch, Problem, Resource

if TYPE_CHECKING:
    from engine.repo.flux.helmrelease import EffectiveRelease
    from engine.repo.flux.references import Reference

FLUX_KS_API = "kustomize.toolkit.fluxcd.io/"
SYNC_FILE = "gotk-sync.yaml"

# Counts `build_model` calls: a test holds a run to one build (the model is not cheap).
BUILDS = [0]


@dataclass(frozen=True)
class Cluster:
    """A cluster root: `root` is the folder its sync Kustomization applies; `sync_file` the
    gotk-sync.yaml that says so (None when inferred from top-level Flux Kustomizations)."""

    name: str
    root: str
    sync_file: str | None
    source: tuple[str, str]  # the GitRepository (name, namespace) that is this repo


@dataclass
class FluxKustomization:
    """A Flux Kustomization object as a cluster receives it (after its parent's build)."""

    name: str
    namespace: str
    file: str | None  # None for the implicit root of an inferred cluster
    doc_index: int
    line: int | None
    path: str  # spec.path, normalised, repo-relative ("." is the repo root)
    source: tuple[str, str, str]  # sourceRef kind, name, namespace
    depends_on: list[tuple[str, str]] = field(default_factory=list)
    health_checks: list[dict[str, str]] = field(default_factory=list)
    target_namespace: str | None = None
    patches: list[dict[str, Any]] = field(default_factory=list)
    substitute: list[str] = field(default_factory=list)  # postBuild.substitute names
    substitute_from: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    clusters: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Rendering:
    """One document as one cluster receives it, through one Flux Kustomization."""

    cluster: str
    kustomization: tuple[str, str]  # (namespace, name) of the Flux Kustomization
    resource: Resource

    @property
    def path(self) -> str:
        return self.resource.path

    @property
    def doc_index(self) -> int:
        return self.resource.doc_index

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def namespace(self) -> str | None:
        return self.resource.namespace

    @property
    def patches(self) -> tuple[Patch, ...]:
        return self.resource.patches

    @property
    def data(self) -> Any:
        return self.resource.data


@dataclass
class FluxModel:
    clusters: list[Cluster] = field(default_factory=list)
    kustomizations: list[FluxKustomization] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _renderings: dict[tuple[str, int], list[Rendering]] = field(default_factory=dict)
    # path -> clusters; generated folder -> clusters (equal sets shared: most files have one)
    _files: dict[str, AbstractSet[str]] = field(default_factory=dict)
    _walked: dict[str, AbstractSet[str]] = field(default_factory=dict)
    _kustomization_folders: set[str] = field(default_factory=set)
    _by_cluster: dict[str, list[Rendering]] = field(default_factory=dict)
    _cluster_files: dict[str, list[str]] | None = field(default=None, repr=False)

    reader: ModelReader | None = field(default=None, repr=False)

    def references(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        reader: FileReader | None = None,
    ) -> list[Reference]:
        """Every place in the repo (as `reader`, default the one built from, shows it) that
        names the object: see references.find_references."""
        from engine.repo.flux.references import find_references

        use: FileReader | None = reader or self.reader
        assert use is not None
        return find_references(self, use, kind, name, namespace)

    def effective_release(self, rendering: Rendering) -> EffectiveRelease:
        """Chart, version and values of a HelmRelease rendering, with their origins."""
        from engine.repo.flux.helmrelease import effective_release

        return effective_release(self, rendering)

    def renderings(self, path: str, doc_index: int | None = None) -> list[Rendering]:
        """How the clusters render a document (or every document of a file)."""
        if doc_index is not None:
            return list(self._renderings.get((path, doc_index), []))
        return [r for (p, _), found in sorted(self._renderings.items()) if p == path for r in found]

    def effective_namespace(self, path: str, doc_index: int) -> str | None:
        """The namespace every cluster gives a document (kustomize `namespace:`, Flux
        `targetNamespace`), or None when no cluster renders it or they disagree."""
        found = {r.namespace for r in self.renderings(path, doc_index) if r.namespace}
        return found.pop() if len(found) == 1 else None

    def rendered_in(self, cluster: str) -> list[Rendering]:
        return list(self._by_cluster.get(cluster, []))

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def clusters_of(self, path: str) -> list[str]:
        """The clusters whose rendering reads `path`, or would read a new file there (a
        folder Flux generates a kustomization for lists every YAML file in it)."""
        found = self._files.get(path)
        if found:
            return sorted(found)
        if not path.endswith((".yaml", ".yml")):
            return []
        folder = posixpath.dirname(path) or "."
        while True:
            if folder in self._walked:
                return sorted(self._walked[folder])
            if folder in self._kustomization_folders or folder == ".":
                return []
            folder = posixpath.dirname(folder) or "."

    def files_of(self, cluster: str) -> list[str]:
        """The repo's YAML files `clusters_of` names `cluster` for (its inverse), sorted;
        indexed over every file once, on first use. A question about one cluster (the
        references a rename follows) then reads its files, not the whole repo's."""
        if self._cluster_files is None:
            assert self.reader is not None
            index: dict[str, list[str]] = defaultdict(list)
            for path in self.reader.yaml_files():  # sorted: so is each cluster's list
                for name in self.clusters_of(path):
                    index[name].append(path)
            self._cluster_files = dict(index)
        return self._cluster_files.get(cluster, [])

    def kustomization(self, namespace: str, name: str) -> FluxKustomization | None:
        return next((k for k in self.kustomizations if k.key == (namespace, name)), None)

    @property
    def cluster_names(self) -> list[str]:
        return [c.name for c in self.clusters]


def where(clusters: list[str]) -> str:
    """`cluster prod`, or `shared base reached by clusters a, b` in words."""
    if len(clusters) == 1:
        return f"cluster {clusters[0]}"
    return "shared base reached by clusters " + ", ".join(clusters)



# --------------------------------------------------------------------------- building


def _flux_kustomization(doc_data: Any) -> bool:
    return (
        isinstance(doc_data, dict)
        and doc_data.get("kind") == "Kustomization"
        and str(doc_data.get("apiVersion") or "").startswith(FLUX_KS_API)
    )


def _spec(data: Any) -> dict[str, Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    return spec if isinstance(spec, dict) else {}


def _read_ks(
    data: Any, file: str | None, doc_index: int, line: int | None, fallback_ns: str
) -> FluxKustomization:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    namespace = str(meta.get("namespace") or fallback_ns)
    spec = _spec(data)
    ref = spec.get("sourceRef") if isinstance(spec.get("sourceRef"), dict) else {}
    assert isinstance(ref, dict)
    post = spec.get("postBuild") if isinstance(spec.get("postBuild"), dict) else {}
    assert isinstance(post, dict)
    return FluxKustomization(
        name=str(meta.get("name") or ""),
        namespace=namespace,
        file=file,
        doc_index=doc_index,
        line=line,
        path=join(".", str(spec.get("path") or ".")),
        source=(
            str(ref.get("kind") or "GitRepository"),
            str(ref.get("name") or ""),
            str(ref.get("namespace") or namespace),
        ),
        depends_on=[
            (str(d.get("name")), str(d.get("namespace") or namespace))
            for d in spec.get("dependsOn") or []
            if isinstance(d, dict) and d.get("name")
        ],
        health_checks=[
            {str(k): str(v) for k, v in h.items()}
            for h in spec.get("healthChecks") or []
            if isinstance(h, dict)
        ],
        target_namespace=str(spec["targetNamespace"]) if spec.get("targetNamespace") else None,
        patches=[p for p in spec.get("patches") or [] if isinstance(p, dict)],
        substitute=sorted(str(k) for k in (post.get("substitute") or {})),
        substitute_from=[
            (str(s.get("kind")), str(s.get("name")))
            for s in post.get("substituteFrom") or []
            if isinstance(s, dict)
        ],
    )


class _Builder:
    def __init__(self, reader: ModelReader) -> None:
        self.reader = reader
        self.kustomizer = Kustomizer(reader)
        self.model = FluxModel()
        self._builds: dict[str, Build] = {}
        self._ks: dict[tuple[str, str, str | None, int], FluxKustomization] = {}
        self._seen_problems: set[Problem] = set()
        self._sets: dict[frozenset[str], frozenset[str]] = {}

    def problem(self, problem: Problem) -> None:
        if problem not in self._seen_problems:
            self._seen_problems.add(problem)
            self.model.problems.append(problem)

    def documents(self, path: str) -> list[Any]:
        try:
            return self.reader.plain_documents(path)
        except WaypathError as exc:
            self.problem(Problem(path, f"cannot parse: {exc.message}"))
            return []

    # -- cluster roots -----------------------------------------------------------

    def sync_roots(self) -> list[tuple[Cluster, FluxKustomization]]:
        roots = []
        for path in self.reader.candidates(kinds=["Kustomization"], contains=["GitRepository"]):
            if posixpath.basename(path) != SYNC_FILE:
                continue
            docs = self.documents(path)
            repos = {
                (str(d.name), str(d.namespace or "default"))
                for d in docs
                if d.kind == "GitRepository"
            }
            for doc in docs:
                if not _flux_kustomization(doc.data):
                    continue
                ks = _read_ks(doc.data, path, doc.index, doc.line, "default")
                if ks.source[0] != "GitRepository" or (ks.source[1], ks.source[2]) not in repos:
                    continue
                folder = posixpath.dirname(posixpath.dirname(path)) or "."
                if ks.path != folder:
                    self.problem(
                        Problem(path, f"sync Kustomization path {ks.path} is not the folder "
                                f"above its flux-system folder ({folder})", doc.line)
                    )  # fmt: skip
                roots.append((ks.path, path, ks))
        names = [posixpath.basename(root) if root != "." else "." for root, _, _ in roots]
        found = []
        for (root, path, ks), name in zip(roots, names, strict=True):
            unique = name if names.count(name) == 1 else root
            found.append((Cluster(unique, root, path, (ks.source[1], ks.source[2])), ks))
        return found

    def inferred_roots(
        self, reached: set[tuple[str, int]]
    ) -> list[tuple[Cluster, list[FluxKustomization]]]:
        """Without a sync file, the folders holding Flux Kustomizations no cluster renders
        are taken as cluster roots (a repo bootstrapped with `--path` at that folder)."""
        orphans: dict[str, list[FluxKustomization]] = defaultdict(list)
        for path in self.reader.candidates(kinds=["Kustomization"], contains=[FLUX_KS_API]):
            for doc in self.documents(path):
                if _flux_kustomization(doc.data) and (path, doc.index) not in reached:
                    folder = posixpath.dirname(path) or "."
                    orphans[folder].append(_read_ks(doc.data, path, doc.index, doc.line, "default"))
        if not orphans:
            return []
        folders = sorted(orphans)
        tops = [f for f in folders if not any(f.startswith(o + "/") for o in folders if o != f)]
        found = []
        for top in tops:
            members = [
                ks for f in folders if f == top or f.startswith(top + "/") for ks in orphans[f]
            ]
            sources = {
                (ks.source[1], ks.source[2]) for ks in members if ks.source[0] == "GitRepository"
            }
            source = (
                ("flux-system", "flux-system")
                if ("flux-system", "flux-system") in sources
                else (sorted(sources)[0] if len(sources) == 1 else ("", ""))
            )
            name = posixpath.basename(top) if top != "." else "."
            found.append((Cluster(name, top, None, source), members))
            self.problem(
                Problem(top, f"no {SYNC_FILE} found: taken as cluster {name} because it holds "
                        "Flux Kustomizations no cluster applies")
            )  # fmt: skip
        return found

    # -- walking a cluster -------------------------------------------------------

    def build(self, ks: FluxKustomization) -> Build:
        fields = FluxFields(
            ks.file or ks.path, ks.doc_index, ks.target_namespace, None, None, ks.patches
        )
        key = json.dumps(
            [ks.path, ks.target_namespace, ks.patches, ks.file, ks.doc_index], default=str
        )
        if key not in self._builds:
            result = self.kustomizer.build(ks.path, fields)
            finalize_names(result.resources, result.name_references)
            self._builds[key] = result
            for problem in result.problems:
                self.problem(problem)
        return self._builds[key]

    def walk(self, cluster: Cluster, top: list[FluxKustomization]) -> set[tuple[str, int]]:
        model = self.model
        queue = list(top)
        visited: set[tuple[str, str]] = set()
        reached: set[tuple[str, int]] = set()
        while queue:
            ks = queue.pop(0)
            if ks.key in visited:
                continue
            visited.add(ks.key)
            ks = self._register(ks, cluster)
            if (ks.source[1], ks.source[2]) != cluster.source or ks.source[0] != "GitRepository":
                self.problem(
                    Problem(ks.file or cluster.root, f"Flux Kustomization {ks.name}: source "
                            f"{ks.source[0]} {ks.source[2]}/{ks.source[1]} is not this repo; "
                            "not followed", ks.line)
                )  # fmt: skip
                continue
            if not self.kustomizer.is_folder(ks.path):
                self.problem(
                    Problem(ks.file or cluster.root,
                            f"Flux Kustomization {ks.name}: path {ks.path} is not in the repo "
                            "(kustomization path not found)", ks.line)
                )  # fmt: skip
                continue
            result = self.build(ks)
            for path in result.files:
                self._add(model._files, path, cluster.name)
            for folder in result.walked:
                self._add(model._walked, folder, cluster.name)
            for resource in result.resources:
                rendering = Rendering(cluster.name, ks.key, resource)
                model._renderings.setdefault((resource.path, resource.doc_index), []).append(
                    rendering
                )
                model._by_cluster.setdefault(cluster.name, []).append(rendering)
                reached.add((resource.path, resource.doc_index))
                if (
                    resource.kind == "Kustomization"
                    and resource.api_version.startswith(FLUX_KS_API)
                    and not resource.generated
                    and _flux_kustomization(resource.data)
                ):
                    child = _read_ks(
                        resource.data, resource.path, resource.doc_index, None, "default"
                    )
                    doc = self.documents(resource.path)
                    line = doc[resource.doc_index].line if resource.doc_index < len(doc) else None
                    queue.append(FluxKustomization(**{**child.__dict__, "line": line}))
        return reached

    def _add(self, index: dict[str, AbstractSet[str]], path: str, name: str) -> None:
        """Add cluster `name` to `index[path]`. Most files have one cluster: they share one
        set per cluster (a set per file was a tenth of a fleet model's memory); a file of
        several gets its own set while building, frozen and shared by `freeze`."""
        found = index.get(path)
        if found is None:
            one = self._sets.get(frozenset((name,)))
            index[path] = one if one is not None else self._shared(frozenset((name,)))
        elif name not in found:
            if isinstance(found, set):
                found.add(name)
            else:
                index[path] = {*found, name}

    def _shared(self, clusters: frozenset[str]) -> frozenset[str]:
        return self._sets.setdefault(clusters, clusters)

    def freeze(self, index: dict[str, AbstractSet[str]]) -> None:
        for path, clusters in index.items():
            if isinstance(clusters, set):
                index[path] = self._shared(frozenset(clusters))

    def _register(self, ks: FluxKustomization, cluster: Cluster) -> FluxKustomization:
        key = (ks.namespace, ks.name, ks.file, ks.doc_index)
        known = self._ks.get(key)
        if known is None or known.path != ks.path or known.target_namespace != ks.target_namespace:
            known = ks
            self._ks[key] = ks
            self.model.kustomizations.append(ks)
        if cluster.name not in known.clusters:
            known.clusters.append(cluster.name)
        return known


def build_model(reader: ModelReader) -> FluxModel:
    """The Flux model of the repo `reader` shows (see the module docstring)."""
    BUILDS[0] += 1
    builder = _Builder(reader)
    model = builder.model
    model.reader = reader
    reached: set[tuple[str, int]] = set()
    for cluster, ks in builder.sync_roots():
        model.clusters.append(cluster)
        reached |= builder.walk(cluster, [ks])
    for cluster, members in builder.inferred_roots(reached):
        model.clusters.append(cluster)
        builder.walk(cluster, members)
    model.clusters.sort(key=lambda c: c.name)
    builder.freeze(model._files)
    builder.freeze(model._walked)
    model._kustomization_folders = {
        posixpath.dirname(p) or "."
        for p in reader.yaml_files()
        if posixpath.basename(p) in ("kustomization.yaml", "kustomization.yml")
    }
    for renderings in model._renderings.values():
        renderings.sort(key=lambda r: (r.cluster, r.kustomization))
    return model


_BUILT: weakref.WeakKeyDictionary[Any, FluxModel] = weakref.WeakKeyDictionary()


def model_for(reader: ModelReader) -> FluxModel:
    """The model of `reader` (a Workspace), built on first use and kept while it lives:
    steps that need it outside the planner's own call share one build."""
    found = _BUILT.get(reader)
    if found is None:
        found = _BUILT[reader] = build_model(reader)
    return found
