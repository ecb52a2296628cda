"""Encrypted and secret material: SOPS files are never modified; secret values never leak.

Canary values are planted in Secrets (data and stringData), SOPS files and `secret: true`
params, then every output channel is scanned: stdout and stderr of every command, plan
JSON, text and Markdown, written files, commit messages and diffs.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import RepoError, WaypathError
from engine.output.render import render_markdown, render_text
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.repo.workspace import Workspace
from tests.helpers import (
    BUMP_PHASE,
    RECIPES,
    git,
    git_repo,
    hermetic_git,
    meshy_files,
    snapshot_bytes,
)

FIXTURES = Path(__file__).parent / "fixtures"
LICENSE = "CANARY-MESHY-LICENSE-STRINGDATA"
TOKEN = "CANARY-MESHY-TOKEN-DATA"
SOPS_VALUE = "CANARY-MESHY-SOPS-PRIVATE-KEY"
PARAM = "CANARY-SECRET-PARAM-VALUE"
CANARY = re.compile(rb"CANARY-[A-Z0-9-]+")
CANARIES = (LICENSE, TOKEN, base64.b64encode(TOKEN.encode()).decode(), SOPS_VALUE, PARAM)

SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: meshy-license
  namespace: meshy
stringData:
  license: {LICENSE}
data:
  token: {base64.b64encode(TOKEN.encode()).decode()}
"""
SOPS = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: meshy-issuer
  namespace: meshy
stringData:
  tls.key: ENC[AES256_GCM,data:{SOPS_VALUE},iv:aXY=,tag:dGFn,type:str]
