from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.errors import RepoError
from engine.repo.workspace import Overlay, Workspace, safe_relpath
from tests.helpers import build_tree, meshy_files

HR = b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: linkerd\n"
CRD = (
    b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n"
    b"  names:\n    kind: HelmRelease\n"
)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_git_ls_files_honours_gitignore(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            ".gitignore": b"build/\n",
            "a.yaml": HR,
            "sub/b.yml": b"x: 1\n",
            "build/out.yaml": HR,
            "README.md": b"hi\n",
        },
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "a.yaml")
    assert Workspace(tmp_path).yaml_files() == ["a.yaml", "sub/b.yml"]


def test_walk_outside_git_skips_dot_git_and_escaping_symlinks(tmp_path: Path) -> None:
    repo = tree(tmp_path / "repo", {"a.yaml": HR, ".git/config.yaml": b"x: 1\n"})
    outside = tree(tmp_path / "outside", {"secret.yaml": b"s: 1\n"})
    os.symlink(outside / "secret.yaml", repo / "link.yaml")
    os.symlink(outside, repo / "linkdir")
    os.symlink(repo / "a.yaml", repo / "inside.yaml")
    ws = Workspace(repo)
    assert ws.yaml_files() == ["a.yaml", "inside.yaml"]
    assert [path for path, _ in ws.skipped] == ["linkdir", "link.yaml"]
    assert "outside the repository" in ws.skipped[0][1]


