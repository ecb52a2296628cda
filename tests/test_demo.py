"""`waypath demo` (engine/commands/demo.py): a tutorial run in one folder, cleaned up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import main


def test_demo_explains_each_step_and_removes_its_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    folder = re.search(r"^Working in (\S+): ", out, re.M)
    assert folder is not None
    assert out.count(folder.group(1)) == 1  # the path is said once
    assert not Path(folder.group(1)).exists()
    steps = re.findall(r"^(\d)\. ", out, re.M)
    assert steps == ["1", "2", "3", "4", "5", "6"]
    assert "  (manual only, no commit): a phase whose work is done by hand" in out
    assert "  (files already changed): the files already hold this phase's edits" in out
    assert "  nothing to do: no new commit on waypath/linkerd-enterprise-2.16.5" in out
    assert "merge request description written to" not in out
    assert out.rstrip().endswith(
        "and the merge request description (DIR/merge-request.md) to look at."
    )


def test_keep_puts_everything_inside_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "demo"
    assert main(["demo", "--to", "linkerd@stable-2.12", "--keep", str(keep)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert sorted(p.name for p in keep.iterdir()) == ["fleet", "merge-request.md"]
    assert "## Rolling back" in (keep / "merge-request.md").read_text()
    assert out.count(str(keep)) == 1
    assert "`git -C fleet log -p main..waypath/linkerd-stable-2.12.6`" in out


def test_keep_refuses_a_folder_with_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("x")
    assert main(["demo", "--keep", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --keep {tmp_path}: the folder exists and is not empty\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
