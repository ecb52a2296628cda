"""Make a plan: detect instances, resolve paths, run every phase on an in-memory overlay.

The planner is pure: it reads the workspace, writes only to an Overlay, and returns a
`Plan` that says everything `apply` will do. Dry run is "make the plan and render it".
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.errors import (
    DetectionError,
    Location,
    Problem,
    RecipeError,
    SafetyError,
    UsageError,
    VersionError,
)
from engine.output.render import command_lines
from engine.planning import waves as wavecheck
from engine.planning.planmodel import (
    Commit,
    FileChange,
    FileStatus,
    GateInfo,
    InstancePlan,
    Note,
    Notes,
    Plan,
    ReportItem,
    sha256_bytes,
)
from engine.planning.preconditions import add_preconditions
from engine.planning.safety import check_commit
from engine.recipe.graph import Edge
from engine.recipe.loading import Library, RecipeSource
from engine.recipe.models import AssertStep, NoteStep, Param, Phase, Recipe
from engine.recipe.steps import StepRun, run_step
from engine.recipe.templating import Renderer
from engine.recipe.versions import Catalog, Version
from engine.repo.config import Wave
from engine.repo.detect import Instance, InstancesByFolder, detect, paths_in_scope
from engine.repo.flux.model import FluxModel, model_for
from engine.repo.selectors import may_deploy, norm_folder
from engine.repo.workspace import Overlay, Workspace
from engine.yamltext.yamldoc import YamlDocument, gc_paused

REDACTED = "<redacted>"


@dataclass
class PlanRequest:
    target: str  # "linkerd@enterprise-2.16"
    params: Mapping[str, str] = field(default_factory=dict)  # --set, as text
    assume: Mapping[str, str] = field(default_factory=dict)  # component -> release
    via: Sequence[str] = ()
    allow_unsupported: bool = False
    waves: Sequence[Wave] = ()  # from waypath.yaml; empty = one wave holding everything
    wave: str | None = None  # plan only this wave
    # waypath.yaml params: used by the recipes on the path that take them, never an error
    # when none does (a standing setting outlives the hop that needs it); --set wins.
    config_params: Mapping[str, str] = field(default_factory=dict)


def split_target(target: str) -> tuple[str, str]:
    component, sep, release = target.partition("@")
    if not sep or not component or not release:
        raise VersionError(
            f"target {target!r} is not COMPONENT@RELEASE",
            hint="for example `--to linkerd@enterprise-2.16` or `--to linkerd@stable-2.12.6`",
        )
    return component, release


def redact(data: Any) -> Any:
    """Secret documents without their values, for template contexts (invariant 7).

    SOPS documents also lose their encrypted values (`ENC[...]`) and the `sops:` block.
    """
    if isinstance(data, dict) and isinstance(data.get("sops"), dict):
        data = {k: _redact_encrypted(v) for k, v in data.items() if k != "sops"}
        data["sops"] = REDACTED
    return _redact_secrets(data)


def _redact_secrets(value: Any) -> Any:
    """Redact by what a value is, not where it sits: every mapping of `kind: Secret`,
    however deep (the items of a `kind: List`, a template's own nesting), loses the values
    of its `data` and `stringData`. Copies only what it changes."""
    if isinstance(value, list):
        items = [_redact_secrets(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if not isinstance(value, dict):
        return value
    copy = {k: _redact_secrets(v) for k, v in value.items()}
    if value.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(copy.get(key), dict):
                copy[key] = {k: REDACTED for k in copy[key]}
    changed = any(copy[k] is not value[k] for k in value)
    return copy if changed else value


def _redact_encrypted(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("ENC["):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact_encrypted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_encrypted(v) for v in value]
    return value


# --------------------------------------------------------------------------- params


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def convert_param(name: str, param: Param, text: str) -> Any:
    shown = "<secret>" if param.secret else text  # a secret is not echoed in errors either
    if param.type == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise VersionError(f"--set {name}={shown}: expected true or false")
    if param.type == "integer":
        try:
            return int(text)
        except ValueError:
            raise VersionError(f"--set {name}={shown}: expected a whole number") from None
    if param.type == "choice" and text not in param.choices:
        raise VersionError(f"--set {name}={shown}: expected one of {', '.join(param.choices)}")
    return text


def recipe_params(recipe: Recipe, given: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, param in recipe.params.items():
        values[name] = convert_param(name, param, given[name]) if name in given else param.default
    return values


def check_params(recipes: Sequence[Recipe], given: Mapping[str, str]) -> None:
    """Refuse a `--set` no recipe of the component declares (a typo), with a suggestion.

    Checked against every recipe of the component, not only those on the path: planning
    again after an apply, with the same flags, must say "nothing to do", not fail.
    """
    known = sorted({name for r in recipes for name in r.params})
    for name in sorted(given):
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = (
                f"did you mean `{close[0]}`?"
                if close
                else "the recipes take: " + (", ".join(known) or "no params")
            )
            raise UsageError(
                f"--set {name}: no recipe of this component has this param", hint=hint
            )


# --------------------------------------------------------------------------- contexts


def release_context(catalog: Catalog, version: Version) -> dict[str, Any]:
    release = catalog.release(version)
    return {
        "label": version.label,
        "edition": version.edition,
        "version": str(version.semver),
        "charts": dict(release.charts) if release else {},
        "images": dict(release.images) if release else {},
        "repository": release.repository if release else None,
    }


class LazyDict(dict[str, Any]):
    """A dict whose `lazy` entries are computed on first access (templates rarely need them,
    and finding them can mean parsing many files)."""

    def __init__(self, data: dict[str, Any], lazy: dict[str, Callable[[], Any]]) -> None:
        super().__init__(data)
        self._lazy = dict(lazy)
        for key in lazy:
            super().__setitem__(key, None)

    def __getitem__(self, key: str) -> Any:
        if key in self._lazy:
            super().__setitem__(key, self._lazy.pop(key)())
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (get would skip __getitem__)


def _parent_kustomization(reader: Overlay, folder: str, scope: str) -> dict[str, Any] | None:
    """The Flux Kustomization that deploys `folder`: the one whose spec.path is the deepest
    folder at or above it. Looked for in the instance's scope first, then everywhere."""
    flux = [
        path
        for path in reader.candidates(kinds=["Kustomization"], contains=["kustomize.toolkit.fluxcd.io"])
        if may_deploy(reader.read_text(path), folder)
    ]
    local = paths_in_scope(flux, scope)
    return _deepest_kustomization(reader, local, folder) or (
        _deepest_kustomization(reader, flux, folder) if len(local) != len(flux) else None
    )


def _deepest_kustomization(
    reader: Overlay, paths: Sequence[str], folder: str
) -> dict[str, Any] | None:
    best: tuple[int, str, Any] | None = None
    for path in paths:
        for doc in reader.documents(path):
            api = doc.api_version or ""
            if doc.kind != "Kustomization" or not api.startswith("kustomize.toolkit.fluxcd.io/"):
                continue
            spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
            if not isinstance(spec, dict):
                continue
            target = norm_folder(str(spec.get("path", ".")))
            if not (target == "." or folder == target or folder.startswith(target + "/")):
                continue
            depth = 0 if target == "." else target.count("/") + 1
            if best is None or depth > best[0]:
                best = (depth, path, doc)
    if best is None:
        return None
    doc = best[2]
    return {"path": best[1], "name": doc.name, "namespace": doc.namespace}


def instance_context(instance: Instance, reader: Overlay) -> dict[str, Any]:
    folder = posixpath.dirname(instance.core.path) or "."
    values = _instance_values(instance, folder)
    _effective_namespaces(values, instance, model_for(reader.base), reader)
    return LazyDict(
        values,
        {"kustomization": lambda: _parent_kustomization(reader, folder, instance.scope)},
    )


def _effective_namespaces(
    values: dict[str, Any], instance: Instance, model: FluxModel, reader: Overlay
) -> None:
    """Namespaces as the clusters see them: a HelmRelease without `metadata.namespace` gets
    one from its kustomization (`namespace:`) or its Flux Kustomization
    (`targetNamespace`). Templates then never write `null` for a namespace."""
    core = instance.core
    namespace = model.effective_namespace(core.path, core.doc.index) or core.namespace
    if namespace != core.namespace:
        values["namespace"] = namespace
        values["release_namespace"] = core.target_namespace or namespace
        values["storage_namespace"] = core.spec.get("storageNamespace") or namespace
    source = values.get("source")
    if isinstance(source, dict) and source.get("path"):
        source["declared_namespace"] = source["namespace"]
        if not source["namespace"]:
            docs = reader.documents(source["path"])
            same = [d for d in docs if (d.kind, d.name) == (source["kind"], source["name"])]
            if same:
                source["namespace"] = model.effective_namespace(source["path"], same[0].index)
    for name, objects in instance.objects.items():
        for found, context in zip(objects, values["objects"][name], strict=True):
            own = model.effective_namespace(found.path, found.doc.index) or found.namespace
            if own is None and posixpath.dirname(found.path) == posixpath.dirname(core.path):
                own = namespace  # a file a step wrote beside the core: same kustomization
            if own != found.namespace:
                context["namespace"] = own
                context["storage_namespace"] = found.spec.get("storageNamespace") or own


def _instance_values(instance: Instance, folder: str) -> dict[str, Any]:
    core = instance.core
    spec = core.spec
    values = spec.get("values")
    source = core.source
    return {
        "component": instance.component,
        "scope": instance.scope,
        "dir": folder,
        "file": core.path,
        "name": core.name,
        "namespace": core.namespace,
        "api_version": core.doc.api_version,
        "release_name": core.release_name,
        "target_namespace": core.target_namespace,
        # Where the release's objects live: targetNamespace, else the HelmRelease's own.
        "release_namespace": core.target_namespace or core.namespace,
        "storage_namespace": core.storage_namespace,
        "chart": core.chart,
        "chart_version": core.pin,
        "source": None
        if source is None
        else {
            "kind": source.kind,
            "name": source.name,
            "namespace": source.namespace,
            "url": source.url,
            "path": source.path,
        },
        "values": values if isinstance(values, dict) else {},
        "values_from": list(spec.get("valuesFrom") or []),
        "objects": {
            name: [o.context() for o in objs] for name, objs in sorted(instance.objects.items())
        },
        "extensions": instance.extensions,
        # computed on first use: see LazyDict
        "version": instance.version.label if instance.version else None,
    }


# --------------------------------------------------------------------------- planning


@dataclass
class _Group:
    """Instances that share one path get the same commits."""

    edges: list[Edge]
    members: list[Instance]
    wave: str | None = None
    allowed: list[str] | None = None  # the clusters the wave may change (None: any)

    @property
    def scopes(self) -> list[str]:
        return [m.scope for m in self.members]


def _same(found: Instance, planned: Instance) -> bool:
    """Is `found` (detected again after edits, in the planned folder) the installation
    `planned` names? Instances of one folder differ by their clusters."""
    return not planned.clusters or bool(set(found.clusters) & set(planned.clusters))


def resolve_instances(
    workspace: Workspace, library: Library, request: PlanRequest, model: FluxModel
) -> tuple[str, Version, list[Instance], list[InstancePlan], list[_Group]]:
    name, release = split_target(request.target)
    if name not in library.components:
        known = ", ".join(sorted(library.components)) or "none"
        raise VersionError(f"unknown component {name!r}", hint=f"components Waypath knows: {known}")
    component = library.components[name]
    catalog = component.catalog
    target = catalog.resolve_target(release)
    via = [catalog.parse_release(v) for v in request.via]
    graph = library.graph(name)
    instances = detect(
        workspace, component.component, catalog, assume=request.assume, model=model
    )
    if not instances:
        raise DetectionError(
            f"no {name} installation found in the repo",
            hint="Waypath looks for HelmReleases of the charts: "
            + ", ".join(sorted({c for d in component.component.detectors for c in d.charts})),
        )
    placed: list[tuple[Instance, str | None]] = [(i, None) for i in instances]
    allowed: dict[str, list[str]] = {}
    if request.waves:
        chosen = wavecheck.selected_waves(request.waves, request.wave, model)
        placed = list(wavecheck.assign(instances, request.waves, chosen, model, name))
        allowed = chosen.clusters
        if request.wave is not None and not placed:
            raise DetectionError(f"wave {request.wave} holds no {name} instance")
    waves = {id(i): w for i, w in placed}
    order = {w.name: n for n, w in enumerate(request.waves)}
    instances = sorted(
        (i for i, _ in placed),
        key=lambda i: (order.get((waves[id(i)] or "").split(",")[0], 0), i.scope, i.clusters),
    )
    refused = [i for i in instances if i.refused]
    if refused:
        raise DetectionError(
            f"Waypath cannot upgrade {len(refused)} {name} instance(s)",
            problems=[
                Problem(i.explanation, location=Location(i.core.path, i.core.doc.line))
                for i in refused
            ],
            hint="move those installations to a channel Waypath has recipes for, or leave "
            "them out of the plan with waves (`--wave`)",
        )
    unknown = [i for i in instances if i.version is None]
    if unknown:
        raise _unknown_error(name, unknown)
    plans: list[InstancePlan] = []
    groups: dict[tuple[str | None, tuple[str, ...]], _Group] = {}
    routes: dict[Version, tuple[list[Edge], list[str]]] = {}
    for instance in instances:
        assert instance.version is not None
        wave = waves[id(instance)]
        plan = InstancePlan(
            component=name,
            instance=instance.scope,
            clusters=list(instance.clusters),
            paths=instance.paths,
            edition=instance.version.edition,
            version=instance.version.label,
            target=target.label,
            path=[],
            wave=wave,
            explanation=[instance.explanation],
        )
        plans.append(plan)
        if instance.version == target:
            plan.status = "current"
            plan.explanation.append(f"already at {target.label}")
            continue
        if instance.version.semver > target.semver:
            plan.status = "ahead"
            plan.explanation.append(f"at {instance.version.label}, newer than {target.label}")
            continue
        if instance.version not in routes:  # a fleet has many instances, few versions
            routes[instance.version] = (
                graph.path(
                    instance.version, target, via=via, allow_unsupported=request.allow_unsupported
                ),
                graph.explain(
                    instance.version, target, via=via, allow_unsupported=request.allow_unsupported
                ),
            )
        edges, explanation = routes[instance.version]
        plan.path = [e.recipe for e in edges]
        plan.explanation.extend(explanation)
        key = (wave, tuple(plan.path))
        group = groups.setdefault(key, _Group(edges, [], wave, allowed.get(wave or "")))
        group.members.append(instance)
    return name, target, instances, plans, list(groups.values())


def _unknown_error(name: str, unknown: list[Instance]) -> DetectionError:
    return DetectionError(
        f"the running {name} version is not known for {len(unknown)} instance(s)",
        problems=[
            Problem(i.explanation, location=Location(i.core.path, i.core.doc.line)) for i in unknown
        ],
        hint=f"state it with `--assume {name}=RELEASE` (or `--assume {name}@FOLDER=RELEASE` "
        "for one instance)"
        + (f", e.g. --assume {name}={unknown[0].admits[-1].label}" if unknown[0].admits else ""),
    )


def make_plan(workspace: Workspace, library: Library, request: PlanRequest) -> Plan:
    """The plan for `request` (see the module docstring). The garbage collector is paused
    while planning: parsing makes many objects and no cycles, and re-running the collector
    after every file made planning a fleet repo grow faster than the repo."""
    with gc_paused():
        return _make_plan(workspace, library, request)


def _make_plan(workspace: Workspace, library: Library, request: PlanRequest) -> Plan:
    model = model_for(workspace)  # once per run: every later question (and step) reuses it
    name, target, detected, instance_plans, groups = resolve_instances(
        workspace, library, request, model
    )
    recipes = [library.recipes[e.recipe] for g in groups for e in g.edges]
    check_params([r.recipe for r in library.recipes_for(name)], request.params)

    overlay = Overlay(workspace)
    commits: list[Commit] = []
    quiet_reports: list[ReportItem] = []  # of phases that made no commit
    unverified: list[str] = []
    for group in groups:
        for edge in group.edges:
            source = library.recipes[edge.recipe]
            for fact in source.recipe.unverified:
                if fact not in unverified:
                    unverified.append(fact)
            planned = _plan_recipe(
                overlay, library, name, source, edge, group.members, request, quiet_reports,
                detected, model,
            )
            for commit in planned:
                if group.wave is not None and group.allowed is not None:
                    wavecheck.check_commit(
                        [c.path for c in commit.changes], group.wave, group.allowed,
                        request.waves, model,
                        f"commit {commit.phase_number} of recipe {commit.recipe} "
                        f"(phase {commit.phase})",
                    )
                commit.wave = group.wave
                if group.wave is not None:  # joins the trailer block, the body's last paragraph
                    commit.body += f"\nWaypath-Wave: {group.wave}"
                commits.append(commit)
    _check_arrival(overlay, library, name, groups, request, model)

    add_preconditions(
        commits,
        lambda path: workspace.read_bytes(path) if workspace.exists(path) else None,
        parsed=lambda path: _data(workspace.parsed(path)),
    )
    for commit in commits:  # read by the preconditions only: not kept with the plan
        for change in commit.changes:
            change.data = None
    inputs = workspace.input_hashes()
    for commit in commits:
        for change in commit.changes:
            if change.old_sha256 and change.path not in inputs and workspace.exists(change.path):
                inputs[change.path] = sha256_bytes(workspace.read_bytes(change.path))
    plan = Plan(
        target=f"{name}@{target.label}",
        instances=instance_plans,
        commits=commits,
        inputs=inputs,
        reports=quiet_reports,
        unverified=unverified,
    )
    _check_secrets(plan, recipes, request)
    return plan


def _check_arrival(
    overlay: Overlay,
    library: Library,
    name: str,
    groups: list[_Group],
    request: PlanRequest,
    model: FluxModel,
) -> None:
    """After the whole path, every instance must read as the target: otherwise planning
    again would not be a no-op (invariant 3), and the user would believe in an upgrade
    that did not happen (e.g. a chart sourced where the recipe could not bump it)."""
    planned = [g for g in groups if g.edges]
    if not planned:
        return
    component = library.components[name]
    found = detect(
        overlay,
        component.component,
        component.catalog,
        assume=request.assume,
        model=model,
        edited=True,
    )
    under = InstancesByFolder(found)
    for group in planned:
        target = group.edges[-1].target
        for member in group.members:
            now = [i.version for i in under(member.scope) if _same(i, member)]
            if now != [target]:
                shown = ", ".join(v.label if v else "unknown" for v in now) or "nothing"
                raise RecipeError(
                    f"after recipe {group.edges[-1].recipe}, {member.label} reads as {shown}, "
                    f"not {target.label}",
                    hint="the recipe could not set the chart version this installation is "
                    "pinned by (for example a chart sourced through `chartRef`); change the "
                    "pin by hand, or extend the recipe",
                )


def _plan_recipe(
    overlay: Overlay,
    library: Library,
    name: str,
    source: RecipeSource,
    edge: Edge,
    members: list[Instance],
    request: PlanRequest,
    sink: list[ReportItem],
    detected: list[Instance],
    model: FluxModel,
) -> list[Commit]:
    component = library.components[name]
    catalog = component.catalog
    recipe = source.recipe
    params = recipe_params(recipe, {**request.config_params, **request.params})
    # Before any edit the overlay reads as the repo did: the first detection still holds.
    found = (
        detected
        if not overlay.changes()
        else detect(
            overlay, component.component, catalog, assume=request.assume, model=model, edited=True
        )
    )
    instances: list[Instance] = []
    under = InstancesByFolder(found)
    for member in members:
        matches = [i for i in under(member.scope) if _same(i, member)]
        if len(matches) != 1:
            raise RecipeError(
                f"before recipe {source.id}, no single {name} installation is left in "
                f"{member.label}",
                location=Location(str(source.path)),
                hint="an earlier recipe on the path left the repo in a state this one cannot read",
            )
        instance = matches[0]
        if instance.version is None or not edge.source_range.allows(instance.version.semver):
            raise RecipeError(
                f"before recipe {source.id}, {member.label} reads as "
                f"{instance.version.label if instance.version else 'an unknown version'}; "
                f"the recipe starts from {edge.source_edition} {edge.source_range}",
                location=Location(str(source.path)),
                hint="the previous recipe on the path must leave the pins at its target release",
            )
        if member.clusters and instance.clusters != member.clusters:
            instance = replace(instance, clusters=member.clusters)  # this wave's clusters
        instances.append(instance)

    renderer = Renderer(source.path, source.folder)
    contexts = []
    for instance in instances:
        assert instance.version is not None
        contexts.append(
            {
                "params": params,
                "recipe": {
                    "id": source.id,
                    "summary": recipe.summary,
                    "supported": recipe.supported,
                },
                "from_release": release_context(catalog, instance.version),
                "to_release": release_context(catalog, edge.target),
                "instance": instance_context(instance, overlay),
            }
        )

    commits: list[Commit] = []
    for number, phase in enumerate(recipe.phases, start=1):
        commit = _plan_phase(
            overlay, library, name, source, edge, phase, number, instances, contexts, renderer,
            sink, model.cluster_names,
        )
        if commit is not None:
            commits.append(commit)
    return commits


def _plan_phase(
    overlay: Overlay,
    library: Library,
    name: str,
    source: RecipeSource,
    edge: Edge,
    phase: Phase,
    number: int,
    instances: list[Instance],
    contexts: list[dict[str, Any]],
    renderer: Renderer,
    sink: list[ReportItem],
    every_cluster: list[str],
) -> Commit | None:
    """One phase as a commit; None when it has nothing to do or say (its reports, such as a
    selector that matched nothing, then go to `sink`: invariant 5, nothing silent)."""
    recipe = source.recipe
    component = library.components[name].component
    before = overlay.copy()
    notes = Notes()
    reports: list[ReportItem] = []
    active: list[tuple[Instance, dict[str, Any]]] = []
    edited = False  # did a step that edits files run? (then "no change" = already applied)
    for instance, variables in zip(instances, contexts, strict=True):
        where = f"recipe {source.id}, phase {phase.name}"
        if phase.when is not None and not renderer.expression(
            phase.when, variables, what=f"{where}: when"
        ):
            continue
        active.append((instance, variables))
        written = len(overlay.writes)
        for index, step in enumerate(phase.steps, start=1):
            label = step.id or str(index)
            run = StepRun(
                overlay=overlay,
                root=overlay.root,
                renderer=renderer,
                component=component,
                scope=instance.scope,
                variables=variables,
                where=f"{where}, step {label}",
                recipe_path=str(source.path),
                notes=notes,
                reports=reports,
                redact=redact,
            )
            ran = run_step(step, run)
            edited = edited or (ran and not isinstance(step, NoteStep | AssertStep))
        overlay.drop_nodes(since=written)  # the next instance edits other files
    if not active:
        return None

    overlay.settle(before)
    changes = _phase_changes(before, overlay)
    if not changes and not notes:
        sink.extend(reports)
        return None  # nothing to do, nothing to say: already applied
    # A phase whose edits are already in the repo keeps its manual steps: losing one
    # (say, "create the licence Secret") is worse than showing a done one again.
    already = not changes and edited
    if already:
        reports.append(
            ReportItem(
                "already-applied",
                f"phase {phase.name} of {source.id}: the files already hold its changes; "
                "its manual steps are listed again",
            )
        )

    first = active[0][1]
    where = f"recipe {source.id}, phase {phase.name}"
    uninstalls = {
        renderer.string(u.name, variables, what=f"{where}: uninstalls")
        for _, variables in active
        for u in phase.uninstalls
    }
    try:
        reports.extend(
            check_commit(
                before, overlay, [c.path for c in changes], uninstalls=uninstalls, where=where,
                model=model_for(overlay.base),
            )
        )
    except SafetyError as exc:
        exc.location = Location(str(source.path))
        raise

    subject = renderer.string(phase.message, first, what=f"{where}: message")
    names = list(dict.fromkeys(c for i, _ in active for c in i.clusters))
    # The body's "Clusters:" line: cluster names where the model knows them, else folders.
    scopes = names or [i.scope for i, _ in active]
    # A commit for the whole repo (one folder, every cluster) names no clusters.
    if [i.scope for i, _ in active] == ["."] and (not names or names == every_cluster):
        scopes = ["."]
    else:
        shown = names or [posixpath.basename(i.scope) or i.scope for i, _ in active]
        subject = f"{subject} [{', '.join(shown)}]"
    if already:
        subject += " (files already changed)"
    description = renderer.string(phase.description, first, what=f"{where}: description").strip()
    gate = None
    if phase.gate is not None:
        gate = GateInfo(
            wait=renderer.string(phase.gate.wait, first, what=f"{where}: gate"),
            check=[
                renderer.command(c, variables, what=f"{where}: gate check")
                for _, variables in active
                for c in phase.gate.check
            ],
        )
        gate.check = list(dict.fromkeys(gate.check))
    from_label = first["from_release"]["label"]
    body = _commit_body(
        recipe=recipe,
        recipe_id=source.id,
        phase=phase,
        number=number,
        description=description,
        scopes=scopes,
        notes=notes,
        gate=gate,
        reports=reports,
        from_label=from_label,
        to_label=edge.target.label,
    )
    return Commit(
        subject=subject,
        body=body,
        recipe=source.id,
        phase=phase.name,
        phase_number=number,
        phase_count=len(recipe.phases),
        from_version=from_label,
        to_version=edge.target.label,
        instances=[i.scope for i, _ in active],
        changes=changes,
        notes=notes,
        gate=gate,
        reports=reports,
    )


def _data(docs: list[YamlDocument] | None) -> list[Any] | None:
    return None if docs is None else [d.data for d in docs]


def _phase_changes(before: Overlay, after: Overlay) -> list[FileChange]:
    paths = sorted(set(before.changes()) | set(after.changes()))
    changes: list[FileChange] = []
    for path in paths:
        existed, exists = before.exists(path), after.exists(path)
        old = before.read_text(path).encode("utf-8") if existed else None
        new = after.read_text(path).encode("utf-8") if exists else None
        if old == new:
            continue
        status: FileStatus = (
            "added" if old is None else ("deleted" if new is None else "modified")
        )
        changes.append(
            FileChange(
                path=path,
                status=status,
                content=new,
                old_sha256=None if old is None else sha256_bytes(old),
                data=_data(after.parsed(path)) if new is not None else None,
            )
        )
    return changes


def _commit_body(
    *,
    recipe: Recipe,
    recipe_id: str,
    phase: Phase,
    number: int,
    description: str,
    scopes: list[str],
    notes: list[Note],
    gate: GateInfo | None,
    reports: list[ReportItem],
    from_label: str,
    to_label: str,
) -> str:
    parts: list[str] = []
    parts.append(f"{recipe.summary.strip()} ({from_label} -> {to_label}).")
    if not recipe.supported:
        parts.append("WARNING: this hop is not officially supported by the vendor.")
    if description:
        parts.append(description)
    if scopes != ["."]:
        parts.append("Clusters: " + ", ".join(scopes))
    dropped = [r for r in reports if r.kind in ("values", "uninstall", "deleted")]
    if dropped:
        parts.append(
            "What this commit removes or moves:\n"
            + "\n".join(f"- {r.message}" + (f" [{r.path}]" if r.path else "") for r in dropped)
        )
    if notes:
        lines = ["Manual steps:"]
        for note in notes:
            mark = " (UNVERIFIED)" if note.unverified else ""
            lines.append(f"- {note.title}{mark}")
            lines.extend(command_lines(note.commands, "    "))
        parts.append("\n".join(lines))
    if gate is not None:
        lines = [f"Before merging the next commit: {gate.wait}"]
        lines.extend(command_lines(gate.check, "    "))
        parts.append("\n".join(lines))
    parts.append(
        "\n".join(
            [
                f"Waypath-Recipe: {recipe_id}",
                f"Waypath-Phase: {number}/{len(recipe.phases)} {phase.name}",
                f"Waypath-From: {from_label}",
                f"Waypath-To: {to_label}",
            ]
        )
    )
    return "\n\n".join(parts)


def _check_secrets(plan: Plan, recipes: Sequence[RecipeSource], request: PlanRequest) -> None:
    """Invariant 7: a secret param's value never appears in anything the plan renders."""
    given = {**request.config_params, **request.params}
    secrets = {
        given[name]
        for source in recipes
        for name, param in source.recipe.params.items()
        if param.secret and name in given and given[name]
    }
    if not secrets:
        return
    for commit in plan.commits:
        texts = (
            [commit.message]
            + [c.content.decode("utf-8") for c in commit.changes if c.content is not None]
            + [f"{n.title} {n.text} {' '.join(n.commands)}" for n in commit.notes]
        )
        for text in texts:
            if any(secret in text for secret in secrets):
                raise SafetyError(
                    # Not the subject: it may be what holds the value.
                    f"commit {commit.phase_number} of recipe {commit.recipe} (phase "
                    f"{commit.phase}) would contain the value of a secret param",
                    hint="reference the secret (a Secret name and key, `valuesFrom`) instead of "
                    "rendering its value",
                )