def test_prefilter_is_anchored_and_checks_contains(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "hr.yaml": HR,
            "crd.yaml": CRD,
            "quoted.yaml": b"\xef\xbb\xbfkind: 'HelmRelease' # x\r\nname: other\r\n",
            "ks.yaml": b"kind: Kustomization\n",
        },
    )
    seen: list[tuple[int, int]] = []
    ws = Workspace(tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert ws.candidates(kinds=["HelmRelease"]) == ["hr.yaml", "quoted.yaml"]
    assert ws.candidates(kinds=["HelmRelease", "Kustomization"], contains=["linkerd"]) == [
        "hr.yaml"
    ]
    assert ws.candidates(contains=["CustomResourceDefinition"]) == ["crd.yaml"]
    assert seen[-1] == (4, 4)


def test_documents_cached_and_input_hashes(tmp_path: Path) -> None:
    tree(tmp_path, {"hr.yaml": HR, "other.yaml": b"a: 1\n"})
    ws = Workspace(tmp_path)
    assert ws.documents("hr.yaml") is ws.documents("hr.yaml")
    assert ws.documents("hr.yaml")[0].name == "linkerd"
    assert ws.input_hashes() == {"hr.yaml": hashlib.sha256(HR).hexdigest()}
    assert ws.exists("other.yaml") and not ws.exists("nope.yaml")
    with pytest.raises(RepoError, match=r"cannot read nope\.yaml"):
        ws.read_bytes("nope.yaml")


def test_overlay_changes_copy_and_reparse(tmp_path: Path) -> None:
    tree(tmp_path, {"hr.yaml": HR, "old.yaml": b"a: 1\n", "same.yaml": b"b: 2\n"})
    base = Workspace(tmp_path)
    overlay = Overlay(base)
    overlay.write_text("hr.yaml", HR.decode().replace("linkerd", "linkerd-cp"))
    overlay.write_text("same.yaml", "b: 2\n")
    overlay.move("old.yaml", "dir/new.yaml")
    snapshot = overlay.copy()
    overlay.delete("same.yaml")
    assert overlay.documents("hr.yaml")[0].name == "linkerd-cp"
    assert base.documents("hr.yaml")[0].name == "linkerd"
    assert overlay.yaml_files() == ["dir/new.yaml", "hr.yaml"]
    assert overlay.candidates(kinds=["HelmRelease"], contains=["linkerd-cp"]) == ["hr.yaml"]
    assert snapshot.changes() == {
        "dir/new.yaml": "added",
        "hr.yaml": "modified",
        "old.yaml": "deleted",
    }
    assert overlay.changes() == {
        "dir/new.yaml": "added",
        "hr.yaml": "modified",
        "old.yaml": "deleted",
        "same.yaml": "deleted",
    }
    with pytest.raises(RepoError, match="already exists"):
        overlay.move("hr.yaml", "dir/new.yaml")
    with pytest.raises(RepoError, match="no such file"):
        overlay.move("old.yaml", "x.yaml")
    with pytest.raises(RepoError, match="does not exist"):
        overlay.read_text("old.yaml")


@pytest.mark.parametrize("rel", ["/etc/passwd", "../x.yaml", "a/../../x.yaml", "", "."])
def test_safe_relpath_refuses_escapes(tmp_path: Path, rel: str) -> None:
    with pytest.raises(RepoError):
        safe_relpath(tmp_path, rel)


def test_safe_relpath_normalises_and_refuses_symlink_escape(tmp_path: Path) -> None:
    repo = tree(tmp_path / "repo", {"a/b.yaml": b""})
    os.symlink(tmp_path, repo / "up")
    assert safe_relpath(repo, "./a//c/../b.yaml") == "a/b.yaml"
    with pytest.raises(RepoError, match="symlink"):
        safe_relpath(repo, "up/x.yaml")


def test_line_kinds_reads_only_line_start_kind_lines() -> None:
    from engine.repo.workspace import line_kinds

    data = (
        b"\xef\xbb\xbfkind: HelmRelease  # first line after a BOM\r\n"
        b"spec:\n  names:\n    kind: Indented\n"
        b"---\nkind: 'Quoted'\n---\nkind: \"Double\"\n---\nkind: Two Words\n"
    )
    assert line_kinds(data) == frozenset({"HelmRelease", "Quoted", "Double"})
    assert line_kinds(b"apiVersion: v1\n") == frozenset()


def test_settle_gives_back_the_repo_bytes_when_the_data_is_unchanged(tmp_path: Path) -> None:
    original = "resources:\n  - a.yaml  # first\n  - b.yaml\n"
    (tmp_path / "kustomization.yaml").write_text(original)
    (tmp_path / "other.yaml").write_text("a: 1\n")
    overlay = Overlay(Workspace(tmp_path))
    before = overlay.copy()
    overlay.write_text("kustomization.yaml", "resources:\n- a.yaml\n- b.yaml\n")  # same data
    overlay.write_text("other.yaml", "a: 2\n")  # other data: stays written
    assert overlay.settle(before) == ["kustomization.yaml"]
    assert overlay.read_text("kustomization.yaml") == original
    assert overlay.changes() == {"other.yaml": "modified"}


def test_scope_range_reads_only_the_folder_and_two_bisects() -> None:
    # Issue 12: a slice from the folder's first path to the end of the list, per instance,
    # made detection quadratic. Count what is read from a 20,000-path listing.
    from engine.repo.detect import paths_in_scope
    from engine.repo.workspace import scope_range
    from tests.helpers import CountingList

    paths = CountingList(
        sorted(f"clusters/c{n}/{name}.yaml" for n in range(5000) for name in "abcd")
    )
    first = paths.index("clusters/c42/a.yaml")
    assert scope_range(paths, "clusters/c42") == (first, first + 4)
    paths.touched = 0
    for n in range(0, 5000, 50):
        assert paths_in_scope(paths, f"clusters/c{n}") == [
            f"clusters/c{n}/{name}.yaml" for name in "abcd"
        ]
    # 100 lookups: 4 paths each, plus two bisects of ~15 probes each
    assert paths.touched <= 100 * (4 + 2 * 16)
    assert paths_in_scope(paths, "clusters/c4") == [f"clusters/c4/{n}.yaml" for n in "abcd"]
    assert paths_in_scope(["a/b", "a/c/d", "a0", "ab/x"], "a") == ["a/b", "a/c/d"]
    assert paths_in_scope(["a/b", "a/c/d"], ".") == ["a/b", "a/c/d"]


def test_candidates_hand_out_the_cached_answer_not_a_copy(tmp_path: Path) -> None:
    # Issue 12: planning asks for the same candidates once per instance; a fresh copy of a
    # list of every matching file each time was quadratic.
    build_tree(tmp_path, meshy_files(("a", "b", "c")))
    ws = Workspace(tmp_path)
    first = ws.candidates(kinds=["HelmRelease"])
    assert first is ws.candidates(kinds=["HelmRelease"])
    assert list(first) == [f"clusters/{c}/meshy/release.yaml" for c in "abc"]
    overlay = Overlay(ws)
    seen = overlay.candidates(kinds=["HelmRelease"])
    assert seen is overlay.candidates(kinds=["HelmRelease"])
    overlay.delete("clusters/b/meshy/release.yaml")  # kept up to date in place
    assert overlay.candidates(kinds=["HelmRelease"]) is seen
    assert list(seen) == ["clusters/a/meshy/release.yaml", "clusters/c/meshy/release.yaml"]
    assert list(first) == [f"clusters/{c}/meshy/release.yaml" for c in "abc"]


def test_real_paths_answer_as_realpath_does(tmp_path: Path) -> None:
    from engine.repo.workspace import RealPaths

    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "f.yaml").write_text("a: 1\n")
    repo = tmp_path / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (repo / "a" / "b" / "c.yaml").write_text("a: 1\n")
    (repo / "a" / "link").symlink_to(outside)
    (repo / "a" / "b" / "file-link.yaml").symlink_to(outside / "deep" / "f.yaml")
    real = RealPaths()
    asked = [
        str(repo), f"{repo}/a/b/c.yaml", f"{repo}/a/link/deep/f.yaml", f"{repo}/a/b/file-link.yaml",
        f"{repo}/a/b/missing.yaml", f"{repo}/a/link/deep", f"{repo}/a/b/c.yaml",
    ]  # fmt: skip
    assert [real(p) for p in asked] == [os.path.realpath(p) for p in asked]
    with pytest.raises(RepoError, match="outside the repository"):
        safe_relpath(repo, "a/link/deep/f.yaml", realpath=RealPaths())
    with pytest.raises(RepoError, match="outside the repository"):
        safe_relpath(repo, "a/b/file-link.yaml", realpath=RealPaths())
    assert safe_relpath(repo, "./a//b/c.yaml", realpath=RealPaths()) == "a/b/c.yaml"


