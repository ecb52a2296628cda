"""What the fuzz harness (tests/test_fuzz_inputs.py, tests/test_fuzz_cli.py) found, one
plain test each: every case was a traceback (exit 3), a hang or a change outside what
the command may change, and is now a clear error or a normal result.

Pins the fixes named in each test.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from tests.fuzz.harness import REPO_FILES
from tests.helpers import RECIPES, git, git_repo, hermetic_git, snapshot_bytes
from tests.k8s_tools import K8sTools

TO = ["--to", "meshy@stable-2.0", "--recipes", str(RECIPES)]
RELEASE = "clusters/prod/meshy/release.yaml"


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "unexpected error" not in out + err, err
    return code, out, err


def repo_with(tmp_path: Path, changes: dict[str, str] | None = None) -> Path:
    """The fuzz harness's repo (two clusters, waypath.yaml) with some files replaced."""
    return git_repo(tmp_path / "repo", {**REPO_FILES, **(changes or {})})


@pytest.mark.parametrize(
    "edit",
    [
        (
            "      sourceRef:\n        kind: HelmRepository\n        name: meshy\n"
            "        namespace: flux-system\n",
            "      sourceRef: [HelmRepository]\n",
        ),
        ("  chart:\n    spec:\n", "  chart: [spec]\n  unused:\n    spec:\n"),
    ],
    ids=["sourceRef-list", "chart-list"],
)
def test_verify_reads_fields_of_the_wrong_type_as_schema_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    edit: tuple[str, str],
) -> None:  # fmt: skip
    # Pins: verifier._check_schemas passing on only what its schema accepts, and
    # discovery.mapping in the release and values checks (was AttributeError: 'list'
    # object has no attribute 'get').
    release = REPO_FILES[RELEASE].replace(*edit)
    assert release != REPO_FILES[RELEASE]
    repo = repo_with(tmp_path, {RELEASE: release})
    for schemas in ("", str(tmp_path / "none")):  # with the Flux CRDs, and with none found
        if schemas:
            monkeypatch.setenv("WAYPATH_FLUX_SCHEMAS", schemas)
        code, out, err = run(capsys, "verify", str(repo), "--format", "json")
        assert code in (0, 1) and out.startswith("{"), err
        assert json.loads(out)["command"] == "verify"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "file is not valid UTF-8 (byte 0xff)"),
        (b"kind: CustomResourceDefinition\nspec: []\n", "this CustomResourceDefinition has no"),
        (b"a: &a [*a]\n", "an alias bomb?"),
    ],
    ids=["not-utf8", "crd-without-spec", "recursive-alias"],
)
def test_a_schemas_folder_is_input_like_any_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    # Pins: schemas.SchemaIndex reading --schemas files through inputs.load_yaml and
    # naming a CRD it cannot use (was UnicodeDecodeError, KeyError, ComposerError).
    repo = repo_with(tmp_path)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "bad.yaml").write_bytes(content)
    code, _, err = run(capsys, "verify", str(repo), "--schemas", str(schemas))
    assert code == 1
    assert err.startswith(f"error: {schemas / 'bad.yaml'}"), err
    assert message in err, err


def test_a_template_step_beside_an_empty_kustomization_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: resources._listing taking an empty kustomization.yaml as one that lists
    # nothing (was IndexError: list index out of range).
    repo = repo_with(tmp_path, {"clusters/prod/meshy/kustomization.yaml": ""})
    before = snapshot_bytes(repo)
    code, _, err = run(capsys, "plan", str(repo), "--recipes", str(RECIPES))  # waypath.yaml's
    assert code == 2, err
    assert snapshot_bytes(repo) == before


def test_recipe_test_with_a_fifo_in_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: casetest.run_case reporting a before/ tree it cannot copy as the case's
    # failure (was shutil.Error: ... is a named pipe).
    lib = tmp_path / "lib"
    shutil.copytree(RECIPES, lib)
    before = lib / "meshy" / "tests" / "prod" / "before"
    before.mkdir(parents=True)
    (before.parent / "case.yaml").write_text("target: meshy@stable-1.1\n")
    os.mkfifo(before / "release.yaml")
    code, out, _ = run(capsys, "recipe", "test", "meshy", "--recipes", str(lib))
    assert code == 1
    assert f"{before}/ cannot be copied as a repo tree: " in out
    assert "is a named pipe" in out


