"""A patched document's overlay patches follow the edit, so each cluster renders it.

A per-cluster overlay that pins a chart version, or sets values, on top of a base
HelmRelease wins over the base: raising the version in the base alone leaves that cluster
on the old chart (with values meant for the new one), and a key a recipe drops from the
base comes back through the overlay. So the ops a patch step applies to a document run
again, in the right form, on every patch the Flux model says is applied on top of it:

- a strategic-merge patch (file or inline) holds the same structure: the op runs there
  where the patch sets the path (`add` becomes a `replace` of what the patch sets);
- a JSON 6902 patch is a list of ops: one that sets the same path gets the new value,
  one that sets a dropped path is removed, one under a moved or nested path follows it;
  and a mapping such a patch adds into is kept in the base even when the recipe left it
  empty (else `kustomize build` fails: "doc is missing path").

`metadata` ops are left to the rename follower (engine/recipe/renames.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.planning.planmodel import ReportItem
from engine.recipe.models import Op
from engine.repo.flux.resources import Patch
from engine.yamltext.embedded import Key, patch_embedded
from engine.yamltext.patching import OpResult, resolve, split_path
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import YamlDocument

if TYPE_CHECKING:
    from engine.recipe.steps import StepRun

_POSITION = re.compile(r"([A-Za-z0-9]+)\[(\d+)\]")


def follow_patches(run: StepRun, before: YamlDocument, after: YamlDocument, ops: Sequence[Op]) -> None:
    """Run `ops` (already applied to `before`, giving `after`) on the patches on top of it."""
    ops = [
        op
        for op in ops
        if not op.path.startswith("/metadata")
        and op.op != "test"
        and not (op.op in ("add", "replace") and op.value is None)  # rendered to nothing
    ]
    if not ops:
        return
    model = run.flux()
    seen: set[tuple[str, int, str]] = set()
    json_adds: list[str] = []
    for rendering in model.renderings(before.path, before.index):
        for patch in rendering.patches:
            key = (patch.file, patch.doc_index, patch.position)
            if key in seen:
                continue
            seen.add(key)
            if patch.kind == "smp":
                _follow_smp(run, patch, ops)
            else:
                json_adds.extend(_follow_json6902(run, patch, ops))
    _keep_parents(run, before, after, json_adds)


def _field(patch: Patch) -> tuple[Key, ...]:
    """Where an inline patch's text sits in its file: `patches[1]` -> patches/1/patch."""
    keys: list[Key] = []
    for part in patch.position.split("."):
        match = _POSITION.fullmatch(part)
        if match:
            keys.extend([match.group(1), int(match.group(2))])
        else:
            keys.append(part)
    if keys and keys[-2:-1] and keys[-2] != "patchesStrategicMerge":
        keys.append("patch")
    return tuple(keys)


def _apply(run: StepRun, patch: Patch, ops: list[Op]) -> list[OpResult]:
    """Run `ops` on the patch's content (a file document, or an inline text)."""
    if not ops:
        return []
    text = run.overlay.read_text(patch.file)
    where = f"{run.where} on {patch.describe()}"
    if patch.inline:
        doc = run.overlay.documents(patch.file)[patch.doc_index]
        done = patch_embedded(text, doc, _field(patch), ops, where=where)
        if done is None:
            return []
        new_text, results, documents = done.text, done.results, done.documents
    else:
        patched = patch_text(patch.file, text, patch.doc_index, ops, where=where,
                             documents=run.overlay.documents(patch.file))
        new_text, results, documents = patched.text, patched.results, patched.documents
    if new_text != text:
        run.overlay.write_text(patch.file, new_text, documents=documents)
    return results


def _report(run: StepRun, patch: Patch, results: Sequence[OpResult]) -> None:
    for result in results:
        if result.applied:
            run.reports.append(
                ReportItem("overlay", f"{patch.describe()}: {result.message}", patch.file)
            )


# --------------------------------------------------------------------------- strategic merge


