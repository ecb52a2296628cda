"""The transformers of one kustomization: reading its patches (files, inline, the Flux
Kustomization's `spec.patches`), applying them to the accumulated objects, then namespace,
namePrefix and nameSuffix in kustomize's order (kustomize-flux.md §3.2, §3.5)."""

from __future__ import annotations

from typing import Any

from engine.repo.flux import patches as px
from engine.repo.flux.generators import name_hash
from engine.repo.flux.resources import (
    Build,
    FluxFields,
    ModelReader,
    Patch,
    PatchKind,
    Problem,
    Resource,
    join,
)
from engine.yamltext.yamldoc import load_one

YAML_SUFFIXES = (".yaml", ".yml")
_NO_PREFIX = frozenset({"CustomResourceDefinition", "APIService", "Namespace"})
# Cluster-scoped kinds kustomize knows from the built-in OpenAPI (§3.3) that a Flux repo
# commonly holds; custom resources of cluster-scoped CRDs do get a namespace.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
        "PersistentVolume", "StorageClass", "PriorityClass", "APIService", "IngressClass",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "RuntimeClass",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CSIDriver", "Node",
    }
)  # fmt: skip


class Transformers:
    """Mixed into the Kustomizer: what runs after a kustomization's objects are accumulated."""

    reader: ModelReader

    def _patches_of(
        self, folder: str, path: str | None, spec: dict[str, Any], out: Build
    ) -> list[tuple[Patch, str]]:
        """The patches of one kustomization, in the order kustomize applies them, each with
        the phase it runs in (`before` the namespace transformer, or `after` it)."""
        where = path or folder
        found: list[tuple[Patch, str]] = []
        for number, entry in enumerate(spec.get("patchesStrategicMerge") or []):
            position = f"patchesStrategicMerge[{number}]"
            text = str(entry)
            if "\n" in text or text.lstrip().startswith(("{", "apiVersion", "kind")):
                found.extend(
                    (p, "before") for p in self._inline(where, position, text, None, out, "smp")
                )
            else:
                found.extend(
                    (p, "before")
                    for p in self._patch_file(folder, where, position, text, None, out, "smp")
                )
        for number, entry in enumerate(spec.get("patches") or []):
            position = f"patches[{number}]"
            if not isinstance(entry, dict):
                out.problems.append(Problem(where, f"{position}: not a mapping"))
                continue
            target = _target(entry.get("target"))
            if entry.get("path"):
                found.extend(
                    (p, "before")
                    for p in self._patch_file(
                        folder, where, position, str(entry["path"]), target, out, None
                    )
                )
            elif entry.get("patch") is not None:
                found.extend(
                    (p, "before")
                    for p in self._inline(where, position, str(entry["patch"]), target, out, None)
                )
            else:
                out.problems.append(Problem(where, f"{position}: needs `path` or `patch`"))
        for number, entry in enumerate(spec.get("patchesJson6902") or []):
            position = f"patchesJson6902[{number}]"
            if not isinstance(entry, dict):
                continue
            target = _target(entry.get("target"))
            if entry.get("path"):
                found.extend(
                    (p, "after")
                    for p in self._patch_file(
                        folder, where, position, str(entry["path"]), target, out, "json6902"
                    )
                )
            elif entry.get("patch") is not None:
                found.extend(
                    (p, "after")
                    for p in self._inline(
                        where, position, str(entry["patch"]), target, out, "json6902"
                    )
                )
        return found  # fmt: skip

    def _inline(
        self,
        where: str,
        position: str,
        text: str,
        target: dict[str, str] | None,
        out: Build,
        kind: PatchKind | None,
        doc_index: int = 0,
    ) -> list[Patch]:
        try:
            content = load_one(text)
        except Exception as exc:
            out.problems.append(Problem(where, f"{position}: patch is not YAML: {exc}"))
            return []
        patch = self._make_patch(
            where, doc_index, position, content, target, out, kind, inline=True
        )
        return [patch] if patch else []

    def _patch_file(
        self,
        folder: str,
        where: str,
        position: str,
        rel: str,
        target: dict[str, str] | None,
        out: Build,
        kind: PatchKind | None,
    ) -> list[Patch]:
        path = join(folder, rel)
        if not self.reader.exists(path):
            out.problems.append(
                Problem(where, f"{position}: patch file {rel} ({path}) is not in the repo")
            )
            return []
        out.files.add(path)
        try:
            if path.endswith(YAML_SUFFIXES):
                docs = [(d.index, d.data, d.line) for d in self.reader.plain_documents(path)]
            else:
                docs = [(0, load_one(self.reader.read_text(path)), 1)]
        except Exception as exc:
            out.problems.append(Problem(path, f"cannot parse patch: {exc}"))
            return []
        found = []
        for index, content, line in docs:
            if content is None:
                continue
            patch = self._make_patch(path, index, position, content, target, out, kind, line=line)
            if patch:
                found.append(patch)
        if target is not None and len(found) > 1 and found[0].kind == "smp":
            out.problems.append(
                Problem(path, f"{position}: only one SMP document is allowed with a target")
            )
            return found[:1]
        return found

    def _make_patch(
        self,
        file: str,
        doc_index: int,
        position: str,
        content: Any,
        target: dict[str, str] | None,
        out: Build,
        kind: PatchKind | None,
        *,
        line: int | None = None,
        inline: bool = False,
    ) -> Patch | None:
        detected: PatchKind = "json6902" if isinstance(content, list) else "smp"
        if not isinstance(content, list | dict):
            out.problems.append(
                Problem(file, f"{position}: patch is neither SMP nor JSON 6902", line)
            )
            return None
        if kind is not None and detected != kind:
            out.problems.append(Problem(file, f"{position}: expected a {kind} patch", line))
            return None
        if detected == "json6902" and target is None:
            out.problems.append(
                Problem(file, f"{position}: must specify a target for JSON patch", line)
            )
            return None
        return Patch(file, doc_index, position, detected, target, content, line, inline)

    def _apply(
        self,
        patch: Patch,
        acc: list[Resource],
        out: Build,
        by_kind: dict[str, list[Resource]] | None = None,
    ) -> None:
        """Apply `patch` to the objects it selects; `by_kind` (the objects of `acc` by
        kind, when the caller keeps it) narrows the search of a patch that names its own
        object, instead of testing every object of the build."""
        if patch.target is not None:
            matches = []
            for resource in acc:
                hit = px.target_matches(patch.target, resource)
                if hit is None:
                    out.problems.append(
                        Problem(
                            patch.file,
                            f"{patch.position}: target selector not evaluated by the model",
                            patch.line,
                        )
                    )
                    return
                if hit:
                    matches.append(resource)
        else:
            kind = patch.content.get("kind")
            pool = acc if by_kind is None else by_kind.get(str(kind), [])
            matches = [r for r in pool if px.smp_id_matches(patch.content, r)]
            if len(matches) != 1:
                what = _id_text(patch.content)
                reason = "no matches for Id" if not matches else "multiple matches for Id"
                out.problems.append(
                    Problem(patch.file, f"{patch.position}: {reason} {what}", patch.line)
                )
                return
        for resource in matches:
            if patch.kind == "smp" and px.is_delete(patch.content):
                acc.remove(resource)
                continue
            before = resource.data
            body = patch.content
            if patch.kind == "smp":
                if patch.target is not None:  # the patch's own id is ignored
                    body = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
                    meta = body.get("metadata")
                    if isinstance(meta, dict):
                        body["metadata"] = {
                            k: v for k, v in meta.items() if k not in ("name", "namespace")
                        }
                after = px.smp_merge(before, body)
            else:
                try:
                    after = px.apply_json6902(before, patch.content)
                except ValueError as exc:
                    out.problems.append(Problem(patch.file, f"{patch.position}: {exc}", patch.line))
                    continue
            px.record(resource, patch, body, before, after)
            # Both kinds share what they did not touch with the workspace's document.
            resource.data = after

    def _transform(
        self,
        folder: str,
        path: str | None,
        spec: dict[str, Any],
        acc: list[Resource],
        out: Build,
        flux: FluxFields | None,
    ) -> None:
        patches = self._patches_of(folder, path, spec, out)
        if flux is not None:
            for number, entry in enumerate(flux.patches):
                position = f"spec.patches[{number}]"
                if not isinstance(entry, dict) or entry.get("patch") is None:
                    out.problems.append(Problem(flux.file, f"{position}: needs an inline `patch`"))
                    continue
                made = self._inline(
                    flux.file,
                    position,
                    str(entry["patch"]),
                    _target(entry.get("target")),
                    out,
                    None,
                    flux.doc_index,
                )
                # Flux appends them after the root's own `patches` (§1.3).
                patches.extend((p, "before") for p in made)  # fmt: skip
        patches.sort(key=lambda item: item[1] == "after")  # stable: list order kept
        by_kind: dict[str, list[Resource]] | None = None
        for patch, phase in patches:
            if phase == "before":
                if by_kind is None and patch.target is None:
                    by_kind = _by_kind(acc)
                self._apply(patch, acc, out, by_kind)
                if patch.kind == "json6902" or px.is_delete(patch.content):
                    by_kind = None  # it may have changed a kind, or removed an object
        namespace = spec.get("namespace")
        prefix, suffix = spec.get("namePrefix"), spec.get("nameSuffix")
        if flux is not None:
            namespace = flux.target_namespace or namespace
            prefix = flux.name_prefix if flux.name_prefix is not None else prefix
            suffix = flux.name_suffix if flux.name_suffix is not None else suffix
        if namespace:
            for resource in acc:
                _set_namespace(resource, str(namespace))
        if prefix or suffix:
            for resource in acc:
                if resource.kind not in _NO_PREFIX:
                    _rename(resource, f"{prefix or ''}{resource.name}{suffix or ''}")
        for patch, phase in patches:
            if phase == "after":
                self._apply(patch, acc, out)


