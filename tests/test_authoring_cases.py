"""Recipe-local cases (`waypath recipe test`): the bundled ones pass, and a mismatch is a diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.authoring.casetest import find_cases, run_case
from engine.cli import main
from engine.recipe.loading import Library, bundled_recipes_dir, load_library

FOLDERS = [p for p in bundled_recipes_dir().iterdir() if (p / "tests").is_dir()]
CASES = find_cases(FOLDERS)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def test_bundled_recipes_have_cases() -> None:
    assert {c.name for c in CASES} >= {
        "linkerd/oss-2.12-to-2.13",
        "linkerd/bel-2.18-jaeger-removal",
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_recipe_case(case: object, library: Library) -> None:
    from engine.authoring.casetest import Case

    assert isinstance(case, Case)
    result = run_case(case, library)
    assert result.ok, "\n".join(result.failures)


def test_mismatch_shows_a_unified_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipes = tmp_path / "recipes"
    shutil.copytree(bundled_recipes_dir(), recipes)
    case = recipes / "linkerd" / "tests" / "oss-2.12-to-2.13"
    for other in (recipes / "linkerd" / "tests").iterdir():
        if other != case:
            shutil.rmtree(other)
    expected = case / "expected" / "tree" / "linkerd" / "linkerd-viz.yaml"
    expected.write_text(expected.read_text().replace('"30.8.7"', '"30.8.6"'))
    assert main(["recipe", "test", "stable-2.12-to-stable-2.13", "--recipes", str(recipes)]) == 1
    out = capsys.readouterr().out
    assert "FAILED  linkerd/oss-2.12-to-2.13" in out
    assert '-      version: "30.8.6"\n+      version: "30.8.7"\n' in out
    assert main(["recipe", "test", "--update", "--recipes", str(recipes)]) == 0
    assert "updated linkerd/oss-2.12-to-2.13" in capsys.readouterr().out
    assert '"30.8.7"' in expected.read_text()
