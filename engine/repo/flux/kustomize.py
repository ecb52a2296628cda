"""Resolve a folder the way kustomize (as Flux runs it) builds it: plain kustomize
semantics, written by us, on the workspace reader; no network, no writes.

Follows kustomize-flux.md: a kustomization file or the one Flux generates (§1.2);
`resources` (files, folders, nested kustomizations; remote URLs reported, not followed),
`components`, generators, then patchesStrategicMerge -> patches -> namespace -> namePrefix
-> nameSuffix -> patchesJson6902 (§3.2), and the Flux fields written into the root
kustomization (§1.3). A layout it cannot follow becomes a `Problem`, never a guess.
"""

from __future__ import annotations

import bisect
from typing import Any

from engine.errors import WaypathError
from engine.repo.flux.generators import GeneratorError, generate
from engine.repo.flux.resources import (
    Build,
    FluxFields,
    ModelReader,
    Problem,
    Resource,
    is_remote,
    join,
)
from engine.repo.flux.transform import Transformers, finalize_names
from engine.repo.workspace import scope_range
from engine.yamltext.yamldoc import YamlDocument

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KNOWN_FIELDS = frozenset(
    {
        "apiVersion", "kind", "metadata", "resources", "bases", "components", "namespace",
        "namePrefix", "nameSuffix", "patches", "patchesStrategicMerge", "patchesJson6902",
        "configMapGenerator", "secretGenerator", "generatorOptions", "configurations",
        "commonLabels", "commonAnnotations", "labels", "images", "replicas", "crds",
        "buildMetadata", "sortOptions", "openapi", "vars", "replacements", "helmCharts",
        "helmGlobals", "generators", "transformers", "validators", "helmChartInflationGenerator",
        "imageTags",
    }
)  # fmt: skip
_NOT_FOLLOWED = {
    "helmCharts": "helmCharts needs --enable-helm, which Flux does not pass (§1.4)",
    "generators": "generator plugins are not run by the model",
    "transformers": "transformer plugins are not run by the model",
    "replacements": "replacements are not evaluated by the model",
    "vars": "vars are not evaluated by the model",
}


