"""Run one recipe step for one instance on the in-memory overlay.

Steps never touch the disk: they read and write an `Overlay`. Every step is written so
that running it on a repo where it already happened changes nothing (idempotency):
patches compare data before writing, templates compare rendered data with what is there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import (
    Location,
    PreconditionError,
    RecipeError,
    RepoError,
    TemplateError,
)
from engine.planning.planmodel import Note, Notes, ReportItem
from engine.recipe.marks import follow_chart_rename, mark_like
from engine.recipe.models import (
    AssertStep,
    Component,
    DeleteStep,
    MoveStep,
    NoteStep,
    Op,
    PatchStep,
    Selector,
    TemplateStep,
)
from engine.recipe.overlays import follow_patches
from engine.recipe.renames import follow_rename
from engine.recipe.resources import register_resource, unregister_resource
from engine.recipe.templating import Renderer
from engine.recipe.values_sources import follow_values
from engine.repo.flux.model import FluxModel, model_for
from engine.repo.selectors import ResolvedSelector, resolve, select
from engine.repo.workspace import Overlay, safe_relpath
from engine.yamltext.patching import OpResult
from engine.yamltext.splice import (
    append_document,
    delete_document,
    replace_document,
    rewrite_document,
)
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import YamlDocument, parse_file

AnyStep = PatchStep | TemplateStep | MoveStep | DeleteStep | NoteStep | AssertStep


@dataclass
class StepRun:
    """Everything a step needs, and where it puts what it has to say."""

    overlay: Overlay
    root: Path
    renderer: Renderer
    component: Component
    scope: str
    variables: dict[str, Any]
    where: str  # "recipe <id>, phase <name>, step <n>" for messages
    recipe_path: str
    notes: Notes = field(default_factory=Notes)
    reports: list[ReportItem] = field(default_factory=list)
    redact: Callable[[Any], Any] = lambda data: data
    model: FluxModel | None = None  # the planner's, built once per run; else built on first use

    def flux(self) -> FluxModel:
        """The Flux model of the repo as it was before any step (see model_for)."""
        if self.model is None:
            self.model = model_for(self.overlay.base)
        return self.model

    def render(self, text: str, what: str) -> str:
        return self.renderer.string(text, self.variables, what=f"{self.where}: {what}")

    def path(self, text: str, what: str) -> str:
        return safe_relpath(self.root, self.render(text, what))

    def select(self, selector: Selector) -> tuple[ResolvedSelector, list[YamlDocument]]:
        resolved = resolve(selector, lambda t: self.render(t, "selector"))
        docs = select(self.overlay, resolved, scope=self.scope, component=self.component)
        if not docs:
            message = f"{self.where}: selector {resolved.describe()} matched nothing"
            if selector.required:
                raise RecipeError(
                    message + f" in {self.scope}",
                    location=Location(self.recipe_path),
                    hint="the repo may not be in the state this recipe expects; "
                    "set `required: false` on the selector if the object is optional",
                )
            self.reports.append(ReportItem("no-match", message))
        return resolved, docs


def run_step(step: AnyStep, run: StepRun) -> bool:
    """Run the step unless its `when` is false; say whether it ran."""
    if step.when is not None:
        ok = run.renderer.expression(step.when, run.variables, what=f"{run.where}: when")
        if not ok:
            return False
    if isinstance(step, PatchStep):
        _patch(step, run)
    elif isinstance(step, TemplateStep):
        _template(step, run)
    elif isinstance(step, DeleteStep):
        _delete(step, run)
    elif isinstance(step, MoveStep):
        _move(step, run)
    elif isinstance(step, NoteStep):
        _note(step, run)
    else:
        _assert(step, run)
    return True


# --------------------------------------------------------------------------- patch


def _render_ops(ops: list[Op], run: StepRun, variables: dict[str, Any]) -> list[Op]:
    rendered = []
    for op in ops:
        what = f"{run.where}: op"
        update: dict[str, Any] = {"path": run.renderer.string(op.path, variables, what=what)}
        if op.from_ is not None:
            update["from_"] = run.renderer.string(op.from_, variables, what=what)
        if "value" in op.model_fields_set:
            update["value"] = run.renderer.value(op.value, variables, what=f"{what} value")
        rendered.append(op.model_copy(update=update))
    return rendered


def _names_doc(ops: list[Op]) -> bool:
    """Whether any op's templated text may name `doc` (a false yes costs a redaction)."""
    return any(
        "doc" in op.path or "doc" in (op.from_ or "") or "doc" in repr(op.value) for op in ops
    )


