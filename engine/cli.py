"""The `waypath` command line: parse, call one command function, exit with its code.

Kept thin on purpose: no logic here, and no core module imports click. Errors are turned
into messages and exit codes once, in engine/error_handler.py.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine import __version__
from engine.error_handler import Exit, error_boundary

DEMO_TARGET = "linkerd@enterprise-2.16"  # the README's first command upgrades to this

REPO = click.argument(
    "repo", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)


def _recipe_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--recipes",
        "recipe_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Add a folder of components and recipes to the bundled ones (repeatable).",
    )(func)
    return func


def _plan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option(
                "--set",
                "params",
                multiple=True,
                metavar="PARAM=VALUE",
                help="Set a recipe param (repeatable).",
            ),
            click.option(
                "--assume",
                multiple=True,
                metavar="COMPONENT=RELEASE",
                help="State the running release where the pin does not tell it "
                "(COMPONENT@FOLDER=RELEASE for one instance).",
            ),
            click.option(
                "--via", multiple=True, metavar="RELEASE", help="Force the path through a release."
            ),
            click.option(
                "--allow-unsupported",
                is_flag=True,
                help="Allow hops the vendor does not support (e.g. skipping a major release).",
            ),
        ]
    ):
        func = decorator(func)
    return _recipe_options(func)


def _rollout_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--wave and --describe, shared by plan, apply and sync."""
    func = click.option(
        "--describe",
        "describe_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the merge request description (Markdown) to this file.",
    )(func)
    return click.option(
        "--wave", default=None, metavar="NAME", help="Only this wave of waypath.yaml."
    )(func)


def _commit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How commits are made, shared by apply --commit and sync."""
    for decorator in reversed(
        [
            click.option("--branch", default=None, help="Commit on this branch."),
            click.option(
                "--base",
                default=None,
                metavar="REF",
                help="The branch --branch was cut from (default: the current branch).",
            ),
            click.option("--author", default=None, metavar='"NAME <MAIL>"'),
            click.option("--push", "push_remote", default=None, metavar="REMOTE"),
            click.option(
                "--force-branch",
                is_flag=True,
                help="Add commits to a branch that has commits Waypath did not make.",
            ),
        ]
    ):
        func = decorator(func)
    return func


def _run(command: Callable[..., int], **kwargs: Any) -> None:
    from engine.commands.common import parse_pairs

    with error_boundary():
        if "params" in kwargs:
            kwargs["params"] = parse_pairs(kwargs["params"], "--set")
        if "assume" in kwargs:
            kwargs["assume"] = parse_pairs(kwargs["assume"], "--assume")
        code = command(**kwargs, out=sys.stdout)
    raise Exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="waypath")
def cli() -> None:
    """Upgrade the add-ons of a Flux GitOps repo along reviewed migration recipes.

    Exit codes: 0 success or nothing to do, 1 error, 2 `plan` found changes,
    3 unexpected error (a bug), 130 interrupted.
    """


@cli.command()
@REPO
@_recipe_options
@click.option("--assume", multiple=True, metavar="COMPONENT=RELEASE")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def detect(repo: Path, recipe_dirs: tuple[Path, ...], assume: tuple[str, ...], fmt: str) -> None:
    """Show which components are installed where, at which versions."""
    from engine.commands import detect as command

    _run(command.run, repo=repo, recipe_dirs=recipe_dirs, assume=assume, fmt=fmt)


@cli.command()
@REPO
@click.option(
    "--to", "target", metavar="COMPONENT@RELEASE", help="Default: the release in waypath.yaml."
)
@_plan_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
@click.option("--diff", is_flag=True, help="Show the diff of every commit (text format).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path))
@_rollout_options
def plan(repo: Path, **kwargs: Any) -> None:
    """Show the path, the commits and their changes. Exit 2 when there is work to do."""
    from engine.commands import plan as command

    _run(command.run, repo=repo, **kwargs)


@cli.command()
@click.argument("args", nargs=-1, metavar="[REPO] [PLAN.json]")
@click.option("--to", "target", metavar="COMPONENT@RELEASE")
@_plan_options
@click.option("--allow-dirty", is_flag=True, help="Write even if the git tree has changes.")
@click.option("--commit", is_flag=True, help="One git commit per phase, on a new branch.")
@_rollout_options
@_commit_options
def apply(args: tuple[str, ...], **kwargs: Any) -> None:
    """Write a plan to the working tree, all or nothing; with --commit, one git commit per
    phase on a branch."""
    from engine.commands import apply as command

    repo, plan_file = Path("."), None
    for arg in args:
        path = Path(arg)
        if path.suffix == ".json" and not path.is_dir():
            plan_file = path
        else:
            repo = path
    _run(command.run, repo=repo, plan_file=plan_file, **kwargs)


@cli.command()
@REPO
@_recipe_options
@click.option("--set", "params", multiple=True, metavar="PARAM=VALUE")
@click.option("--assume", multiple=True, metavar="COMPONENT=RELEASE")
@click.option(
    "--no-commit",
    "no_commit",
    is_flag=True,
    help="Only write the files (a Renovate post-upgrade task commits them).",
)
@click.option("--allow-dirty", is_flag=True, help="Write even if the git tree has changes.")
@_rollout_options
@_commit_options
def sync(repo: Path, **kwargs: Any) -> None:
    """Reconcile the repo toward waypath.yaml: plan and commit on the current branch.

    Reads RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE when Renovate sets it."""
    from engine.commands import sync as command

    _run(command.run, repo=repo, **kwargs)


@cli.group()
def config() -> None:
    """The waypath.yaml file: desired releases and rollout waves."""


@config.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of waypath.yaml."""
    from engine.commands import config as command

    _run(command.schema)


