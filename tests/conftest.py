"""Shared pytest fixtures."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.snapshot_ext import ScenarioSnapshot


@pytest.fixture
def scenario_snapshot(
    snapshot: SnapshotAssertion, request: pytest.FixtureRequest
) -> ScenarioSnapshot:
    """Compare a folder of plain snapshot files under snapshots/ (see tests/snapshot_ext.py)."""
    return ScenarioSnapshot(snapshot, update=bool(request.config.option.update_snapshots))