def _by_kind(acc: list[Resource]) -> dict[str, list[Resource]]:
    found: dict[str, list[Resource]] = {}
    for resource in acc:
        found.setdefault(resource.kind, []).append(resource)
    return found


def _target(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _id_text(content: Any) -> str:
    """An object id the way kustomize prints it: `Kind.version.group/name.namespace`."""
    if not isinstance(content, dict):
        return "(not an object)"
    meta = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    api = str(content.get("apiVersion") or "")
    group, _, version = api.rpartition("/")
    gv = f"{version}.{group or '[noGrp]'}"
    namespace = meta.get("namespace") or "[noNs]"
    return f"{content.get('kind')}.{gv}/{meta.get('name')}.{namespace}"


def _set_namespace(resource: Resource, namespace: str) -> None:
    if resource.kind in CLUSTER_SCOPED:
        if (
            resource.kind == "Namespace"
            and resource.api_version == "v1"
            and resource.name != namespace
        ):
            # kustomize renames Namespace objects to the namespace (§3.3)
            _rename(resource, namespace)
        return
    if resource.namespace == namespace:
        return
    resource.renamed(resource.name, resource.namespace)
    resource.set_metadata("namespace", namespace)


def _rename(resource: Resource, name: str) -> None:
    if resource.name == name:
        return
    resource.renamed(resource.name, resource.namespace)
    resource.set_metadata("name", name)


def finalize_names(resources: list[Resource], references: list[tuple[str, str, str]]) -> None:
    """The top-level steps after all transformers: hash suffixes of generated objects, then
    references to their old names rewritten where a nameReference entry says so."""
    for resource in resources:
        if resource.generated and not resource.generated.endswith("(no hash)"):
            old = resource.name
            _rename(resource, f"{old}-{name_hash(resource.data)}")
            for kind, path, referrer in references:
                if kind != resource.kind:
                    continue
                for other in resources:
                    same_ns = (other.namespace or "default") == (resource.namespace or "default")
                    if (not referrer or other.kind == referrer) and same_ns:
                        _rewrite(other, path.split("/"), old, resource.name)


def _rewrite(resource: Resource, path: list[str], old: str, new: str) -> None:
    changed, data = _rewritten(resource.data, path, old, new)
    if changed:  # the containers on the way copied: the workspace's document is shared
        resource.data = data


def _rewritten(node: Any, rest: list[str], old: str, new: str) -> tuple[bool, Any]:
    """`node` with the field at `rest` (every item of a list on the way) renamed from
    `old` to `new`, and whether anything was."""
    if isinstance(node, list):
        items = [_rewritten(item, rest, old, new) for item in node]
        if not any(changed for changed, _ in items):
            return False, node
        return True, [value for _, value in items]
    if not isinstance(node, dict) or rest[0] not in node:
        return False, node
    if len(rest) > 1:
        changed, value = _rewritten(node[rest[0]], rest[1:], old, new)
    else:
        changed, value = node[rest[0]] == old, new
    if not changed:
        return False, node
    return True, {**node, rest[0]: value}
