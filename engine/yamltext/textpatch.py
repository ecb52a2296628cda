"""Apply patch ops to one document of a YAML text, spliced into the original bytes.

The one place that turns a list of ops into new text: the patch step uses it on repo
files, and values held elsewhere (a ConfigMap's `values.yaml: |` block, a generator's
values file) use it on their YAML text, so both follow the same fidelity rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.errors import Location, PatchError, RepoError
from engine.recipe.models import Op
from engine.yamltext.patching import OpResult, apply_ops, same
from engine.yamltext.restructure import restructure
from engine.yamltext.splice import rewrite_and_parse
from engine.yamltext.yamldoc import YamlDocument, parse_file


@dataclass
class Patched:
    """The new file text, its documents when already parsed, and what each op did."""

    text: str
    documents: list[YamlDocument] | None
    results: list[OpResult] = field(default_factory=list)


def segments(ops: Sequence[Op]) -> list[list[Op]]:
    """Ops in runs; each `nest`/`unnest` alone, so it can be done as a move of lines."""
    runs: list[list[Op]] = []
    for op in ops:
        if op.op in ("nest", "unnest") or not runs or runs[-1][0].op in ("nest", "unnest"):
            runs.append([op])
        else:
            runs[-1].append(op)
    return runs


def patch_text(
    path: str,
    text: str,
    index: int,
    ops: Sequence[Op],
    *,
    where: str,
    documents: list[YamlDocument] | None = None,
) -> Patched:
    """`text` with ops applied to its document number `index`; all else byte-identical."""
    docs = documents if documents is not None else parse_file(path, text)
    results: list[OpResult] = []
    changed = False
    for segment in segments(ops):
        doc = docs[index]
        try:
            new_data, done = apply_ops(doc.data, segment, where=where)
        except PatchError as exc:
            if exc.location is None:
                exc.location = Location(doc.path, doc.line)
            raise
        results.extend(done)
        if same(new_data, doc.data):
            continue
        moved = _moved_as_text(text, doc, segment, new_data)
        if moved is not None:
            text, docs = moved
        else:
            text, parsed = rewrite_and_parse(text, doc, new_data)
            docs = parsed if parsed is not None else parse_file(path, text)
        changed = True
    return Patched(text, docs if changed or documents is not None else None, results)


def _moved_as_text(
    text: str, doc: YamlDocument, segment: list[Op], new_data: object
) -> tuple[str, list[YamlDocument]] | None:
    """A lone nest/unnest done by moving lines (comments and quotes kept), when that gives
    exactly the data the op gives."""
    if len(segment) != 1 or segment[0].op not in ("nest", "unnest"):
        return None
    moved = restructure(text, doc, segment[0])
    if moved is None:
        return None
    try:
        reparsed = parse_file(doc.path, moved)
    except RepoError:
        return None
    if len(reparsed) <= doc.index or not same(reparsed[doc.index].data, new_data):
        return None
    return moved, reparsed
