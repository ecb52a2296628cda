"""Recipes cannot escape: the Jinja2 sandbox, the template loader, and output paths.

Recipes are shared data from other teams. Every test here names the protection it pins
and fails if that protection is removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest

from engine.cli import main
from engine.errors import RepoError, TemplateError
from engine.output.apply import apply_plan, commit_plan
from engine.planning.planmodel import Commit, FileChange, Plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.recipe.templating import Renderer, make_environment
from engine.repo.workspace import Workspace
from tests.helpers import (
    BUMP_PHASE,
    RECIPES,
    build_tree,
    git_repo,
    hermetic_git,
    meshy_files,
    snapshot_bytes,
)

RECIPE_HEAD = """\
apiVersion: waypath.dev/v1
kind: Recipe
component: meshy
from: {edition: oss, versions: ">=1.0.0 <1.1.0"}
to: {edition: oss, version: 1.1.0}
summary: A hostile recipe
phases:
  - name: evil
    message: "meshy: evil"
    steps:
"""


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch, date=None)


@pytest.fixture(autouse=True)
def _only_test_recipes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Speed: the CLI would also load the bundled Linkerd library (~1 s a run); these tests
    # need only the toy component given with --recipes.
    monkeypatch.setattr("engine.recipe.loading.bundled_recipes_dir", lambda: tmp_path / "no-bundled")


def hostile_library(root: Path, steps: str, templates: dict[str, str] | None = None) -> Path:
    """A recipe folder with the meshy component and one recipe made of `steps`."""
    folder = root / "meshy"
    folder.mkdir(parents=True)
    shutil.copy(RECIPES / "meshy" / "component.yaml", folder / "component.yaml")
    recipe = folder / "stable-1.0-to-stable-1.1.yaml"
    recipe.write_text(RECIPE_HEAD + steps + BUMP_PHASE)
    for name, text in (templates or {}).items():
        (folder / "templates").mkdir(exist_ok=True)
        (folder / "templates" / name).write_text(text)
    return recipe


def plan(repo: Path, lib: Path) -> Plan:
    library = load_library([lib], include_bundled=False)
    return make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))


def inline(expr: str) -> str:
    quoted = expr.replace("'", "''")
    return f"      - template: {{inline: '{quoted}', into: '{{{{ instance.dir }}}}/x.yaml'}}\n"


# -- 1. the sandbox ---------------------------------------------------------------------------

# Each expression and what the sandbox says. Pins: SandboxedEnvironment (templating.py);
# with a plain jinja2.Environment every one of these renders Python internals.
ESCAPES = [
    ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ cycler.__init__.__globals__ }}", "is unsafe"),
    ("{{ self.__dict__ }}", "access to attribute '__dict__' of 'TemplateReference'"),
    ("{{ range.__globals__ }}", "access to attribute '__globals__' of 'function'"),
    ("{{ '{0.__class__}'.format(1) }}", "access to attribute '__class__' of 'int'"),
    ("{{ ''|attr('__class__') }}", "access to attribute '__class__' of 'str'"),
    ("{{ namespace.__init__.__globals__ }}", "is unsafe"),
    ("{{ self._TemplateReference__context }}", "is unsafe"),
    ("{{ params.__class__.__base__.__subclasses__() }}", "is unsafe"),
    ("{{ instance['values'].update({'x': 1}) }}", "attribute 'update' of 'dict' object is unsafe"),
]


@pytest.mark.parametrize(("expr", "detail"), ESCAPES)
def test_attribute_tricks_fail_naming_the_recipe(tmp_path: Path, expr: str, detail: str) -> None:
    # Pins: the sandbox, and Renderer._fail turning jinja's SecurityError into a TemplateError
    # located at the recipe file. `instance['values'].update` pins ImmutableSandboxedEnvironment:
    # `instance.values` is the parsed document; changing it would change what later steps see.
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    recipe = hostile_library(tmp_path / "lib", inline(expr))
    before = snapshot_bytes(repo)
    with pytest.raises(TemplateError) as info:
        plan(repo, tmp_path / "lib")
    assert info.value.location is not None and info.value.location.path == str(recipe)
    assert "not allowed in the sandbox" in info.value.message
    assert detail in info.value.message
    assert snapshot_bytes(repo) == before


@pytest.mark.parametrize(
    "where",
    ["message", "op value", "template file", "when", "note"],
)
def test_every_rendered_field_is_sandboxed(tmp_path: Path, where: str) -> None:
    # Pins: every string a recipe renders goes through the same sandboxed Renderer.
    expr = "''.__class__.__mro__"
    steps = {
        "message": "      - note: hi\n",
        "op value": "      - patch:\n          select: {detector: core}\n"
        f'          ops: [{{op: add, path: /spec/x, value: "{{{{ {expr} }}}}"}}]\n',
        "template file": "      - template: {source: templates/t.yaml.j2, into: x.yaml}\n",
        "when": f'      - note: hi\n        when: "{expr}"\n',
        "note": f'      - note: "{{{{ {expr} }}}}"\n',
    }[where]
    recipe = hostile_library(
        tmp_path / "lib", steps, templates={"t.yaml.j2": f"a: {{{{ {expr} }}}}\n"}
    )
    if where == "message":
        recipe.write_text(recipe.read_text().replace('"meshy: evil"', f'"{{{{ {expr} }}}}"'))
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    with pytest.raises(TemplateError) as info:
        plan(repo, tmp_path / "lib")
    assert "not allowed in the sandbox" in info.value.message
    assert info.value.location is not None and info.value.location.path == str(recipe)


def test_sandbox_error_through_the_cli_is_exit_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    recipe = hostile_library(tmp_path / "lib", inline("{{ ''.__class__.__mro__ }}"))
    code = main(["plan", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(tmp_path / "lib")])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"error: {recipe}: ")
    assert "not allowed in the sandbox" in err
    assert "Traceback" not in err + out


# -- the loader: templates only from the recipe's folder -------------------------------------


OUTSIDE_NAMES = [
    "/etc/passwd",
    "../../x",
    "../../../../../../../etc/passwd",
    "templates/../../outside.txt",
    "templates/link.j2",
    "templates/linkdir/secret.txt",
]


@pytest.mark.parametrize("how", ["include", "import", "extends", "source"])
def test_templates_cannot_read_outside_the_recipe_folder(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pins: _RecipeLoader (resolve, then is_relative_to the recipe folder). Without it
    # (e.g. a FileSystemLoader("/") or a loader that does not resolve symlinks) the canary
    # below would be rendered into the plan. The library's symlinks out of it are refused
    # before loading (engine/recipe/confine.py, tested below); that check is switched off
    # here so the loader's own is tested too (a link made after loading, say).
    monkeypatch.setattr("engine.recipe.loading.check_library_links", lambda *args: None)
    outside = tmp_path / "outside.txt"
    outside.write_text("CANARY-OUTSIDE-THE-RECIPE\n")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "outdir" / "secret.txt").write_text("CANARY-OUTSIDE-THE-RECIPE\n")
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    recipe = hostile_library(tmp_path / "lib", "", templates={"t.yaml.j2": ""})
    (recipe.parent / "templates" / "link.j2").symlink_to(outside)
    (recipe.parent / "templates" / "linkdir").symlink_to(tmp_path / "outdir")
    for name in OUTSIDE_NAMES:
        body = {
            "include": f"{{% include '{name}' %}}",
            "import": f"{{% import '{name}' as x %}}",
            "extends": f"{{% extends '{name}' %}}",
        }.get(how, "")
        if how == "source":
            steps = f"      - template: {{source: '{name}', into: x.yaml}}\n"
        else:
            steps = "      - template: {source: templates/t.yaml.j2, into: x.yaml}\n"
        recipe.write_text(RECIPE_HEAD + steps + BUMP_PHASE)
        (recipe.parent / "templates" / "t.yaml.j2").write_text(body)
        with pytest.raises(TemplateError) as info:
            plan(repo, tmp_path / "lib")
        assert "template not found" in info.value.message, name
        assert "CANARY" not in info.value.render()


def test_a_template_symlinked_out_of_the_library_is_refused_before_loading(
    tmp_path: Path,
) -> None:
    from engine.errors import RecipeError

    (tmp_path / "outside.txt").write_text("CANARY-OUTSIDE-THE-RECIPE\n")
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    recipe = hostile_library(tmp_path / "lib", "", templates={"t.yaml.j2": ""})
    (recipe.parent / "templates" / "link.j2").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(RecipeError) as info:
        plan(repo, tmp_path / "lib")
    [problem] = info.value.problems
    assert problem.location is not None
    assert problem.location.path == str(recipe.parent / "templates" / "link.j2")
    assert problem.message.startswith(f"is a symlink to {tmp_path}/outside.txt, outside ")
    assert "CANARY" not in info.value.render()


# -- no commands ----------------------------------------------------------------------------

COMMAND_ATTEMPTS = [
    "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch PWNED') }}",
    "{{ joiner.__init__.__globals__.os.system('touch PWNED') }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ namespace.__init__.__globals__.__builtins__.__import__('os').system('touch PWNED') }}",
    "{{ range.__globals__['__builtins__']['__import__']('subprocess') }}",
    "{{ dict.mro()[-1].__subclasses__() }}",
    "{{ (0).__class__.__base__.__subclasses__() }}",
    "{{ params.items.__self__ }}",
    "{{ 'x'|map('__import__')|list }}",
]


@pytest.mark.parametrize("expr", COMMAND_ATTEMPTS)
def test_templates_cannot_run_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expr: str
) -> None:
    # Pins: the sandbox and the globals we removed (lipsum, cycler, joiner). Every way to a
    # process is watched; none may be called, and the marker file must not appear.
    called: list[str] = []

    def spy(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            called.append(name)
            raise AssertionError(f"{name} reached from a template")

        return record

    for module, name in [
        (os, "system"),
        (os, "popen"),
        (os, "execv"),
        (os, "execve"),
        (os, "fork"),
        (os, "posix_spawn"),
        (subprocess, "Popen"),
    ]:
        monkeypatch.setattr(module, name, spy(name))
    monkeypatch.chdir(tmp_path)
    renderer = Renderer(tmp_path / "recipe.yaml", tmp_path)
    context = {"params": {"a": "b"}, "instance": {"dir": "x", "values": {}}}
    with pytest.raises(TemplateError) as info:
        renderer.string(expr, context, what="step")
    assert info.value.location is not None and info.value.location.path == str(
        tmp_path / "recipe.yaml"
    )
    assert called == []
    assert not (tmp_path / "PWNED").exists()


def test_templates_see_only_the_documented_globals_and_filters() -> None:
    # Pins: what is in reach of a template. A new global or filter (e.g. one that runs a
    # command or reads a file) fails this test on purpose: review it, then extend the list.
    env = make_environment(None)
    assert sorted(env.globals) == ["dict", "namespace", "range"]
    ours = set(env.filters) - set(jinja2.Environment().filters)
    assert ours == {"to_yaml", "without", "get", "dirname", "basename"}
    assert isinstance(env, jinja2.sandbox.ImmutableSandboxedEnvironment)


# -- output paths -------------------------------------------------------------------------


def _escape_repo(tmp_path: Path) -> tuple[Path, Path]:
    repo = git_repo(tmp_path / "repo", meshy_files(clusters=("prod",)))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.yaml").write_text("victim: untouched\n")
    (repo / "clusters/prod/linkdir").symlink_to(outside)
    (repo / "clusters/prod/linkfile.yaml").symlink_to(outside / "victim.yaml")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "links"], cwd=repo, check=True)
    return repo, outside


BAD_OUTPUTS = [
    ("template into", "      - template: {{inline: 'a: 1', into: '{p}'}}\n"),
    ("template overwrite", "      - template: {{inline: 'a: 1', into: '{p}', overwrite: true}}\n"),
    ("move to", "      - move: {{from: '{{{{ instance.dir }}}}/repository.yaml', to: '{p}'}}\n"),
    ("move from", "      - move: {{from: '{p}', to: '{{{{ instance.dir }}}}/y.yaml'}}\n"),
    ("delete", "      - delete: {{path: '{p}'}}\n"),
]
BAD_PATHS = [
    "../x.yaml",
    "../outside/victim.yaml",
    "clusters/../../x.yaml",
    "/tmp/waypath-abs.yaml",
    "{{ instance.dir }}/../../../../x.yaml",
    "clusters/prod/linkdir/new.yaml",
    "clusters/prod/linkdir/victim.yaml",
    "clusters/prod/linkfile.yaml",
]


@pytest.mark.parametrize(("step", "template"), BAD_OUTPUTS)
def test_output_paths_outside_the_checkout_are_refused_at_plan_time(
    tmp_path: Path, step: str, template: str
) -> None:
    # Pins: StepRun.path -> workspace.safe_relpath (absolute, `..`, symlinked file or folder).
    repo, outside = _escape_repo(tmp_path)
    recipe = hostile_library(tmp_path / "lib", "")
    before, before_out = snapshot_bytes(repo), snapshot_bytes(outside)
    for path in BAD_PATHS:
        recipe.write_text(RECIPE_HEAD + template.format(p=path))
        with pytest.raises(RepoError) as info:
            plan(repo, tmp_path / "lib")
        assert any(w in info.value.message for w in ("absolute", "outside the repository")), path
    assert snapshot_bytes(repo) == before
    assert snapshot_bytes(outside) == before_out
    assert not Path("/tmp/waypath-abs.yaml").exists()


@pytest.mark.parametrize("path", BAD_PATHS[:4] + BAD_PATHS[5:])
@pytest.mark.parametrize("committing", [False, True])
def test_apply_refuses_a_plan_file_that_leaves_the_checkout(
    tmp_path: Path, path: str, committing: bool
) -> None:
    # Pins: apply.safe_path, checked for every change before the first write (a plan.json
    # can be edited by hand or come from elsewhere, so apply cannot trust the planner).
    repo, outside = _escape_repo(tmp_path)
    release = "clusters/prod/meshy/release.yaml"
    good = FileChange(release, "modified", b"edited: true\n")
    status = "modified" if path.endswith("victim.yaml") or "linkfile" in path else "added"
    bad = FileChange(path, status, b"pwned: true\n")  # type: ignore[arg-type]
    hostile = Plan(
        target="meshy@stable-1.1.0",
        instances=[],
        commits=[
            Commit("one", "", "r", "p", 1, 2, "a", "b", ["."], changes=[good]),
            Commit("two", "", "r", "p", 2, 2, "a", "b", ["."], changes=[bad]),
        ],
        inputs={},
    )
    before, before_out = snapshot_bytes(repo), snapshot_bytes(outside)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True).stdout
    with pytest.raises(RepoError):
        if committing:
            commit_plan(repo, hostile, branch=None)
        else:
            apply_plan(repo, hostile)
    assert snapshot_bytes(repo) == before
    assert snapshot_bytes(outside) == before_out
    assert (
        subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True).stdout == head
    )


def test_a_folder_swapped_for_a_symlink_after_planning_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: apply re-checks paths on disk (safe_path resolves) instead of trusting the plan.
    repo, outside = _escape_repo(tmp_path)
    lib = tmp_path / "lib"
    hostile_library(
        lib, "      - template: {inline: 'a: 1', into: 'clusters/prod/late/new.yaml'}\n"
    )
    plan_file = tmp_path / "plan.json"
    code = main(
        [
            "plan",
            str(repo),
            "--to",
            "meshy@stable-1.1",
            "--recipes",
            str(lib),
            "--format",
            "json",
            "--out",
            str(plan_file),
        ]
    )
    assert code == 2
    (repo / "clusters/prod/late").symlink_to(outside)  # untracked: --allow-dirty to get past
    before_out = snapshot_bytes(outside)
    capsys.readouterr()
    code = main(["apply", str(repo), str(plan_file), "--allow-dirty"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "clusters/prod/late/new.yaml" in err and "symlink" in err
    assert snapshot_bytes(outside) == before_out