@cli.command()
@_recipe_options
@click.option("--component", default=None, help="Only this component.")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid"]), default="text")
def graph(**kwargs: Any) -> None:
    """Print the version graph the recipes form."""
    from engine.commands import graph as command

    _run(command.run, **kwargs)


@cli.group()
def recipe() -> None:
    """Tools for recipe authors."""


@recipe.command()
def schema() -> None:
    """Print the JSON Schema of recipe and component files."""
    from engine.commands import recipe as command

    _run(command.schema)


@recipe.command()
def where() -> None:
    """Print the folder of the bundled recipe library (to copy a case or a template from)."""
    from engine.commands import recipe as command

    _run(command.where)


@recipe.command("new")
@click.argument("component")
@click.option("--from", "from_release", required=True, metavar="RELEASE", help="enterprise-2.19")
@click.option("--to", "to_release", required=True, metavar="RELEASE", help="enterprise-2.20.2")
@click.option("--old-values", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--new-values", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_recipe_options
def new(**kwargs: Any) -> None:
    """Scaffold the recipe for a new release from the hop before it."""
    from engine.commands import recipe as command

    _run(command.new, **kwargs)


@recipe.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_recipe_options
def lint(**kwargs: Any) -> None:
    """Check recipes: schema, graph, templates, patch paths, values keys, TODOs."""
    from engine.commands import recipe as command

    _run(command.lint, **kwargs)


@recipe.command("test")
@click.argument("recipe_name", required=False, metavar="[RECIPE]")
@click.option("--update", is_flag=True, help="Accept the current output as the expected one.")
@_recipe_options
def test_cases(**kwargs: Any) -> None:
    """Run the recipe-local cases in <recipe folder>/tests/."""
    from engine.commands import recipe as command

    _run(command.test, **kwargs)


@recipe.command("snapshot-report")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--snapshots",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("snapshots"),
    show_default=True,
)
@click.option(
    "--scenarios",
    default="tests.checks.scenarios",
    show_default=True,
    help="Module (importable from the current folder) or FILE.py with SCENARIOS and "
    "run(scenario, library) (see engine/authoring/snapreport.py).",
)
@_recipe_options
def snapshot_report(**kwargs: Any) -> None:
    """Render every snapshot, compare with the committed ones, report drift as Markdown."""
    from engine.commands import recipe as command

    _run(command.snapshot_report, **kwargs)


@cli.command()
@click.option("--to", "target", default=DEMO_TARGET, show_default=True)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Create the demo repo in this (new) folder instead of a temporary one.",
)
def demo(target: str, keep: Path | None) -> None:
    """Copy the bundled example repo into a temporary git repo and upgrade it."""
    from engine.commands import demo as command

    _run(command.run, target=target, keep=keep)


def entry() -> None:
    """The `waypath` executable: `main` with the cyclic GC off for the one-shot run.

    Pausing the GC per file or per plan is not enough: each time it is on again it soon
    rescans the growing heap of parsed documents (3,539 files made 2.6 s of collection in a
    8.5 s detect), and the interpreter's exit runs one more full collection over it.
    What a run parses lives until it exits and parsing makes no cycles, so the GC stays
    off, and `gc.freeze()` takes what exists out of the collection at exit.
    """
    gc.disable()
    gc.freeze()
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="waypath", standalone_mode=False)
    except Exit as done:
        return done.code
    except click.exceptions.Abort:
        print("interrupted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 1
    return 0


if __name__ == "__main__":
    entry()
