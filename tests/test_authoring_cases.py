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


# --- symlinks in cases (engine/recipe/confine.py, casetest.check_case_links) ------------


def _meshy_case(tmp_path: Path) -> tuple[Path, Path]:
    """A library with one meshy case, its expected/ written by `--update`; and a folder
    beside the library standing for anything of the user's outside it."""
    from tests.helpers import RECIPES, build_tree, meshy_files

    library = tmp_path / "lib"
    shutil.copytree(RECIPES, library)
    case = library / "meshy" / "tests" / "c1"
    build_tree(case / "before", meshy_files())
    (case / "case.yaml").write_text("target: meshy@stable-1.1.0\n")
    assert main(["recipe", "test", "--update", "--recipes", str(library), "meshy"]) == 0
    outside = tmp_path / "outside"
    build_tree(outside, {"tree/keep.txt": "mine\n", "secret.yaml": "password: hunter2\n"})
    return case, outside


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_update_never_follows_an_expected_symlink_out_of_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    case, outside = _meshy_case(tmp_path)
    shutil.rmtree(case / "expected")
    target = outside if link == "absolute" else Path("../../../../outside")
    (case / "expected").symlink_to(target)
    before = _tree(outside)
    capsys.readouterr()
    assert main(["recipe", "test", "--update", "--recipes", str(tmp_path / "lib"), "meshy"]) == 1
    err = capsys.readouterr().err
    assert f"{case}/expected: is a symlink to {outside}, outside {tmp_path / 'lib'}" in err
    assert _tree(outside) == before  # not rmtree'd, nothing written


def test_update_never_writes_through_an_expected_symlink_inside_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = _meshy_case(tmp_path)
    elsewhere = case.parent / "elsewhere"
    shutil.move(case / "expected" / "tree", elsewhere)
    (case / "expected" / "tree").symlink_to(Path("../../elsewhere"))
    before = _tree(elsewhere)
    capsys.readouterr()
    assert main(["recipe", "test", "--update", "--recipes", str(tmp_path / "lib"), "meshy"]) == 1
    err = capsys.readouterr().err
    assert f"  - {case}/expected/tree: is a symlink below expected/, which `recipe test " in err
    assert "hint: in a case, expected/ holds no symlinks" in err
    assert _tree(elsewhere) == before


def test_a_before_symlink_outside_is_neither_copied_nor_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, outside = _meshy_case(tmp_path)
    (case / "before" / "secret.yaml").symlink_to(Path("../../../../../outside/secret.yaml"))
    expected = _tree(case / "expected")
    capsys.readouterr()
    assert main(["recipe", "test", "--update", "--recipes", str(tmp_path / "lib"), "meshy"]) == 1
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert f"{case}/before/secret.yaml: is a symlink to {outside}/secret.yaml, outside" in err
    assert _tree(case / "expected") == expected


def test_an_absolute_before_symlink_is_refused_and_a_relative_one_inside_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = _meshy_case(tmp_path)
    notes = case / "before" / "docs" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("read me\n")
    (case / "before" / "README").symlink_to(notes)
    capsys.readouterr()
    assert main(["recipe", "test", "--recipes", str(tmp_path / "lib"), "meshy"]) == 1
    assert f"{case}/before/README: is an absolute symlink" in capsys.readouterr().err
    (case / "before" / "README").unlink()
    (case / "before" / "README").symlink_to(Path("docs/notes.txt"))
    assert main(["recipe", "test", "--update", "--recipes", str(tmp_path / "lib"), "meshy"]) == 0
    # the copy kept the link (as a checkout would), so the result tree has its content
    assert (case / "expected" / "tree" / "README").read_text() == "read me\n"


@pytest.mark.parametrize(
    "where", ["c1/before/loop", "c1/expected/tree/loop", "c1/loop", "templates/loop", "loop"]
)
def test_a_symlink_loop_in_a_library_or_case_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    case, _ = _meshy_case(tmp_path)
    link = (case.parent if where.startswith("c1/") else tmp_path / "lib" / "meshy") / where
    link.symlink_to(link.name)
    capsys.readouterr()
    assert main(["recipe", "test", "--recipes", str(tmp_path / "lib"), "meshy"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert f"  - {link}: is a symlink loop" in err