sops:
  age:
    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        {SOPS_VALUE}-WRAPPED-KEY
        -----END AGE ENCRYPTED FILE-----
  mac: ENC[AES256_GCM,data:{SOPS_VALUE}-MAC,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.8.1
"""
SOPS_RELEASE = "clusters/prod/meshy/release-values.sops.yaml"

RECIPE_HEAD = """\
apiVersion: waypath.dev/v1
kind: Recipe
component: meshy
from: {edition: oss, versions: ">=1.0.0 <1.1.0"}
to: {edition: oss, version: 1.1.0}
summary: A recipe that reaches for secrets
params:
  license: {type: string, secret: true}
  pick: {type: choice, choices: [a, b], secret: true}
phases:
  - name: leak
    message: "meshy: leak"
    steps:
"""


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hermetic_git(monkeypatch, date=None)


def secret_repo(root: Path) -> Path:
    files = meshy_files(clusters=("prod",))
    files["clusters/prod/meshy/license.yaml"] = SECRET
    files["clusters/prod/meshy/issuer.sops.yaml"] = SOPS
    return git_repo(root, files)


def library(root: Path, steps: str) -> Path:
    folder = root / "meshy"
    folder.mkdir(parents=True)
    shutil.copy(RECIPES / "meshy" / "component.yaml", folder / "component.yaml")
    (folder / "stable-1.0-to-stable-1.1.yaml").write_text(RECIPE_HEAD + steps + BUMP_PHASE)
    return root


def assert_no_canary(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} leaked: ...{data[-400:]!r}"


def plan_outputs(repo: Path, lib: Path, params: dict[str, str]) -> list[str]:
    """Everything a plan shows. A patch of a plain-text Secret rewrites that file, so its
    own new content holds its own values: that one file is left out of the scan."""
    library_ = load_library([lib], include_bundled=False)
    request = PlanRequest(target="meshy@stable-1.1", params=params)
    plan = make_plan(Workspace(repo), library_, request)
    own = "clusters/prod/meshy/license.yaml"
    raw = plan.to_json()
    for commit in raw["commits"]:
        commit["files"] = [f for f in commit["files"] if f["path"] != own]
    return [
        json.dumps(raw),
        render_text(plan),
        render_markdown(plan, None),
        *[c.message for c in plan.commits],
        *[
            (c.content or b"").decode()
            for commit in plan.commits
            for c in commit.changes
            if c.path != own
        ],
    ]


# -- repo secrets: what a recipe can reach ----------------------------------------------------

REACHES = {
    # Pins: planner.redact on `doc`/`docs` of a template that selects a Secret.
    "template doc of a Secret": "      - template:\n"
    "          select: {kind: Secret, name: meshy-license}\n"
    "          inline: '{{ doc | to_yaml }}'\n"
    "          into: '{{ instance.dir }}/copy.yaml'\n",
    "template docs of Secrets": "      - template:\n"
    "          select: {kind: Secret}\n"
    "          inline: 'all: {{ docs | tojson }}'\n"
    "          into: '{{ instance.dir }}/copy.yaml'\n",
    # Pins: redact of SOPS documents (their encrypted values and `sops:` block).
    "template doc of a SOPS file": "      - template:\n"
    "          select: {kind: Secret, name: meshy-issuer}\n"
    "          inline: '{{ doc | to_yaml }}'\n"
    "          into: '{{ instance.dir }}/copy.yaml'\n",
    "note from a Secret": "      - template:\n"
    "          select: {kind: Secret, name: meshy-license}\n"
    "          inline: 'x: {{ doc.stringData.license }}'\n"
    "          into: '{{ instance.dir }}/copy.yaml'\n",
    # Pins: steps._patch reports for Secrets name the key, never the value it held.
    "patch removing a Secret key": "      - patch:\n"
    "          select: {kind: Secret, name: meshy-license}\n"
    "          ops: [{op: remove, path: /stringData/license}, {op: remove, path: /data/token}]\n",
    "patch moving a Secret key": "      - patch:\n"
    "          select: {kind: Secret, name: meshy-license}\n"
    "          ops: [{op: move, from: /stringData/license, path: /stringData/old}]\n",
}


@pytest.mark.parametrize("reach", sorted(REACHES))
def test_repo_secrets_never_reach_any_output(tmp_path: Path, reach: str) -> None:
    repo = secret_repo(tmp_path / "repo")
    lib = library(tmp_path / "lib", REACHES[reach])
    try:
        outputs = plan_outputs(repo, lib, {})
    except WaypathError as exc:
        outputs = [exc.render()]
    assert_no_canary(*outputs)


def test_a_template_may_not_rewrite_a_secret_it_cannot_see(tmp_path: Path) -> None:
    # Pins: a template `replace` of a Secret is refused. Its context holds `<redacted>` for
    # every value, so writing its output back would replace the licence with that word.
    repo = secret_repo(tmp_path / "repo")
    lib = library(
        tmp_path / "lib",
        "      - template:\n"
        "          replace: {kind: Secret, name: meshy-license}\n"
        "          inline: '{{ doc | to_yaml }}'\n",
    )
    with pytest.raises(RepoError) as info:
        plan_outputs(repo, lib, {})
    assert "clusters/prod/meshy/license.yaml" in info.value.render()
    assert_no_canary(info.value.render())


# -- SOPS files are never modified ------------------------------------------------------------

SOPS_EDITS = {
    "patch": "      - patch:\n"
    "          select: {kind: Secret, name: meshy-issuer}\n"
    "          ops: [{op: add, path: /metadata/labels, value: {a: b}}]\n",
    "template replace": "      - template:\n"
    "          replace: {kind: Secret, name: meshy-issuer}\n"
    "          inline: 'kind: Secret'\n",
    "template overwrite": "      - template:\n"
    "          inline: 'kind: Secret'\n"
    "          into: '{{ instance.dir }}/issuer.sops.yaml'\n"
    "          overwrite: true\n",
    "template append": "      - template:\n"
    "          inline: 'kind: ConfigMap'\n"
    "          into: '{{ instance.dir }}/issuer.sops.yaml'\n"
    "          append: true\n",
    "delete select": "      - delete: {select: {kind: Secret, name: meshy-issuer}}\n",
    "delete path": "      - delete: {path: '{{ instance.dir }}/issuer.sops.yaml'}\n",
}


@pytest.mark.parametrize("edit", sorted(SOPS_EDITS))
def test_a_step_that_would_edit_a_sops_file_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    # Pins: steps._check_writable / _check_all_writable (a top-level `sops:` mapping).
    repo = secret_repo(tmp_path / "repo")
    lib = library(tmp_path / "lib", SOPS_EDITS[edit])
    before = snapshot_bytes(repo)
    code = main(["apply", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(lib)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert err.startswith("error: clusters/prod/meshy/issuer.sops.yaml:1: ")
    assert "SOPS-encrypted" in err and "sops -d" in err
    assert snapshot_bytes(repo) == before
    assert_no_canary(out, err)


# -- secret params ----------------------------------------------------------------------------

PARAM_USES = {
    # Pins: planner._check_secrets scanning files, messages and notes; and its error message
    # not quoting the commit subject (which may hold the value).
    "file": "      - template: {inline: 'k: {{ params.license }}', into: '{{ instance.dir }}/l.yaml'}\n",
    "op value": "      - patch:\n          select: {detector: core}\n"
    "          ops: [{op: add, path: /spec/values/key, value: '{{ params.license }}'}]\n",
    "note": "      - note: 'use {{ params.license }}'\n",
    "note command": "      - note: {title: t, commands: ['echo {{ params.license }}']}\n",
    "subject": "      - note: hi\n",
}


@pytest.mark.parametrize("use", sorted(PARAM_USES))
def test_a_secret_param_is_never_rendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], use: str
) -> None:
    repo = secret_repo(tmp_path / "repo")
    lib = library(tmp_path / "lib", PARAM_USES[use])
    if use == "subject":
        recipe = lib / "meshy" / "stable-1.0-to-stable-1.1.yaml"
        recipe.write_text(recipe.read_text().replace('"meshy: leak"', '"{{ params.license }}"'))
    before = snapshot_bytes(repo)
    outputs = []
    for command in (["plan", "--format", "json"], ["plan", "--diff"], ["apply"]):
        code = main(
            [
                command[0],
                str(repo),
                *command[1:],
                "--to",
                "meshy@stable-1.1",
                "--recipes",
                str(lib),
                "--set",
                f"license={PARAM}",
            ]
        )
        out, err = capsys.readouterr()
        outputs += [out, err]
        assert code == 1
        assert "secret param" in err
    assert snapshot_bytes(repo) == before
    assert_no_canary(*outputs)


def test_a_secret_param_in_an_error_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: planner.convert_param not quoting the value of a secret param.
    repo = secret_repo(tmp_path / "repo")
    lib = library(tmp_path / "lib", "      - note: hi\n")
    code = main(
        [
            "plan",
            str(repo),
            "--to",
            "meshy@stable-1.1",
            "--recipes",
            str(lib),
            "--set",
            f"pick={PARAM}",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "--set pick" in err
    assert_no_canary(out, err)


# -- the bundled Linkerd recipes on the fixture repos ----------------------------------------

FIXTURE_RUNS = [
    ("stable-2.14", ["--assume", "linkerd=stable-2.14.10"]),
    ("enterprise-2.16", []),
    ("base-overlays", ["--assume", "linkerd=stable-2.11.5"]),
]


@pytest.mark.parametrize(("fixture", "extra"), FIXTURE_RUNS, ids=[f for f, _ in FIXTURE_RUNS])
def test_fixture_canaries_never_leave_their_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fixture: str, extra: list[str]
) -> None:
    # Pins, end to end: redaction, the SOPS guard and fidelity (untouched files stay
    # byte-identical) on real recipes. Scans plan text/JSON/Markdown/diff, apply output,
    # commit messages and every diff line the commits add.
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / fixture, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "initial")
    holders = {p: data for p, data in snapshot_bytes(repo).items() if b"CANARY" in data}
    assert holders, "the fixture holds canaries"
    canaries = {m.decode() for data in holders.values() for m in CANARY.findall(data)}
    outputs: list[str] = []
    target = ["--to", "linkerd@enterprise-2.19", *extra]
    for fmt in (["--format", "json"], ["--format", "markdown"], ["--diff"]):
        code = main(["plan", str(repo), *target, *fmt])
        out, err = capsys.readouterr()
        assert code in (0, 2), err
        outputs += [out, err]
    code = main(["apply", str(repo), *target, "--commit", "--branch", "waypath/up"])
    out, err = capsys.readouterr()
    outputs += [out, err]
    assert code == 0, err
    assert len(git(repo, "log", "--format=%H", "main..HEAD").split()) >= 1
    outputs.append(git(repo, "log", "--format=%B%n%H", "-p", "main..HEAD"))
    for text in outputs:
        for canary in canaries:
            assert canary not in text, f"{canary} leaked"
    after = snapshot_bytes(repo)
    for path, data in holders.items():
        assert after.get(path) == data, f"{path} changed"


def test_a_secret_is_redacted_wherever_it_is_nested() -> None:
    from engine.planning.planner import redact

    secret = {"kind": "Secret", "data": {"token": "Y2FuYXJ5"}, "stringData": {"pw": "canary"}}
    listed = {"apiVersion": "v1", "kind": "List", "items": [{"kind": "ConfigMap"}, secret]}
    redacted = redact(listed)
    assert redacted["items"][1]["data"] == {"token": "<redacted>"}
    assert redacted["items"][1]["stringData"] == {"pw": "<redacted>"}
    assert redacted["items"][0] is listed["items"][0]
    assert "canary" not in repr(redact({"a": {"b": [secret]}}))
    plain = {"kind": "ConfigMap", "data": {"x": "1"}}
    assert redact(plain) is plain
