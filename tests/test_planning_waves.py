"""Waves by cluster: waves name clusters, a commit of a wave must not change what a
cluster outside it renders, and `--wave a,b` moves clusters that share a base together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import UsageError
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.config import Wave
from engine.repo.detect import detect
from engine.repo.flux import build_model
from engine.repo.workspace import Workspace
from tests.helpers import MESHY_RELEASE, RECIPES, build_tree
from tests.test_flux_model import flux_ks, sync

REPOSITORY = (
    "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
    "metadata:\n  name: meshy\n  namespace: flux-system\n"
    "spec:\n  interval: 1h\n  url: https://charts.example.com/meshy\n"
)


def shared_base() -> dict[str, str]:
    files = {
        "infra/meshy/kustomization.yaml": "resources: [repository.yaml, release.yaml]\n",
        "infra/meshy/repository.yaml": REPOSITORY,
        "infra/meshy/release.yaml": MESHY_RELEASE.format(pin="1.0.0"),
    }
    for cluster in ("staging", "production"):
        files[f"clusters/{cluster}/flux-system/gotk-sync.yaml"] = sync(cluster)
        files[f"clusters/{cluster}/infra.yaml"] = flux_ks("infra", "./infra/meshy")
    return files


def overlays(staging: str, production: str) -> dict[str, str]:
    files = {
        "infra/base/kustomization.yaml": "resources: [repository.yaml, release.yaml]\n",
        "infra/base/repository.yaml": REPOSITORY,
        "infra/base/release.yaml": MESHY_RELEASE.format(pin="1.0.0"),
    }
    for cluster, pin in (("staging", staging), ("production", production)):
        files[f"clusters/{cluster}/flux-system/gotk-sync.yaml"] = sync(cluster)
        files[f"clusters/{cluster}/infra.yaml"] = flux_ks("infra", f"./infra/{cluster}")
        files[f"infra/{cluster}/kustomization.yaml"] = (
            "resources: [../base]\npatches:\n  - path: version.yaml\n"
        )
        files[f"infra/{cluster}/version.yaml"] = (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
            "metadata:\n  name: meshy\n  namespace: meshy\n"
            f'spec:\n  chart:\n    spec:\n      version: "{pin}"\n'
        )
    return files


WAVES = [Wave(name="staging", clusters=["staging"]), Wave(name="production", clusters=["prod*"])]


def plan(root: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    library = load_library([RECIPES], include_bundled=False)
    request = PlanRequest(target="meshy@stable-1.1", **kwargs)  # type: ignore[arg-type]
    return make_plan(Workspace(root), library, request)


def test_waves_hold_clusters_by_name_root_or_glob() -> None:
    wave = Wave(name="w", clusters=["prod-*"], paths=["clusters/staging"])
    assert wave.holds_cluster("prod-eu", "clusters/prod-eu")
    assert wave.holds_cluster("staging", "clusters/staging")
    assert not wave.holds_cluster("dev", "clusters/dev")
    with pytest.raises(ValueError, match="names no clusters and no paths"):
        Wave(name="empty")


def test_a_shared_base_is_one_instance_with_both_clusters(tmp_path: Path) -> None:
    workspace = Workspace(build_tree(tmp_path, shared_base()))
    component = load_library([RECIPES], include_bundled=False).components["meshy"]
    model = build_model(workspace)
    (instance,) = detect(workspace, component.component, component.catalog, model=model)
    assert (instance.scope, instance.clusters) == (".", ["production", "staging"])
    assert instance.label == ". (shared base reached by clusters production, staging)"


def test_a_wave_refuses_a_change_to_a_shared_base(tmp_path: Path) -> None:
    build_tree(tmp_path, shared_base())
    with pytest.raises(UsageError) as refused:
        plan(tmp_path, waves=WAVES)
    assert refused.value.render() == (
        "error: commit 1 of recipe stable-1.0-to-stable-1.1 (phase bump) of wave staging would "
        "change what clusters outside the wave render: production\n"
        "  - infra/meshy/release.yaml: shared base reached by clusters production, staging\n"
        "hint: move them together: `--wave staging,production` plans those waves as one, or "
        "put the clusters in one wave of waypath.yaml"
    )


def test_wave_a_comma_b_moves_the_clusters_together(tmp_path: Path) -> None:
    build_tree(tmp_path, shared_base())
    together = plan(tmp_path, waves=WAVES, wave="staging,production")
    assert [(c.wave, c.subject, [ch.path for ch in c.changes]) for c in together.commits] == [
        (
            "staging,production",
            "meshy: upgrade to stable-1.1.0",
            ["infra/meshy/release.yaml"],
        )
    ]
    assert [(i.instance, i.clusters, i.wave) for i in together.instances] == [
        (".", ["production", "staging"], "staging,production")
    ]


def test_a_cluster_in_no_wave_is_named(tmp_path: Path) -> None:
    build_tree(tmp_path, shared_base())
    with pytest.raises(
        UsageError, match=r"belong to no wave .*: cluster production \(clusters/production\)"
    ):
        plan(tmp_path, waves=WAVES[:1])


def test_overlay_pins_give_one_instance_per_cluster_version(tmp_path: Path) -> None:
    workspace = Workspace(build_tree(tmp_path, overlays(staging="1.0.0", production="1.1.0")))
    component = load_library([RECIPES], include_bundled=False).components["meshy"]
    found = detect(workspace, component.component, component.catalog, model=build_model(workspace))
    assert [
        (i.clusters, i.version.label if i.version else None, i.core.pin_file, i.core.patched_by)
        for i in found
    ] == [
        (
            ["production"],
            "stable-1.1.0",
            "infra/production/version.yaml",
            ["infra/production/version.yaml"],
        ),
        (["staging"], "stable-1.0.0", "infra/staging/version.yaml", ["infra/staging/version.yaml"]),
    ]
    assert (
        found[1].explanation
        == "chart meshy pinned at 1.0.0 by the patch in infra/staging/version.yaml"
    )
    same = Workspace(build_tree(tmp_path / "same", overlays(staging="1.0.0", production="1.0.0")))
    (one,) = detect(same, component.component, component.catalog, model=build_model(same))
    assert one.clusters == ["production", "staging"]


def test_a_wave_of_one_cluster_plans_only_its_instance(tmp_path: Path) -> None:
    build_tree(tmp_path, overlays(staging="1.0.0", production="1.1.0"))
    only = plan(tmp_path, waves=WAVES, wave="production")
    assert [(i.clusters, i.status) for i in only.instances] == [(["production"], "current")]
    assert only.commits == []


def test_the_model_is_built_once_per_run(tmp_path: Path) -> None:
    """Counts builds, not time: a plan over two recipes (three detections) builds it once,
    and so does `waypath detect` over every component."""
    from engine.commands.detect import find_all
    from engine.repo.flux.model import BUILDS

    build_tree(tmp_path, shared_base())
    library = load_library([RECIPES], include_bundled=False)
    before = BUILDS[0]
    two_hops = make_plan(Workspace(tmp_path), library, PlanRequest(target="meshy@stable-2.0"))
    assert two_hops.path == ["stable-1.0-to-stable-1.1", "stable-1.1-to-stable-2.0"]
    assert BUILDS[0] == before + 1
    find_all(tmp_path, [RECIPES], {})
    assert BUILDS[0] == before + 2


def test_waypath_detect_reads_no_node_trees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: `waypath detect` edits nothing; the node trees of every release it found
    were most of its memory. It finds the same instances from documents without them."""
    from engine.commands.detect import find_all

    build_tree(tmp_path, shared_base())
    expected = [
        (i.scope, i.clusters, i.version, i.core.pin, i.core.path, i.core.doc.line, i.paths)
        for i in find_all(tmp_path, [RECIPES], {})
    ]
    assert expected

    def no_nodes(self: Workspace, path: str) -> list[Any]:
        raise AssertionError(f"node trees of {path}")

    monkeypatch.setattr(Workspace, "documents", no_nodes)
    found = find_all(tmp_path, [RECIPES], {})
    assert [
        (i.scope, i.clusters, i.version, i.core.pin, i.core.path, i.core.doc.line, i.paths)
        for i in found
    ] == expected
    assert all(o.doc.node is None for i in found for objs in i.objects.values() for o in objs)
