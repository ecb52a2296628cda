"""Shared pytest fixtures."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.k8s_tools import k8s_tools, report_header
from tests.snapshot_ext import ScenarioSnapshot

__all__ = ["k8s_tools"]


def pytest_report_header() -> str:
    return report_header()


@pytest.fixture
def scenario_snapshot(
    snapshot: SnapshotAssertion, request: pytest.FixtureRequest
) -> ScenarioSnapshot:
    """Compare a folder of plain snapshot files under snapshots/ (see tests/snapshot_ext.py)."""
    return ScenarioSnapshot(snapshot, update=bool(request.config.option.update_snapshots))
