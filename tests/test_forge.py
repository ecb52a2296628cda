"""Opening a stack's merge requests with gh and glab.

The real CLIs cannot reach a forge here, so a recording stand-in named `gh` / `glab` goes
first on PATH. It refuses any flag the real CLI does not document, and a value-taking flag
without its value, then records its argument list. Where the allowed flags come from:

- gh: the real CLI's own `gh pr create --help`, when `gh` is installed (Debian ships it:
  `apt-get install gh`); otherwise the same help text of gh 2.23.0 kept below.
- glab: no registry this project uses ships glab, so its documented flags are taken from
  glab's docs/source/mr/create.rst (profclems/glab, the `glab mr create` options table).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import GitError
from engine.output.forge import MergeRequest, argv, forge_branch, open_request, shown
from tests.commit_helpers import apply, use_toy_recipes_and_fixed_git
from tests.helpers import git, git_repo, meshy_files

PREFIX = "waypath/meshy-stable-2.0.0"

# `gh pr create --help` of gh 2.23.0 (Debian bookworm), the FLAGS and INHERITED FLAGS parts.
GH_HELP_2_23 = """\
FLAGS
  -a, --assignee login       Assign people by their login. Use "@me" to self-assign.
  -B, --base branch          The branch into which you want your code merged
  -b, --body string          Body for the pull request
  -F, --body-file file       Read body text from file (use "-" to read from standard input)
  -d, --draft                Mark pull request as a draft
  -f, --fill                 Do not prompt for title/body and just use commit info
  -H, --head branch          The branch that contains commits for your pull request (default: current branch)
  -l, --label name           Add labels by name
  -m, --milestone name       Add the pull request to a milestone by name
      --no-maintainer-edit   Disable maintainer's ability to modify pull request
  -p, --project name         Add the pull request to projects by name
      --recover string       Recover input from a failed run of create
  -r, --reviewer handle      Request reviews from people or teams by their handle
  -t, --title string         Title for the pull request
  -w, --web                  Open the web browser to create a pull request

INHERITED FLAGS
      --help                     Show help for command
  -R, --repo [HOST/]OWNER/REPO   Select another repository using the [HOST/]OWNER/REPO format
"""

# glab's docs/source/mr/create.rst (profclems/glab), the Options table of `glab mr create`.
GLAB_DOCUMENTED = """\
      --allow-collaboration    Allow commits from other members
  -a, --assignee usernames     Assign merge request to people by their usernames
      --create-source-branch   Create source branch if it does not exist
  -d, --description string     Supply a description for merge request
      --draft                  Mark merge request as a draft
  -f, --fill                   Do not prompt for title/description and just use commit info
  -H, --head OWNER/REPO        Select another head repository using the OWNER/REPO or `GROUP/NAMESPACE/REPO` format or the project ID or full URL
  -l, --label strings          Add label by name. Multiple labels should be comma separated
  -m, --milestone string       The global ID or title of a milestone to assign
      --no-editor              Don't open editor to enter description. If set to true, uses prompt. Default is false
      --push                   Push committed changes after creating merge request. Make sure you have committed changes
      --remove-source-branch   Remove Source Branch on merge
  -s, --source-branch string   The Branch you are creating the merge request. Default is the current branch.
  -b, --target-branch string   The target or base branch into which you want your code merged
  -t, --title string           Supply a title for merge request
  -w, --web                    continue merge request creation on web browser
      --wip                    Mark merge request as a work in progress. Alternative to --draft
  -y, --yes                    Skip submission confirmation prompt, with --fill it skips all optional prompts
