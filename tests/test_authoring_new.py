"""`waypath recipe new`, and the worked example of docs/authoring.md end to end."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.authoring.valuesdiff import diff_values
from engine.cli import main
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import bundled_recipes_dir, load_library
from engine.repo.workspace import Workspace

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


def _fill_todos(recipes: Path) -> None:
    """What docs/authoring.md tells the author to do, done by a program."""
    component = recipes / "linkerd" / "component.yaml"
    text = component.read_text()
    text = re.sub(
        r'notes: "TODO\(waypath\)[^\n]*"', "notes: Made-up release for the authoring guide.", text
    )
    component.write_text(text)
    recipe = recipes / "linkerd" / "enterprise-2.19-to-enterprise-2.20.yaml"
    text = recipe.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("# ")) + "\n"
    text = re.sub(r'summary: "TODO\(waypath\)[^\n]*"', 'summary: "Bump BEL 2.19 to 2.20.2"', text)
    text = re.sub(
        r"description: \|\n  TODO\(waypath\)[^\n]*\n",
        "description: |\n  A chart-version bump (made-up release for the authoring guide).\n",
        text,
    )
    # 2.20 has no linkerd-jaeger to remove: delete the copied remove-jaeger phase
    start = text.index("  - name: remove-jaeger")
    text = text[:start] + text[text.index("  - name: control-plane") :]
    recipe.write_text(text)
    case = recipes / "linkerd" / "tests" / "bel-2.19-to-2.20"
    shutil.copytree(
        bundled_recipes_dir()
        / "linkerd"
        / "tests"
        / "bel-2.18-jaeger-removal"
        / "expected"
        / "tree",
        case / "before",
    )
    (case / "case.yaml").write_text("target: linkerd@enterprise-2.20\n")


def test_worked_example_of_the_authoring_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = _copy_recipes(tmp_path)
    r = ["--recipes", str(recipes)]
    assert main([*NEW, *r]) == 0
    assert main(["recipe", "lint", *r]) == 1
    todos = [line for line in capsys.readouterr().out.splitlines() if ": todo: " in line]
    assert len(todos) == 4
    _fill_todos(recipes)
    assert main(["recipe", "lint", *r]) == 0, capsys.readouterr().out
    assert main(["recipe", "test", "--update", *r]) == 0
    assert main(["recipe", "test", *r]) == 0
    out = capsys.readouterr().out
    assert "ok      linkerd/bel-2.19-to-2.20 (enterprise-2.19-to-enterprise-2.20)" in out
    expected = recipes / "linkerd" / "tests" / "bel-2.19-to-2.20" / "expected"
    assert 'version: "2.20.2"' in (expected / "tree" / "linkerd" / "control-plane.yaml").read_text()

    library = load_library([recipes], include_bundled=False)
    plan = make_plan(
        Workspace(FIXTURES / "enterprise-2.16"),
        library,
        PlanRequest(target="linkerd@enterprise-2.20"),
    )
    assert plan.path[-1] == "enterprise-2.19-to-enterprise-2.20"
    assert plan.target == "linkerd@enterprise-2.20.2"