def test_listing_a_checkout_needs_no_lstat_per_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12: the walk and the listing are one pass over the folders; a regular file's
    # type comes with its folder's listing, only symlinks are looked at one by one.
    build_tree(tmp_path, {f"clusters/c{n}/app/{k}.yaml": "a: 1\n" for n in range(40) for k in "ab"})
    (tmp_path / "clusters" / "link.yaml").symlink_to(
        tmp_path / "clusters" / "c1" / "app" / "a.yaml"
    )
    calls: list[str] = []
    real_lstat = os.lstat

    def counting(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        calls.append(str(path))
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", counting)
    files = Workspace(tmp_path).yaml_files()
    assert len(files) == 81 and "clusters/link.yaml" in files
    link, target = tmp_path / "clusters" / "link.yaml", tmp_path / "clusters/c1/app/a.yaml"
    # the symlink (and its target, to check it stays in the repo); no other file
    assert {c for c in calls if c.endswith(".yaml")} == {str(link), str(target)}


def test_files_of_the_same_kinds_share_one_set_in_the_kind_index(tmp_path: Path) -> None:
    # Issue 12: one frozenset per file was a tenth of a fleet model's memory.
    build_tree(
        tmp_path,
        {f"f{n}.yaml": "kind: ConfigMap\n---\nkind: Secret\n" for n in range(5)}
        | {"g.yaml": "kind: Secret\n"},
    )
    workspace = Workspace(tmp_path)
    assert workspace.candidates(kinds=["Secret"]) == [*(f"f{n}.yaml" for n in range(5)), "g.yaml"]
    index = workspace._kind_index()
    assert len({id(index[f"f{n}.yaml"]) for n in range(5)}) == 1
    assert index["f0.yaml"] == {"ConfigMap", "Secret"}


def test_the_kind_index_keeps_no_bytes_of_crd_bundles(tmp_path: Path) -> None:
    # Issue 12: small CRD bundles (60 KB in a fleet of 2,000 clusters: 120 MB) stayed in
    # memory though no prefilter for another kind ever lists them. Counts bytes kept.
    crds = "".join(
        f"---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        f"metadata:\n  name: c{n}\n" for n in range(50)
    ) + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n"
    build_tree(
        tmp_path,
        {"crds.yaml": crds, "notes.yaml": "a: 1\n", "release.yaml": "kind: HelmRelease\n"},
    )
    workspace = Workspace(tmp_path)
    assert workspace.candidates(kinds=["CustomResourceDefinition"]) == ["crds.yaml"]
    assert sorted(workspace._bytes) == ["release.yaml"]
    assert workspace.candidates(kinds=["CustomResourceDefinition"], contains=["c49"]) == [
        "crds.yaml"
    ]
    assert workspace.read_bytes("crds.yaml") == crds.encode()
