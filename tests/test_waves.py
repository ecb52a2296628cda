"""Waves from waypath.yaml in plan and apply --commit; `--to` from waypath.yaml; its schema."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.commands import config as config_command
from engine.commands import plan as plan_command
from engine.errors import UsageError
from tests.commit_helpers import apply, subjects, trailers, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

CONFIG = """\
apiVersion: waypath.dev/v1
kind: Config
components:
  meshy:
    # renovate: datasource=helm depName=meshy-control-plane registryUrl=https://charts.example.com/meshy
    version: stable-2.0.0
waves:
  - name: nonprod
    paths: [clusters/nonprod]
  - name: prod
    paths: ["clusters/prod*"]
    description: production, after nonprod is validated
"""


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def fleet(root: Path, config: str = CONFIG) -> Path:
    """nonprod already at stable-1.1.0, prod still at stable-1.0.0."""
    files = {
        **meshy_files(("nonprod",), pin="1.1.0"),
        **meshy_files(("prod",), pin="1.0.0"),
        "waypath.yaml": config,
    }
    return git_repo(root, files)


def plan_text(repo: Path, **kwargs: object) -> str:
    out = io.StringIO()
    options: dict[str, object] = {
        "repo": repo,
        "target": None,
        "recipe_dirs": [],
        "params": {},
        "assume": {},
        "via": [],
        "allow_unsupported": False,
        "fmt": "text",
        "diff": False,
        "out_file": None,
        **kwargs,
    }
    plan_command.run(out=out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def test_plan_shows_every_wave_in_order_with_the_gate_between(tmp_path: Path) -> None:
    text = plan_text(fleet(tmp_path / "repo"))
    lines = [line.strip() for line in text.splitlines()]
    waves = [line for line in lines if line.startswith("== ")]
    assert waves[0] == "== wave nonprod"
    assert waves[1].startswith("== gate: Validate wave nonprod before wave prod")
    assert waves[2] == "== wave prod"
    # different releases, different paths
    assert "meshy clusters/nonprod [wave nonprod]: stable-1.1.0 -> stable-2.0.0 via stable-1.1-to-stable-2.0" in text
    assert (
        "meshy clusters/prod [wave prod]: stable-1.0.0 -> stable-2.0.0 via "
        "stable-1.0-to-stable-1.1 -> stable-1.1-to-stable-2.0" in text
    )


def test_markdown_plan_has_wave_headings(tmp_path: Path) -> None:
    text = plan_text(fleet(tmp_path / "repo"), fmt="markdown")
    assert text.index("### Wave nonprod") < text.index("> **Gate: Validate wave nonprod")
    assert text.index("> **Gate: Validate wave nonprod") < text.index("### Wave prod")


def test_commits_go_wave_by_wave_with_a_wave_trailer(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    out = apply(repo, target=None)  # the desired release comes from waypath.yaml
    branch = "waypath/meshy-stable-2.0.0"
    assert subjects(repo, f"main..{branch}") == [
        "meshy: suspend meshy before the chart split [nonprod]",
        "meshy: install meshy-crds and meshy-control-plane [nonprod]",
        "meshy: upgrade to stable-1.1.0 [prod]",
        "meshy: suspend meshy before the chart split [prod]",
        "meshy: install meshy-crds and meshy-control-plane [prod]",
    ]
    assert "made 5 commit(s)" in out
    first = trailers(repo, f"{branch}~4")
    assert first["Waypath-Wave"] == "nonprod"
    assert first["Waypath-Phase"] == "1/3 suspend"
    assert trailers(repo, f"{branch}~2") == {
        "Waypath-Recipe": "stable-1.0-to-stable-1.1",
        "Waypath-Phase": "1/1 bump",
        "Waypath-From": "stable-1.0.0",
        "Waypath-To": "stable-1.1.0",
        "Waypath-Wave": "prod",
    }


def test_one_wave_on_its_own_branch_then_the_rest(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    apply(repo, target=None, wave="nonprod")
    assert subjects(repo, "main..waypath/meshy-stable-2.0.0-nonprod") == [
        "meshy: suspend meshy before the chart split [nonprod]",
        "meshy: install meshy-crds and meshy-control-plane [nonprod]",
    ]
    # the whole rollout on that same branch adds the prod commits only
    git(repo, "checkout", "-q", "main")
    out = apply(repo, target=None, branch="waypath/meshy-stable-2.0.0-nonprod")
    assert "made 3 commit(s)" in out
    assert [s.split(" [")[1] for s in subjects(repo, "main..HEAD")] == [
        "nonprod]", "nonprod]", "prod]", "prod]", "prod]"
    ]


def test_unknown_wave_is_an_error(tmp_path: Path) -> None:
    repo = fleet(tmp_path / "repo")
    with pytest.raises(UsageError, match="--wave qa: no such wave"):
        plan_text(repo, wave="qa")


def test_without_waypath_yaml_to_is_required(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    with pytest.raises(UsageError, match="no target: pass --to"):
        plan_text(repo)
    text = plan_text(repo, target="meshy@stable-1.1")
    assert "== wave" not in text  # one wave, no headings


def test_several_components_need_to_or_sync(tmp_path: Path) -> None:
    config = CONFIG.replace("waves:", "  other:\n    version: stable-1.0.0\nwaves:")
    repo = fleet(tmp_path / "repo", config)
    with pytest.raises(UsageError, match="several components"):
        plan_text(repo)


def test_config_schema_validates_the_documented_example() -> None:
    out = io.StringIO()
    config_command.schema(out=out)
    schema = json.loads(out.getvalue())
    example = Path(__file__).parents[1] / "docs" / "examples" / "waypath.yaml"
    jsonschema.validate(yaml.safe_load(example.read_text()), schema)
    jsonschema.validate(yaml.safe_load(CONFIG), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"apiVersion": "waypath.dev/v1", "kind": "Config", "waves": [{}]}, schema)


def test_waypath_yaml_params_apply_only_where_a_recipe_takes_them(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "    version: stable-2.0.0\n",
        "    version: stable-2.0.0\n    params: {pause_prune: 'true', future_param: x}\n",
    )
    repo = fleet(tmp_path / "repo", config)
    text = plan_text(repo)  # future_param: no recipe takes it (yet), no error
    assert "clusters/nonprod/apps.yaml" in text  # pause_prune=true edits the Kustomization
    with pytest.raises(Exception, match="future_param"):
        plan_text(repo, params={"future_param": "x"})  # --set stays strict
