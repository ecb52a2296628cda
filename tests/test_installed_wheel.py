"""Waypath as a user gets it: the wheel, installed (not editable) into a fresh venv.

Runs the worked example of docs/authoring.md there (every `sh` block, in order), the
bundled recipe cases, lint, snapshot-report from a checkout of the tests, and checks that
nothing was written into the installed package. Marked `installed` (a wheel build and a
venv: ~30 s); `.ci/run` runs it, `pytest -m installed` alone runs it locally.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.authoring_walkthrough import NEW_RECIPE, fill_todos, sh_blocks

pytestmark = pytest.mark.installed

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "engine", "recipes", "examples"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info")


@dataclass(frozen=True)
class Install:
    venv: Path
    package: Path  # site-packages/engine
    env: dict[str, str]

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=300
        )

    def bash(self, cwd: Path, script: str) -> subprocess.CompletedProcess[str]:
        return self.run(cwd, "bash", "-euo", "pipefail", "-c", script)


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Install:
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=IGNORE)
        else:
            shutil.copy2(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", root / "dist", source], check=True)
    [wheel] = (root / "dist").glob("waypath-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYPATH_", "PYTHON"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import engine, os; print(os.path.dirname(engine.__file__))"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    package = Path(where.stdout.strip())
    assert package.is_relative_to(venv), package  # the wheel's copy, not the source tree
    return Install(venv, package, env)


def test_the_authoring_guide_runs_from_an_installed_wheel(
    installed: Install, tmp_path: Path
) -> None:
    before = _files(installed.package)
    first, *rest = sh_blocks()
    done = installed.bash(tmp_path, first)
    assert done.returncode == 0, done.stderr
    assert f"wrote my-recipes/linkerd/{NEW_RECIPE}" in done.stdout
    assert "added enterprise-2.20.2 to the releases of my-recipes/linkerd/component.yaml" in (
        done.stdout
    )
    fill_todos(tmp_path / "my-recipes")
    for block in rest:
        done = installed.bash(tmp_path, block)
        assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    assert "ok      linkerd/bel-2.19-to-2.20 (enterprise-2.19-to-enterprise-2.20)" in done.stdout
    assert "3 case(s), 0 failed" in done.stdout
    written = sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.iterdir())
    assert written == ["my-recipes"]
    assert _files(installed.package) == before


def test_bundled_lint_and_cases_pass_and_write_nothing(installed: Install, tmp_path: Path) -> None:
    before = _files(installed.package)
    lint = installed.run(tmp_path, "waypath", "recipe", "lint")
    assert (lint.returncode, lint.stdout.splitlines()[-1]) == (0, "recipes ok (0 warning(s))")
    cases = installed.run(tmp_path, "waypath", "recipe", "test")
    assert cases.returncode == 0, cases.stdout
    assert cases.stdout.splitlines()[-1] == "2 case(s), 0 failed"
    new = installed.run(
        tmp_path, "waypath", "recipe", "new", "linkerd", "--from", "enterprise-2.19",
        "--to", "enterprise-2.20.2",
    )  # fmt: skip
    assert new.returncode == 1
    assert "belong to the installed Waypath package" in new.stderr
    assert "give --recipes DIR" in new.stderr
    module = installed.run(tmp_path, "python", "-m", "engine", "--version")
    assert (module.returncode, module.stdout.strip()) == (0, "waypath, version 0.1.0")
    assert list(tmp_path.iterdir()) == []
    assert _files(installed.package) == before


def test_snapshot_report_from_a_checkout_and_outside_one(
    installed: Install, tmp_path: Path
) -> None:
    before = _files(installed.package)
    checkout = tmp_path / "checkout"
    for name in ["tests/__init__.py", "tests/checks", "tests/fixtures", "examples", "snapshots"]:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, checkout / name, ignore=IGNORE)
        else:
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name)
    report = installed.run(checkout, "waypath", "recipe", "snapshot-report", "--out", "r.md")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "The rendered snapshots match the committed files." in (checkout / "r.md").read_text()
    outside = installed.run(tmp_path, "waypath", "recipe", "snapshot-report", "--snapshots", ".")
    assert outside.returncode == 1, outside.stderr
    assert "cannot load the snapshot scenarios tests.checks.scenarios" in outside.stderr
    assert "run it from the root of a Waypath checkout" in outside.stderr
    assert _files(installed.package) == before


def test_plan_and_verify_run_from_an_installed_wheel(installed: Install, tmp_path: Path) -> None:
    # The wheel must carry every engine subpackage (engine.repo.flux, engine.verify) and
    # verify's runtime dependency (jsonschema): `plan` imports both.
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples", repo)
    plan = installed.run(tmp_path, "waypath", "plan", str(repo), "--to", "linkerd@stable-2.12")
    assert plan.returncode == 2, plan.stderr
    verify = installed.run(tmp_path, "waypath", "verify", str(repo), "--format", "json")
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    # No Flux CRDs ship in the wheel: the schema checks say skipped, never passed.
    assert report["tools"]["schemas"].startswith("missing: no Flux CRD schemas found")
    assert "pass" not in report["counts"]["schema"]