"""

_FLAG = re.compile(r"^\s+(?:-\w, )?--([\w-]+)(?: (\S+))?\s{2,}")


def documented_flags(help_text: str) -> dict[str, bool]:
    """--flag -> whether it takes a value, from a cobra help text."""
    flags: dict[str, bool] = {}
    for line in help_text.splitlines():
        match = _FLAG.match(line)
        if match:
            flags[match.group(1)] = match.group(2) is not None
    return flags


def gh_flags() -> tuple[dict[str, bool], str]:
    real = shutil.which("gh")
    if real:
        text = subprocess.run(
            [real, "pr", "create", "--help"], capture_output=True, text=True, check=True
        ).stdout
        return documented_flags(text), f"{real} pr create --help"
    return documented_flags(GH_HELP_2_23), "gh 2.23.0 help text kept in this test"


STAND_IN = """\
import json, sys
spec = json.load(open({spec!r}))
args = sys.argv[1:]
if args[:2] != spec["command"]:
    sys.exit(f"unknown command {{args[:2]}}")
i = 2
while i < len(args):
    arg = args[i]
    if not arg.startswith("--") or arg[2:] not in spec["flags"]:
        sys.exit(f"unknown flag: {{arg}}")
    if spec["flags"][arg[2:]]:
        if i + 1 >= len(args):
            sys.exit(f"flag needs an argument: {{arg}}")
        i += 1
    i += 1
with open({log!r}, "a+") as log:
    log.seek(0)
    count = len(log.readlines()) + 1
    log.write(json.dumps(args) + "\\n")
