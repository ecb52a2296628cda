from __future__ import annotations

import json
import subprocess
from pathlib import Path

from engine.output.render import (
    commit_diffs,
    render_json,
    render_markdown,
    render_text,
    unified_diff,
)
from engine.planning.planfile import parse_plan
from engine.planning.planmodel import (
    Commit,
    FileChange,
    GateInfo,
    InstancePlan,
    Note,
    Plan,
    ReportItem,
    sha256_bytes,
)

RELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
spec:
  chart:
    spec:
      chart: linkerd2
      version: 2.11.5
"""
SUSPENDED = RELEASE.replace(b"spec:\n  chart", b"spec:\n  suspend: true\n  chart")
CRDS = b"kind: HelmRelease\nmetadata:\n  name: linkerd-crds\n"
ORIGINAL = {
    "clusters/prod/linkerd/release.yaml": RELEASE,
    "clusters/prod/linkerd/old.yaml": b"old\n",
}
RELEASE_PATH = "clusters/prod/linkerd/release.yaml"


def instance(folder: str, version: str, **extra: object) -> InstancePlan:
    return InstancePlan(
        component="linkerd",
        instance=folder,
        paths=[f"{folder}/release.yaml"],
        edition="oss",
        version=version,
        target="stable-2.12.6",
        **extra,  # type: ignore[arg-type]
    )


def commit(n: int, subject: str, body: str, **extra: object) -> Commit:
    return Commit(
        subject=subject,
        body=body,
        recipe="2.11-to-2.12",
        phase=["suspend", "split"][n - 1],
        phase_number=n,
        phase_count=2,
        from_version="stable-2.11.5",
        to_version="stable-2.12.6",
        instances=["clusters/prod/linkerd"],
        wave="prod",
        **extra,  # type: ignore[arg-type]
    )


OLD = b"old: true\n"


def sample() -> Plan:
    return Plan(
        target="linkerd@stable-2.12",
        instances=[
            instance("clusters/prod/linkerd", "stable-2.11.5", path=["2.11-to-2.12"], wave="prod"),
            instance("clusters/dev/linkerd", "stable-2.12.6", path=[], status="current"),
        ],
        commits=[
            commit(
                1,
                "linkerd: suspend linkerd2 before the 2.12 chart split",
                "Waypath-Recipe: 2.11-to-2.12",
                changes=[FileChange(RELEASE_PATH, "modified", SUSPENDED, sha256_bytes(RELEASE))],
                gate=GateInfo("HelmRelease linkerd suspended", ["flux get hr -n linkerd linkerd"]),
            ),
            commit(
                2,
                "linkerd: split linkerd2 into linkerd-crds and linkerd-control-plane",
                "",
                changes=[
                    FileChange("clusters/prod/linkerd/old.yaml", "deleted", None, sha256_bytes(OLD)),
                    FileChange("clusters/prod/linkerd/crds.yaml", "added", CRDS),
                    FileChange(RELEASE_PATH, "modified", b"replaced\n"),
                ],
                notes=[
                    Note(
                        "Annotate the CRDs",
                        "So that linkerd-crds adopts them.",
                        ["kubectl annotate crd -l linkerd.io/control-plane-ns x=y"],
                        unverified=True,
                    )
                ],
                gate=GateInfo("linkerd-crds Ready", ["flux get hr -n linkerd linkerd-crds"]),
                reports=[
                    ReportItem("dropped-key", "values key `global.foo` is gone", RELEASE_PATH)
                ],
            ),
        ],
        inputs={
            RELEASE_PATH: sha256_bytes(RELEASE),
            "clusters/prod/linkerd/old.yaml": sha256_bytes(OLD),
        },
        reports=[ReportItem("skipped", "SOPS-encrypted, not edited", "clusters/prod/secrets.yaml")],
        unverified=["linkerd-crds 1.4.0 ships the 2.12.6 CRDs"],
    )


def up_to_date() -> Plan:
    return Plan(
        target="linkerd@stable-2.12",
        instances=[instance("clusters/dev/linkerd", "stable-2.12.6", path=[], status="current")],
        commits=[],
        inputs={},
    )


# -- diffs ----------------------------------------------------------------------------------


def test_unified_diff_of_a_modified_file() -> None:
    assert unified_diff(RELEASE_PATH, RELEASE, SUSPENDED) == (
        "--- a/clusters/prod/linkerd/release.yaml\n"
        "+++ b/clusters/prod/linkerd/release.yaml\n"
        "@@ -1,6 +1,7 @@\n"
        " apiVersion: helm.toolkit.fluxcd.io/v2\n"
        " kind: HelmRelease\n"
        " spec:\n"
        "+  suspend: true\n"
        "   chart:\n"
        "     spec:\n"
        "       chart: linkerd2\n"
    )


def test_unified_diff_of_added_deleted_and_unchanged_files() -> None:
    assert unified_diff("n.yaml", None, b"a\nb\n") == (
        "--- /dev/null\n+++ b/n.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    )
    assert (
        unified_diff("o.yaml", b"a\n", None) == "--- a/o.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
    )
    assert unified_diff("e.yaml", None, b"") == "--- /dev/null\n+++ b/e.yaml\n"
    assert unified_diff("same.yaml", b"a\n", b"a\n") == ""


def test_unified_diff_edge_bytes() -> None:
    assert unified_diff("t", b"x\ny", b"x\nz\n") == (
        "--- a/t\n+++ b/t\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n"
    )
    # Only "\n" ends a line, as in git: a form feed or CR stays inside the line.
    assert unified_diff("t", b"a\x0cb\r\n", b"a\x0cc\r\n") == (
        "--- a/t\n+++ b/t\n@@ -1 +1 @@\n-a\x0cb\r\n+a\x0cc\r\n"
    )
    assert unified_diff("bin", b"\xff\x00", b"\xfe") == "Binary files a/bin and b/bin differ\n"


def test_commit_diffs_follow_the_commits() -> None:
    diffs = commit_diffs(sample(), ORIGINAL.get)
    assert diffs[0] == unified_diff(RELEASE_PATH, RELEASE, SUSPENDED)
    assert diffs[1] == (
        unified_diff("clusters/prod/linkerd/crds.yaml", None, CRDS)
        + unified_diff("clusters/prod/linkerd/old.yaml", b"old\n", None)
        + unified_diff(RELEASE_PATH, SUSPENDED, b"replaced\n")  # after commit 1, not the original
    )


def test_commit_diffs_apply_with_git(tmp_path: Path) -> None:
    for path, data in ORIGINAL.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    for number, diff in enumerate(commit_diffs(sample(), ORIGINAL.get)):
        patch = tmp_path / f"{number}.diff"
        patch.write_text(diff)
        subprocess.run(["git", "apply", str(patch)], cwd=tmp_path, check=True)
        patch.unlink()
    assert (tmp_path / RELEASE_PATH).read_bytes() == b"replaced\n"
    assert (tmp_path / "clusters/prod/linkerd/crds.yaml").read_bytes() == CRDS
    assert not (tmp_path / "clusters/prod/linkerd/old.yaml").exists()


# -- text -----------------------------------------------------------------------------------


def test_render_text() -> None:
    assert (
        render_text(sample())
        == """\
