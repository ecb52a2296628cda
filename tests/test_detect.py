"""Detection: instances, scopes and versions read from pins."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.recipe.loading import load_library
from engine.repo.detect import detect
from engine.repo.workspace import Workspace
from tests.helpers import RECIPES, build_tree, git_repo, meshy_files, snapshot_bytes


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


def test_scope_of_each_core_reads_a_few_neighbours_not_every_core() -> None:
    # Issue 12: `_scope_for` listed every core under `.` for each core (N² in a fleet).
    from engine.repo.detect import _scope_for
    from tests.helpers import CountingList

    cores = CountingList(sorted(f"clusters/c{n}/linkerd/release.yaml" for n in range(2000)))
    scopes = [_scope_for(path, cores) for path in list(cores)]
    assert scopes[:2] == ["clusters/c0", "clusters/c1"] and len(set(scopes)) == 2000
    cores.touched = 0
    for path in list(cores)[:100]:
        _scope_for(path, cores)
    # per core: 3 candidate folders, each two bisects (~12 probes) and two reads
    assert cores.touched <= 100 * 3 * (2 * 12 + 2)


def test_source_lookup_does_not_walk_every_source_per_release() -> None:
    # Issue 12: `_Sources.find` built a list of the paths of every same-named source (one
    # per cluster) for each release that asked.
    from engine.repo.detect import _Sources
    from engine.yamltext.yamldoc import parse_file
    from tests.helpers import CountingList

    texts = {
        f"clusters/c{n:04}/repo.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\n"
        "kind: HelmRepository\nmetadata:\n  name: meshy\n  namespace: flux-system\n"
        f"spec:\n  url: https://charts.example.com/{n}\n"
        for n in range(1000)
    }

    class Reader:
        def candidates(self, *, kinds: object = (), contains: object = ()) -> list[str]:
            return sorted(texts)

        def documents(self, path: str) -> list:  # type: ignore[type-arg]
            return parse_file(path, texts[path])

        def read_text(self, path: str) -> str:
            return texts[path]

    lookup = _Sources(Reader())  # type: ignore[arg-type]
    first = lookup.find("HelmRepository", "meshy", "flux-system", "clusters/c0000/release.yaml")
    assert first is not None and first.url == "https://charts.example.com/0"
    key = ("HelmRepository", "meshy", "flux-system")
    matches, paths = lookup._matches[key]
    counted = (CountingList(matches), CountingList(paths))
    lookup._matches[key] = counted
    for n in range(0, 1000, 10):
        found = lookup.find("HelmRepository", "meshy", "flux-system", f"clusters/c{n:04}/r.yaml")
        assert found is not None and found.path == f"clusters/c{n:04}/repo.yaml"
    # 100 lookups, each a bisect of ~10 probes and two neighbours
    assert counted[0].touched + counted[1].touched <= 100 * (10 + 4)


def test_instances_by_folder_is_built_once_and_answers_by_bisect(tmp_path: Path) -> None:
    # Issue 12: the planner filtered every instance for each instance's folder (2·N²).
    from engine.repo.detect import InstancesByFolder

    clusters = tuple(f"c{n:02}" for n in range(40))
    build_tree(tmp_path, meshy_files(clusters))
    found = _detect(tmp_path)
    reads = 0
    original = type(found[0].core).path

    def counting(self: object) -> str:
        nonlocal reads
        reads += 1
        return original.fget(self)  # type: ignore[attr-defined,no-any-return]

    type(found[0].core).path = property(counting)  # type: ignore[assignment]
    try:
        under = InstancesByFolder(found)
        built = reads
        for cluster in clusters:
            assert [i.scope for i in under(f"clusters/{cluster}")] == [f"clusters/{cluster}"]
        assert [i.scope for i in under("clusters")] == [f"clusters/{c}" for c in clusters]
    finally:
        type(found[0].core).path = original  # type: ignore[assignment]
    assert built <= 2 * len(found) and reads == built  # lookups read no paths


def _with_variable_pin() -> dict[str, str]:
    files = meshy_files()
    for cluster in ("nonprod", "prod"):
        release = f"clusters/{cluster}/meshy/release.yaml"
        files[release] = files[release].replace('"1.0.0"', '"${meshy_version}"')
    return files


def test_a_substitution_pin_names_its_line_and_assume_states_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo", _with_variable_pin())
    recipes = ["--recipes", str(RECIPES)]
    plan = ["plan", str(repo), "--to", "meshy@stable-1.1", *recipes]
    assert main(plan) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: the running meshy version is not known for 2 instance(s)\n"
        + "".join(
            f"  - clusters/{c}/meshy/release.yaml:2: chart meshy version `${{meshy_version}}` "
            f"(clusters/{c}/meshy/release.yaml:12) is a Flux postBuild substitution, filled in "
            "by the Flux Kustomization that applies it; Waypath reads the repo and cannot tell "
            "which release it is\n"
            for c in ("nonprod", "prod")
        )
        + "hint: state it with `--assume meshy=RELEASE` (or `--assume meshy@FOLDER=RELEASE` "
        "for one instance)\n"
    )
    assert main([*plan, "--assume", "meshy@nonprod=stable-1.0.1", "--assume", "meshy=stable-1.0.0"]) == 2
    out = capsys.readouterr().out
    assert "meshy clusters/nonprod: stable-1.0.1 -> stable-1.1.0" in out
    assert (
        "[substitution] clusters/prod/meshy/release.yaml: HelmRelease meshy: "
        "/spec/chart/spec/version was the Flux postBuild substitution `${meshy_version}`; it is "
        "now written in this file, so the variable no longer sets it" in out
    )


def test_a_helmrelease_defined_twice_in_one_cluster_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = meshy_files(("prod",))
    folder = "clusters/prod/meshy"
    files[f"{folder}/copy.yaml"] = "# a copy\n---\n" + files[f"{folder}/release.yaml"]
    files[f"{folder}/kustomization.yaml"] += "  - copy.yaml\n"
    repo = git_repo(tmp_path / "repo", files)
    before = snapshot_bytes(repo)
    for command in (["detect"], ["apply", "--to", "meshy@stable-1.1", "--commit"]):
        assert main([*command, str(repo), "--recipes", str(RECIPES)]) == 1
        assert capsys.readouterr().err == (
            f"error: {folder}/release.yaml:2: HelmRelease meshy/meshy is defined twice in what "
            f"cluster prod receives: {folder}/copy.yaml:4 and {folder}/release.yaml:2\n"
            "hint: keep one of them (delete the other, or take it out of the "
            "kustomization.yaml that lists it), then run Waypath again\n"
        )
    assert snapshot_bytes(repo) == before

