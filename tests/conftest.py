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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzz harness's figures (cases per input kind, exit codes, the costliest case);
    `WAYPATH_FUZZ_TALLY=FILE` also writes them as JSON."""
    from tests.fuzz.harness import TALLY

    if not TALLY.cases:
        return
    for line in TALLY.lines():
        terminalreporter.write_line(line)
    if os.environ.get("WAYPATH_FUZZ_TALLY"):
        import json

        with open(os.environ["WAYPATH_FUZZ_TALLY"], "w") as handle:
            json.dump(TALLY.as_json(), handle, indent=1, sort_keys=True)