Target: linkerd@stable-2.12
Path: 2.11-to-2.12

Instances:
  linkerd clusters/prod/linkerd [wave prod]: stable-2.11.5 -> stable-2.12.6 via 2.11-to-2.12
  linkerd clusters/dev/linkerd: already at stable-2.12.6

Commits:
  1. linkerd: suspend linkerd2 before the 2.12 chart split
     recipe 2.11-to-2.12, phase suspend (1/2), wave prod
     instances: clusters/prod/linkerd
     M clusters/prod/linkerd/release.yaml
     gate: HelmRelease linkerd suspended
       $ flux get hr -n linkerd linkerd
  2. linkerd: split linkerd2 into linkerd-crds and linkerd-control-plane
     recipe 2.11-to-2.12, phase split (2/2), wave prod
     instances: clusters/prod/linkerd
     D clusters/prod/linkerd/old.yaml
     A clusters/prod/linkerd/crds.yaml
     M clusters/prod/linkerd/release.yaml
     note (UNVERIFIED): Annotate the CRDs
       So that linkerd-crds adopts them.
       $ kubectl annotate crd -l linkerd.io/control-plane-ns x=y
     gate: linkerd-crds Ready
       $ flux get hr -n linkerd linkerd-crds
     [dropped-key] clusters/prod/linkerd/release.yaml: values key `global.foo` is gone

Reports:
  [skipped] clusters/prod/secrets.yaml: SOPS-encrypted, not edited

Unverified facts:
  - linkerd-crds 1.4.0 ships the 2.12.6 CRDs

Planned: 2 commit(s), 3 file(s).
"""
    )


def test_render_text_with_nothing_to_do() -> None:
    assert (
        render_text(up_to_date())
        == """\
Target: linkerd@stable-2.12

Instances:
  linkerd clusters/dev/linkerd: already at stable-2.12.6

Nothing to do: every instance is already at the target.
"""
    )


def test_render_text_of_instances_without_a_path() -> None:
    plan = up_to_date()
    plan.instances = [
        instance("a", "stable-2.9.1", path=[], explanation=["no recipe starts at 2.9"]),
        instance("b", "stable-2.13.0", path=[], status="ahead"),
    ]
    assert render_text(plan).splitlines()[2:7] == [
        "Instances:",
        "  linkerd a: stable-2.9.1 -> stable-2.12.6: no path",
        "    no recipe starts at 2.9",
        "  linkerd b: at stable-2.13.0, ahead of stable-2.12.6",
        "",
    ]


# -- Markdown -------------------------------------------------------------------------------


def test_render_markdown() -> None:
    plan = sample()
    plan.commits[1].changes = plan.commits[1].changes[:2]
    assert (
        render_markdown(plan, commit_diffs(plan, ORIGINAL.get))
        == """\
