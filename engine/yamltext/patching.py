"""RFC 6902 patch operations on plain YAML data, with Waypath's extensions.

Extensions (documented in docs/recipes.md):

- a path segment `name[key=value]` addresses the one item of list `name` whose `key`
  equals `value` (`/spec/values/containers[name=proxy]/image`); `[key=value]` alone
  addresses an item of the current list;
- `optional: true`: remove/replace/move/copy of a missing path do nothing, a failing
  `test` is skipped;
- `parents: true` (add, move, copy): missing parent mappings are created;
- `nest` / `unnest`: move the keys of a mapping into a child mapping and back.

Ops are idempotent where RFC 6902 allows it: an `add` of a value that is already there,
and an append (`/-`) of an item the list already holds, change nothing. `OpResult.applied`
says whether the op changed the document.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonpatch

from engine.errors import Location, PatchError
from engine.recipe.models import Op

_SELECTOR = re.compile(r"^(?P<name>.*)\[(?P<key>[^=\[\]]+)=(?P<value>[^\[\]]*)\]$")


@dataclass
class OpResult:
    op: Op
    applied: bool
    message: str
    old: Any = None


class _Missing(Exception):
    """The path does not exist in the document (maybe tolerated by `optional`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Invalid(Exception):
    """The path cannot be resolved however the document looked (never tolerated)."""


def same(a: Any, b: Any) -> bool:
    """Equality that tells `true` from `1` and `1.0` from `1` (Python's `==` does not)."""
    if a is b:  # apply_ops shares what an op did not touch: no need to walk it
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def scalar_text(value: Any) -> str:
    """How a scalar reads in YAML, for key selectors and messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, dict | list) else scalar_text(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def split_path(path: str) -> list[str]:
    """The unescaped segments of a JSON Pointer (`""` is the whole document)."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise _Invalid(f"path {path!r} must start with `/`")
    return [_unescape(token) for token in path[1:].split("/")]


def literal_key(node: Mapping[Any, Any], segments: Sequence[str], at: int) -> tuple[str, int] | None:
    """The key of `node` that `segments[at:]` start with: the segment itself, else a dotted
    literal key (`identity.issuer.crtExpiry:` written as one key) standing for the nested
    path. Returns the key and how many segments it covers; the longest match wins (a
    values block may hold both `identity:` and `identity.issuer.crtExpiry:`)."""
    for stop in range(len(segments), at, -1):
        dotted = ".".join(segments[at:stop])
        if dotted in node:
            return dotted, stop - at
    return None


def _select_item(items: list[Any], key: str, value: str, segment: str) -> int:
    found = [
        i
        for i, item in enumerate(items)
        if isinstance(item, dict) and key in item and scalar_text(item[key]) == value
    ]
    if not found:
        raise _Missing(f"no item with {key}={value} in list at `{segment}`")
    if len(found) > 1:
        raise _Invalid(f"{len(found)} items with {key}={value} in list at `{segment}`")
    return found[0]


def _step(node: Any, segment: str, tokens: list[str]) -> Any:
    """Follow one segment from `node`, appending its JSON Pointer tokens."""
    if isinstance(node, dict):
        if segment in node:
            tokens.append(segment)
            return node[segment]
        match = _SELECTOR.match(segment)
        if match is None or not match.group("name"):
            raise _Missing(f"no key `{segment}`")
        name = match.group("name")
        if name not in node:
            raise _Missing(f"no key `{name}`")
        node = node[name]
        tokens.append(name)
        segment = f"[{match.group('key')}={match.group('value')}]"
    if isinstance(node, list):
        match = _SELECTOR.match(segment)
        if match is not None and not match.group("name"):
            index = _select_item(node, match.group("key"), match.group("value"), segment)
        elif segment.isdigit() and (segment == "0" or not segment.startswith("0")):
            index = int(segment)
            if index >= len(node):
                raise _Missing(f"index {index} out of range (list has {len(node)} items)")
        else:
            raise _Invalid(f"`{segment}` is not a list index or [key=value] selector")
        tokens.append(str(index))
        return node[index]
    raise _Missing(f"`{segment}` goes into a {type(node).__name__} value, not a mapping or list")


def resolve(
    data: Any, path: str, *, last_may_be_new: bool = False, parents: bool = False
) -> tuple[str, bool]:
    """Turn one of our paths into a plain JSON Pointer.

    Returns (pointer, exists). With `last_may_be_new`, the last segment may name a key or
    list position that does not exist yet (for add). With `parents`, missing parent
    mappings are created in `data` on the way.
    """
    segments = split_path(path)
    tokens: list[str] = []
    node = data
    i = 0
    while i < len(segments):
        if isinstance(node, dict):
            found = literal_key(node, segments, i)
            if found is not None and found[1] > 1:
                tokens.append(found[0])
                node = node[found[0]]
                i += found[1]
                continue
        segment = segments[i]
        last = i == len(segments) - 1
        i += 1
        if last and last_may_be_new:
            if isinstance(node, list) and segment == "-":
                return _pointer([*tokens, "-"]), False
            if isinstance(node, dict) and segment not in node and not _SELECTOR.match(segment):
                return _pointer([*tokens, segment]), False
            if isinstance(node, list) and segment.isdigit() and int(segment) == len(node):
                return _pointer([*tokens, segment]), False
        try:
            node = _step(node, segment, tokens)
        except _Missing:
            can_create = parents and isinstance(node, dict) and not last
            if not can_create or _SELECTOR.match(segment):
                raise
            node[segment] = {}
            tokens.append(segment)
            node = node[segment]
    return _pointer(tokens), True


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def _get(data: Any, pointer: str) -> Any:
    """The value at a plain JSON Pointer that `resolve` returned."""
    for token in split_path(pointer):
        data = data[int(token)] if isinstance(data, list) else data[token]
    return data


def _describe(op: Op) -> str:
    text = f"{op.op} {op.path}"
    if op.from_:
        text += f" from {op.from_}"
    return text


def apply_ops(
    data: Any,
    ops: Sequence[Op],
    *,
    where: str = "",
    location: Location | None = None,
) -> tuple[Any, list[OpResult]]:
    """Apply `ops` in order to a copy of `data`; `data` is not changed.

    The copy is made on write: only the mappings and lists on the path of an op are
    copied, the rest is shared with `data` (a deep copy per patch was 17% of planning a
    fleet, and every later comparison walked the whole copy again).

    `where` names the document in error messages (e.g. `clusters/prod/linkerd.yaml`).
    """
    owned = _Owned()
    doc = owned.copy(data) if isinstance(data, dict | list) else data
    results: list[OpResult] = []
    for index, op in enumerate(ops):
        try:
            if op.op != "test":
                # nest/unnest change the mapping at their path; the others its parent.
                owned.path(doc, op.path, inclusive=op.op in ("nest", "unnest"))
                if op.from_:
                    owned.path(doc, op.from_, inclusive=False)
            doc, result = _apply_one(doc, op)
        except (
            _Missing,
            _Invalid,
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
        ) as exc:
            reason = exc.reason if isinstance(exc, _Missing) else str(exc)
            prefix = f"{where}: " if where else ""
            raise PatchError(
                f"{prefix}op {index} ({_describe(op)}) failed: {reason}",
                location=location or (Location(where) if where else None),
                hint="check the path against the document, or mark the op `optional: true` "
                "if the value may be absent",
            ) from None
        results.append(result)
    return doc, results


class _Owned:
    """The containers apply_ops copied, and so may change in place (copy on write)."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._keep: list[Any] = []  # copies stay alive while their ids are in `_ids`
        self.copies = 0

    def copy(self, value: Any) -> Any:
        made = dict(value) if isinstance(value, dict) else list(value)
        self._ids.add(id(made))
        self._keep.append(made)
        self.copies += 1
        return made

    def path(self, doc: Any, path: str, *, inclusive: bool) -> None:
        """Copy the containers along the part of `path` that exists (with the value at
        `path` itself when `inclusive`), unless copied already. `doc` itself is a copy;
        after this, an op on `path` changes no shared container."""
        tokens: list[str] = []
        node = doc
        segments = split_path(path)
        at = 0
        try:
            while at < len(segments):  # the walk of `resolve`, dotted literal keys included
                found = literal_key(node, segments, at) if isinstance(node, dict) else None
                if found is not None and found[1] > 1:
                    tokens.append(found[0])
                    node = node[found[0]]
                    at += found[1]
                    continue
                node = _step(node, segments[at], tokens)
                at += 1
            if not inclusive and tokens:
                tokens.pop()
        except (_Missing, _Invalid):
            pass  # the op reports it; the containers up to there are what it may change
        parent = doc
        for token in tokens:
            key: Any = int(token) if isinstance(parent, list) else token
            child = parent[key]
            if not isinstance(child, dict | list):
                return
            if id(child) not in self._ids:
                child = parent[key] = self.copy(child)
            parent = child


def _apply_one(doc: Any, op: Op) -> tuple[Any, OpResult]:
    handler = _HANDLERS[op.op]
    emptied = None
    if op.prune and op.op in ("remove", "move"):
        try:
            emptied = resolve(doc, op.from_ if op.op == "move" and op.from_ else op.path)[0]
        except (_Missing, _Invalid):
            emptied = None
    try:
        doc, result = handler(doc, op)
    except _Missing as exc:
        if op.optional:
            return doc, OpResult(op, False, f"skipped {_describe(op)}: {exc.reason}")
        raise
    if emptied is not None and result.applied:
        doc = _prune_empty(doc, emptied, result)
    return doc, result


def _prune_empty(doc: Any, pointer: str, result: OpResult) -> Any:
    """Remove the mappings above `pointer` that the op left empty, innermost first."""
    tokens = split_path(pointer)
    while len(tokens) > 1:
        tokens = tokens[:-1]
        parent = _pointer(tokens)
        if _get(doc, parent) != {}:
            break
        doc = _patch(doc, {"op": "remove", "path": parent})
        result.message += f"; removed {parent}, left empty"
    return doc


def _patch(doc: Any, operation: dict[str, Any]) -> Any:
    return jsonpatch.JsonPatch([operation]).apply(doc, in_place=True)


def _add(doc: Any, op: Op) -> tuple[Any, OpResult]:
    pointer, exists = resolve(doc, op.path, last_may_be_new=True, parents=op.parents)
    if exists and same(_get(doc, pointer), op.value):
        return doc, OpResult(op, False, f"{op.path} is already {short(op.value)}")
    if pointer.endswith("/-") or pointer == "-":
        items = _get(doc, pointer[: -len("/-")])
        if any(same(item, op.value) for item in items):
            return doc, OpResult(op, False, f"{op.path[:-2]} already holds {short(op.value)}")
    old = _get(doc, pointer) if exists else None
    doc = _patch(doc, {"op": "add", "path": pointer, "value": copy.deepcopy(op.value)})
    verb = (
        f"set {op.path} to {short(op.value)} (was: {short(old)})"
        if exists
        else (f"added {op.path} = {short(op.value)}")
    )
    return doc, OpResult(op, True, verb, old)


def _remove(doc: Any, op: Op) -> tuple[Any, OpResult]:
    pointer, _ = resolve(doc, op.path)
    old = _get(doc, pointer)
    doc = _patch(doc, {"op": "remove", "path": pointer})
    return doc, OpResult(op, True, f"removed {op.path} (was: {short(old)})", old)


def _replace(doc: Any, op: Op) -> tuple[Any, OpResult]:
    pointer, _ = resolve(doc, op.path)
    old = _get(doc, pointer)
    if same(old, op.value):
        return doc, OpResult(op, False, f"{op.path} is already {short(op.value)}")
    doc = _patch(doc, {"op": "replace", "path": pointer, "value": copy.deepcopy(op.value)})
    return doc, OpResult(op, True, f"replaced {op.path}: {short(old)} -> {short(op.value)}", old)


def _move_or_copy(doc: Any, op: Op) -> tuple[Any, OpResult]:
    assert op.from_ is not None  # checked by the Op model
    source, _ = resolve(doc, op.from_)
    value = _get(doc, source)
    target, exists = resolve(doc, op.path, last_may_be_new=True, parents=op.parents)
    if source == target:
        return doc, OpResult(op, False, f"{op.from_} is already at {op.path}")
    if exists and op.op == "copy" and same(_get(doc, target), value):
        return doc, OpResult(op, False, f"{op.path} is already {short(value)}")
    old = _get(doc, target) if exists else None
    doc = _patch(doc, {"op": op.op, "from": source, "path": target})
    verb = "moved" if op.op == "move" else "copied"
    message = f"{verb} {op.from_} to {op.path}"
    if exists:
        message += f" (overwrote: {short(old)})"
    return doc, OpResult(op, True, message, old)


def _test(doc: Any, op: Op) -> tuple[Any, OpResult]:
    try:
        pointer, _ = resolve(doc, op.path)
        actual = _get(doc, pointer)
    except _Missing as exc:
        if op.optional:
            return doc, OpResult(op, False, f"skipped: test {op.path} ({exc.reason})")
        raise _Invalid(f"test failed: {exc.reason}") from None
    if not same(actual, op.value):
        message = f"test failed: {op.path} is {short(actual)}, expected {short(op.value)}"
        if op.optional:
            return doc, OpResult(op, False, f"skipped: {message}", actual)
        raise _Invalid(message)
    return doc, OpResult(op, False, f"test passed: {op.path} is {short(op.value)}", actual)


def _mapping_at(doc: Any, path: str) -> tuple[Any, dict[str, Any]]:
    pointer, _ = resolve(doc, path)
    target = _get(doc, pointer)
    if not isinstance(target, dict):
        raise _Invalid(f"{path} is a {type(target).__name__}, not a mapping")
    return pointer, target


def _nest(doc: Any, op: Op) -> tuple[Any, OpResult]:
    assert op.key is not None
    _, parent = _mapping_at(doc, op.path)
    child = parent.get(op.key, {})
    if not isinstance(child, dict):
        raise _Invalid(f"{op.path}/{op.key} is a {type(child).__name__}, not a mapping")
    moving = [k for k in parent if k != op.key and k not in op.keep]
    if not moving:
        return doc, OpResult(op, False, f"nothing to nest under {op.path}/{op.key}")
    conflicts = [k for k in moving if k in child]
    merged = dict(child)
    for key in moving:
        merged[key] = parent.pop(key)
    parent[op.key] = merged
    message = f"nested {', '.join(moving)} under {op.path}/{op.key}"
    if conflicts:
        message += f" (replaced existing {', '.join(conflicts)})"
    return doc, OpResult(op, True, message)


def _unnest(doc: Any, op: Op) -> tuple[Any, OpResult]:
    assert op.key is not None
    _, parent = _mapping_at(doc, op.path)
    if op.key not in parent:
        return doc, OpResult(op, False, f"nothing to unnest: no {op.path}/{op.key}")
    child = parent[op.key]
    if not isinstance(child, dict):
        raise _Invalid(f"{op.path}/{op.key} is a {type(child).__name__}, not a mapping")
    lifting = [k for k in child if k not in op.keep]
    if not lifting:
        return doc, OpResult(op, False, f"nothing to unnest from {op.path}/{op.key}")
    staying = {k: v for k, v in child.items() if k in op.keep}
    conflicts = [k for k in lifting if k in parent and k != op.key]
    rebuilt: dict[Any, Any] = {}
    for key, value in parent.items():
        if key == op.key:
            rebuilt.update((k, child[k]) for k in lifting)  # the child's keys win
            if staying:
                rebuilt[op.key] = staying
        elif key not in lifting:
            rebuilt[key] = value
        elif key not in rebuilt:
            rebuilt[key] = child[key]
    parent.clear()
    parent.update(rebuilt)
    message = f"unnested {op.path}/{op.key}"
    if conflicts:
        message += f" (its {', '.join(conflicts)} replaced the parent's)"
    return doc, OpResult(op, True, message)


_HANDLERS = {
    "add": _add,
    "remove": _remove,
    "replace": _replace,
    "move": _move_or_copy,
    "copy": _move_or_copy,
    "test": _test,
    "nest": _nest,
    "unnest": _unnest,
}