@pytest.mark.parametrize("content", [b"\xff\xfe{\x00{\x00", b"a\x00b"], ids=["utf16", "nul"])
def test_a_template_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    # Pins: lint_templates and templating._RecipeLoader reading template files through
    # inputs.read_text (was UnicodeDecodeError in recipe lint and plan).
    lib = tmp_path / "lib"
    shutil.copytree(RECIPES, lib)
    template = lib / "meshy" / "templates" / "crds.yaml.j2"
    template.write_bytes(content)
    code, out, err = run(capsys, "recipe", "lint", str(lib / "meshy"))
    assert code == 1
    assert f"{template}:" in out and "template-unreadable" in out, out
    repo = repo_with(tmp_path)
    before = snapshot_bytes(repo)
    code, _, err = run(capsys, "plan", str(repo), "--to", "meshy@stable-2.0", "--recipes", str(lib))
    assert code == 1
    assert f"error: {template}:" in err, err
    assert snapshot_bytes(repo) == before
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "args",
    [
        ["recipe", "lint", "--recipes", "x" * 300],
        ["demo", "--keep", "x" * 300],
        ["detect", "x" * 300],
    ],
    ids=["recipes", "keep", "repo"],
)
def test_a_path_the_system_refuses_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:  # fmt: skip
    # Pins: error_handler.error_boundary turning an OSError about a path (a name too long,
    # no permission, a file where a folder must be) into exit 1 naming it (was exit 3).
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *args)
    assert code == 1
    assert err.startswith("error: ") and err.endswith(
        ": File name too long\nhint: check that path (its name, its type and its permissions)\n"
    ), err
    assert sorted(os.listdir(tmp_path)) == []


def test_a_tool_command_with_an_unclosed_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: verify.tools._named refusing a --helm/--kustomize it cannot split (was
    # ValueError: No closing quotation).
    repo = repo_with(tmp_path)
    for option in ("--helm", "--kustomize"):
        code, _, err = run(capsys, "verify", str(repo), option, "'unclosed")
        assert code == 1
        assert err.startswith(
            f"error: {option} \"'unclosed\" cannot be split into words: No closing quotation\n"
        ), err


def test_a_document_the_round_trip_parser_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: splice._roundtrip_or_refuse (was ruamel's ScannerError): three byte-order marks
    # before a HelmRelease; PyYAML reads the third as part of the first key, ruamel refuses.
    release = "\ufeff\ufeff\ufeff" + REPO_FILES[RELEASE]
    repo = repo_with(tmp_path, {RELEASE: release})
    before = snapshot_bytes(repo)
    code, _, err = run(capsys, "plan", str(repo), "--recipes", str(RECIPES))
    assert code == 1
    assert err.startswith(
        f"error: {RELEASE}:2: cannot edit this document: the round-trip parser cannot read it "
        "(ScannerError: mapping values are not allowed here)\nhint: make the change by hand"
    ), err
    assert snapshot_bytes(repo) == before


@pytest.mark.parametrize("where", ["meshy/stable-1.1-to-stable-2.0.yaml", "meshy/templates/crds.yaml.j2"])
def test_a_symlink_loop_in_a_library_is_linted_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    # Pins: lint._folder_names resolving with os.path.realpath, and the error boundary
    # taking Python 3.11's RuntimeError("Symlink loop from ...") as a path error (was exit 3).
    lib = tmp_path / "lib"
    shutil.copytree(RECIPES, lib)
    loop = lib / where
    loop.unlink()
    loop.symlink_to(loop.name)
    for args in (["--recipes", str(lib)], [str(lib / "meshy")]):
        code, out, err = run(capsys, "recipe", "lint", *args)
        assert code == 1
        assert str(loop) in out + err, out + err


def test_demo_keep_inside_a_git_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: demo._folder refusing a --keep inside .git, as --out and --describe do (the
    # demo wrote a whole repo into another repo's .git folder).
    repo = repo_with(tmp_path)
    before = snapshot_bytes(repo)
    keep = repo / ".git" / "x"
    code, _, err = run(capsys, "demo", "--keep", str(keep))
    assert (code, err) == (1, f"error: --keep {keep} is inside a .git folder\nhint: keep it elsewhere\n")
    assert not keep.exists()
    assert snapshot_bytes(repo) == before


def test_verify_reads_kustomize_output_within_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], k8s_tools: K8sTools
) -> None:
    # Pins: verifier._built_data reading each object kustomize builds through the limited
    # parser (was RecursionError in PyYAML on a Flux Kustomization nested 5,000 deep,
    # which kustomize builds and prints as it is).
    apps = "clusters/prod/apps.yaml"
    repo = repo_with(tmp_path, {apps: REPO_FILES[apps] + "deep: " + "[" * 5000 + "]" * 5000 + "\n"})
    code, out, err = run(capsys, "verify", str(repo), "--format", "json", "--kustomize",
                         f"{k8s_tools.kubectl} kustomize")  # fmt: skip
    assert code == 1 and out.startswith("{"), err
    assert json.loads(out)["counts"]["build"].get("pass", 0) >= 1


@pytest.mark.parametrize("target", ["meshy", "linkerd@stable-99"])
def test_demo_checks_its_target_before_writing_the_keep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    # Pins: demo.run resolving --to before _folder and make_repo (a bad target left a
    # whole example repo in --keep DIR).
    keep = tmp_path / "keep"
    code, _, err = run(capsys, "demo", "--to", target, "--keep", str(keep))
    assert code == 1 and err.startswith("error: "), err
    assert not keep.exists()
