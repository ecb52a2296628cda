"""The command line of every `waypath` command, fuzzed (tests/fuzz/argv.py): option-looking
values, empty strings, unicode, bytes that are not UTF-8, paths outside the repo, missing
files, FIFOs and devices, conflicting flags. Each case runs in the sandbox of
tests/fuzz/harness.py and must keep its invariants (exit 0/1/2/130, no traceback, the repo
unchanged unless the command succeeded at changing it, nothing outside the repo touched but
the outputs the command line names, no temporary file left, within time and memory).

`test_the_real_entry_point_agrees` runs a few command lines through `python -m engine`
with real argv bytes, so the forked shortcut cannot hide a difference from the real CLI.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.cli import cli
from tests.fuzz.argv import GRAMMAR, command_line, needs_bundled, outputs_of, writes_repo
from tests.fuzz.harness import MEMORY_BYTES, Case, Template, check, fresh, repo_state
from tests.fuzz.settings import fuzz_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return Template(tmp_path_factory.mktemp("fuzz-cli-template"))


def case_for(argv: list[str]) -> Case:
    return Case(argv, outputs=outputs_of(argv), writes_repo=writes_repo(argv),
                bundled=needs_bundled(argv))  # fmt: skip


@pytest.mark.parametrize("words", list(GRAMMAR), ids=lambda w: "-".join(w) or "waypath")
@fuzz_settings(10)
@given(data=st.data())
def test_a_fuzzed_command_line_keeps_every_invariant(
    template: Template, words: tuple[str, ...], data: st.DataObject
) -> None:
    argv = data.draw(command_line(words), label="argv")
    sandbox = fresh(template)
    try:
        check(sandbox, case_for(argv), "cli:" + (" ".join(words) or "waypath"))
    finally:
        sandbox.remove()


def _limits() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES * 2, MEMORY_BYTES * 2))
    resource.setrlimit(resource.RLIMIT_CPU, (60, 61))


@pytest.mark.parametrize(
    "argv",
    [
        [b"detect", b"repo", b"--recipes", b"lib", b"--assume", b"meshy=caf\xe9"],
        [b"apply", b"repo", b"--recipes", b"lib", b"--to", b"meshy@stable-2.0", b"--commit",
         b"--branch", b"caf\xe9", b"--describe", b"work/caf\xe9.md"],
        [b"plan", b"repo\xff", b"--to", b"meshy@stable-2.0"],
    ],
    ids=["assume", "branch", "repo"],
)
def test_the_real_entry_point_agrees(template: Template, argv: list[bytes]) -> None:
    # `python -m engine` with argv bytes that are not UTF-8, under the same limits.
    sandbox = fresh(template)
    try:
        before = repo_state(sandbox.repo)
        env = {**sandbox.env(), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "engine", *argv], cwd=sandbox.root, env=env,
                              capture_output=True, timeout=120, preexec_fn=_limits)  # fmt: skip
        said = (done.stdout + done.stderr).decode("utf-8", "replace")
        assert done.returncode in (0, 1), said
        assert "Traceback" not in said and "unexpected error" not in said, said
        if done.returncode == 1:
            assert repo_state(sandbox.repo) == before
        assert not os.listdir(sandbox.path("tmp"))
    finally:
        sandbox.remove()


def _commands(group: click.Group, words: tuple[str, ...] = ()) -> dict[tuple[str, ...], set[str]]:
    found: dict[tuple[str, ...], set[str]] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_commands(command, (*words, name)))
        else:
            options = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
            found[(*words, name)] = options - {"-h", "--help"}
    return found


def test_the_grammar_covers_every_command_and_option() -> None:
    # A command or option added to engine/cli.py is fuzzed too, or this fails.
    commands = _commands(cli)
    assert set(commands) == set(GRAMMAR) - {()}
    for words, options in commands.items():
        drawn = {option for option, _ in GRAMMAR[words][1]}
        assert options <= drawn, f"{' '.join(words)}: not fuzzed: {sorted(options - drawn)}"