# Waypath plan: linkerd@stable-2.12

**Path:** `2.11-to-2.12`

## Instances

| Component | Folder | Wave | From | To | Path |
|---|---|---|---|---|---|
| linkerd | `clusters/prod/linkerd` | prod | stable-2.11.5 | stable-2.12.6 | `2.11-to-2.12` |
| linkerd | `clusters/dev/linkerd` |  | stable-2.12.6 | stable-2.12.6 | already at stable-2.12.6 |

## Commits

### 1. linkerd: suspend linkerd2 before the 2.12 chart split

Recipe 2.11-to-2.12, phase suspend (1/2), wave prod.
Instances: `clusters/prod/linkerd`.

```text
Waypath-Recipe: 2.11-to-2.12
```

**Files**

- `M` `clusters/prod/linkerd/release.yaml`

**Before merging the next commit:** HelmRelease linkerd suspended

```sh
flux get hr -n linkerd linkerd
```

<details><summary>Diff</summary>

```diff
--- a/clusters/prod/linkerd/release.yaml
+++ b/clusters/prod/linkerd/release.yaml
@@ -1,6 +1,7 @@
 apiVersion: helm.toolkit.fluxcd.io/v2
 kind: HelmRelease
 spec:
+  suspend: true
   chart:
     spec:
       chart: linkerd2
```

</details>

### 2. linkerd: split linkerd2 into linkerd-crds and linkerd-control-plane

Recipe 2.11-to-2.12, phase split (2/2), wave prod.
Instances: `clusters/prod/linkerd`.

**Files**

- `D` `clusters/prod/linkerd/old.yaml`
- `A` `clusters/prod/linkerd/crds.yaml`

**Manual steps**

- [ ] Annotate the CRDs *(unverified)*

  So that linkerd-crds adopts them.

  ```sh
  kubectl annotate crd -l linkerd.io/control-plane-ns x=y
  ```

**After merging, wait for:** linkerd-crds Ready

```sh
flux get hr -n linkerd linkerd-crds
```

**Reports**

- **dropped-key** `clusters/prod/linkerd/release.yaml`: values key `global.foo` is gone

<details><summary>Diff</summary>

```diff
--- /dev/null
+++ b/clusters/prod/linkerd/crds.yaml
@@ -0,0 +1,3 @@
+kind: HelmRelease
+metadata:
+  name: linkerd-crds
--- a/clusters/prod/linkerd/old.yaml
+++ /dev/null
@@ -1 +0,0 @@
-old
```

</details>

## Reports

- **skipped** `clusters/prod/secrets.yaml`: SOPS-encrypted, not edited

## Unverified facts

- linkerd-crds 1.4.0 ships the 2.12.6 CRDs
"""
    )


def test_render_markdown_with_nothing_to_do() -> None:
    assert (
        render_markdown(up_to_date())
        == """\
# Waypath plan: linkerd@stable-2.12

**Nothing to do: every instance is already at the target.**

## Instances

| Component | Folder | Wave | From | To | Path |
|---|---|---|---|---|---|
| linkerd | `clusters/dev/linkerd` |  | stable-2.12.6 | stable-2.12.6 | already at stable-2.12.6 |
"""
    )


def test_markdown_fences_survive_backticks_and_pipes() -> None:
    plan = sample()
    plan.commits = plan.commits[:1]
    plan.commits[0].body = "Run:\n```\nx\n```"
    plan.instances[0].wave = "a|b"
    text = render_markdown(plan)
    assert "\n````text\nRun:\n```\nx\n```\n````\n" in text
    assert "| `clusters/prod/linkerd` | a\\|b |" in text


# -- JSON and determinism -------------------------------------------------------------------


def test_render_json_round_trips() -> None:
    text = render_json(sample())
    assert text.endswith("}\n")
    raw = json.loads(text)
    assert raw == sample().to_json()
    assert list(raw) == [
        "format_version",
        "target",
        "path",
        "instances",
        "commits",
        "inputs",
        "reports",
        "unverified",
    ]
    again = parse_plan(raw)
    assert render_json(again) == text
    assert render_text(again) == render_text(sample())
    assert render_markdown(again) == render_markdown(sample())


def test_rendering_is_deterministic() -> None:
    for render in (render_text, render_markdown, render_json):
        assert render(sample()).encode() == render(sample()).encode()
    assert commit_diffs(sample(), ORIGINAL.get) == commit_diffs(sample(), ORIGINAL.get)