def _refuse_null(run: StepRun, written: list[Op], results: list[OpResult]) -> None:
    """An op whose value template rendered to nothing must not write `null` (e.g. a
    namespace neither the document nor its kustomization sets); as a no-op it is fine."""
    for op, result in zip(written, results, strict=False):
        templated = isinstance(op.value, str) and "{{" in op.value
        if templated and result.applied and result.op.value is None and op.op in ("add", "replace"):
            raise RecipeError(
                f"{run.where}: the value of op {op.op} {result.op.path} ({op.value}) "
                "rendered to nothing",
                location=Location(run.recipe_path),
                hint="the repo does not say what it names (for a namespace: set "
                "metadata.namespace, or `namespace:` in the kustomization.yaml)",
            )


def _refresh(overlay: Overlay, doc: YamlDocument) -> YamlDocument:
    return overlay.documents(doc.path)[doc.index]


def _patch(step: PatchStep, run: StepRun) -> None:
    _, docs = run.select(step.patch.select)
    for found in docs:
        doc = _refresh(run.overlay, found)
        _check_writable(doc)
        # Op values may name the document they patch: `{{ doc.spec.chart.spec.chart }}`.
        # Redacting walks the whole document: only for ops whose text names it.
        doc_data = run.redact(doc.data) if _names_doc(step.patch.ops) else None
        ops = _render_ops(step.patch.ops, run, {**run.variables, "doc": doc_data})
        where = f"{run.where} on {doc.path} ({doc.kind} {doc.name})"
        patched = patch_text(
            doc.path,
            run.overlay.read_text(doc.path),
            doc.index,
            ops,
            where=where,
            documents=run.overlay.documents(doc.path),
        )
        _refuse_null(run, step.patch.ops, patched.results)
        if patched.text != run.overlay.read_text(doc.path):
            run.overlay.write_text(doc.path, patched.text, documents=patched.documents)
        after = _refresh(run.overlay, found)
        if any(r.applied for r in patched.results):
            follow_patches(run, doc, after, ops)
            after = _refresh(run.overlay, found)
        if doc.kind == "HelmRelease":
            follow_chart_rename(run.overlay, doc, after)
            follow_values(run, after, ops)
        follow_rename(run, doc, after)
        for result in patched.results:
            if result.applied and isinstance(result.old, str) and "${" in result.old:
                # a Secret's values never reach a report (a SOPS or plain Secret alike)
                if doc.kind == "Secret":
                    continue
                run.reports.append(
                    ReportItem(
                        "substitution",
                        f"{doc.kind} {doc.name}: {result.op.path} was the Flux postBuild "
                        f"substitution `{result.old}`; it is now written in this file, so the "
                        "variable no longer sets it (remove it from the Flux Kustomization's "
                        "postBuild if nothing else uses it)",
                        doc.path,
                    )
                )
            if result.applied and result.op.op in ("remove", "move", "nest", "unnest"):
                reason = f" ({result.op.reason})" if result.op.reason else ""
                touched = (result.op.from_ or "") + " " + result.op.path
                kind = "values" if "/spec/values" in touched else "edit"
                message = result.message
                if doc.kind == "Secret":  # the message quotes the old value: not for a Secret
                    message = f"{result.op.op} {result.op.from_ or result.op.path}"
                run.reports.append(
                    ReportItem(kind, f"{doc.kind} {doc.name}: {message}{reason}", doc.path)
                )


