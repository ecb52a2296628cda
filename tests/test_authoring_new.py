"""`waypath recipe new`, and the worked example of docs/authoring.md end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.authoring.valuesdiff import diff_values
from engine.cli import main
from engine.errors import RecipeError
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import bundled_recipes_dir, load_library
from engine.repo.workspace import Workspace
from tests.authoring_walkthrough import fill_todos
from tests.helpers import snapshot_bytes

FIXTURES = Path(__file__).parent / "fixtures"
NEW = ["recipe", "new", "linkerd", "--from", "enterprise-2.19", "--to", "enterprise-2.20.2"]


def _copy_recipes(tmp_path: Path) -> Path:
    recipes = tmp_path / "recipes"
    shutil.copytree(bundled_recipes_dir(), recipes, ignore=shutil.ignore_patterns("tests"))
    return recipes


def test_values_diff_proposes_removes_and_moves() -> None:
    old = {"tracing": {"enabled": False}, "proxy": {"image": "a", "logLevel": "info"}, "gone": 1}
    new = {"controller": {"tracing": {"enabled": False}}, "proxy": {"logLevel": "warn"}}
    diff = diff_values(old, new)
    assert [".".join(k) for k, _ in diff.removed] == ["tracing", "proxy.image", "gone"]
    assert diff.renamed == [(("tracing",), ("controller", "tracing"))]
    assert [(".".join(k), a, b) for k, a, b in diff.changed] == [("proxy.logLevel", "info", "warn")]
    ops = diff.proposed_ops("stable-9.9.9")
    assert ops[0] == {
        "op": "move", "from": "/spec/values/tracing", "path": "/spec/values/controller/tracing",
        "optional": True, "parents": True, "reason": "renamed to controller.tracing in stable-9.9.9",
    }  # fmt: skip
    assert ops[1]["op"] == "remove" and ops[1]["path"] == "/spec/values/proxy/image"


def test_new_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes = _copy_recipes(tmp_path)
    component = recipes / "linkerd" / "component.yaml"
    before = component.read_bytes()
    assert main([*NEW, "--recipes", str(recipes)]) == 0
    after = component.read_bytes()
    # the catalog grew by one release entry; every other byte stayed
    assert after.startswith(before.rstrip(b"\n")) and b"version: enterprise-2.20.2" in after
    recipe = recipes / "linkerd" / "enterprise-2.19-to-enterprise-2.20.yaml"
    text = recipe.read_text()
    assert 'from: {edition: enterprise, versions: ">=2.19.0 <2.20.0"}' in text
    assert "to: {edition: enterprise, version: 2.20.2}" in text
    assert main([*NEW, "--recipes", str(recipes)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "hint: edit it, or delete it" in err
    assert recipe.read_text() == text


def test_new_with_values_files_writes_proposals(tmp_path: Path) -> None:
    recipes = _copy_recipes(tmp_path)
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text("controlPlaneTracing: false\npolicyController:\n  image: {name: x}\nkeep: 1\n")
    new.write_text("controller:\n  tracing: {enabled: false}\nkeep: 2\n")
    assert (
        main([*NEW, "--recipes", str(recipes), "--old-values", str(old), "--new-values", str(new)])
        == 0
    )
    text = (recipes / "linkerd" / "enterprise-2.19-to-enterprise-2.20.yaml").read_text()
    assert "#   - {op: remove, path: /spec/values/policyController, optional: true" in text
    assert "#   ~ keep: 1 -> 2" in text


def test_worked_example_of_the_authoring_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/authoring.md in process, on an empty library folder of the user's (the guide's
    own commands run in tests/test_installed_wheel.py)."""
    bundled = snapshot_bytes(bundled_recipes_dir())
    recipes = tmp_path / "my-recipes"  # does not exist yet: `recipe new` creates it
    r = ["--recipes", str(recipes)]
    assert main([*NEW, *r]) == 0
    assert sorted(p.relative_to(recipes).as_posix() for p in recipes.rglob("*.yaml")) == [
        "linkerd/component.yaml",
        "linkerd/enterprise-2.19-to-enterprise-2.20.yaml",
    ]
    assert (
        "kind: ComponentExtension\nextends: linkerd\n"
        in (recipes / "linkerd" / "component.yaml").read_text()
    )
    assert main(["recipe", "lint", str(recipes)]) == 1
    todos = [line for line in capsys.readouterr().out.splitlines() if ": todo: " in line]
    assert len(todos) == 4
    fill_todos(recipes)
    assert main(["recipe", "lint", str(recipes)]) == 0, capsys.readouterr().out
    case = recipes / "linkerd" / "tests" / "bel-2.19-to-2.20"
    tree = bundled_recipes_dir() / "linkerd" / "tests" / "bel-2.18-jaeger-removal" / "expected"
    shutil.copytree(tree / "tree", case / "before")
    (case / "case.yaml").write_text("target: linkerd@enterprise-2.20\n")
    assert main(["recipe", "test", "--update", *r]) == 0
    assert main(["recipe", "test", *r]) == 0
    out = capsys.readouterr().out
    assert "ok      linkerd/bel-2.19-to-2.20 (enterprise-2.19-to-enterprise-2.20)" in out
    assert "3 case(s), 0 failed" in out  # the bundled cases run too
    expected = case / "expected"
    assert 'version: "2.20.2"' in (expected / "tree" / "linkerd" / "control-plane.yaml").read_text()

    library = load_library([recipes])
    plan = make_plan(
        Workspace(FIXTURES / "enterprise-2.16"),
        library,
        PlanRequest(target="linkerd@enterprise-2.20"),
    )
    assert plan.path[-1] == "enterprise-2.19-to-enterprise-2.20"
    assert plan.target == "linkerd@enterprise-2.20.2"
    assert snapshot_bytes(bundled_recipes_dir()) == bundled  # the bundled library untouched


