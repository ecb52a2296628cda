"""Snapshots as plain reviewable files in the top-level `snapshots/` folder.

`ScenarioFileExtension` is a syrupy single-file extension whose snapshot index is the
file's path below `snapshots/` (`<fixture>/<scenario>/plan.md`, `.../01-<recipe>-<phase>.diff`):
syrupy reads, compares and (with `--snapshot-update`) writes each file as text, byte for
byte. A mismatch is shown as a unified diff of the stored file against the new output.

One scenario is a folder of files whose number changes with the plan, which syrupy's
unused-snapshot detection (keyed on test names) cannot follow. `ScenarioSnapshot` does
that part: files in the scenario folder that the scenario no longer produces fail the test,
and `--snapshot-update` deletes them. The extension therefore reports nothing to syrupy's
own discovery.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion
    from syrupy.location import PyTestLocation
    from syrupy.types import SerializableData, SerializedData, SnapshotIndex

SNAPSHOT_ROOT = Path(__file__).resolve().parents[1] / "snapshots"


def readable_diff(stored: str | None, received: str, name: str) -> list[str]:
    """A unified diff from the stored snapshot file to what the test produced now."""
    if stored is None:
        return [f"snapshots/{name} does not exist yet (run pytest --snapshot-update)"]
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            stored.splitlines(keepends=True),
            received.splitlines(keepends=True),
            fromfile=f"snapshots/{name} (stored)",
            tofile=f"snapshots/{name} (this run)",
        )
    ]


class ScenarioFileExtension(SingleFileSnapshotExtension):
    """One text file per snapshot; the snapshot index is its path below `snapshots/`."""

    _write_mode = WriteMode.TEXT
    file_extension = ""

    @classmethod
    def get_location(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        return str(SNAPSHOT_ROOT / str(index))

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        return f"{test_location.snapshot_name}[{index}]"

    @classmethod
    def matches_test_location(
        cls, *, test_location: PyTestLocation, snapshot_location: str
    ) -> bool:
        return str(Path(snapshot_location)).startswith(str(SNAPSHOT_ROOT))

    def serialize(self, data: SerializableData, **_: Any) -> SerializedData:
        if not isinstance(data, str):
            raise TypeError(f"scenario snapshots are text, got {type(data).__name__}")
        return data

    def discover_snapshots(
        self, *, test_location: PyTestLocation, ignore_extensions: list[str] | None = None
    ) -> SnapshotCollections:
        return SnapshotCollections()  # stale files are ScenarioSnapshot's job

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> SerializableData | None:
        try:
            # Bytes, not text mode: compare the file as stored, CRLF and all.
            return Path(snapshot_location).read_bytes().decode("utf-8")
        except FileNotFoundError:
            return None

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection: Any, name_order: Any = None) -> None:
        data = next(iter(snapshot_collection)).data
        Path(snapshot_collection.location).write_bytes(str(data).encode("utf-8"))

    def diff_lines(
        self, serialized_data: SerializedData, snapshot_data: SerializedData
    ) -> Iterator[str]:
        yield from readable_diff(str(snapshot_data), str(serialized_data), "(this file)")


class ScenarioSnapshot:
    """Compare (or, with --snapshot-update, write) one scenario folder of snapshot files."""

    def __init__(self, snapshot: SnapshotAssertion, update: bool) -> None:
        self.snapshot = snapshot.use_extension(ScenarioFileExtension)
        self.update = update

    def assert_folder(self, folder: str, files: Mapping[str, str]) -> None:
        problems: list[str] = []
        for name, text in sorted(files.items()):
            rel = f"{folder}/{name}"
            stored = ScenarioFileExtension().read_snapshot_data_from_location(
                snapshot_location=str(SNAPSHOT_ROOT / rel), snapshot_name=rel, session_id=""
            )
            matched = self.snapshot(name=rel) == text  # syrupy records the assertion
            if not matched:
                problems.extend(readable_diff(None if stored is None else str(stored), text, rel))
        problems.extend(self._stale(folder, set(files)))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)

    def _stale(self, folder: str, expected: set[str]) -> list[str]:
        base = SNAPSHOT_ROOT / folder
        stale = (
            sorted(
                p
                for p in base.rglob("*")
                if p.is_file() and p.relative_to(base).as_posix() not in expected
            )
            if base.is_dir()
            else []
        )
        if self.update:
            for path in stale:
                path.unlink()
            return []
        return [
            f"snapshots/{p.relative_to(SNAPSHOT_ROOT).as_posix()} is no longer produced by this "
            "scenario (run pytest --snapshot-update to delete it)"
            for p in stale
        ]


def orphan_folders(known: set[str], update: bool) -> list[str]:
    """Scenario folders (`<fixture>/<scenario>`) in snapshots/ that no scenario owns."""
    if not SNAPSHOT_ROOT.is_dir():
        return []
    found = sorted(
        p.relative_to(SNAPSHOT_ROOT).as_posix()
        for p in SNAPSHOT_ROOT.glob("*/*")
        if p.is_dir() and p.relative_to(SNAPSHOT_ROOT).as_posix() not in known
    )
    if update:
        import shutil

        for folder in found:
            shutil.rmtree(SNAPSHOT_ROOT / folder)
        for parent in SNAPSHOT_ROOT.iterdir():
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
        return []
    return [
        f"snapshots/{f} belongs to no scenario (pytest --snapshot-update deletes it)" for f in found
    ]
