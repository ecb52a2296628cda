"""`kustomize build` of one Flux Kustomization, the way kustomize-controller runs it.

Only the files the build can read (its folder and what its kustomization files point at,
followed transitively) are copied into a temp dir; their content hashes are the cache key,
so a commit that touches one folder rebuilds only the Kustomizations that read it. In the
copy, like Flux (shared/reference/kustomize-flux.md §1.2-1.4): a missing kustomization file
is generated from the YAML files below the path, the Flux spec fields (targetNamespace,
namePrefix/Suffix, patches, images, components) are written into the root kustomization
file, and kustomize runs with `LoadRestrictionsNone`. `buildMetadata: [originAnnotations]`
tells which repo file each built object came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.verify.discovery import FluxKustomization, documents
from engine.verify.tools import Tool, run
from engine.verify.tree import Tree, normalize, spec_path

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN = "config.kubernetes.io/origin"
FLUX_FIELDS = ("targetNamespace", "namePrefix", "nameSuffix", "patches", "images", "components")
_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class BuiltObject:
    """One object of a build's output: its YAML text and the repo file it came from."""

    origin: str
    text: str


@dataclass
class BuildOutcome:
    objects: list[BuiltObject] = field(default_factory=list)
    error: str | None = None


def kustomization_file(tree: Tree, folder: str) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = name if folder == "." else f"{folder}/{name}"
        if tree.exists(path):
            return path
    return None


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def closure(tree: Tree, folder: str) -> list[str]:
    """Every file a build of `folder` may read: its kustomization file and what that names
    (files, and folders followed the same way), transitively; for a folder without one,
    the files Flux's generated kustomization lists. A string of a kustomization file that
    names an existing file or folder counts, whatever its field: a file too many only
    costs a cache miss, a file too few would reuse a stale build."""
    files: set[str] = set()
    seen: set[str] = set()

    def visit(current: str, *, root: bool) -> None:
        if current in seen:
            return
        seen.add(current)
        own = kustomization_file(tree, current)
        if own is None:
            if not root:
                return  # kustomize fails on it; the missing file is in no key, the path is
            for path in tree.under(current):
                sub = _owning_folder(tree, current, path)
                if sub is None:
                    files.add(path)
                else:
                    visit(sub, root=False)
            return
        files.add(own)
        found = documents(own, tree.read(own))
        if not found:
            return  # kustomize names the broken file
        data = found[0]
        for ref in _strings(data):
            for candidate in {ref, ref.partition("=")[2]} - {""}:
                target = normalize(current, candidate)
                if target is None:
                    continue
                if tree.exists(target):
                    files.add(target)
                elif tree.is_dir(target):
                    visit(target, root=False)

    visit(folder, root=True)
    return sorted(files)


def _owning_folder(tree: Tree, root: str, path: str) -> str | None:
    """The first folder between `root` and `path` that holds a kustomization file."""
    prefix = "" if root == "." else root + "/"
    parts = path[len(prefix) :].split("/")
    for depth in range(1, len(parts)):
        sub = prefix + "/".join(parts[:depth])
        if kustomization_file(tree, sub):
            return sub
    return None


def cache_key(tool: Tool, tree: Tree, ks: FluxKustomization, files: list[str]) -> str:
    digest = hashlib.sha256()
    flux = {k: ks.spec.get(k) for k in FLUX_FIELDS if k in ks.spec}
    digest.update(
        json.dumps([tool.identity, spec_path(str(ks.spec.get("path", ""))), flux]).encode()
    )
    for path in files:
        digest.update(f"\0{path}\0{tree.digest(path)}".encode())
    return digest.hexdigest()