def test_new_adds_to_an_existing_extension(tmp_path: Path) -> None:
    recipes = tmp_path / "my-recipes"
    assert main([*NEW, "--recipes", str(recipes)]) == 0
    extension = recipes / "linkerd" / "component.yaml"
    before = extension.read_text()
    to_221 = ["recipe", "new", "linkerd", "--from", "enterprise-2.20", "--to", "enterprise-2.21.0"]
    assert main([*to_221, "--recipes", str(recipes)]) == 0
    after = extension.read_text()
    # spliced in after 2.20.2; every byte of the file before stays
    assert after.startswith(before.rstrip("\n"))
    assert after.index("version: enterprise-2.20.2") < after.index("version: enterprise-2.21.0")
    assert "linkerd-enterprise-control-plane: 2.21.0" in after
    library = load_library([recipes])
    assert library.components["linkerd"].extensions == [extension]
    catalog = library.catalog("linkerd")
    assert catalog.release(catalog.parse_release("enterprise-2.21.0")) is not None


def test_new_writes_nothing_when_a_write_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = tmp_path / "my-recipes"
    (recipes / "linkerd").mkdir(parents=True)
    # a folder where the catalog file goes: the recipe would be written, the catalog not
    (recipes / "linkerd" / "component.yaml").mkdir()
    assert main([*NEW, "--recipes", str(recipes)]) == 1
    err = capsys.readouterr().err
    assert "linkerd/component.yaml" in err, err
    assert sorted(p.name for p in (recipes / "linkerd").iterdir()) == ["component.yaml"]


def test_extension_errors_name_the_file(tmp_path: Path) -> None:
    ext = tmp_path / "lib" / "linkerd" / "component.yaml"
    ext.parent.mkdir(parents=True)
    ext.write_text(
        "apiVersion: waypath.dev/v1\nkind: ComponentExtension\nextends: linkerd\nreleases:\n"
        "  - version: enterprise-2.19.8\n"
    )
    with pytest.raises(RecipeError) as raised:
        load_library([tmp_path / "lib"])
    [problem] = raised.value.problems
    assert str(problem.location) == f"{ext}:5:14"
    assert "enterprise-2.19.8` is listed twice in component `linkerd`" in problem.message
    ext.write_text(ext.read_text().replace("extends: linkerd", "extends: linkerdd"))
    with pytest.raises(RecipeError) as raised:
        load_library([tmp_path / "lib"])
    [problem] = raised.value.problems
    assert str(problem.location) == f"{ext}:3:10"
    assert problem.message == (
        "`extends: linkerdd` names no component of the library folders in use (known: linkerd)"
    )


def test_new_copies_the_templates_the_copied_recipe_uses(tmp_path: Path) -> None:
    recipes = tmp_path / "lib"
    args = ["recipe", "new", "linkerd", "--from", "enterprise-2.15", "--to", "enterprise-2.17.99"]
    assert main([*args, "--recipes", str(recipes)]) == 0
    recipe = (recipes / "linkerd" / "enterprise-2.15-to-enterprise-2.17.yaml").read_text()
    assert "from stable-2.14-to-enterprise-2.15 (the hop before)" in recipe
    bundled = bundled_recipes_dir() / "linkerd" / "templates"
    copied = sorted(p.name for p in (recipes / "linkerd" / "templates").iterdir())
    assert copied == [
        "buoyant-helmrepository.yaml.j2",
        "linkerd-buoyant.yaml.j2",
        "linkerd-edge-helmrepository.yaml.j2",
    ]
    for name in copied:
        assert (recipes / "linkerd" / "templates" / name).read_bytes() == (
            bundled / name
        ).read_bytes()


def test_installed_bundle_is_never_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from engine.authoring import libraries
    from engine.errors import UsageError

    monkeypatch.setattr(libraries, "installed_bundle", lambda: True)
    case = bundled_recipes_dir() / "linkerd" / "tests" / "oss-2.12-to-2.13"
    with pytest.raises(UsageError) as raised:
        libraries.check_writable(case, "the recipe case")
    assert raised.value.message.endswith(
        "belongs to the installed Waypath package, which authoring never edits"
    )
    libraries.check_writable(tmp_path / "lib" / "linkerd" / "tests" / "x", "the recipe case")
    assert main(NEW) == 1  # no --recipes: nowhere to write


def test_new_refuses_a_hop_the_library_already_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["recipe", "new", "linkerd", "--from", "enterprise-2.15", "--to", "enterprise-2.16.9"]
    assert main([*args, "--recipes", str(tmp_path / "lib")]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("error: ")
        and "recipe `enterprise-2.15-to-enterprise-2.16` already exists in " in err
    )
    assert not (tmp_path / "lib").exists()


def test_new_never_writes_through_a_component_folder_symlinked_out_of_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = tmp_path / "my-recipes"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    recipes.mkdir()
    (recipes / "linkerd").symlink_to(elsewhere)
    assert main([*NEW, "--recipes", str(recipes)]) == 1
    err = capsys.readouterr().err
    assert f"  - {recipes}/linkerd: is a symlink to {elsewhere}, outside {recipes}" in err
    assert list(elsewhere.iterdir()) == []
