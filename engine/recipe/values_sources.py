"""A patch's values ops, applied where the values are: repo-held `valuesFrom` sources too.

helm-controller merges every `valuesFrom` source, then `spec.values` on top (flux.md). A
key a recipe drops from `spec.values` but that a ConfigMap still sets is silently kept —
or, worse, silently ignored by the new chart (a renamed `defaultAllowPolicy` fell back to
the chart's `all-unauthenticated`). So each values op that removes, renames, replaces or
nests keys also runs on every values source the repo holds: a ConfigMap document's
`values.yaml: |` block (edited as YAML inside YAML) or a generator's values file. `add`
ops land in `spec.values` only: it wins over every source.

What cannot be edited (a Secret, a SOPS-encrypted file, a source not in the repo, values
generated from env files) becomes a manual step naming the source and the changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.errors import RepoError
from engine.planning.planmodel import Note, ReportItem
from engine.recipe.models import Op
from engine.repo.valuesfrom import ValuesSource, value_sources
from engine.yamltext.embedded import patch_embedded
from engine.yamltext.patching import OpResult, split_path
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import YamlDocument, parse_file

if TYPE_CHECKING:
    from engine.recipe.steps import StepRun

VALUES = "/spec/values"
_FOLLOWED = ("remove", "replace", "move", "nest", "unnest")


def _inside(path: str | None) -> str | None:
    """`/spec/values/a/b` -> `/a/b`, `/spec/values` -> `` (the whole values document)."""
    if path is None:
        return None
    if path == VALUES:
        return ""
    return path[len(VALUES) :] if path.startswith(VALUES + "/") else None


def values_ops(ops: Sequence[Op]) -> list[Op]:
    """The ops that change existing values keys, rewritten for a values document.

    They are all optional there: a source sets some keys, not all."""
    found: list[Op] = []
    for op in ops:
        path, source = _inside(op.path), _inside(op.from_)
        if op.op not in _FOLLOWED or path is None or (op.from_ is not None and source is None):
            continue
        if op.op == "replace" and op.value is None:  # a template that rendered to nothing
            continue
        found.append(op.model_copy(update={"path": path, "from_": source, "optional": True}))
    return found


def follow_values(run: StepRun, release: YamlDocument, ops: Sequence[Op]) -> None:
    """Apply the values part of `ops` (already applied to `release`) to its sources."""
    followed = values_ops(ops)
    if not followed:
        return
    for source in value_sources(run.overlay, release, run.scope):
        if source.target_path is not None:
            touched = [op for op in followed if _touches(op, source.target_path)]
            if touched:
                _manual(run, release, source, touched, "it sets one value at "
                        f"`{source.target_path}`, which these changes move or drop")
        elif source.problem is not None or source.kind != "ConfigMap" or source.path is None:
            why = source.problem or "Waypath does not edit Secrets"
            _manual(run, release, source, followed, why)
        elif source.index is None:
            _edit_file(run, release, source, followed)
        else:
            _edit_document(run, release, source, followed)


def _dotted(path: str) -> str:
    return ".".join(split_path(path))


def _touches(op: Op, target_path: str) -> bool:
    """Does `op` move or drop the value a `targetPath` entry sets?"""
    if op.op in ("nest", "unnest"):
        prefix = _dotted(op.path)
        below = target_path[len(prefix) + 1 :] if prefix else target_path
        if prefix and not target_path.startswith(prefix + "."):
            return False
        first = below.split(".", 1)[0]
        if op.op == "nest":
            return first != op.key and first not in op.keep
        return first == op.key
    for path in (op.path, op.from_):
        if path is None:
            continue
        dotted = _dotted(path)
        if target_path == dotted or target_path.startswith(dotted + "."):
            return True
    return False


def _describe(ops: Sequence[Op]) -> str:
    parts = []
    for op in ops:
        path = _dotted(op.path) or "(top level)"
        if op.op == "move":
            parts.append(f"rename `{_dotted(op.from_ or '')}` to `{path}`")
        elif op.op == "remove":
            parts.append(f"remove `{path}`")
        elif op.op == "replace":
            parts.append(f"set `{path}` to `{op.value}`")
        else:
            kept = f" (except {', '.join(op.keep)})" if op.keep else ""
            verb = "nest" if op.op == "nest" else "un-nest"
            parts.append(f"{verb} the keys of {path} under `{op.key}`{kept}")
    return "; ".join(parts)


def _manual(
    run: StepRun, release: YamlDocument, source: ValuesSource, ops: Sequence[Op], why: str
) -> None:
    where = f" ({source.path or source.generator})" if source.path or source.generator else ""
    note = Note(
        title=f"Edit the values in {source.label} by hand",
        text=(
            f"HelmRelease {release.name} reads values from {source.label}{where}; Waypath did "
            f"not edit it: {why}. Make the same changes there: {_describe(ops)}. A key left "
            "there that the new chart dropped or renamed is ignored without a warning."
        ),
    )
    run.notes.add(note)


def _report(
    run: StepRun, source: ValuesSource, path: str, results: Sequence[OpResult]
) -> None:
    for result in results:
        if not result.applied:
            continue
        reason = f" ({result.op.reason})" if result.op.reason else ""
        message = f"{source.kind} {source.name} ({source.key}): {result.message}{reason}"
        run.reports.append(ReportItem("values", message, path))


def _edit_file(run: StepRun, release: YamlDocument, source: ValuesSource, ops: list[Op]) -> None:
    assert source.path is not None
    text = run.overlay.read_text(source.path)
    try:
        docs = parse_file(source.path, text)
    except RepoError as exc:
        _manual(run, release, source, ops, f"it is not valid YAML ({exc.message})")
        return
    values = [d for d in docs if d.data is not None]
    if len(values) != 1 or not isinstance(values[0].data, dict) or values[0].encrypted:
        _manual(run, release, source, ops, "it is not one plain YAML mapping of values")
        return
    where = f"{run.where} on {source.path} ({source.label})"
    patched = patch_text(source.path, text, values[0].index, ops, where=where, documents=docs)
    if patched.text != text:
        run.overlay.write_text(source.path, patched.text, documents=patched.documents)
    _report(run, source, source.path, patched.results)


def _edit_document(
    run: StepRun, release: YamlDocument, source: ValuesSource, ops: list[Op]
) -> None:
    assert source.path is not None and source.index is not None
    text = run.overlay.read_text(source.path)
    doc = run.overlay.documents(source.path)[source.index]
    field = next(f for f in ("data", "stringData") if source.key in (doc.data.get(f) or {}))
    where = f"{run.where} on {source.path} ({source.label})"
    done = patch_embedded(text, doc, [field, source.key], ops, where=where)
    if done is None or not isinstance(done.inner, dict):
        _manual(run, release, source, ops, "its value is not a YAML mapping of values")
        return
    if done.text != text:
        run.overlay.write_text(source.path, done.text, documents=done.documents)
    _report(run, source, source.path, done.results)
