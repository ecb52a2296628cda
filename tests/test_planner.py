"""Scenario tests of planning over a toy component (tests/data/recipes/meshy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine.errors import (
    DetectionError,
    PathError,
    PreconditionError,
    RecipeError,
    SafetyError,
    TemplateError,
)
from engine.output.apply import apply_plan
from engine.output.render import render_json
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.helpers import BUMP_PHASE, RECIPES, build_tree, meshy_files, snapshot_bytes


def plan_for(root: Path, target: str, **kwargs: object):  # type: ignore[no-untyped-def]
    library = load_library([RECIPES], include_bundled=False)
    return make_plan(Workspace(root), library, PlanRequest(target=target, **kwargs))  # type: ignore[arg-type]


def test_path_commits_and_messages(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    plan = plan_for(tmp_path, "meshy@stable-2.0")
    assert plan.path == ["stable-1.0-to-stable-1.1", "stable-1.1-to-stable-2.0"]
    assert [(c.recipe, c.phase) for c in plan.commits] == [
        ("stable-1.0-to-stable-1.1", "bump"),
        ("stable-1.1-to-stable-2.0", "suspend"),
        ("stable-1.1-to-stable-2.0", "split"),
        ("stable-1.1-to-stable-2.0", "cleanup"),
    ]
    first = plan.commits[0]
    assert first.subject == "meshy: upgrade to stable-1.1.0 [nonprod, prod]"
    assert first.instances == ["clusters/nonprod", "clusters/prod"]
    assert "Waypath-Phase: 1/1 bump" in first.body
    assert "Waypath-From: stable-1.0.0" in first.body
    assert first.gate is not None
    assert first.gate.check == [
        "flux get hr -n meshy meshy",
    ]
    # cleanup has only a note when prune was not paused: a manual-only commit, no files
    cleanup = plan.commits[3]
    assert cleanup.changes == []
    assert [n.title for n in cleanup.notes] == [
        "Delete the Helm release secrets of the old release meshy"
    ]


def test_untouched_files_and_comments_survive(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    plan = plan_for(tmp_path, "meshy@stable-1.1.0")
    (commit,) = plan.commits
    assert sorted(c.path for c in commit.changes) == [
        "clusters/nonprod/meshy/release.yaml",
        "clusters/prod/meshy/release.yaml",
    ]
    new = commit.changes[0].content
    assert new is not None
    old = (tmp_path / "clusters/nonprod/meshy/release.yaml").read_text()
    expected = old.replace('version: "1.0.0"  # pinned', 'version: "1.1.0"  # pinned').replace(
        "    legacyFlag: true\n", ""
    )
    assert new.decode() == expected
    assert any("legacyFlag" in r.message and "removed in 1.1" in r.message for r in commit.reports)


def test_split_renames_after_suspend_and_adds_registered_file(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(pin="1.1.0"))
    plan = plan_for(tmp_path, "meshy@stable-2.0.0", params={"pause_prune": "true"})
    suspend, split, cleanup = plan.commits
    assert {c.path for c in suspend.changes} == {
        "clusters/nonprod/meshy/release.yaml",
        "clusters/prod/meshy/release.yaml",
        "clusters/nonprod/apps.yaml",
        "clusters/prod/apps.yaml",
    }
    statuses = {c.path: c.status for c in split.changes}
    assert statuses["clusters/prod/meshy/meshy-crds.yaml"] == "added"
    assert statuses["clusters/prod/meshy/kustomization.yaml"] == "modified"
    kustomization = next(
        c for c in split.changes if c.path == "clusters/prod/meshy/kustomization.yaml"
    )
    assert kustomization.content is not None
    assert yaml.safe_load(kustomization.content)["resources"] == [
        "repository.yaml",
        "release.yaml",
        "meshy-crds.yaml",
    ]
    release = next(c for c in split.changes if c.path == "clusters/prod/meshy/release.yaml")
    assert release.content is not None
    data = yaml.safe_load(release.content)
    assert data["metadata"]["name"] == "meshy-control-plane"
    assert "suspend" not in data["spec"]
    assert data["spec"]["values"]["proxy"]["policy"] == "all-authenticated"
    assert "installNamespace" not in data["spec"]["values"]
    assert {c.path for c in cleanup.changes} == {
        "clusters/nonprod/apps.yaml",
        "clusters/prod/apps.yaml",
    }


def test_apply_then_plan_again_is_a_no_op(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    plan = plan_for(tmp_path, "meshy@pro-3.0.1")
    assert plan.has_changes
    apply_plan(tmp_path, plan, allow_dirty=True)
    again = plan_for(tmp_path, "meshy@pro-3.0.1")
    assert not again.has_changes
    assert [i.status for i in again.instances] == ["current", "current"]


def test_partial_merge_resumes_where_the_repo_stands(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(pin="1.1.0"))
    plan = plan_for(tmp_path, "meshy@stable-2.0.0")
    first = plan.commits[0]
    for change in first.changes:
        assert change.content is not None
        (tmp_path / change.path).write_bytes(change.content)
    again = plan_for(tmp_path, "meshy@stable-2.0.0")
    assert [c.phase for c in again.commits] == ["split", "cleanup"]


def test_plan_is_deterministic(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    one = render_json(plan_for(tmp_path, "meshy@pro-3.0"))
    two = render_json(plan_for(tmp_path, "meshy@pro-3.0"))
    assert one == two
    raw = json.loads(one)
    assert raw["format_version"] == 1
    assert raw["path"] == [
        "stable-1.0-to-stable-1.1",
        "stable-1.1-to-stable-2.0",
        "stable-2.0-to-pro-3.0",
    ]
    assert all(len(h) == 64 for h in raw["inputs"].values())
    assert "clusters/prod/meshy/release.yaml" in raw["inputs"]
    assert "meshy pro accepts the oss values unchanged" in raw["unverified"]


def test_planning_never_writes(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    before = snapshot_bytes(tmp_path)
    plan_for(tmp_path, "meshy@pro-3.0")
    assert snapshot_bytes(tmp_path) == before


def test_ambiguous_pin_asks_for_assume(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",), pin="1.0.x"))
    with pytest.raises(DetectionError) as info:
        plan_for(tmp_path, "meshy@stable-1.1")
    message = info.value.render()
    assert "stable-1.0.0, stable-1.0.1" in message
    assert "--assume meshy=" in message
    assert "clusters/prod/meshy/release.yaml" in message
    plan = plan_for(tmp_path, "meshy@stable-1.1", assume={"meshy": "stable-1.0.1"})
    assert plan.instances[0].version == "stable-1.0.1"


def test_unreachable_target_names_reachable_releases(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",)))
    with pytest.raises(PathError) as info:
        plan_for(tmp_path, "meshy@pro-3.0.0")
    assert "stable-1.1.0" in info.value.render()


def test_no_yaml_at_all(tmp_path: Path) -> None:
    build_tree(tmp_path, {"README.md": "nothing here\n"})
    with pytest.raises(DetectionError, match="no meshy installation"):
        plan_for(tmp_path, "meshy@stable-1.1")


def _recipe_dir(tmp_path: Path, recipe: str, template: str | None = None) -> Path:
    lib = tmp_path / "lib"
    (lib / "meshy").mkdir(parents=True)
    (lib / "meshy" / "component.yaml").write_text((RECIPES / "meshy" / "component.yaml").read_text())
    (lib / "meshy" / "stable-1.0-to-stable-1.1.yaml").write_text(recipe)
    if template is not None:
        (lib / "meshy" / "t.yaml.j2").write_text(template)
    return lib


BROKEN_HEAD = """\
apiVersion: waypath.dev/v1
kind: Recipe
component: meshy
from: {edition: oss, versions: ">=1.0.0 <1.1.0"}
to: {edition: oss, version: 1.1.0}
summary: broken
phases:
  - name: one
    message: one
    steps:
