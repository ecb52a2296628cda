"""Compare two charts' default values and propose patch ops for what was removed or renamed.

Keys are compared as paths (tuples), so a key holding a dot stays one key. A *removed*
node is the highest path present in the old defaults and absent from the new ones (so a
deleted subtree is one entry, not one per leaf); *added* nodes likewise. A removed node is
probably renamed when an added node has the same last key under another parent, or a
very similar dotted name (difflib); otherwise the proposal is an optional `remove`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, ...]


def _walk(data: Any, prefix: Key = ()) -> Iterator[tuple[Key, Any]]:
    """Every path of a nested mapping, parents before children."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = (*prefix, str(key))
            yield path, value
            yield from _walk(value, path)


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict) or not value


def dotted(key: Key) -> str:
    return ".".join(key)


def pointer(key: Key, base: str = "/spec/values") -> str:
    return base + "".join("/" + k.replace("~", "~0").replace("/", "~1") for k in key)


@dataclass
class ValuesDiff:
    removed: list[tuple[Key, Any]] = field(default_factory=list)
    added: list[tuple[Key, Any]] = field(default_factory=list)
    changed: list[tuple[Key, Any, Any]] = field(default_factory=list)
    renamed: list[tuple[Key, Key]] = field(default_factory=list)  # a subset of removed

    def proposed_ops(self, release: str) -> list[dict[str, Any]]:
        """Patch ops for a HelmRelease's `spec.values`: moves for renames, else removes."""
        renamed = dict(self.renamed)
        ops: list[dict[str, Any]] = []
        for key, _ in self.removed:
            if key in renamed:
                ops.append(
                    {
                        "op": "move",
                        "from": pointer(key),
                        "path": pointer(renamed[key]),
                        "optional": True,
                        "parents": True,
                        "reason": f"renamed to {dotted(renamed[key])} in {release}",
                    }
                )
            else:
                ops.append(
                    {
                        "op": "remove",
                        "path": pointer(key),
                        "optional": True,
                        "reason": f"removed in {release}",
                    }
                )
        return ops


def _maximal(present: dict[Key, Any], absent_in: dict[Key, Any]) -> list[tuple[Key, Any]]:
    """Highest paths of `present` whose key is not in `absent_in`."""
    found: list[tuple[Key, Any]] = []
    for key, value in present.items():
        if key in absent_in:
            continue
        if any(key[: len(other)] == other for other, _ in found):
            continue
        found.append((key, value))
    return found


def _rename_of(key: Key, added: list[Key], taken: set[Key]) -> Key | None:
    free = [a for a in added if a not in taken]
    same_leaf = [a for a in free if a[-1] == key[-1] and a[:-1] != key[:-1]]
    if len(same_leaf) == 1:
        return same_leaf[0]
    names = {dotted(a): a for a in free}
    close = difflib.get_close_matches(dotted(key), list(names), n=1, cutoff=0.8)
    return names[close[0]] if close else None


def diff_values(old: Any, new: Any) -> ValuesDiff:
    old_paths = dict(_walk(old if isinstance(old, dict) else {}))
    new_paths = dict(_walk(new if isinstance(new, dict) else {}))
    result = ValuesDiff(
        removed=_maximal(old_paths, new_paths),
        added=_maximal(new_paths, old_paths),
        changed=[
            (key, value, new_paths[key])
            for key, value in old_paths.items()
            if key in new_paths
            and _is_leaf(value)
            and _is_leaf(new_paths[key])
            and value != new_paths[key]
        ],
    )
    # a rename may land inside a new parent (`tracing` -> `controller.tracing`), so every
    # new-only path is a candidate, not just the highest ones
    added_keys = [k for k in new_paths if k not in old_paths]
    taken: set[Key] = set()
    for key, _ in result.removed:
        target = _rename_of(key, added_keys, taken)
        if target is not None:
            taken.add(target)
            result.renamed.append((key, target))
    return result


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def summary_lines(diff: ValuesDiff) -> list[str]:
    """The diff for people: one line per key."""
    renamed = dict(diff.renamed)
    lines = [f"removed keys ({len(diff.removed)}):"]
    for key, value in diff.removed:
        to = f"  (renamed to {dotted(renamed[key])}?)" if key in renamed else ""
        lines.append(f"  - {dotted(key)} = {_short(value)}{to}")
    lines.append(f"added keys ({len(diff.added)}):")
    lines += [f"  + {dotted(key)} = {_short(value)}" for key, value in diff.added]
    lines.append(f"changed defaults ({len(diff.changed)}):")
    lines += [f"  ~ {dotted(k)}: {_short(a)} -> {_short(b)}" for k, a, b in diff.changed]
    return lines
