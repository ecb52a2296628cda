"""Preconditions between commits (engine/planning/preconditions.py): how much they read."""

from __future__ import annotations

import pytest

from engine.planning import preconditions
from engine.planning.planmodel import Commit, FileChange
from engine.yamltext.yamldoc import parse_file
from tests.helpers import CountingList, count_calls

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: mesh
spec:
{spec}"""


def _commit(number: int, instances: list[str], changes: list[FileChange]) -> Commit:
    return Commit(f"phase {number}", "", "r", f"p{number}", number, 2, "1.0.0", "2.0.0",
                  instances, changes=changes)  # fmt: skip


def test_each_file_is_parsed_once_per_content_and_scopes_are_not_scanned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 12: each commit re-parsed the files it changes before and after (the "before"
    # of one commit is the "after" of the last), and found the scope of every changed
    # release by scanning all of the commit's instances: quadratic in a fleet's N clusters.
    parsed = count_calls(monkeypatch, preconditions, "parse_file")
    n = 300
    scopes = [f"clusters/c{i}" for i in range(n)]
    crds = [f"clusters/c{i}/crds.yaml" for i in range(n)]
    cp = [f"clusters/c{i}/cp.yaml" for i in range(n)]
    crds_release = RELEASE.format(name="crds", spec="  interval: 1m\n").encode()
    suspended = RELEASE.format(name="cp", spec="  suspend: true\n").encode()
    resumed = RELEASE.format(name="cp", spec="  dependsOn:\n    - name: crds\n").encode()
    first_scopes, second_scopes = CountingList(scopes), CountingList(scopes)
    first = _commit(1, first_scopes, [FileChange(p, "modified", suspended) for p in cp]
                    + [FileChange(p, "added", crds_release) for p in crds])  # fmt: skip
    second = _commit(2, second_scopes, [FileChange(p, "modified", resumed) for p in cp])
    original = RELEASE.format(name="cp", spec="  interval: 1m\n").encode()

    def read(path: str) -> bytes | None:
        return original if path in cp else None

    preconditions.add_preconditions([first, second], read)
    # cp.yaml: as in the repo, after commit 1, after commit 2; crds.yaml: after commit 1.
    assert sorted(parsed) == sorted(cp * 3 + crds)
    assert first_scopes.touched == n and second_scopes.touched == n
    # ... and the trailers are the ones the scan gave: commit 2 needs each cluster's CRDs.
    assert f"Waypath-Provides: ready mesh/crds {crds[7]}\n" in first.body + "\n"
    assert f"Waypath-Requires: ready mesh/crds {crds[7]}\n" in second.body + "\n"


def test_a_file_without_a_helmrelease_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preconditions, "parse_file", lambda *_: pytest.fail("parsed"))
    change = FileChange("a/cm.yaml", "added", b"kind: ConfigMap\nmetadata:\n  name: x\n")
    preconditions.add_preconditions([_commit(1, ["a"], [change])], lambda _: None)


def test_contents_the_planner_parsed_are_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planner hands over the data of every content it parsed (a change's `data`, the
    # repo's documents through `parsed`): a split of N clusters parsed 7N files again.
    monkeypatch.setattr(preconditions, "parse_file", lambda *_: pytest.fail("parsed"))
    before = RELEASE.format(name="cp", spec="  interval: 1m\n")
    after = RELEASE.format(name="cp", spec="  suspend: true\n")

    first = _commit(1, ["a"], [FileChange("a/cp.yaml", "modified", after.encode(),
                                          data=[d.data for d in parse_file("x", after)])])
    second = _commit(2, ["a"], [FileChange("a/cp.yaml", "deleted", None)])
    preconditions.add_preconditions(
        [first, second], lambda _: before.encode(),
        parsed=lambda _: [d.data for d in parse_file("x", before)],
    )  # fmt: skip
    assert second.body == "\nWaypath-Requires: suspended mesh/cp a/cp.yaml"
    assert first.body == "\nWaypath-Provides: suspended mesh/cp a/cp.yaml"