class Kustomizer(Transformers):
    """Builds folders of one repo; parsed kustomization files and folder listings are cached
    for the lifetime of the model (the repo does not change while it is built)."""

    def __init__(self, reader: ModelReader) -> None:
        self.reader = reader
        self.files = reader.yaml_files()
        # Big CRD bundles (gotk-components.yaml) are not parsed unless they hold Flux objects
        # (DESIGN.md: they are half of a fleet's bytes and no recipe edits them).
        bundles = set(reader.candidates(kinds=["CustomResourceDefinition"]))
        bundles -= set(
            reader.candidates(
                kinds=["HelmRelease", "Kustomization", "GitRepository", "HelmRepository",
                       "OCIRepository", "ConfigMap", "Secret"]
            )
        )  # fmt: skip
        self.opaque = bundles
        # Files that may hold a Flux Kustomization are parsed whole (the walk reads them),
        # not scanned for identities first.
        self.flux_files = set(reader.candidates(kinds=["Kustomization"]))
        self._kfiles: dict[str, list[str]] = {}
        self._nested_builds: dict[str, Build] = {}

    # -- the folder tree ---------------------------------------------------------

    def under(self, folder: str) -> list[str]:
        start, end = scope_range(self.files, folder)  # no slice to the end: once per folder
        return self.files[start:end]

    def kustomization_file(self, folder: str) -> list[str]:
        found = self._kfiles.get(folder)
        if found is None:
            found = self._kfiles[folder] = [
                path
                for name in KUSTOMIZATION_FILES
                if self._exists(path := (name if folder == "." else f"{folder}/{name}"))
            ]
        return found

    def _exists(self, path: str) -> bool:
        """A YAML file is in the sorted listing (a bisect, no system call: this is asked
        for three names in every folder of every build); other names must be listed too
        (`Kustomization` is asked in every folder) before the reader checks them."""
        if path.endswith((".yaml", ".yml")):
            at = bisect.bisect_left(self.files, path)
            return at < len(self.files) and self.files[at] == path
        return self.reader.listed(path) and self.reader.exists(path)

    def is_folder(self, path: str) -> bool:
        return bool(self.under(path)) or bool(self.kustomization_file(path))

    # -- building ----------------------------------------------------------------

    def build(self, folder: str, flux: FluxFields | None = None) -> Build:
        """Build `folder` as kustomize does; `flux` adds a Flux Kustomization's fields."""
        result = Build(folder, [], set(), [], [])
        result.resources = self._build(folder, result, flux, stack=(), component=False)
        return result

    def _build(
        self,
        folder: str,
        out: Build,
        flux: FluxFields | None,
        *,
        stack: tuple[str, ...],
        component: bool,
    ) -> list[Resource]:
        if folder in stack:
            out.problems.append(
                Problem(folder, "kustomization cycle: " + " -> ".join((*stack, folder)))
            )
            return []
        stack = (*stack, folder)
        found = self.kustomization_file(folder)
        if len(found) > 1:
            out.problems.append(
                Problem(found[0], "Found multiple kustomization files: " + ", ".join(found))
            )
            return []
        if not found:
            if component:
                out.problems.append(Problem(folder, "component folder has no kustomization file"))
                return []
            return self._generated(folder, out, flux, stack)
        path = found[0]
        out.files.add(path)
        docs = self.parse(path, out)
        if docs is None:
            return []
        spec = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        kind = spec.get("kind") or "Kustomization"
        if component and kind != "Component":
            out.problems.append(Problem(path, "listed under components but kind is not Component"))
            return []
        if not component and kind == "Component":
            out.problems.append(
                Problem(path, "a Component listed as a resource (expected kind != 'Component')")
            )
            return []
        return self._kustomization(folder, path, spec, out, flux, stack)

    def _nested(self, folder: str, out: Build, stack: tuple[str, ...]) -> list[Resource]:
        """A kustomization folder listed as a resource: its output depends on its files
        alone (the parent's transformers run after), so a shared base is built once and
        each parent gets its own copies of the objects. Only a build without problems is
        kept (a cycle through it is then impossible: building it alone would find it)."""
        kept = self._nested_builds.get(folder)
        if kept is None:
            sub = Build(folder, [], set(), [], [])
            sub.resources = self._build(folder, sub, None, stack=stack, component=False)
            if sub.problems:
                _merge(out, sub)
                return sub.resources
            kept = self._nested_builds[folder] = sub
        _merge(out, kept)
        return [resource.copy() for resource in kept.resources]

    def _generated(
        self, folder: str, out: Build, flux: FluxFields | None, stack: tuple[str, ...]
    ) -> list[Resource]:
        """The kustomization.yaml Flux generates for a folder without one (§1.2)."""
        entries: list[str] = []
        nested: set[str] = set()
        for path in self.under(folder):
            rel = path[len(folder) + 1 :] if folder != "." else path
            parts = rel.split("/")
            inside = next((n for n in nested if rel.startswith(n + "/")), None)
            if inside is not None:
                continue
            # A sub-folder with a kustomization file is one entry, not walked into.
            for depth in range(1, len(parts)):
                sub = "/".join(parts[:depth])
                if self.kustomization_file(join(folder, sub)):
                    nested.add(sub)
                    entries.append(sub)
                    break
            else:
                entries.append(rel)
        out.walked.append(folder)
        spec: dict[str, Any] = {"resources": entries}
        return self._kustomization(folder, None, spec, out, flux, stack)

    def _kustomization(
        self,
        folder: str,
        path: str | None,
        spec: dict[str, Any],
        out: Build,
        flux: FluxFields | None,
        stack: tuple[str, ...],
    ) -> list[Resource]:
        where = path or folder
        for key in sorted(set(spec) - _KNOWN_FIELDS):
            out.problems.append(
                Problem(where, f"unknown kustomization field {key!r}: kustomize fails on it")
            )
        for key, reason in _NOT_FOLLOWED.items():
            if spec.get(key):
                out.problems.append(Problem(where, f"{key}: {reason}"))
        for entry in spec.get("configurations") or []:
            self._configuration(join(folder, str(entry)), out)
        accumulated: list[Resource] = []
        for entry in [*(spec.get("resources") or []), *(spec.get("bases") or [])]:
            accumulated.extend(self._resource(folder, str(entry), where, out, stack))
        self._generators(folder, where, spec, accumulated, out)
        components = [str(c) for c in spec.get("components") or []]
        if flux is not None:
            components.extend(flux.components)
        for entry in components:
            if is_remote(entry):
                out.problems.append(Problem(where, f"remote component {entry} is not followed"))
                continue
            self._component(join(folder, entry), accumulated, out, stack)
        self._transform(folder, path, spec, accumulated, out, flux)
        return accumulated

    def parse(self, path: str, out: Build) -> list[YamlDocument] | None:
        try:
            return self.reader.plain_documents(path)
        except WaypathError as exc:
            out.problems.append(Problem(path, f"cannot parse: {exc.message}"))
            return None

    def _configuration(self, path: str, out: Build) -> None:
        """The `nameReference` entries of a `configurations:` file (§3.4, §3.7)."""
        out.files.add(path)
        docs = self.parse(path, out)
        if docs is None:
            return
        data = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        for key in sorted(set(data) - {"nameReference"}):
            out.problems.append(
                Problem(path, f"transformer config {key!r} is not applied by the model")
            )
        for entry in data.get("nameReference") or []:
            if not isinstance(entry, dict) or not entry.get("kind"):
                continue
            for spec in entry.get("fieldSpecs") or []:
                if isinstance(spec, dict) and spec.get("path"):
                    out.name_references.append(
                        (str(entry["kind"]), str(spec["path"]), str(spec.get("kind") or ""))
                    )

    def _resource(
        self, folder: str, entry: str, where: str, out: Build, stack: tuple[str, ...]
    ) -> list[Resource]:
        if is_remote(entry):
            out.problems.append(Problem(where, f"remote resource {entry} is not followed"))
            return []
        target = join(folder, entry)
        if target in self.opaque:
            out.files.add(target)
            return []
        if target.endswith((".yaml", ".yml")) and self._exists(target):
            return self._file(target, out)  # a listed file: no folder of that name
        if self._exists(target) and not self.kustomization_file(target):
            return self._file(target, out)
        if self.is_folder(target):
            if not self.kustomization_file(target):
                out.problems.append(
                    Problem(where, f"resource {entry}: folder {target} has no kustomization file")
                )
                return []
            return self._nested(target, out, stack)
        out.problems.append(Problem(where, f"resource {entry} ({target}) is not in the repo"))
        return []

    def _file(self, path: str, out: Build) -> list[Resource]:
        out.files.add(path)
        try:
            headers = None if path in self.flux_files else self.reader.headers(path)
        except WaypathError as exc:
            out.problems.append(Problem(path, f"cannot read: {exc.message}"))
            return []
        if headers is not None and not any((h.kind or "").endswith("List") for h in headers):
            # The identities are enough until a question needs more.
            return [
                Resource(
                    path,
                    h.index,
                    None,
                    h.name,
                    h.namespace or None,
                    identity=(h.api_version or "", h.kind, h.name, h.namespace or None),
                    reader=self.reader,
                )
                for h in headers
                if h.kind is not None and h.name is not None
            ]
        docs = self.parse(path, out)
        if docs is None:
            return []
        found = []
        for doc in docs:
            data = doc.data
            if data is None:
                continue
            if not isinstance(data, dict) or not data.get("kind"):
                out.problems.append(
                    Problem(
                        path, "not a Kubernetes object (no kind): Flux fails to decode it", doc.line
                    )
                )
                continue
            if str(data["kind"]).endswith("List") and isinstance(data.get("items"), list):
                out.problems.append(
                    Problem(path, f"{data['kind']} items are not followed", doc.line)
                )
                continue
            name = (
                data.get("metadata", {}).get("name")
                if isinstance(data.get("metadata"), dict)
                else None
            )
            if not name:
                out.problems.append(Problem(path, "object without metadata.name", doc.line))
                continue
            namespace = data["metadata"].get("namespace")
            found.append(
                Resource(path, doc.index, data, str(name), str(namespace) if namespace else None)
            )
        return found

    def _component(
        self, folder: str, accumulated: list[Resource], out: Build, stack: tuple[str, ...]
    ) -> None:
        """A Component acts on the parent's accumulator (§3.6): its resources join it, then
        its transformers run over everything accumulated so far."""
        found = self.kustomization_file(folder)
        if not found:
            out.problems.append(Problem(folder, "component folder has no kustomization file"))
            return
        path = found[0]
        out.files.add(path)
        docs = self.parse(path, out)
        if docs is None:
            return
        spec = docs[0].data if docs and isinstance(docs[0].data, dict) else {}
        if spec.get("kind") != "Component":
            out.problems.append(Problem(path, "listed under components but kind is not Component"))
            return
        for entry in spec.get("resources") or []:
            accumulated.extend(self._resource(folder, str(entry), path, out, (*stack, folder)))
        self._generators(folder, path, spec, accumulated, out)
        self._transform(folder, path, spec, accumulated, out, None)

    # -- generators --------------------------------------------------------------

    def _read_any(self, path: str) -> str | None:
        try:
            return self.reader.read_text(path) if self.reader.exists(path) else None
        except WaypathError:
            return None

    def _generators(
        self, folder: str, where: str, spec: dict[str, Any], acc: list[Resource], out: Build
    ) -> None:
        options = (
            spec.get("generatorOptions") if isinstance(spec.get("generatorOptions"), dict) else {}
        )
        assert isinstance(options, dict)
        for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
            for number, entry in enumerate(spec.get(key) or []):
                position = f"{key}[{number}]"
                if not isinstance(entry, dict) or not entry.get("name"):
                    out.problems.append(Problem(where, f"{position}: a generator needs a name"))
                    continue
                try:
                    obj, sources, hashed = generate(folder, entry, kind, options, self._read_any)
                except GeneratorError as exc:
                    out.problems.append(Problem(where, f"{position}: {exc}"))
                    continue
                out.files.update(sources)
                name = obj["metadata"]["name"]
                resource = Resource(
                    where, 0, obj, name, obj["metadata"].get("namespace"),
                    generated=position if hashed else position + " (no hash)",
                    sources=sources,
                )  # fmt: skip
                behavior = entry.get("behavior") or "create"
                if behavior in ("merge", "replace"):
                    self._merge_generated(resource, behavior, acc, where, position, out)
                else:
                    acc.append(resource)

    def _merge_generated(
        self,
        new: Resource,
        behavior: str,
        acc: list[Resource],
        where: str,
        position: str,
        out: Build,
    ) -> None:
        matches = [
            r for r in acc
            if r.kind == new.kind and r.name == new.name
            and (new.namespace is None or (r.namespace or "default") == new.namespace)
        ]  # fmt: skip
        if len(matches) != 1:
            out.problems.append(
                Problem(where, f"{position}: {behavior} needs exactly one {new.kind} {new.name}")
            )
            return
        old = matches[0]
        data = old.data.get("data") if behavior == "merge" else {}
        new.data = {**new.data, "data": {**(data or {}), **(new.data.get("data") or {})}}
        new.sources = (*old.sources, *new.sources)
        acc[acc.index(old)] = new


def _merge(out: Build, sub: Build) -> None:
    out.files.update(sub.files)
    out.walked.extend(sub.walked)
    out.problems.extend(sub.problems)
    out.name_references.extend(sub.name_references)


__all__ = [
    "Build",
    "FluxFields",
    "Kustomizer",
    "ModelReader",
    "finalize_names",
    "is_remote",
    "join",
]