print(spec["url"] + str(count))
"""


def install_stand_in(
    bin_dir: Path, name: str, command: list[str], flags: dict[str, bool], url: str
) -> Path:
    bin_dir.mkdir(exist_ok=True)
    spec = bin_dir / f"{name}.json"
    log = bin_dir / f"{name}.log"
    spec.write_text(json.dumps({"command": command, "flags": flags, "url": url}))
    script = bin_dir / name
    script.write_text(f"#!{sys.executable}\n" + STAND_IN.format(spec=str(spec), log=str(log)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    use_toy_recipes_and_fixed_git(monkeypatch)


def request(draft: bool, body: Path) -> MergeRequest:
    return MergeRequest(f"{PREFIX}/02-suspend", f"{PREFIX}/01-bump", "02/03 it's", body, draft)


def test_gh_arguments_are_documented_flags(tmp_path: Path) -> None:
    flags, source = gh_flags()
    assert flags["base"] and flags["head"] and flags["body-file"] and not flags["draft"], source
    body = tmp_path / "02.md"
    args = argv("github", request(True, body))
    assert args == [
        "gh", "pr", "create", "--base", f"{PREFIX}/01-bump", "--head", f"{PREFIX}/02-suspend",
        "--title", "02/03 it's", "--body-file", str(body), "--draft",
    ]
    assert [a[2:] for a in args if a.startswith("--")] == ["base", "head", "title", "body-file", "draft"]
    assert all(a[2:] in flags for a in args if a.startswith("--")), source


def test_glab_arguments_are_documented_flags(tmp_path: Path) -> None:
    flags = documented_flags(GLAB_DOCUMENTED)
    body = tmp_path / "02.md"
    body.write_text("the text\n")
    args = argv("gitlab", request(False, body))
    assert args == [
        "glab", "mr", "create", "--target-branch", f"{PREFIX}/01-bump",
        "--source-branch", f"{PREFIX}/02-suspend", "--title", "02/03 it's",
        "--description", "the text\n", "--yes",
    ]
    assert all(a[2:] in flags for a in args if a.startswith("--"))


def test_printed_commands_are_shell_quoted(tmp_path: Path) -> None:
    body = tmp_path / "my mr" / "02.md"
    assert shown("github", request(True, body)) == (
        f"gh pr create --base {PREFIX}/01-bump --head {PREFIX}/02-suspend "
        f"--title '02/03 it'\"'\"'s' --body-file '{body}' --draft"
    )
    assert shown("gitlab", request(True, body)) == (
        f"glab mr create --target-branch {PREFIX}/01-bump --source-branch {PREFIX}/02-suspend "
        f"--title '02/03 it'\"'\"'s' --description \"$(cat '{body}')\" --draft --yes"
    )


def _repo_with_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    repo = git_repo(tmp_path / "repo", meshy_files())
    git(repo, "remote", "add", "origin", str(remote))
    return repo


def test_open_github_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flags, _source = gh_flags()
    log = install_stand_in(
        tmp_path / "bin", "gh", ["pr", "create"], flags, "https://github.example/o/r/pull/"
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    repo = _repo_with_remote(tmp_path)
    mr = tmp_path / "mr"
    out = apply(repo, stack=True, describe_file=mr, push_remote="origin", open_forge="github")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    names = [f"{PREFIX}/01-bump", f"{PREFIX}/02-suspend", f"{PREFIX}/03-split"]
    assert [(c[3], c[5], c[-1] == "--draft") for c in calls] == [
        ("main", names[0], False), (names[0], names[1], True), (names[1], names[2], True),
    ]
    assert calls[1][c_index(calls[1], "--body-file")] == str(mr / "02-suspend.md")
    assert f"opened https://github.example/o/r/pull/1 ({names[0]} -> main)" in out
    # each description points at the merge request opened before it
    second = (mr / "02-suspend.md").read_text()
    assert "**Merge only after https://github.example/o/r/pull/1 is merged and its gate passed.**" in second
    assert git(tmp_path / "remote.git", "rev-parse", names[2]).strip() == git(
        repo, "rev-parse", names[2]
    ).strip()


def c_index(call: list[str], flag: str) -> int:
    return call.index(flag) + 1


def test_open_gitlab_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = install_stand_in(
        tmp_path / "bin", "glab", ["mr", "create"], documented_flags(GLAB_DOCUMENTED),
        "https://gitlab.example/g/p/-/merge_requests/",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    repo = _repo_with_remote(tmp_path)
    mr = tmp_path / "mr"
    apply(repo, stack=True, describe_file=mr, push_remote="origin", open_forge="gitlab")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 3
    assert calls[0][c_index(calls[0], "--target-branch")] == "main"
    assert "--draft" not in calls[0] and "--draft" in calls[2]
    # the description passed is the file as written, with the first one's address in it
    assert calls[1][c_index(calls[1], "--description")] == (mr / "02-suspend.md").read_text()
    assert "https://gitlab.example/g/p/-/merge_requests/1" in calls[1][c_index(calls[1], "--description")]


def test_a_failing_cli_is_a_clear_error(tmp_path: Path) -> None:
    def fails(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "could not find any remote\n")

    def missing(args: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(args[0])

    body = tmp_path / "02.md"
    body.write_text("x\n")
    with pytest.raises(GitError, match=r"`gh pr create` failed for .*could not find any remote"):
        open_request("github", request(True, body), run=fails)
    with pytest.raises(GitError, match="glab is not installed") as exc:
        open_request("gitlab", request(True, body), run=missing)
    assert "leave out --open" in exc.value.render()


def test_forge_branch_names() -> None:
    assert forge_branch("origin/main", ["origin"]) == "main"
    assert forge_branch("refs/heads/release/1", ["origin"]) == "release/1"
    assert forge_branch("main", ["origin"]) == "main"


def test_without_open_the_commands_are_printed(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", meshy_files())
    out = io.StringIO(apply(repo, stack=True, describe_file=tmp_path / "mr"))
    lines = out.getvalue().splitlines()
    start = lines.index("open the merge requests in this order (--open github|gitlab does it):")
    assert lines[start + 1] == (
        f"  gh pr create --base main --head {PREFIX}/01-bump --title "
        f"'01/03 meshy: upgrade to stable-1.1.0 [nonprod, prod]' --body-file {tmp_path}/mr/01-bump.md"
    )
    assert lines[start - 1] == (
        f"  git push origin {PREFIX}/01-bump {PREFIX}/02-suspend {PREFIX}/03-split"
    )