"""


def _plan_with(tmp_path: Path, steps: str, template: str | None = None):  # type: ignore[no-untyped-def]
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    lib = _recipe_dir(tmp_path, BROKEN_HEAD + steps + BUMP_PHASE, template)
    library = load_library([lib], include_bundled=False)
    before = snapshot_bytes(repo)
    try:
        return make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))
    finally:
        assert snapshot_bytes(repo) == before


def test_undefined_template_variable_names_the_recipe(tmp_path: Path) -> None:
    steps = "      - template: {source: t.yaml.j2, into: x.yaml}\n"
    with pytest.raises(TemplateError) as info:
        _plan_with(tmp_path, steps, "a: {{ instance.nmae }}\n")
    message = info.value.render()
    assert "stable-1.0-to-stable-1.1.yaml" in message
    assert "nmae" in message


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    steps = "      - template: {inline: \"a: {{ ''.__class__.__mro__ }}\", into: x.yaml}\n"
    with pytest.raises(TemplateError, match="sandbox"):
        _plan_with(tmp_path, steps)


def test_missing_patch_path_is_located(tmp_path: Path) -> None:
    steps = (
        "      - patch:\n          select: {detector: core}\n"
        "          ops: [{op: replace, path: /spec/nothere/x, value: 1}]\n"
    )
    with pytest.raises(RecipeError) as info:
        _plan_with(tmp_path, steps)
    assert "clusters/prod/meshy/release.yaml" in info.value.render()


def test_selector_matching_nothing_is_an_error_unless_optional(tmp_path: Path) -> None:
    steps = (
        "      - patch:\n          select: {kind: ConfigMap, name: nope}\n"
        "          ops: [{op: add, path: /data, value: {}}]\n"
    )
    with pytest.raises(RecipeError, match="matched nothing"):
        _plan_with(tmp_path, steps)
    optional = steps.replace("name: nope}", "name: nope, required: false}")
    plan = _plan_with(tmp_path / "again", optional)
    assert any(r.kind == "no-match" for r in plan.reports)


def test_deleting_an_unsuspended_release_is_refused(tmp_path: Path) -> None:
    steps = "      - delete: {select: {detector: core}}\n"
    with pytest.raises(SafetyError, match="uninstall"):
        _plan_with(tmp_path, steps)


def test_changing_release_name_in_place_is_refused(tmp_path: Path) -> None:
    steps = (
        "      - patch:\n          select: {detector: core}\n"
        "          ops: [{op: add, path: /spec/releaseName, value: other}]\n"
    )
    with pytest.raises(SafetyError, match="release_name"):
        _plan_with(tmp_path, steps)


def test_assert_step_reports_its_message(tmp_path: Path) -> None:
    steps = (
        "      - assert: {that: \"instance.namespace == 'linkerd'\", "
        "message: \"expected namespace linkerd, found {{ instance.namespace }}\"}\n"
    )
    with pytest.raises(PreconditionError, match="found meshy"):
        _plan_with(tmp_path, steps)


def test_sops_encrypted_file_is_never_edited(tmp_path: Path) -> None:
    files = meshy_files(clusters=("prod",))
    files["clusters/prod/meshy/secret.sops.yaml"] = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: meshy-license\n  namespace: meshy\n"
        "data:\n  license: ENC[AES256_GCM,data:abc,type:str]\n"
        "sops:\n  version: 3.8.1\n  mac: ENC[AES256_GCM,data:x,type:str]\n"
    )
    repo = build_tree(tmp_path / "repo", files)
    steps = (
        "      - patch:\n          select: {kind: Secret}\n"
        "          ops: [{op: add, path: /metadata/labels, value: {a: b}}]\n"
    )
    lib = _recipe_dir(tmp_path, BROKEN_HEAD + steps)
    library = load_library([lib], include_bundled=False)
    with pytest.raises(Exception) as info:
        make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))
    assert "SOPS" in str(info.value) and "secret.sops.yaml" in str(info.value)


def test_unknown_param_is_refused_with_suggestion(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(pin="1.1.0"))
    with pytest.raises(Exception, match="pause_prune"):
        plan_for(tmp_path, "meshy@stable-2.0", params={"pause_prun": "true"})


def test_waves_order_commits_and_cover_every_instance(tmp_path: Path) -> None:
    from engine.errors import UsageError
    from engine.repo.config import Wave

    build_tree(tmp_path, meshy_files(clusters=("prod", "nonprod")))
    waves = [Wave(name="nonprod", paths=["clusters/nonprod"]), Wave(name="prod", paths=["clusters/prod*"])]
    plan = plan_for(tmp_path, "meshy@stable-1.1", waves=waves)
    assert [(c.wave, c.instances) for c in plan.commits] == [
        ("nonprod", ["clusters/nonprod"]),
        ("prod", ["clusters/prod"]),
    ]
    assert [i.wave for i in plan.instances] == ["nonprod", "prod"]
    only = plan_for(tmp_path, "meshy@stable-1.1", waves=waves, wave="prod")
    assert [c.instances for c in only.commits] == [["clusters/prod"]]
    with pytest.raises(UsageError, match="clusters/prod"):
        plan_for(tmp_path, "meshy@stable-1.1", waves=waves[:1])
    with pytest.raises(UsageError, match="no such wave"):
        plan_for(tmp_path, "meshy@stable-1.1", waves=waves, wave="qa")


def test_patch_upgrade_inside_a_line_is_generated(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",), pin="1.0.0"))
    plan = plan_for(tmp_path, "meshy@stable-1.0.1")
    assert plan.path == ["stable-1.0.1-patch"]
    (commit,) = plan.commits
    (change,) = commit.changes
    assert change.content is not None
    assert 'version: "1.0.1"  # pinned on purpose' in change.content.decode()
    assert commit.subject == "meshy: upgrade to stable-1.0.1"


def test_already_applied_phase_keeps_its_manual_steps(tmp_path: Path) -> None:
    steps = (
        "      - patch:\n          select: {detector: core}\n"
        "          ops: [{op: add, path: /spec/interval, value: 10m}]\n"
        "      - note: Create the licence Secret before merging\n"
    )
    plan = _plan_with(tmp_path, steps)
    commit, bump = plan.commits
    assert bump.phase == "bump"
    assert commit.changes == []
    assert commit.subject == "one (files already changed)"
    assert [n.title for n in commit.notes] == ["Create the licence Secret before merging"]
    assert any(r.kind == "already-applied" for r in commit.reports)


def test_a_recipe_that_does_not_move_the_pin_is_caught(tmp_path: Path) -> None:
    steps = "      - note: does nothing to the files\n"
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    lib = _recipe_dir(tmp_path, BROKEN_HEAD + steps)
    library = load_library([lib], include_bundled=False)
    with pytest.raises(RecipeError, match=r"reads as stable-1\.0\.0, not stable-1\.1\.0"):
        make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))


_APPEND_REPO = (
    "      - template:\n"
    "          source: t.yaml.j2\n"
    "          into: clusters/prod/meshy/repository.yaml\n"
    "          append: true\n"
)
_REPO_TEMPLATE = """\
apiVersion: source.toolkit.fluxcd.io/{version}
kind: HelmRepository
metadata:
  name: meshy
  namespace: flux-system
