"""Shared pytest fixtures."""

from __future__ import annotations

import os
import tempfile

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.k8s_tools import k8s_tools, report_header
from tests.snapshot_ext import ScenarioSnapshot

__all__ = ["k8s_tools"]

# The bundled library's cache (engine/recipe/libcache.py) goes to a folder of this session,
# not the user's ~/.cache: subprocesses of the tests inherit it.
os.environ.setdefault("WAYPATH_CACHE_DIR", tempfile.mkdtemp(prefix="waypath-test-cache-"))


def pytest_report_header() -> str:
    return report_header()


@pytest.fixture
def scenario_snapshot(
    snapshot: SnapshotAssertion, request: pytest.FixtureRequest
) -> ScenarioSnapshot:
    """Compare a folder of plain snapshot files under snapshots/ (see tests/snapshot_ext.py)."""
    return ScenarioSnapshot(snapshot, update=bool(request.config.option.update_snapshots))
