"""Snapshot review: changing one recipe step shows exactly that change in the report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.authoring.snapreport import Rendered, compare, recipe_of, render_report
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import read_tree
from tests.checks.scenarios import snapshot_files
from tests.helpers import RECIPES, build_tree, meshy_files


def _render(recipes: Path, repo: Path) -> list[Rendered]:
    library = load_library([recipes], include_bundled=False)
    plan = make_plan(Workspace(repo), library, PlanRequest(target="meshy@stable-1.1"))
    files = snapshot_files(plan, read_tree(repo))
    return [Rendered("prod/stable-1.1", files, {n: recipe_of(n, plan) for n in files})]


def test_one_changed_step_is_exactly_the_reported_change(tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    shutil.copytree(RECIPES, recipes)
    repo = build_tree(tmp_path / "repo", meshy_files(clusters=("prod",)))
    snapshots = tmp_path / "snapshots"
    for item in _render(recipes, repo):  # the committed snapshots
        for name, text in item.files.items():
            (snapshots / item.id / name).parent.mkdir(parents=True, exist_ok=True)
            (snapshots / item.id / name).write_text(text)
    (snapshots / "prod" / "gone").mkdir()
    (snapshots / "prod" / "gone" / "plan.md").write_text("old\n")
    assert compare(_render(recipes, repo), snapshots).files == []

    recipe = recipes / "meshy" / "stable-1.0-to-stable-1.1.yaml"
    recipe.write_text(
        recipe.read_text().replace("/spec/values/legacyFlag", "/spec/values/oldPolicy")
    )
    drift = compare(_render(recipes, repo), snapshots)
    assert drift.unused == ["prod/gone/plan.md"]
    changed = {(f.recipe, f.name, f.status) for f in drift.files}
    assert changed == {
        ("stable-1.0-to-stable-1.1", "01-stable-1.0-to-stable-1.1-bump.diff", "changed"),
        ("path stable-1.0-to-stable-1.1", "plan.md", "changed"),
    }
    step_diff = next(f.diff for f in drift.files if f.name.endswith(".diff"))
    changes = [
        line
        for line in step_diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # the commit no longer drops legacyFlag but oldPolicy: exactly those lines flip; the
    # rest is the inner diff's hunk header and context window moving with them
    assert [c for c in changes if "legacyFlag" in c or "oldPolicy" in c] == [
        "--    legacyFlag: true",
        "-     oldPolicy: 'all-authenticated'",
        "+     legacyFlag: true",
        "+-    oldPolicy: 'all-authenticated'",
    ]
    others = [c for c in changes if "legacyFlag" not in c and "oldPolicy" not in c]
    assert all(c[1:].startswith(("@@", " ")) for c in others), others

    report = render_report(drift)
    assert report.startswith("## Snapshot review\n")
    assert "### Recipe `stable-1.0-to-stable-1.1`" in report
    assert "#### `prod/stable-1.1` — `01-stable-1.0-to-stable-1.1-bump.diff` (changed)" in report
    assert "```diff\n" in report and "- `snapshots/prod/gone/plan.md`" in report


def test_clean_report_and_fences(tmp_path: Path) -> None:
    assert "match the committed files" in render_report(compare([], tmp_path / "none"))
    rendered = [Rendered("f/s", {"plan.md": "```text\nx\n```\n"}, {"plan.md": "r"})]
    report = render_report(compare(rendered, tmp_path))
    assert "````diff\n" in report  # a fence longer than any backtick run inside


def test_cli_writes_the_report_and_fails_on_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.cli import main

    module = tmp_path / "toy_scenarios.py"
    module.write_text(
        "from types import SimpleNamespace as NS\n"
        "SCENARIOS = [NS(id='fx/one')]\n"
        "def run(scenario, library):\n"
        "    return NS(files={'plan.md': 'new\\n'}, plan=None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "snaps" / "fx" / "one").mkdir(parents=True)
    (tmp_path / "snaps" / "fx" / "one" / "plan.md").write_text("old\n")
    out = tmp_path / "report.md"
    args = ["recipe", "snapshot-report", "--snapshots", str(tmp_path / "snaps"),
            "--scenarios", "toy_scenarios", "--out", str(out)]  # fmt: skip
    assert main(args) == 1
    assert "-old\n+new\n" in out.read_text()
    (tmp_path / "snaps" / "fx" / "one" / "plan.md").write_text("new\n")
    assert main(args) == 0
    capsys.readouterr()


def test_scenarios_from_a_file_and_what_a_missing_one_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.authoring.snapreport import load_scenarios
    from engine.cli import main
    from engine.errors import UsageError

    good = tmp_path / "mine.py"
    good.write_text("SCENARIOS = []\n\ndef run(scenario, library):\n    raise AssertionError\n")
    assert load_scenarios(str(good)).SCENARIOS == []
    (tmp_path / "snapshots").mkdir()
    out = tmp_path / "report.md"
    args = ["--scenarios", str(good), "--snapshots", str(tmp_path / "snapshots")]
    assert main(["recipe", "snapshot-report", *args, "--out", str(out)]) == 0
    assert "The rendered snapshots match the committed files." in out.read_text()
    bare = tmp_path / "bare.py"
    bare.write_text("X = 1\n")
    with pytest.raises(UsageError) as raised:
        load_scenarios(str(bare))
    assert raised.value.message == f"{bare} defines no SCENARIOS and run(scenario, library)"
    assert main(["recipe", "snapshot-report", "--snapshots", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: snapshot folder {tmp_path / 'none'} does not exist\n")


def test_outside_a_checkout_it_says_what_it_needs(tmp_path: Path) -> None:
    """As from a pip-installed package: the scenarios module is not importable from here."""
    (tmp_path / "snapshots").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "recipe", "snapshot-report"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(
        "error: cannot load the snapshot scenarios tests.checks.scenarios: "
        "No module named 'tests'\nhint: snapshot-report renders the scenarios of a library's "
        "own test suite: run it from the root of a Waypath checkout"
    ), done.stderr
    assert "Traceback" not in done.stderr
