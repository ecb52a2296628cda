from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from engine.errors import Location, Problem, RecipeError
from engine.recipe.graph import DuplicateHopError
from engine.recipe.loading import (
    bundled_recipes_dir,
    component_folders,
    load_library,
    load_yaml_model,
    recipe_json_schema,
)
from engine.recipe.models import Recipe

BROKEN = Path(__file__).parent / "recipes_broken"

COMPONENT = """\
apiVersion: waypath.dev/v1
kind: Component
name: linkerd
editions:
  - {name: oss, prefix: stable, versions: "<2.15.0"}
  - {name: enterprise, prefix: enterprise, versions: ">=2.15.0"}
releases:
  - {version: stable-2.11.5, charts: {linkerd2: 2.11.5}}
  - {version: stable-2.12.6, charts: {linkerd-control-plane: 1.9.8}}
  - {version: stable-2.14.10, charts: {linkerd-control-plane: 1.16.11}}
  - {version: enterprise-2.15.7, charts: {linkerd-enterprise-control-plane: 2.15.7}}
detectors:
  - {name: core, charts: [linkerd2, linkerd-control-plane, linkerd-enterprise-control-plane]}
"""

RECIPE = """\
apiVersion: waypath.dev/v1
kind: Recipe
component: linkerd
from: {{edition: {src}, versions: "{versions}"}}
to: {{edition: {dst}, version: {version}}}
summary: Upgrade
supported: {supported}
phases:
  - name: upgrade
    message: "linkerd: upgrade"
    steps:
      - patch:
          select: {{kind: HelmRelease, chart: linkerd2}}
          ops: [{{op: add, path: /spec/suspend, value: true}}]
"""


def recipe(src: str, versions: str, dst: str, version: str, supported: bool = True) -> str:
    return RECIPE.format(
        src=src, versions=versions, dst=dst, version=version, supported=str(supported).lower()
    )