def _generated(tree: Tree, folder: str) -> dict[str, Any]:
    """The kustomization Flux generates for a path without one (§1.2)."""
    resources: list[str] = []
    prefix = "" if folder == "." else folder + "/"
    for path in tree.under(folder):
        sub = _owning_folder(tree, folder, path)
        if sub is not None:
            entry = "./" + sub[len(prefix) :]
        elif path.endswith((".yaml", ".yml")):
            entry = "./" + path[len(prefix) :]
        else:
            continue
        if entry not in resources:
            resources.append(entry)
    if not resources:
        return {"namespace": "_placeholder"}
    return {"resources": resources}


def _root_kustomization(tree: Tree, folder: str, ks: FluxKustomization) -> dict[str, Any]:
    existing = kustomization_file(tree, folder)
    root: dict[str, Any]
    if existing is None:
        root = _generated(tree, folder)
    else:
        loaded = documents(existing, tree.read(existing))
        root = loaded[0] if loaded and isinstance(loaded[0], dict) else {}
    spec = ks.spec
    if spec.get("targetNamespace"):
        root["namespace"] = spec["targetNamespace"]
    for key in ("namePrefix", "nameSuffix"):
        if spec.get(key):
            root[key] = spec[key]
    if spec.get("patches"):
        root["patches"] = list(root.get("patches") or []) + list(spec["patches"])
    if spec.get("images"):
        root["images"] = list(root.get("images") or []) + list(spec["images"])
    if spec.get("components"):
        root["components"] = list(root.get("components") or []) + list(spec["components"])
    metadata = list(root.get("buildMetadata") or [])
    root["buildMetadata"] = (
        [*metadata, "originAnnotations"] if "originAnnotations" not in metadata else metadata
    )
    return root


def build(tool: Tool, tree: Tree, ks: FluxKustomization, files: list[str]) -> BuildOutcome:
    """Run the build; an error comes back with repo-relative paths in its message."""
    assert tool.argv is not None
    folder = spec_path(str(ks.spec.get("path", "")))
    if not tree.is_dir(folder):
        return BuildOutcome(error=f"spec.path {ks.spec.get('path')!r}: no such folder in the repo")
    with tempfile.TemporaryDirectory(prefix="waypath-verify-") as tmp:
        root = Path(tmp)
        tree.materialize(files, root)
        target = root / folder
        for name in KUSTOMIZATION_FILES:
            (target / name).unlink(missing_ok=True)
        (target / "kustomization.yaml").write_text(
            yaml.safe_dump(_root_kustomization(tree, folder, ks), sort_keys=False),
            encoding="utf-8",
        )
        ran = run([*tool.argv, "--load-restrictor", "LoadRestrictionsNone", str(target)])
        if ran.code != 0:
            message = ran.stderr.strip() or ran.stdout.strip() or f"exit code {ran.code}"
            for prefix in (os.path.realpath(tmp) + "/", tmp + "/"):
                message = message.replace(prefix, "")
            return BuildOutcome(error=message)
    return BuildOutcome(objects=_objects(ran.stdout, folder))


_ORIGIN_PATH = re.compile(r"^\s+" + re.escape(ORIGIN) + r": \|\n\s+path: (.+)$", re.MULTILINE)


def _objects(output: str, folder: str) -> list[BuiltObject]:
    """Split the output per object; the origin is read from the text, not by parsing it
    (a CRD bundle is most of the bytes and no check needs it parsed)."""
    objects: list[BuiltObject] = []
    for text in _SEPARATOR.split(output):
        if not text.strip():
            continue
        match = _ORIGIN_PATH.search(text)
        raw = match.group(1).strip().strip("'\"") if match else ""
        origin = (normalize(folder, raw) or raw) if raw else folder
        objects.append(BuiltObject(origin, text))
    return objects


def error_text(error: str) -> str:
    """A build error without kustomize's deprecation warnings, which are not the error."""
    return "\n".join(x for x in error.splitlines() if not x.startswith("# Warning:")).strip()


def strip_origin(data: dict[str, Any]) -> dict[str, Any]:
    """The object without the origin annotation we asked kustomize to add."""
    meta = data.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(ORIGIN, None)
        if not meta["annotations"]:
            del meta["annotations"]
    return data