def _follow_smp(run: StepRun, patch: Patch, ops: list[Op]) -> None:
    followed = []
    for op in ops:
        if op.op == "copy":
            continue
        kind = "replace" if op.op == "add" else op.op
        if kind == "replace" and op.path.endswith("/-"):
            continue
        followed.append(op.model_copy(update={"op": kind, "optional": True}))
    _report(run, patch, _apply(run, patch, followed))


# --------------------------------------------------------------------------- JSON 6902


def _plain(path: str | None) -> bool:
    return path is not None and "[" not in path


def _follow_json6902(run: StepRun, patch: Patch, ops: list[Op]) -> list[str]:
    """Rewrite the patch's ops; return the parents its `add` ops need in the target."""
    content = patch.content if isinstance(patch.content, list) else []
    entries = [e if isinstance(e, dict) else {} for e in content]
    edits: list[Op] = []
    dropped: set[int] = set()
    paths = [str(e.get("path", "")) for e in entries]
    for op in ops:
        for i, entry in enumerate(entries):
            if i in dropped or entry.get("op") not in ("add", "replace"):
                continue
            edit = _follow_one(op, i, paths[i], entry)
            if edit is None:
                continue
            if edit == "drop":
                dropped.add(i)
            else:
                paths[i] = edit
                edits.append(Op(op="replace", path=f"/{i}/path", value=edit))
        if op.op in ("add", "replace") and _plain(op.path):
            for i, entry in enumerate(entries):
                if i not in dropped and paths[i] == op.path and entry.get("op") in ("add", "replace"):
                    edits.append(Op(op="replace", path=f"/{i}/value", value=op.value))
    edits.extend(Op(op="remove", path=f"/{i}") for i in sorted(dropped, reverse=True))
    _report(run, patch, _apply(run, patch, edits))
    return [
        paths[i].rsplit("/", 1)[0]
        for i, entry in enumerate(entries)
        if i not in dropped and entry.get("op") == "add" and "/" in paths[i].lstrip("/")
    ]


def _follow_one(op: Op, index: int, path: str, entry: dict[str, Any]) -> str | None:
    """The new path of one patch op under recipe op `op`, "drop", or None (unchanged)."""
    if op.op in ("remove", "move"):
        gone = op.from_ if op.op == "move" else op.path
        if not _plain(gone) or gone is None:
            return None
        if path == gone or path.startswith(gone + "/"):
            if op.op == "remove":
                return "drop"
            return op.path + path[len(gone):] if _plain(op.path) else None
        return None
    if op.op in ("nest", "unnest") and op.key and _plain(op.path):
        prefix = op.path.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        first = split_path("/" + path[len(prefix):])[0]
        if op.op == "nest" and first != op.key and first not in op.keep:
            return prefix + _token(op.key) + "/" + path[len(prefix):]
        if op.op == "unnest" and first == op.key:
            rest = path[len(prefix) + len(_token(op.key)) + 1 :]
            return prefix + rest if rest else None
    return None


def _token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _keep_parents(run: StepRun, before: YamlDocument, after: YamlDocument, needed: list[str]) -> None:
    """Put back (empty) the mappings a JSON 6902 `add` on top needs, if the edit removed them."""
    restore = []
    for parent in dict.fromkeys(needed):
        if _exists(before.data, parent) and not _exists(after.data, parent):
            restore.append(Op(op="add", path=parent, value={}, parents=True))
    if not restore:
        return
    text = run.overlay.read_text(after.path)
    patched = patch_text(after.path, text, after.index, restore, where=run.where,
                         documents=run.overlay.documents(after.path))
    run.overlay.write_text(after.path, patched.text, documents=patched.documents)
    for op in restore:
        run.reports.append(ReportItem(
            "overlay", f"{after.kind} {after.name}: kept {op.path} (a JSON 6902 patch adds to it)",
            after.path))


def _exists(data: Any, pointer: str) -> bool:
    try:
        return resolve(data, pointer)[1]
    except Exception:
        return False