spec:
  interval: 1h
  url: {url}
"""


def test_append_of_an_object_already_there_under_another_api_version_is_a_no_op(
    tmp_path: Path,
) -> None:
    # The repo has HelmRepository flux-system/meshy as source.toolkit.fluxcd.io/v1; the same
    # object as v1beta2 is the same object to the cluster: appending it would define it twice.
    template = _REPO_TEMPLATE.format(version="v1beta2", url="https://charts.example.com/meshy")
    plan = _plan_with(tmp_path, _APPEND_REPO, template)
    assert [c.phase for c in plan.commits if c.changes] == ["bump"]


def test_append_of_an_object_already_there_with_other_content_is_an_error(
    tmp_path: Path,
) -> None:
    template = _REPO_TEMPLATE.format(version="v1", url="https://charts.example.com/other")
    with pytest.raises(RecipeError) as info:
        _plan_with(tmp_path, _APPEND_REPO, template)
    message = info.value.render()
    assert "clusters/prod/meshy/repository.yaml" in message
    assert "HelmRepository meshy with other content" in message


def test_deleting_the_last_manifest_of_a_flux_path_keeps_the_folder_building(
    tmp_path: Path,
) -> None:
    # clusters/prod/meshy is the spec.path of the Flux Kustomization `meshy`. A folder with no
    # file left vanishes from git and Flux stops with "kustomization path not found" instead
    # of pruning: the folder keeps an empty kustomization.yaml.
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    (repo / "clusters/prod/meshy/kustomization.yaml").unlink()  # Flux generates one
    (repo / "clusters/prod/release").mkdir()
    (repo / "clusters/prod/meshy/release.yaml").rename(repo / "clusters/prod/release/release.yaml")
    steps = "      - delete: {path: clusters/prod/meshy/repository.yaml}\n"
    lib = _recipe_dir(tmp_path, BROKEN_HEAD + steps + BUMP_PHASE)
    library = load_library([lib], include_bundled=False)
    plan = make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))
    changes = {c.path: c for c in plan.commits[0].changes}
    kept = changes["clusters/prod/meshy/kustomization.yaml"]
    assert changes["clusters/prod/meshy/repository.yaml"].content is None
    assert kept.content is not None and b"resources: []" in kept.content
    assert any(r.kind == "kept-folder" for r in plan.commits[0].reports)


def test_a_fleet_plan_keeps_no_node_trees(tmp_path: Path) -> None:
    # Issue 12: node trees cost ~20x a document's text. The repo's documents are kept
    # without them, and the trees an instance's edits composed are let go when the
    # planner moves on to the next instance (composed again if a later phase edits).
    from engine.yamltext import yamldoc
    from tests.helpers import generated_fleet

    workspace = Workspace(generated_fleet(tmp_path, 4))
    plan = make_plan(workspace, load_library(), PlanRequest(target="linkerd@stable-2.12"))
    assert len(plan.commits) == 3
    edited = {c.path for commit in plan.commits for c in commit.changes if c.old_sha256}
    parsed = {path for path in workspace.yaml_files() if workspace.parsed(path)}
    assert len(edited) == 4 * 2 and edited <= parsed  # the files edited were parsed ...
    read = [d for path in parsed for d in workspace.parsed(path) or ()]
    assert [d for d in read if d.__dict__.get("_node") not in (None, yamldoc._LATER)] == []
    # The parsed data the preconditions read is not kept with the plan either.
    assert [c.path for commit in plan.commits for c in commit.changes if c.data] == []
