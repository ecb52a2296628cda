"""`waypath gate check`: fail when a merge would land a phase together with the one it
depends on (or, with --kubeconfig, before the cluster reached that phase's state)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from engine.error_handler import EXIT_OK
from engine.errors import Problem, WaypathError
from engine.gate.check import check_range
from engine.gate.live import live_problem
from engine.planning.preconditions import UNSET


class GateError(WaypathError):
    """A merge would break a precondition between phases."""


def check(
    *,
    repo: Path,
    base: str,
    head: str,
    kubeconfig: str | None,
    context: str | None,
    cluster: str | None,
    out: TextIO,
) -> int:
    result = check_range(repo.resolve(), base, head)
    waypath = [c for c in result.commits if c.requires or c.provides]
    out.write(
        f"{len(result.commits)} commit(s) in {base}..{head}, {len(waypath)} with preconditions\n"
    )
    problems = [Problem(str(v)) for v in result.violations]
    checked = 0
    if kubeconfig is not None:
        for commit, need in result.pending:
            if cluster and not need.path.startswith(cluster.rstrip("/") + "/"):
                continue
            if need.namespace == UNSET:
                out.write(
                    f"not checked live: {need.name} ({need.path}) gets its namespace from "
                    "kustomize, not from the file\n"
                )
                continue
            checked += 1
            why = live_problem(need, kubeconfig, context)
            if why:
                problems.append(Problem(f"{commit.sha[:12]} {commit.subject}: {why}"))
    if problems:
        raise GateError(
            "this merge would land a phase before the state it depends on is reconciled",
            problems=problems,
            hint="merge the phases one at a time (one merge request per phase: "
            "`waypath apply --commit --stack`), and pass each gate before the next",
        )
    for commit, need in result.pending:
        out.write(f"ok: {commit.sha[:12]} needs {need.state} {need.namespace}/{need.name}"
                  f" ({need.path}), merged earlier\n")
    if kubeconfig is not None:
        out.write(f"ok: {checked} precondition(s) hold in the cluster\n")
    out.write("gate check passed\n")
    return EXIT_OK