def _check_writable(doc: YamlDocument) -> None:
    if doc.encrypted:
        raise RepoError(
            f"{doc.path} is SOPS-encrypted; a recipe step would have to edit it",
            location=Location(doc.path, doc.line),
            hint="decrypt it with `sops -d`, make the change by hand, re-encrypt, then plan again",
        )


# --------------------------------------------------------------------------- template


def _parse_rendered(
    text: str, what: str, run: StepRun, path: str = "<rendered>"
) -> list[YamlDocument]:
    try:
        return parse_file(path, text)
    except RepoError as exc:
        raise TemplateError(
            f"{run.where}: {what} did not render to valid YAML: {exc.message}",
            location=Location(run.recipe_path),
            hint="render the template with `waypath plan` and check its indentation",
        ) from exc


def _data_of(docs: list[YamlDocument]) -> list[Any]:
    return [d.data for d in docs if d.data is not None]


def _template(step: TemplateStep, run: StepRun) -> None:
    body = step.template
    variables = dict(run.variables)
    if body.select is not None:
        _, selected = run.select(body.select)
        variables["docs"] = [run.redact(d.data) for d in selected]
        variables["doc"] = variables["docs"][0] if selected else None

    def render(extra: dict[str, Any]) -> str:
        context = {**variables, **extra}
        what = f"{run.where}: template"
        if body.source is not None:
            return run.renderer.file(body.source, context, what=what)
        assert body.inline is not None
        return run.renderer.string(body.inline, context, what=what)

    if body.replace is not None:
        _, targets = run.select(body.replace)
        for found in targets:
            doc = _refresh(run.overlay, found)
            _check_writable(doc)
            if run.redact(doc.data) != doc.data:
                raise RepoError(
                    f"{doc.path}: a template cannot replace {doc.kind} {doc.name}: its values "
                    "are hidden from templates, so they would be lost",
                    location=Location(doc.path, doc.line),
                    hint="edit the Secret with a `patch` step, or by hand",
                )
            text = render({"doc": run.redact(doc.data)})
            rendered = _parse_rendered(text, "template", run)
            if _data_of(rendered) == [doc.data]:
                continue
            current = run.overlay.read_text(doc.path)
            run.overlay.write_text(doc.path, replace_document(current, doc, text))
        return

    assert body.into is not None
    path = run.path(body.into, "template into")
    text = render({})
    # Parsed as the file it becomes: written as is, these are its documents (no second parse).
    rendered = _parse_rendered(text, "template", run, path)
    if not run.overlay.exists(path):
        again = _recreated(run, path, rendered, whole_file=True)
        if again is not None:
            run.overlay.write_text(path, again if again.endswith("\n") else again + "\n")
        elif text.endswith("\n"):
            run.overlay.write_text(path, text, documents=rendered)
        else:
            run.overlay.write_text(path, text + "\n")
        if again is None:
            mark_like(run.overlay, path, _core_in_repo(run))
        _drop_kept_folder(run, path)
        if body.register_:
            register_resource(run.overlay, path, run.reports)
        return
    existing = run.overlay.documents(path)
    if body.append:
        if _already_there(rendered, existing, run, path):
            return
        _check_all_writable(existing)
        again = _recreated(run, path, rendered, whole_file=False)
        text = again if again is not None else text
        run.overlay.write_text(path, append_document(run.overlay.read_text(path), text))
        return
    if _data_of(existing) == _data_of(rendered):
        return
    if not body.overwrite:
        raise RecipeError(
            f"{run.where}: {path} already exists with other content",
            location=Location(run.recipe_path),
            hint="set `overwrite: true` or `append: true` on the template step, or move the file",
        )
    _check_all_writable(existing)
    run.overlay.write_text(path, text, documents=rendered)


def _identity(doc: YamlDocument) -> tuple[str | None, str | None, str | None]:
    """What the cluster knows an object by: kind, name, namespace — not its apiVersion
    (`source.toolkit.fluxcd.io/v1` and `v1beta2` HelmRepository `buoyant` are one object)."""
    return (doc.kind, doc.name, doc.namespace)


