"""Pinned Linkerd images follow every hop (issue 10, finding 1).

The bundled example pins `proxy.image.version` (driven by a Flux ImagePolicy) and
`proxyInit.image.version`, and pulls every image from an ECR mirror. After each path the
pins must read as the target release's tags, the mirror's registry and repository must
stay, the ImagePolicy filter must follow the release line, and the merge request must
list the images the mirror needs before the merge.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.output.describe import Described, describe
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.checks.repostate import final_state, load_documents, read_tree, walk
from tests.checks.scenarios import SCENARIOS, Outcome, run
from tests.checks.shared import REPO, shared_dir
from tests.k8s_tools import K8sTools

EXAMPLES = REPO / "examples"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/linkerd"
CLUSTERS = ("nonprod", "prod")


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    library = load_library()
    wanted = ("examples/stable-2.14", "examples/enterprise-2.16")
    return {s.id: run(s, library) for s in SCENARIOS if s.id in wanted}


def end_state(outcome: Outcome) -> dict[str, bytes]:
    assert outcome.plan is not None
    return final_state(outcome.plan, outcome.initial)


def documents(state: dict[str, bytes], path: str) -> list[dict[str, Any]]:
    return [d for d in load_documents(path, state[path]) if isinstance(d, dict)]


def control_plane_values(state: dict[str, bytes], cluster: str) -> dict[str, Any]:
    (release,) = documents(state, f"clusters/{cluster}/link-control-plane/helmrelease.yaml")
    values = release["spec"]["values"]
    return values.get("linkerd-control-plane", values)  # BEL 2.15/2.16 nest them


def image_policy_pattern(state: dict[str, bytes], cluster: str) -> str:
    docs = documents(state, f"clusters/{cluster}/image-automation.yaml")
    (policy,) = [d for d in docs if d["kind"] == "ImagePolicy"]
    return str(policy["spec"]["filterTags"]["pattern"])


def images(values: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    def pin(key: str) -> tuple[str, str | None]:
        node = values[key]["image"]
        return node["name"], node.get("version")

    return {
        "controller": (values["controllerImage"], values.get("controllerImageVersion")),
        "proxy": pin("proxy"),
        "proxy-init": pin("proxyInit"),
        "policy-controller": pin("policyController"),
        "debug": pin("debugContainer"),
    }


@pytest.mark.parametrize(
    ("scenario", "proxy", "proxy_init", "line"),
    [
        ("examples/stable-2.14", "stable-2.14.10", "v2.2.3", r"^stable-2\.14\."),
        (
            "examples/enterprise-2.16",
            "enterprise-2.16.5",
            "enterprise-2.16.5",
            r"^enterprise-2\.16\.",
        ),
    ],
)
def test_pinned_tags_move_and_mirror_names_stay(
    outcomes: dict[str, Outcome], scenario: str, proxy: str, proxy_init: str, line: str
) -> None:
    outcome = outcomes[scenario]
    state = end_state(outcome)
    for cluster in CLUSTERS:
        assert images(control_plane_values(state, cluster)) == {
            "controller": (f"{ECR}/controller", None),
            "proxy": (f"{ECR}/proxy", proxy),
            "proxy-init": (f"{ECR}/proxy-init", proxy_init),
            "policy-controller": (f"{ECR}/policy-controller", None),
            "debug": (f"{ECR}/debug", None),
        }, cluster
        assert image_policy_pattern(state, cluster) == line + "(?P<patch>[0-9]+)$", cluster


def test_the_imagepolicy_marker_stays_on_the_moved_tag(outcomes: dict[str, Outcome]) -> None:
    state = end_state(outcomes["examples/stable-2.14"])
    text = state["clusters/nonprod/link-control-plane/helmrelease.yaml"].decode()
    assert 'version: stable-2.14.10 # {"$imagepolicy": "flux-system:linkerd-proxy:tag"}' in text


def test_each_hop_moves_the_tags_in_the_commit_that_upgrades_the_chart(
    outcomes: dict[str, Outcome],
) -> None:
    """The tag and the policy move in the control-plane commit of each hop, never later:
    a 2.12 control plane with 2.11 proxies injected is what the issue found."""
    outcome = outcomes["examples/stable-2.14"]
    assert outcome.plan is not None
    seen = []
    for step in walk(outcome.plan, outcome.initial):
        if "clusters/nonprod/link-control-plane/helmrelease.yaml" not in {
            c.path for c in step.commit.changes
        }:
            continue
        values = control_plane_values(step.after, "nonprod")
        seen.append(
            (
                step.commit.phase,
                values["proxy"]["image"]["version"],
                values["proxyInit"]["image"]["version"],
                image_policy_pattern(step.after, "nonprod"),
            )
        )
    assert seen == [
        ("suspend", "stable-2.11.5", "v1.5.3", r"^stable-2\.11\.(?P<patch>[0-9]+)$"),
        ("split", "stable-2.12.6", "v2.0.0", r"^stable-2\.12\.(?P<patch>[0-9]+)$"),
        ("control-plane", "stable-2.13.7", "v2.2.3", r"^stable-2\.13\.(?P<patch>[0-9]+)$"),
        ("control-plane", "stable-2.14.10", "v2.2.3", r"^stable-2\.14\.(?P<patch>[0-9]+)$"),
    ]


@pytest.mark.parametrize(
    ("scenario", "releases", "vendor"),
    [
        (
            "examples/stable-2.14",
            ["stable-2.12.6", "stable-2.13.7", "stable-2.14.10"],
            "cr.l5d.io/linkerd",
        ),
        (
            "examples/enterprise-2.16",
            ["enterprise-2.15.7", "enterprise-2.16.5"],
            "ghcr.io/buoyantio",
        ),
    ],
)
def test_merge_request_lists_the_images_the_mirror_needs(
    outcomes: dict[str, Outcome], scenario: str, releases: list[str], vendor: str
) -> None:
    plan = outcomes[scenario].plan
    assert plan is not None
    text = describe([Described(plan)])  # the merge-request description
    for release in releases:
        assert f"Before merging: copy the {release} images into your registry mirror" in text
        proxy = f"- `{ECR}/proxy:{release}` (copy of `{vendor}/proxy:{release}`)"
        assert proxy in text, release


def effective_values(release: dict[str, Any]) -> dict[str, Any]:
    """Inline values plus a placeholder at every valuesFrom targetPath (the SOPS Secrets
    cannot be read here; the chart only needs the keys to be non-empty)."""
    values = json.loads(json.dumps(release["spec"].get("values") or {}))
    for source in release["spec"].get("valuesFrom") or []:
        *parents, leaf = str(source["targetPath"]).split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = "PLACEHOLDER"
    return values


def state_after_the_214_control_plane(outcome: Outcome) -> dict[str, bytes]:
    """The repo once the stable-2.13 -> 2.14 control-plane commit is merged (the last OSS
    state; the enterprise paths go on from there)."""
    assert outcome.plan is not None
    steps = [
        step
        for step in walk(outcome.plan, outcome.initial)
        if (step.commit.recipe, step.commit.phase)
        == ("stable-2.13-to-stable-2.14", "control-plane")
    ]
    assert len(steps) == 1
    return steps[0].after


@pytest.mark.parametrize("scenario", ["examples/stable-2.14", "examples/enterprise-2.16"])
def test_rendered_example_runs_the_target_images_from_the_mirror(
    outcomes: dict[str, Outcome], k8s_tools: K8sTools, tmp_path: Path, scenario: str
) -> None:
    """`helm template` of the real linkerd-control-plane 1.16.11 with the values the
    2.11 -> 2.14 commits leave: every pod pulls 2.14.10 images from the ECR mirror."""
    chart = shared_dir() / "charts/linkerd/stable-2.14.10/linkerd-control-plane-1.16.11.tgz"
    state = state_after_the_214_control_plane(outcomes[scenario])
    for cluster in CLUSTERS:
        (release,) = documents(state, f"clusters/{cluster}/link-control-plane/helmrelease.yaml")
        assert release["spec"]["chart"]["spec"]["version"] == "1.16.11"
        values = tmp_path / f"{cluster}.yaml"
        values.write_text(json.dumps(effective_values(release)))
        rendered = subprocess.run(
            [
                *(str(k8s_tools.helm), "template", "linkerd-control-plane", str(chart)),
                *("--namespace", "linkerd", "--values", str(values)),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        images = set(re.findall(r"^\s*image: (\S+)$", rendered, re.MULTILINE))
        assert images == {
            f"{ECR}/controller:stable-2.14.10",
            f"{ECR}/policy-controller:stable-2.14.10",
            f"{ECR}/proxy:stable-2.14.10",
            f"{ECR}/proxy-init:v2.2.3",
        }, cluster


def test_image_registry_repoints_names_and_the_image_repositories() -> None:
    """With image_registry the BEL switch repoints the names; the ImageRepository that
    scanned the old proxy name follows, so its ImagePolicy sees the enterprise tags."""
    request = PlanRequest(
        target="linkerd@enterprise-2.15",
        params={"image_registry": "registry.example.internal/mirror"},
    )
    plan = make_plan(Workspace(EXAMPLES), load_library(), request)
    state = final_state(plan, read_tree(EXAMPLES))
    mirror = "registry.example.internal/mirror/buoyantio"
    for cluster in CLUSTERS:
        proxy = control_plane_values(state, cluster)["proxy"]["image"]
        assert (proxy["name"], proxy["version"]) == (f"{mirror}/proxy", "enterprise-2.15.7")
        docs = documents(state, f"clusters/{cluster}/image-automation.yaml")
        (repository,) = [d for d in docs if d["kind"] == "ImageRepository"]
        assert repository["spec"]["image"] == f"{mirror}/proxy"
        assert image_policy_pattern(state, cluster) == r"^enterprise-2\.15\.(?P<patch>[0-9]+)$"