def build(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def problems_of(exc: pytest.ExceptionInfo[RecipeError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --------------------------------------------------------------------------- one file


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (
            "unknown-key.yaml",
            ":13:13: phases[0].steps[0].patch.select.kindd: "
            "unknown key `kindd`; did you mean `kind`?",
        ),
        (
            "wrong-type.yaml",
            ":7:12: to.version: expected a string, got a number (2.12); "
            "quote it, as YAML reads it as a number",
        ),
        ("missing-field.yaml", ":8:5: phases[0].message: missing required key `message`"),
        (
            "bad-step-kind.yaml",
            ":12:9: phases[0].steps[1]: unknown step kind `pach`; did you mean `patch`?",
        ),
        (
            "yaml-syntax.yaml",
            ":5:1: YAML syntax error: expected ',' or '}', but got '<scalar>'; "
            "while parsing a flow mapping that starts at line 4",
        ),
    ],
)
def test_located_problem(name: str, problem: str) -> None:
    path = BROKEN / name
    with pytest.raises(RecipeError) as exc:
        load_yaml_model(path, Recipe)
    assert problems_of(exc) == [f"{path}{problem}"]


def test_every_problem_of_a_file_at_once() -> None:
    path = BROKEN / "many-mistakes.yaml"
    with pytest.raises(RecipeError) as exc:
        load_yaml_model(path, Recipe)
    assert exc.value.message == "recipe file has 6 problems"
    assert [(p.location, p.field_path, p.message) for p in exc.value.problems] == [
        (Location(str(path), 6, 1), "sumary", "unknown key `sumary`; did you mean `summary`?"),
        (
            Location(str(path), 8, 21),
            "params.namespace.type",
            "expected 'string', 'boolean', 'integer' or 'choice', got `text`",
        ),
        (
            Location(str(path), 14, 16),
            "phases[0].steps[0].note.titel",
            "unknown key `titel`; did you mean `title`?",
        ),
        (
            Location(str(path), 15, 9),
            "phases[0].steps[1].template",
            "give exactly one of `source` or `inline`",
        ),
        (
            Location(str(path), 17, 27),
            "phases[0].steps[2].patch.select.chart",
            "expected a string or a list, got a number (5)",
        ),
        (Location(str(path), 18, 11), "phases[0].steps[2].patch.ops", "needs at least 1 item"),
    ]


def test_unknown_key_without_a_close_match_lists_keys(tmp_path: Path) -> None:
    path = (
        build(tmp_path, {"r.yaml": recipe("oss", "2.11.x", "oss", "2.12.6") + "zzz: 1\n"})
        / "r.yaml"
    )
    with pytest.raises(RecipeError) as exc:
        load_yaml_model(path, Recipe)
    assert exc.value.problems[0].message == (
        "unknown key `zzz`; expected one of: `apiVersion`, `kind`, `id`, `component`, `from`, "
        "`to`, `summary`, `description`, `supported`, `unverified`, `params`, `phases`"
    )


def test_a_good_recipe_loads_with_aliases(tmp_path: Path) -> None:
    path = build(tmp_path, {"r.yaml": recipe("oss", "2.11.x", "oss", "2.12.6")}) / "r.yaml"
    loaded = load_yaml_model(path, Recipe)
    assert (loaded.from_.versions, loaded.to.version) == ("2.11.x", "2.12.6")
    assert loaded.phases[0].steps[0].model_dump(by_alias=True, exclude_defaults=True) == {
        "patch": {
            "select": {"kind": "HelmRelease", "chart": "linkerd2"},
            "ops": [{"op": "add", "path": "/spec/suspend", "value": True}],
        }
    }


# --------------------------------------------------------------------------- library


def test_load_library(tmp_path: Path) -> None:
    lib = build(
        tmp_path / "lib",
        {
            "linkerd/component.yaml": COMPONENT,
            "linkerd/2.11-to-2.12.yaml": recipe("oss", ">=2.11.0 <2.12.0", "oss", "2.12.6"),
            "linkerd/2.12-to-2.14.yml": recipe("oss", "2.12.x", "oss", "2.14.10"),
            "linkerd/templates/crds.yaml": "not: [a recipe",
            "linkerd/tests/case/input.yaml": "kind: HelmRelease\n",
        },
    )
    extra = build(
        tmp_path / "extra",
        {"linkerd/bel/to-bel.yaml": recipe("oss", "2.14.x", "enterprise", "2.15.7", False)},
    )
    library = load_library([lib, extra], include_bundled=False)
    assert list(library.components) == ["linkerd"]
    assert [(s.id, s.path, s.folder) for s in library.recipes_for("linkerd")] == [
        ("2.11-to-2.12", lib / "linkerd/2.11-to-2.12.yaml", lib / "linkerd"),
        ("2.12-to-2.14", lib / "linkerd/2.12-to-2.14.yml", lib / "linkerd"),
        ("to-bel", extra / "linkerd/bel/to-bel.yaml", extra / "linkerd/bel"),
    ]
    catalog = library.catalog("linkerd")
    graph = library.graph("linkerd")
    assert graph is library.graph("linkerd")
    start, target = catalog.parse_release("2.11.5"), catalog.resolve_target("enterprise-2.15")
    assert [e.recipe for e in graph.path(start, target, allow_unsupported=True)] == [
        "2.11-to-2.12",
        "2.12-to-2.14",
        "to-bel",
    ]
    assert [e.supported for e in graph.edges] == [True, True, False]


def test_duplicate_recipe_id_across_dirs(tmp_path: Path) -> None:
    first = build(tmp_path / "a", {"linkerd/component.yaml": COMPONENT})
    second = tmp_path / "b"
    for folder in (first, second):
        (folder / "linkerd").mkdir(parents=True, exist_ok=True)
        shutil.copy(BROKEN / "duplicate-id.yaml", folder / "linkerd" / "dup.yaml")
    with pytest.raises(RecipeError) as exc:
        load_library([first, second], include_bundled=False)
    assert exc.value.message == "1 problem in 1 recipe file"
    assert problems_of(exc) == [
        f"{second}/linkerd/dup.yaml:3:5: id: recipe id `linkerd-2.11-to-2.12` is already "
        f"used by {first}/linkerd/dup.yaml"
    ]


def test_unknown_edition_and_component(tmp_path: Path) -> None:
    lib = build(
        tmp_path,
        {
            "linkerd/component.yaml": COMPONENT,
            "linkerd/bel.yaml": (BROKEN / "unknown-edition.yaml").read_text(),
            "istio/1.0-to-1.1.yaml": recipe("oss", "1.0.x", "oss", "1.1.0").replace(
                "component: linkerd", "component: istio"
            ),
        },
    )
    with pytest.raises(RecipeError) as exc:
        load_library([lib], include_bundled=False)
    assert exc.value.message == "2 problems in 2 recipe files"
    assert problems_of(exc) == [
        f"{lib}/istio/1.0-to-1.1.yaml:3:12: component: unknown component `istio` (known: linkerd)",
        f"{lib}/linkerd/bel.yaml:5:15: to.edition: component `linkerd` has no edition "
        "`enterprize`; did you mean `enterprise`?",
    ]


def test_target_outside_the_catalog_and_bad_range(tmp_path: Path) -> None:
    lib = build(
        tmp_path,
        {
            "linkerd/component.yaml": COMPONENT,
            "linkerd/r.yaml": recipe("oss", ">=2.11 <<2.12", "oss", "2.12.9"),
        },
    )
    with pytest.raises(RecipeError) as exc:
        load_library([lib], include_bundled=False)
    assert problems_of(exc) == [
        f"{lib}/linkerd/r.yaml:4:32: from.versions: `>=2.11 <<2.12` is not a version "
        "constraint: cannot read `<<2.12`",
        f"{lib}/linkerd/r.yaml:5:29: to.version: stable-2.12.9 is not a known release; add it "
        f"to `releases` in {lib}/linkerd/component.yaml",
    ]


def test_errors_from_all_files_are_raised_once(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    build(lib, {"linkerd/component.yaml": COMPONENT})
    for name in ("unknown-key.yaml", "wrong-type.yaml", "yaml-syntax.yaml"):
        shutil.copy(BROKEN / name, lib / "linkerd" / name)
    with pytest.raises(RecipeError) as exc:
        load_library([lib], include_bundled=False)
    assert exc.value.message == "3 problems in 3 recipe files"
    assert [p.location.path.rsplit("/", 1)[-1] for p in exc.value.problems if p.location] == [
        "unknown-key.yaml",
        "wrong-type.yaml",
        "yaml-syntax.yaml",
    ]


def test_graph_problems_surface_from_the_library(tmp_path: Path) -> None:
    lib = build(
        tmp_path,
        {
            "linkerd/component.yaml": COMPONENT,
            "linkerd/a.yaml": recipe("oss", "2.11.x", "oss", "2.12.6"),
            "linkerd/b.yaml": recipe("oss", ">=2.11.0 <2.12.0", "oss", "2.12.6"),
        },
    )
    library = load_library([lib], include_bundled=False)
    with pytest.raises(DuplicateHopError) as exc:
        library.graph("linkerd")
    assert exc.value.recipes == ("a", "b")


def test_missing_dir_and_unknown_component(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as exc:
        load_library([tmp_path / "nope"], include_bundled=False)
    assert exc.value.message == f"recipe folder {tmp_path / 'nope'} does not exist"
    assert exc.value.hint == "give a folder holding <component>/component.yaml and recipe files"
    library = load_library([], include_bundled=False)
    with pytest.raises(RecipeError) as exc:
        library.graph("linkerd")
    assert exc.value.message == "unknown component `linkerd`"


def test_bundled_recipes_dir_in_a_source_checkout() -> None:
    assert bundled_recipes_dir() == Path(__file__).resolve().parent.parent / "recipes"


# --------------------------------------------------------------------------- schema


def _yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def test_schema_validates_good_files_and_rejects_bad_ones() -> None:
    schema = recipe_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://waypath.dev/schemas/v1/waypath.schema.json"
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(validator.iter_errors(_yaml(recipe("oss", "2.11.x", "oss", "2.12.6")))) == []
    assert list(validator.iter_errors(_yaml(COMPONENT))) == []
    bad = _yaml((BROKEN / "unknown-key.yaml").read_text())
    assert not validator.is_valid(bad)
    bad_step = _yaml((BROKEN / "bad-step-kind.yaml").read_text())
    assert not validator.is_valid(bad_step)
    assert not validator.is_valid({"apiVersion": "waypath.dev/v1", "kind": "Recipee"})


def test_problem_rendering() -> None:
    with pytest.raises(RecipeError) as exc:
        load_yaml_model(BROKEN / "missing-field.yaml", Recipe)
    assert exc.value.render() == (
        f"error: {BROKEN / 'missing-field.yaml'}: recipe file has 1 problem\n"
        f"  - {BROKEN / 'missing-field.yaml'}:8:5: phases[0].message: "
        "missing required key `message`\n"
        "hint: see docs/recipes.md; editors check files as you type with the schema from "
        "`waypath recipe schema`"
    )
    assert isinstance(exc.value.problems[0], Problem)


def test_component_file_problems(tmp_path: Path) -> None:
    typo = COMPONENT.replace("{name: oss, prefix: stable", "{name: oss, prefx: stable")
    lib = build(tmp_path, {"linkerd/component.yaml": typo})
    with pytest.raises(RecipeError) as exc:
        load_library([lib], include_bundled=False)
    assert problems_of(exc) == [
        f"{lib}/linkerd/component.yaml:5:17: editions[0].prefx: unknown key `prefx`; "
        "did you mean `prefix`?"
    ]


def test_component_catalog_problem(tmp_path: Path) -> None:
    bad = COMPONENT.replace("version: stable-2.12.6", "version: edge-24.8.2")
    lib = build(tmp_path, {"linkerd/component.yaml": bad})
    with pytest.raises(RecipeError) as exc:
        load_library([lib], include_bundled=False)
    assert problems_of(exc) == [
        f"{lib}/linkerd/component.yaml:9:15: releases[1].version: `edge-24.8.2` is not a release "
        "(known releases of linkerd: stable-2.11.5)"
    ]


def test_a_library_reads_only_its_component_folders(tmp_path: Path) -> None:
    """`--recipes /` or a home folder: first-level folders that are no component folder
    (no component.yaml, not named after a component, no YAML at their top) are not
    walked — neither for recipes nor for the symlink check (the fuzz harness's hang)."""
    lib = build(
        tmp_path,
        {
            "linkerd/component.yaml": COMPONENT,
            "junk/deep/deeper/broken.yaml": "{{{ not a recipe",
        },
    )
    (lib / "junk" / "deep" / "out").symlink_to("/etc/passwd")
    (lib / "junk" / "loop").symlink_to(lib / "junk" / "loop")
    library = load_library([lib], include_bundled=False)
    assert sorted(library.components) == ["linkerd"]
    assert component_folders([lib]) == [lib / "linkerd"]
    # Named after a component, a folder without component.yaml adds recipes to it.
    (lib / "more").mkdir()
    assert component_folders([lib], also=["more"]) == [lib / "linkerd", lib / "more"]


def test_a_recipe_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text("a: 1\n")
    with pytest.raises(RecipeError) as exc:
        load_library([tmp_path / "lib.yaml"], include_bundled=False)
    assert exc.value.message == f"recipe folder {tmp_path / 'lib.yaml'} is not a folder"
    with pytest.raises(RecipeError) as exc:
        load_library([tmp_path / "missing"], include_bundled=False)
    assert exc.value.message == f"recipe folder {tmp_path / 'missing'} does not exist"