def _without_api_version(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k != "apiVersion"}


def _already_there(
    rendered: list[YamlDocument], existing: list[YamlDocument], run: StepRun, path: str
) -> bool:
    """True when every appended document is already in the file: the same data, or the same
    object under another apiVersion with the same content. An object of that identity with
    other content is an error: appending it would put the object twice in the build."""
    by_identity = {_identity(d): d for d in existing if d.data is not None}
    missing: list[YamlDocument] = []
    present: list[YamlDocument] = []
    for doc in rendered:
        if doc.data is None:
            continue
        found = by_identity.get(_identity(doc))
        if found is None:
            missing.append(doc)
            continue
        present.append(doc)
        if _without_api_version(found.data) != _without_api_version(doc.data):
            raise RecipeError(
                f"{run.where}: {path} already has {doc.kind} {doc.name} with other content; "
                "appending the template's version would define the object twice",
                location=Location(path, found.line),
                hint="rename the object the recipe adds (a recipe param), or align the existing one",
            )
    if missing and present:
        raise RecipeError(
            f"{run.where}: {path} already has {present[0].kind} {present[0].name} of the "
            f"documents the template appends, but not {missing[0].kind} {missing[0].name}",
            location=Location(path),
            hint="append each object with its own template step",
        )
    return not missing


def _core_in_repo(run: StepRun) -> YamlDocument | None:
    """The instance's core HelmRelease as the repo has it (before any step)."""
    instance = run.variables.get("instance") or {}
    core = (instance.get("objects") or {}).get("core") or []
    if not core or not run.overlay.base.exists(core[0]["path"]):
        return None
    docs = run.overlay.base.documents(core[0]["path"])
    found = [d for d in docs if d.kind == "HelmRelease" and d.name == core[0]["name"]]
    return found[0] if found else None


def _recreated(
    run: StepRun, path: str, rendered: list[YamlDocument], *, whole_file: bool
) -> str | None:
    """The text of a document re-created where an earlier phase deleted it (an extension
    uninstalled, then reinstalled): the repo's old document with the new data spliced in,
    so its comments, key order and quoting come back. None when there is no such document."""
    new = [d for d in rendered if d.data is not None]
    base = run.overlay.base
    if len(new) != 1 or not base.exists(path):
        return None
    old = [d for d in base.documents(path) if (d.kind, d.name) == (new[0].kind, new[0].name)]
    if len(old) != 1 or old[0].encrypted:
        return None
    if run.overlay.exists(path) and any(
        (d.kind, d.name) == (old[0].kind, old[0].name) for d in run.overlay.documents(path)
    ):
        return None
    text = base.read_text(path)
    spliced = rewrite_document(text, old[0], new[0].data)
    if whole_file and len(base.documents(path)) == 1:
        return spliced
    return spliced[old[0].start : len(spliced) - (len(text) - old[0].end)]


def _check_all_writable(docs: list[YamlDocument]) -> None:
    for doc in docs:
        _check_writable(doc)


# --------------------------------------------------------------------------- files


def _delete(step: DeleteStep, run: StepRun) -> None:
    body = step.delete
    if body.path is not None:
        path = run.path(body.path, "delete path")
        if not run.overlay.exists(path):
            run.reports.append(ReportItem("no-match", f"{run.where}: {path} is already gone"))
            return
        _check_all_writable(_documents_if_yaml(run, path))
        run.overlay.delete(path)
        unregister_resource(run.overlay, path, run.reports)
        _keep_flux_path(run, path)
        return
    assert body.select is not None
    _, docs = run.select(body.select)
    # Delete from the last document of each file backwards so indices stay valid.
    for found in sorted(docs, key=lambda d: (d.path, -d.index)):
        doc = _refresh(run.overlay, found)
        _check_writable(doc)
        remaining = [
            d
            for d in run.overlay.documents(doc.path)
            if d.index != doc.index and d.data is not None
        ]
        if not remaining:
            run.overlay.delete(doc.path)
            unregister_resource(run.overlay, doc.path, run.reports)
            _keep_flux_path(run, doc.path)
        else:
            text = run.overlay.read_text(doc.path)
            run.overlay.write_text(doc.path, delete_document(text, doc))
        run.reports.append(ReportItem("deleted", f"deleted {doc.kind} {doc.name}", doc.path))


