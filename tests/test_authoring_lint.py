"""`waypath recipe lint`: the bundled recipes pass; each kind of mistake is found and located."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.authoring.lint import lint
from engine.cli import main

BROKEN = Path(__file__).parent / "recipes_lint_broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if (p / "expected.txt").is_file())


def test_bundled_recipes_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipe", "lint"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("recipes ok")
    # a check that could not run says so, in a line of its own
    assert "note: values-key check skipped for chart versions without reference values" in out


def test_every_kind_of_mistake_has_a_case() -> None:
    codes = {line.split(": ")[1].split(" ")[0] for c in CASES for line in _expected(c)}
    assert codes >= {
        "yaml-syntax", "schema", "unknown-target", "duplicate-id", "duplicate-hop", "backwards",
        "cycle", "unreachable", "range-gap", "multiple-heads", "template-syntax",
        "undefined-variable", "undeclared-param", "template-missing", "patch-path",
        "values-key", "todo",
    }  # fmt: skip


def _expected(case: str) -> list[str]:
    return (BROKEN / case / "expected.txt").read_text().splitlines()


@pytest.mark.parametrize("case", CASES)
def test_broken_recipe_is_reported_with_location_and_code(case: str) -> None:
    folder = BROKEN / case
    result = lint([folder])
    shown = [
        str(p).replace(str(folder) + "/", "", 1).replace(_rel(folder) + "/", "", 1)
        for p in result.problems
    ]
    assert shown == _expected(case)
    assert result.errors, "every broken case must fail the lint"


def _rel(folder: Path) -> str:
    import os

    return os.path.relpath(folder)


def test_exit_code_and_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recipe", "lint", str(BROKEN / "patch-path")]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "patch-path:" in x)
    path, row, col, rest = line.split(":", 3)
    assert path.endswith("stable-1.0-to-stable-1.1.yaml") and row == "14" and col == "31"
    assert rest.startswith(" patch-path: `chartt` is not a field")


def test_missing_reference_is_said_not_silent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from engine.authoring import reference

    monkeypatch.setenv("WAYPATH_REFERENCE", str(tmp_path / "nowhere"))
    reference.crd_schemas.cache_clear()
    result = lint([BROKEN / "todo"])
    assert any(
        n.startswith("values-key check skipped: no reference chart values") for n in result.notes
    )
    assert [p.code for p in result.problems] == ["todo"]


def test_builtin_field_list_reads_keyed_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the Flux CRDs (as in a pre-commit hook), `valuesFrom[targetPath=...]` is the
    field `valuesFrom`: the bundled recipes pass, and a real typo is still found."""
    from engine.authoring import reference

    monkeypatch.setenv("WAYPATH_FLUX_SCHEMAS", str(tmp_path / "nowhere"))
    reference.crd_schemas.cache_clear()
    try:
        assert main(["recipe", "lint"]) == 0, capsys.readouterr().out
        assert "note: patch-path check used the built-in HelmRelease field list" in (
            capsys.readouterr().out
        )
        from engine.authoring.lint_patches import _schema_problem

        assert _schema_problem("HelmRelease", "/spec/valuesFrom[targetPath=a.b]/name") is None
        assert _schema_problem("HelmRelease", "/spec/valuesFromm[targetPath=a]") == (
            "`valuesFromm` is not a field of `/spec` in a HelmRelease; did you mean `valuesFrom`?"
        )
    finally:
        reference.crd_schemas.cache_clear()


# --- `recipe lint PATH` lints exactly PATH ---------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A folder that is not a library: the meshy component beside a broken one and junk,
    as when `recipe lint ~/work/meshy` is run in a home folder."""
    from tests.helpers import RECIPES

    shutil.copytree(RECIPES / "meshy", tmp_path / "meshy")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "component.yaml").write_text("kind: Component\nname: [broken\n")
    (tmp_path / "notes.yaml").write_text("junk: [\n")
    recipe = tmp_path / "meshy" / "stable-1.0-to-stable-1.1.yaml"
    recipe.write_text(recipe.read_text().replace("\nsummary:", "\n# TODO(waypath): why\nsummary:"))
    return tmp_path


def _lint_lines(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["recipe", "lint", *args])
    out, err = capsys.readouterr()
    return code, [line for line in (out + err).splitlines() if not line.startswith("note: ")]


def test_lint_of_a_component_folder_lints_that_component_not_its_siblings(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _lint_lines(capsys, str(home / "meshy"))
    assert (code, lines) == (
        1,
        [f"{home}/meshy/stable-1.0-to-stable-1.1.yaml:6:3: todo: why", "1 problem(s), 0 warning(s)"],
    )
    code, lines = _lint_lines(capsys, str(home / "meshy" / "component.yaml"))
    assert lines[0] == f"{home}/meshy/stable-1.0-to-stable-1.1.yaml:6:3: todo: why"


def test_lint_of_a_recipe_file_lints_that_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _lint_lines(capsys, str(home / "meshy" / "stable-1.1-to-stable-2.0.yaml")) == (
        0,
        ["recipes ok (0 warning(s))"],
    )
    code, lines = _lint_lines(capsys, str(home / "meshy" / "stable-1.0-to-stable-1.1.yaml"))
    assert (code, lines[0]) == (1, f"{home}/meshy/stable-1.0-to-stable-1.1.yaml:6:3: todo: why")


def test_lint_of_a_library_lints_every_component(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _lint_lines(capsys, str(home))
    assert code == 1
    assert [line.split(": ")[0] for line in lines[:-1]] == [
        f"{home}/meshy/stable-1.0-to-stable-1.1.yaml:6:3",
        f"{home}/other/component.yaml:3:1",
    ]


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("notes.yaml", "notes.yaml is not a recipe file (a .yaml file in a folder with component.yaml"),
        ("meshy/templates", "meshy/templates is neither a recipe library (a folder of <component>/"),
        ("meshy/templates/crds.yaml.j2", "meshy/templates/crds.yaml.j2 is not a recipe file"),
        ("meshy/tests/c1/case.yaml", "meshy/tests/c1/case.yaml is not a recipe file"),
    ],
)
def test_lint_of_something_else_is_a_clear_error(
    home: Path, capsys: pytest.CaptureFixture[str], path: str, says: str
) -> None:
    (home / "meshy" / "tests" / "c1").mkdir(parents=True)
    (home / "meshy" / "tests" / "c1" / "case.yaml").write_text("target: meshy@stable-1.1\n")
    code, lines = _lint_lines(capsys, str(home / path))
    assert code == 1
    assert lines[0].startswith(f"error: {home}/{says}")
    assert lines[1].startswith("hint: give a recipe library, a component folder or a recipe file")


def test_lint_reports_a_symlink_out_of_the_library_without_reading_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "meshy" / "extra.yaml").symlink_to(home / "notes.yaml")
    code, lines = _lint_lines(capsys, str(home / "meshy"))
    assert code == 1
    assert lines[0].startswith(
        f"{home}/meshy/extra.yaml:1:1: symlink: is a symlink to {home}/notes.yaml, outside {home}/meshy"
    )
    assert not any("junk" in line or "yaml-syntax" in line for line in lines)
