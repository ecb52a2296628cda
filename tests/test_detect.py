"""Detection: instances, scopes and versions read from pins."""

from __future__ import annotations

from pathlib import Path

from engine.recipe.loading import load_library
from engine.repo.detect import detect
from engine.repo.workspace import Workspace
from tests.helpers import RECIPES, build_tree, meshy_files


def _detect(root: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    lib = load_library([RECIPES], include_bundled=False)
    source = lib.components["meshy"]
    return detect(Workspace(root), source.component, source.catalog, **kwargs)  # type: ignore[arg-type]


def test_one_instance_per_cluster_with_scope_and_version(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files())
    found = _detect(tmp_path)
    assert [(i.scope, i.version.label if i.version else None) for i in found] == [
        ("clusters/nonprod", "stable-1.0.0"),
        ("clusters/prod", "stable-1.0.0"),
    ]
    assert found[0].core.source is not None
    assert found[0].core.source.url == "https://charts.example.com/meshy"
    assert found[0].core.source.path == "clusters/nonprod/meshy/repository.yaml"


def test_single_cluster_repo_scope_is_root(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(clusters=("only",)))
    (found,) = _detect(tmp_path)
    assert found.scope == "."


def test_range_pin_lists_admitted_releases(tmp_path: Path) -> None:
    build_tree(tmp_path, meshy_files(clusters=("prod",), pin="1.x"))
    (found,) = _detect(tmp_path)
    assert found.version is None
    assert [v.label for v in found.admits] == ["stable-1.0.0", "stable-1.0.1", "stable-1.1.0"]
    assert "admits 3 releases" in found.explanation


def test_caret_and_comparison_pins(tmp_path: Path) -> None:
    build_tree(tmp_path / "a", meshy_files(clusters=("x",), pin="^1.1.0"))
    build_tree(tmp_path / "b", meshy_files(clusters=("x",), pin=">=1.0.1 <1.1"))
    assert _detect(tmp_path / "a")[0].version.label == "stable-1.1.0"
    assert _detect(tmp_path / "b")[0].version.label == "stable-1.0.1"


def test_unpinned_release_needs_assume(tmp_path: Path) -> None:
    files = meshy_files(clusters=("prod",))
    files["clusters/prod/meshy/release.yaml"] = files["clusters/prod/meshy/release.yaml"].replace(
        '      version: "1.0.0"  # pinned on purpose\n', ""
    )
    build_tree(tmp_path, files)
    (found,) = _detect(tmp_path)
    assert found.version is None
    assert "(unpinned)" in found.explanation
    (assumed,) = _detect(tmp_path, assume={"meshy": "1.0.1"})
    assert assumed.version is not None and assumed.version.label == "stable-1.0.1"


def test_crd_text_in_gotk_components_is_not_an_instance(tmp_path: Path) -> None:
    files = meshy_files(clusters=("prod",))
    files["clusters/prod/flux-system/gotk-components.yaml"] += (
        "---\n# chart: meshy appears in docs\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: docs\n"
        "data:\n  example: |\n    kind: HelmRelease\n    chart: meshy\n"
    )
    build_tree(tmp_path, files)
    assert len(_detect(tmp_path)) == 1


def test_chart_ref_to_oci_repository(tmp_path: Path) -> None:
    build_tree(
        tmp_path,
        {
            "meshy/oci.yaml": (
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n"
                "metadata:\n  name: meshy-cp\n  namespace: flux-system\n"
                "spec:\n  interval: 1h\n  url: oci://ghcr.io/example/charts/meshy-control-plane\n"
                "  ref:\n    tag: 10.0.0\n"
            ),
            "meshy/release.yaml": (
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
                "metadata:\n  name: meshy\n  namespace: meshy\n"
                "spec:\n  interval: 10m\n  chartRef:\n    kind: OCIRepository\n"
                "    name: meshy-cp\n    namespace: flux-system\n"
            ),
        },
    )
    (found,) = _detect(tmp_path)
    assert found.core.chart == "meshy-control-plane"
    assert found.version is not None and found.version.label == "stable-2.0.0"


def test_assume_per_folder_and_contradictions(tmp_path: Path) -> None:
    import pytest

    from engine.errors import DetectionError

    files = meshy_files(clusters=("dev",), pin="1.0.x")
    files.update({k: v for k, v in meshy_files(clusters=("prod",), pin="1.0.1").items()})
    build_tree(tmp_path, files)
    dev, prod = _detect(tmp_path, assume={"meshy@clusters/dev": "stable-1.0.0"})
    assert (dev.version.label, prod.version.label) == ("stable-1.0.0", "stable-1.0.1")
    with pytest.raises(DetectionError, match=r"pin says stable-1\.0\.1"):
        _detect(tmp_path, assume={"meshy@clusters/prod": "stable-1.0.0"})
    with pytest.raises(DetectionError, match="admits"):
        _detect(tmp_path, assume={"meshy": "stable-1.1.0"})
    with pytest.raises(DetectionError, match="clusters/qa"):
        _detect(tmp_path, assume={"meshy@clusters/qa": "stable-1.0.0"})