_EMPTY_KUSTOMIZATION = """\
# Kept by waypath: a Flux Kustomization builds this folder, and its last manifest was
# removed. Without a file here git drops the folder, and Flux fails with "kustomization
# path not found" instead of pruning what the folder used to apply.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: []
"""


def _keep_flux_path(run: StepRun, deleted: str) -> None:
    """A Flux Kustomization's `spec.path` folder whose last YAML file a step deleted gets an
    empty kustomization.yaml: the Kustomization then builds nothing and prunes the objects
    (an extension's uninstall happens), where a vanished folder would stop it with "path not
    found" (kustomize-flux.md 1.1-1.2) until a later commit, and the uninstall gate could not
    pass. A later step that re-creates a file there lists it in this kustomization."""
    folder = posixpath.dirname(deleted)
    if folder in ("", ".") or run.overlay.has_yaml_under(folder):
        return
    if not any(ks.path == folder for ks in run.flux().kustomizations):
        return
    placeholder = posixpath.join(folder, "kustomization.yaml")
    run.overlay.write_text(placeholder, _EMPTY_KUSTOMIZATION)
    run.reports.append(
        ReportItem(
            "kept-folder",
            f"{folder} is a Flux Kustomization path with no manifest left: an empty "
            "kustomization.yaml keeps it building (nothing applied, the old objects pruned)",
            placeholder,
        )
    )


def _drop_kept_folder(run: StepRun, created: str) -> None:
    """A file created where an earlier phase of this plan left the empty kustomization.yaml
    of `_keep_flux_path`: the placeholder goes again, so the folder is as the repo had it."""
    placeholder = posixpath.join(posixpath.dirname(created), "kustomization.yaml")
    if (
        run.overlay.exists(placeholder)
        and not run.overlay.base.exists(placeholder)
        and run.overlay.read_text(placeholder) == _EMPTY_KUSTOMIZATION
    ):
        run.overlay.delete(placeholder)


def _documents_if_yaml(run: StepRun, path: str) -> list[YamlDocument]:
    if path.endswith((".yaml", ".yml")):
        return run.overlay.documents(path)
    return []


def _move(step: MoveStep, run: StepRun) -> None:
    source = run.path(step.move.from_, "move from")
    target = run.path(step.move.to, "move to")
    if not run.overlay.exists(source):
        if run.overlay.exists(target):
            return  # already moved
        raise RecipeError(
            f"{run.where}: cannot move {source}: it does not exist",
            location=Location(run.recipe_path),
            hint="check the `from` path against the repo",
        )
    run.overlay.move(source, target)
    unregister_resource(run.overlay, source, run.reports)
    register_resource(run.overlay, target, run.reports)


# --------------------------------------------------------------------------- note, assert


def _note(step: NoteStep, run: StepRun) -> None:
    body = step.body
    note = Note(
        title=run.render(body.title, "note title"),
        text=run.render(body.text, "note text"),
        commands=[
            run.renderer.command(c, run.variables, what=f"{run.where}: note command")
            for c in body.commands
        ],
        unverified=body.unverified,
    )
    run.notes.add(note)


def _assert(step: AssertStep, run: StepRun) -> None:
    body = step.assert_
    ok = run.renderer.expression(body.that, run.variables, what=f"{run.where}: assert")
    if not ok:
        raise PreconditionError(
            f"{run.where}: {run.render(body.message, 'assert message')}",
            location=Location(run.recipe_path),
            hint="bring the repo into the state the recipe expects, then plan again",
        )
