"""engine/verify/leaks.py through `verify_plan`: a commit of a wave that changes what a
cluster outside the wave renders fails, naming the cluster and the files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.planning.planmodel import Commit, FileChange, InstancePlan, Plan
from engine.repo.workspace import Workspace
from engine.verify.cache import VerifyCache
from engine.verify.leaks import changed_files, check_wave, wave_clusters
from engine.verify.options import resolve_options
from engine.verify.plancheck import verify_plan
from engine.verify.tree import Tree
from tests.checks.shared import REPO
from tests.k8s_tools import K8sTools

HR = "clusters/{}/link-buoyant/helmrelease.yaml"


def _commit(subject: str, wave: str | None, cluster: str) -> Commit:
    path = HR.format(cluster)
    content = (REPO / "examples" / path).read_bytes().replace(b"interval: 30m", b"interval: 31m")
    return Commit(subject, "", "r", "p", 1, 1, "a", "b", ["clusters/nonprod"], wave=wave,
                  changes=[FileChange(path, "modified", content)])  # fmt: skip


def _plan(*commits: Commit) -> Plan:
    instance = InstancePlan("linkerd", "clusters/nonprod", [], None, None, "b", [], wave="nonprod",
                            clusters=["nonprod"])  # fmt: skip
    return Plan("b", [instance], list(commits), {})


def test_wave_clusters_and_changed_files() -> None:
    plan = _plan()
    assert wave_clusters(plan, _commit("x", "nonprod", "prod")) == {"nonprod"}
    assert wave_clusters(plan, _commit("x", None, "prod")) is None
    assert wave_clusters(plan, _commit("x", "prod", "prod")) is None  # no instance of that wave
    assert changed_files({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == ["a", "b", "c"]
    results = check_wave("w", {"one"}, {"one": {"a": "1"}, "two": {"b": "2"}},
                         {"one": {"a": "9"}, "two": {"b": "2"}}, ["a"])  # fmt: skip
    assert [(r.status, r.path, r.subject) for r in results] == [("pass", "a", "wave w")]


def test_a_commit_reaching_a_cluster_outside_its_wave_fails(k8s_tools: K8sTools) -> None:
    options = resolve_options(kustomize=f"{k8s_tools.kubectl} kustomize", helm=str(k8s_tools.helm))
    plan = _plan(
        _commit("inside", "nonprod", "nonprod"),
        _commit("outside", "nonprod", "prod"),
        _commit("no wave", None, "prod"),
    )
    start = Tree(Workspace(Path(REPO / "examples")))
    verdicts = verify_plan(start, plan, options, VerifyCache())
    waves = [
        [(r.status, r.path, r.subject, r.message) for r in v.report.results if r.check == "wave"]
        for v in verdicts
        if v.report is not None
    ]
    assert waves == [
        [("pass", HR.format("nonprod"), "wave nonprod", "")],
        [("fail", HR.format("prod"), "cluster prod",
          "a commit of wave nonprod changes what cluster prod renders, outside the wave "
          f"(nonprod): {HR.format('prod')}")],
        [],  # a commit of no wave may reach every cluster
    ]  # fmt: skip


def test_plan_verify_checks_every_commit_of_a_wave_plan_for_leaks(
    k8s_tools: K8sTools, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundled example planned per cluster: every commit that changes files is checked,
    and none reaches the other cluster."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "examples", repo)
    (repo / "waypath.yaml").write_text(
        "apiVersion: waypath.dev/v1\nkind: Config\nwaves:\n"
        "  - name: nonprod\n    clusters: [nonprod]\n  - name: prod\n    clusters: [prod]\n"
    )
    main(["plan", str(repo), "--to", "linkerd@stable-2.14", "--verify", "--format", "json",
          "--kustomize", f"{k8s_tools.kubectl} kustomize", "--helm", str(k8s_tools.helm)])  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    waves = [(c["wave"], v["counts"]["wave"]) for c, v in zip(data["commits"], data["verify"], strict=True)
             if v["verdict"] != "no changes"]  # fmt: skip
    assert [w for w, _ in waves] == ["nonprod"] * 4 + ["prod"] * 4
    assert all(counts == {"pass": 1} for _, counts in waves), waves
