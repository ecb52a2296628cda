"""Every input file Waypath reads, mutated, through the command line that reads it.

For each kind of input (repo YAML: HelmRelease, kustomization.yaml, Flux Kustomization,
gotk-sync.yaml; waypath.yaml; recipe, component and template files of a `--recipes`
library; plan files given to `apply`; Renovate data files; `recipe new --old-values`;
recipe-test case files and their `before/` trees) hypothesis draws a mutation
(tests/fuzz/mutate.py) and one of the commands that read that input, and
tests/fuzz/harness.py checks the invariants: exit 0/1/2/130, no traceback, the repo
unchanged unless the command succeeded at changing it, nothing outside the repo touched,
no temporary file left, within the time and memory limits.

Budget: `FUZZ_EXAMPLES` cases per kind (CI: derandomized, so every run tries the same
cases); `WAYPATH_FUZZ_EXAMPLES=N` runs N per kind with a random seed (docs/security.md).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import INPUT_FILES, Case, Sandbox, Template, check, fresh
from tests.fuzz.mutate import edits, place, realize
from tests.fuzz.settings import fuzz_settings

TO = ["--to", "meshy@stable-2.0"]
LIB = ["--recipes", "lib"]
REPO_COMMANDS = [
    Case(["detect", "repo", *LIB]),
    Case(["plan", "repo", *LIB, *TO, "--diff"]),
    Case(["plan", "repo", *LIB, "--format", "json"]),
    Case(["apply", "repo", *LIB, *TO], writes_repo=True),
    Case(["apply", "repo", *LIB, "--commit", "--wave", "prod"], writes_repo=True),
    Case(["sync", "repo", *LIB], writes_repo=True),
    Case(["verify", "repo", "--format", "json"]),
]
LIBRARY_COMMANDS = [
    Case(["plan", "repo", *LIB, *TO]),
    Case(["recipe", "lint", *LIB]),
    Case(["recipe", "lint", "lib/meshy"]),
    Case(["graph", *LIB, "--format", "mermaid"]),
    Case(["apply", "repo", *LIB, *TO, "--commit"], writes_repo=True),
    Case(["recipe", "test", "meshy", *LIB]),
]
CASE_COMMANDS = [
    Case(["recipe", "test", "meshy", *LIB]),
    Case(["recipe", "test", "lib/meshy/tests/prod", *LIB]),
    Case(["recipe", "test", "--update", "meshy", *LIB], outputs=["lib/meshy/tests/prod/expected"]),
]
NEW = ["recipe", "new", "meshy", "--from", "stable-2.0", "--to", "stable-2.1.0", *LIB,
       "--recipes", "work/mine"]  # fmt: skip

# kind: (format of its valid content, whether it lives in the repo, the commands reading it)
KINDS: dict[str, tuple[str, bool, list[Case]]] = {
    "helmrelease": ("yaml", True, REPO_COMMANDS),
    "kustomization": ("yaml", True, REPO_COMMANDS),
    "flux-kustomization": ("yaml", True, REPO_COMMANDS),
    "gotk-sync": ("yaml-stream", True, REPO_COMMANDS),
    "waypath-yaml": ("yaml", True, REPO_COMMANDS),
    "recipe": ("yaml", False, LIBRARY_COMMANDS),
    "component": ("yaml", False, LIBRARY_COMMANDS),
    "template": ("text", False, LIBRARY_COMMANDS),
    "plan-file": ("json", False, [
        Case(["apply", "repo", "inputs/plan.json"], writes_repo=True),
        Case(["apply", "repo", "inputs/plan.json", "--commit", "--format", "json"],
             writes_repo=True),
    ]),
    "renovate-data": ("json", False, [
        Case(["sync", "repo", *LIB], writes_repo=True),
        Case(["sync", "repo", *LIB, "--no-commit", "--format", "json"], writes_repo=True),
    ]),
    "values": ("yaml", False, [
        Case([*NEW, "--old-values", "inputs/values.yaml", "--new-values", "inputs/clean.yaml"],
             outputs=["work/mine"]),
        Case([*NEW, "--old-values", "inputs/clean.yaml", "--new-values", "inputs/values.yaml"],
             outputs=["work/mine"]),
    ]),
    "case-file": ("yaml", False, CASE_COMMANDS),
    "case-before": ("yaml", False, CASE_COMMANDS),
}  # fmt: skip


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return Template(tmp_path_factory.mktemp("fuzz-template"))


def mutate(sandbox: Sandbox, kind: str, edit: tuple[str, object]) -> None:
    fmt, in_repo, _ = KINDS[kind]
    path = sandbox.path(INPUT_FILES[kind])
    place(path, realize(path.read_bytes(), fmt, edit), sandbox.path("outside"))
    if in_repo:
        sandbox.commit()


@pytest.mark.parametrize("kind", sorted(KINDS))
@fuzz_settings(25)
@given(edit=edits(), which=st.integers(0, 99))
def test_a_mutated_input_file_keeps_every_invariant(
    template: Template, kind: str, edit: tuple[str, object], which: int
) -> None:
    commands = KINDS[kind][2]
    base = commands[which % len(commands)]
    case = Case(list(base.argv), outputs=list(base.outputs), writes_repo=base.writes_repo)
    if kind == "renovate-data":
        case.env["RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE"] = "inputs/renovate.json"
    sandbox = fresh(template)
    try:
        mutate(sandbox, kind, edit)
        check(sandbox, case, kind)
    finally:
        sandbox.remove()


CLEAN_CODES = {
    "helmrelease": [0, 2, 2, 0, 0, 0, 1],  # verify: the toy charts are in no --charts folder
    "recipe": [2, 0, 0, 0, 0, 0],
    "plan-file": [0, 0],
    "renovate-data": [0, 1],  # --no-commit: 5 commits cannot be one (a clear refusal)
    "values": [0, 0],
    "case-file": [0, 0, 0],
}


@pytest.mark.parametrize("kind", sorted(CLEAN_CODES))
def test_the_unmutated_inputs_work(template: Template, kind: str) -> None:
    # The harness itself: on valid inputs every command of a kind does its job, so the
    # mutated runs test what they claim to (not a sandbox every command refuses).
    codes = []
    for base in KINDS[kind][2]:
        case = Case(list(base.argv), outputs=list(base.outputs), writes_repo=base.writes_repo)
        if kind == "renovate-data":
            case.env["RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE"] = "inputs/renovate.json"
        sandbox = fresh(template)
        try:
            codes.append(check(sandbox, case, "unmutated").code)
        finally:
            sandbox.remove()
    assert codes == CLEAN_CODES[kind]
