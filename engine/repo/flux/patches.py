"""Applying kustomize patches to plain data: strategic merge (as kustomize does for custom
resources: maps merge, lists are replaced whole, `null` deletes), JSON 6902, and target
selectors (kustomize-flux.md §3.5)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonpatch

from engine.repo.flux.resources import Patch, Resource

_SELECTOR_KEYS = ("group", "version", "kind", "name", "namespace")


def smp_merge(target: Any, patch: Any) -> Any:
    """`patch` merged over `target` (both plain data); `target` is not changed."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    merged = dict(target)
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = smp_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def is_delete(patch: Any) -> bool:
    return isinstance(patch, dict) and patch.get("$patch") == "delete"


def apply_json6902(data: Any, ops: list[Any]) -> Any:
    """The document after the ops; raises ValueError with jsonpatch's reason. `data` is not
    changed: the containers on each op's paths are copied first, the rest is shared (a
    deep copy per patched object was most of a fleet model's time and memory)."""
    try:
        result = data
        for op in ops:
            result = _owned_path(result, op.get("path") if isinstance(op, dict) else None)
            if isinstance(op, dict) and op.get("op") == "move":
                result = _owned_path(result, op.get("from"))
        return _compiled(ops).apply(result, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        raise ValueError(str(exc)) from None


_COMPILED: dict[int, tuple[list[Any], jsonpatch.JsonPatch]] = {}


def _compiled(ops: list[Any]) -> jsonpatch.JsonPatch:
    """One JsonPatch per op list (a build applies one patch to many objects); the list is
    kept with it, so its id is not reused while the entry lives."""
    found = _COMPILED.get(id(ops))
    if found is None or found[0] is not ops:
        if len(_COMPILED) > 10_000:
            _COMPILED.clear()
        found = _COMPILED[id(ops)] = (ops, jsonpatch.JsonPatch(ops))
    return found[1]


def _owned_path(data: Any, pointer: Any) -> Any:
    """`data` with every container on the way to `pointer` copied (shallow); a part that
    does not resolve ends the walk (jsonpatch then says what is wrong)."""
    if not isinstance(pointer, str) or not isinstance(data, dict | list):
        return data
    root: Any = copy.copy(data)
    node = root
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for part in parts[:-1]:
        if isinstance(node, dict):
            key: Any = part
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            key = int(part)
        else:
            break
        if isinstance(node, dict) and key not in node:
            break
        child = node[key]
        if not isinstance(child, dict | list):
            break
        node[key] = child = copy.copy(child)
        node = child
    return root


def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(f"^(?:{pattern})$")
    except re.error:
        return None


def _ns(value: str | None) -> str:
    return value or "default"


def _label_selector_matches(selector: str, labels: dict[str, Any]) -> bool | None:
    """Equality-based selectors (`a=b,c!=d`, `a`); None for a form we do not evaluate."""
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            if str(labels.get(key)) == value:
                return False
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if key not in labels or str(labels[key]) != value:
                return False
        elif re.fullmatch(r"!?[A-Za-z0-9./_-]+", term):
            present = term.lstrip("!") in labels
            if present == term.startswith("!"):
                return False
        else:
            return None
    return True


def target_matches(target: dict[str, str], resource: Resource) -> bool | None:
    """Does a patch `target:` select the resource? None when the selector uses a form the
    model does not evaluate (a set-based label selector, an invalid regex)."""
    for key in _SELECTOR_KEYS:
        if key not in target or target[key] in (None, ""):
            continue
        pattern = _regex(str(target[key]))
        if pattern is None:
            return None
        if key == "name":
            values = [name for name, _ in resource.ids()]
        elif key == "namespace":
            values = [_ns(ns) for _, ns in resource.ids()]
            if not any(pattern.match(v) for v in values):
                return False
            continue
        else:
            values = [getattr(resource, key)]
        if not any(pattern.match(v) for v in values):
            return False
    for key, field_ in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        if target.get(key):
            have = resource.metadata.get(field_)
            result = _label_selector_matches(
                str(target[key]), have if isinstance(have, dict) else {}
            )
            if result is not True:
                return result
    return True


def smp_id_matches(patch: dict[str, Any], resource: Resource) -> bool:
    """An SMP without target selects the object with its own group/version/kind/name, in
    the object's current or a previous namespace (`""` is `default`)."""
    meta = patch.get("metadata") if isinstance(patch.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    if patch.get("apiVersion") != resource.api_version or patch.get("kind") != resource.kind:
        return False
    namespace = _ns(str(meta["namespace"]) if meta.get("namespace") else None)
    return any(name == meta.get("name") and _ns(ns) == namespace for name, ns in resource.ids())


def leaves(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every scalar (and empty collection) of `data` with its path."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, (*prefix, key))
    elif isinstance(data, list) and data:
        for index, value in enumerate(data):
            yield from leaves(value, (*prefix, index))
    else:
        yield prefix, data


def _pointer(path: str) -> tuple[Any, ...]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _written(patch: Patch, body: Any) -> list[tuple[Any, ...]]:
    """The paths a patch writes, whether or not the value changes."""
    if patch.kind == "smp":  # its own id is how it finds the object, not what it sets
        own = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
        return [path for path, value in leaves(body) if value is not None and path not in own]
    return [
        _pointer(str(op.get("path", "")))
        for op in body
        if isinstance(op, dict) and op.get("op") in ("add", "replace", "copy", "move")
    ]


def _changed(before: Any, after: Any, prefix: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The leaf paths of `after` whose value (or type) differs from `before`'s at the same
    path: what comparing every leaf of both gives, but a subtree both share (the same
    object: patches copy only what they change) is skipped unread."""
    if before is after:
        return
    if isinstance(after, dict) and after:
        if not (isinstance(before, dict) and before):
            yield from (path for path, _ in leaves(after, prefix))
            return
        for key, value in after.items():
            if key in before:
                yield from _changed(before[key], value, (*prefix, key))
            else:
                yield from (path for path, _ in leaves(value, (*prefix, key)))
    elif isinstance(after, list) and after:
        if not (isinstance(before, list) and before):
            yield from (path for path, _ in leaves(after, prefix))
            return
        for index, value in enumerate(after):
            if index < len(before):
                yield from _changed(before[index], value, (*prefix, index))
            else:
                yield from (path for path, _ in leaves(value, (*prefix, index)))
    elif (
        (isinstance(before, dict | list) and before)
        or before != after
        or type(before) is not type(after)
    ):
        yield prefix


def _under(data: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The leaf paths of `data` at or below `path`."""
    node = data
    for key in path:
        found = (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        )
        if not found:
            return
        node = node[key]
    yield from (leaf for leaf, _ in leaves(node, path))


def record(resource: Resource, patch: Patch, body: Any, before: Any, after: Any) -> None:
    """Remember which leaves `patch` set on the resource: those it writes (even to the value
    they had) and those it changed."""
    found = dict.fromkeys(_changed(before, after, ()))
    for written in _written(patch, body):
        found.update(dict.fromkeys(_under(after, written)))
    resource.patched = {**resource.patched, **dict.fromkeys(found, patch)}
    resource.patches = (*resource.patches, patch)
