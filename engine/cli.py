"""The `waypath` command line: parse, call one command function, exit with its code.

Kept thin on purpose: no logic here, and no core module imports click. Errors are turned
into messages and exit codes once, in engine/error_handler.py.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine import __version__
from engine.error_handler import Exit, command_output, error_boundary, signals_as_interrupts

DEMO_TARGET = "linkerd@enterprise-2.16"  # the README's first command upgrades to this

REPO = click.argument(
    "repo", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)


ASSUME = click.option(
    "--assume",
    multiple=True,
    metavar="COMPONENT=RELEASE",
    help="State the running release where the pin does not tell it, repeatable "
    "(COMPONENT@FOLDER=RELEASE for one instance).",
)
JSON_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: one document for programs, with format_version (README, Exit codes).",
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
            ASSUME,
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
        type=click.Path(path_type=Path),
        help="Write the merge request description (Markdown) to this file "
        "(with --stack: to this folder, one NN-<phase>.md per branch).",
    )(func)
    return click.option(
        "--wave", default=None, metavar="NAME", help="Only this wave of waypath.yaml."
    )(func)


def _commit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How commits are made, shared by apply --commit and sync."""
    for decorator in reversed(
        [
            click.option("--branch", default=None, metavar="NAME", help="Commit on this branch."),
            click.option(
                "--base",
                default=None,
                metavar="REF",
                help="The branch --branch was cut from (default: the current branch).",
            ),
            click.option(
                "--author",
                default=None,
                metavar='"NAME <MAIL>"',
                help="Author of the commits (default: git's user.name and user.email).",
            ),
            click.option(
                "--push",
                "push_remote",
                default=None,
                metavar="REMOTE",
                help="Push the branch to this remote afterwards.",
            ),
            click.option(
                "--force-branch",
                is_flag=True,
                help="Add commits to a branch that has commits Waypath did not make.",
            ),
            click.option(
                "--stack",
                is_flag=True,
                help="One branch per phase, BRANCH/NN-<phase>, each based on the one before "
                "(one merge request per phase, for protected branches).",
            ),
            click.option(
                "--open",
                "open_forge",
                type=click.Choice(["github", "gitlab"]),
                default=None,
                help="With --stack and --push: open one merge request per branch with gh or glab.",
            ),
        ]
    ):
        func = decorator(func)
    return func


def _examples(*lines: str) -> str:
    """An epilog of example command lines, kept as written (click's \\b: no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def _verify_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The tools and data of `verify`, shared with `plan --verify`."""
    for decorator in reversed(
        [
            click.option(
                "--kustomize",
                default=None,
                metavar="CMD",
                help="Build command (default: `kubectl kustomize`, else `kustomize build`).",
            ),
            click.option(
                "--helm", default=None, metavar="CMD", help="helm command (default: helm)."
            ),
            click.option(
                "--charts",
                multiple=True,
                type=click.Path(file_okay=False, path_type=Path),
                help="A Helm repository folder (index.yaml + .tgz), or a folder of them, "
                "to render HelmReleases with `helm template` (repeatable).",
            ),
            click.option(
                "--schemas",
                default=None,
                type=click.Path(file_okay=False, path_type=Path),
                help="Folder of Flux CRDs (default: the copy Waypath finds).",
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
        code = command(**kwargs, out=command_output(sys.stdout))
        command_output(sys.stdout).flush()
    raise Exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="waypath")
def cli() -> None:
    """Upgrade the add-ons of a Flux GitOps repo along reviewed migration recipes.

    Exit codes: 0 success or nothing to do, 1 error, 2 `plan` found changes,
    3 unexpected error (a bug), 130 interrupted.
    """


@cli.command(
    epilog=_examples(
        "waypath detect path/to/repo",
        "waypath detect --format json | jq '.instances[].version'",
        "waypath detect --assume linkerd=stable-2.11.5",
    )
)
@REPO
@_recipe_options
@ASSUME
@JSON_FORMAT
def detect(repo: Path, recipe_dirs: tuple[Path, ...], assume: tuple[str, ...], fmt: str) -> None:
    """Show which components are installed where, at which versions."""
    from engine.commands import detect as command

    _run(command.run, repo=repo, recipe_dirs=recipe_dirs, assume=assume, fmt=fmt)


@cli.command(
    epilog=_examples(
        "waypath plan path/to/repo --to linkerd@enterprise-2.16",
        "waypath plan --diff                      # target from waypath.yaml",
        "waypath plan --format json --out plan.json && waypath apply plan.json",
        "waypath plan --wave nonprod --describe mr.md",
    )
)
@REPO
@click.option(
    "--to", "target", metavar="COMPONENT@RELEASE", help="Default: the release in waypath.yaml."
)
@_plan_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    help="json: the plan file `apply PLAN.json` takes; markdown: for a merge request.",
)
@click.option("--diff", is_flag=True, help="Show the diff of every commit (text format).")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan to this file instead of stdout.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Run `waypath verify` on the state after every commit; exit 1 if one fails.",
)
@_verify_options
@_rollout_options
def plan(repo: Path, **kwargs: Any) -> None:
    """Show the path, the commits and their changes. Exit 2 when there is work to do."""
    from engine.commands import plan as command

    _run(command.run, repo=repo, **kwargs)


@cli.command(
    epilog=_examples(
        "waypath verify path/to/repo",
        "waypath verify --charts third_party/shared/charts/linkerd --format json",
        "waypath verify --kustomize 'kustomize build' --strict",
    )
)
@REPO
@_verify_options
@JSON_FORMAT
@click.option("--strict", is_flag=True, help="Fail (exit 1) when any check was skipped.")
def verify(repo: Path, **kwargs: Any) -> None:
    """Check the tree the way Flux would: kustomize builds, Flux schemas, dependsOn and
    healthChecks names, helm template. Exit 1 when a check fails."""
    from engine.commands import verify as command

    _run(command.run, repo=repo, **kwargs)


@cli.command(
    epilog=_examples(
        "waypath apply --to linkerd@enterprise-2.16         # write the files only",
        "waypath apply --commit --describe mr.md            # one commit per phase, new branch",
        "waypath apply --commit --branch upgrade/linkerd --push origin",
        "waypath apply --commit --stack --describe mr/ --push origin --open github",
        "waypath apply path/to/repo plan.json               # exactly the reviewed plan",
    )
)
@click.argument("args", nargs=-1, metavar="[REPO] [PLAN.json]")
@click.option(
    "--to", "target", metavar="COMPONENT@RELEASE", help="Default: the release in waypath.yaml."
)
@_plan_options
@click.option("--allow-dirty", is_flag=True, help="Write even if the git tree has changes.")
@click.option("--commit", is_flag=True, help="One git commit per phase, on a new branch.")
@_rollout_options
@_commit_options
@JSON_FORMAT
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


@cli.command(
    epilog=_examples(
        "waypath sync                          # on Renovate's branch: commit what is missing",
        "waypath sync --push origin --describe mr.md",
        "waypath sync --no-commit              # as a Renovate post-upgrade task",
        "waypath sync --format json",
    )
)
@REPO
@_recipe_options
@click.option(
    "--set",
    "params",
    multiple=True,
    metavar="PARAM=VALUE",
    help="Set a recipe param (repeatable); waypath.yaml params apply too.",
)
@ASSUME
@click.option(
    "--no-commit",
    "no_commit",
    is_flag=True,
    help="Only write the files (a Renovate post-upgrade task commits them).",
)
@click.option("--allow-dirty", is_flag=True, help="Write even if the git tree has changes.")
@_rollout_options
@_commit_options
@JSON_FORMAT
def sync(repo: Path, **kwargs: Any) -> None:
    """Reconcile the repo toward waypath.yaml: plan and commit on the current branch.

    Reads RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE when Renovate sets it."""
    from engine.commands import sync as command

    _run(command.run, repo=repo, **kwargs)


@cli.group()
def config() -> None:
    """The waypath.yaml file: desired releases and rollout waves."""


@cli.group()
def gate() -> None:
    """Checks CI runs on a merge request of a stacked rollout."""


@gate.command(
    "check",
    epilog=_examples(
        "waypath gate check --base origin/main                # the commits this MR merges",
        "waypath gate check --base origin/main --kubeconfig ~/.kube/prod --cluster clusters/prod",
    ),
)
@REPO
@click.option(
    "--base", required=True, metavar="REF", help="The branch the merge request goes into."
)
@click.option(
    "--head", default="HEAD", show_default=True, metavar="REF", help="The merge request's tip."
)
@click.option(
    "--kubeconfig",
    default=None,
    metavar="FILE",
    help="Also check with kubectl that the states merged earlier hold in this cluster.",
)
@click.option("--context", default=None, metavar="NAME", help="The kubeconfig context to use.")
@click.option(
    "--cluster",
    default=None,
    metavar="DIR",
    help="With --kubeconfig: only the preconditions of files under DIR (one cluster's folder).",
)
def gate_check(repo: Path, **kwargs: Any) -> None:
    """Fail when the commits BASE..HEAD would land a phase together with the phase it
    depends on (a delete with its suspend, a control plane with its CRDs)."""
    from engine.commands import gate as command

    _run(command.check, repo=repo, **kwargs)


@config.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of waypath.yaml."""
    from engine.commands import config as command

    _run(command.schema)


@cli.command()
@_recipe_options
@click.option("--component", default=None, help="Only this component.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid"]),
    default="text",
    help="mermaid: a flowchart to paste into Markdown.",
)
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


@recipe.command(
    "new",
    epilog=_examples(
        "waypath recipe new linkerd --from enterprise-2.19 --to enterprise-2.20.2 --recipes my-recipes",
        "waypath recipe new linkerd --from enterprise-2.19 --to enterprise-2.20.2 --recipes lib "
        "--old-values old/values.yaml --new-values new/values.yaml",
    ),
)
@click.argument("component")
@click.option(
    "--from",
    "from_release",
    required=True,
    metavar="LINE",
    help="The release line the new hop leaves from, e.g. enterprise-2.19.",
)
@click.option(
    "--to",
    "to_release",
    required=True,
    metavar="RELEASE",
    help="The new release, e.g. enterprise-2.20.2 (added to the catalog if unknown).",
)
@click.option(
    "--old-values",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The chart's default values.yaml of the --from release.",
)
@click.option(
    "--new-values",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The chart's default values.yaml of the --to release (proposes remove/move ops).",
)
@click.option(
    "--recipes",
    "recipe_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Your recipe library (created if missing); the last one given is where the files "
    "go. Required when Waypath is installed from a package.",
)
def new(**kwargs: Any) -> None:
    """Scaffold the recipe for a new release from the hop before it."""
    from engine.commands import recipe as command

    _run(command.new, **kwargs)


@recipe.command(
    epilog=_examples(
        "waypath recipe lint                      # the bundled library",
        "waypath recipe lint my-recipes           # the files of your library only",
        "waypath recipe lint --recipes my-recipes # bundled and yours",
        "waypath recipe lint --format json",
    )
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_recipe_options
@JSON_FORMAT
def lint(**kwargs: Any) -> None:
    """Check recipes: schema, graph, templates, patch paths, values keys, TODOs."""
    from engine.commands import recipe as command

    _run(command.lint, **kwargs)


@recipe.command(
    "test",
    epilog=_examples(
        "waypath recipe test --recipes my-recipes",
        "waypath recipe test enterprise-2.19-to-enterprise-2.20 --recipes my-recipes",
        "waypath recipe test --update --recipes my-recipes   # accept the output as expected",
    ),
)
@click.argument("recipe_name", required=False, metavar="[RECIPE]")
@click.option("--update", is_flag=True, help="Accept the current output as the expected one.")
@_recipe_options
def test_cases(**kwargs: Any) -> None:
    """Run the recipe-local cases in <recipe folder>/tests/."""
    from engine.commands import recipe as command

    _run(command.test, **kwargs)


@recipe.command("snapshot-report")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the Markdown report to this file instead of stdout.",
)
@click.option(
    "--snapshots",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("snapshots"),
    show_default=True,
    help="The folder of committed snapshot files.",
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


@cli.command(
    epilog=_examples(
        "waypath demo",
        "waypath demo --to linkerd@enterprise-2.17",
        "waypath demo --keep demo-repo            # keep the repo to look at with git log",
    )
)
@click.option(
    "--to",
    "target",
    default=DEMO_TARGET,
    show_default=True,
    metavar="COMPONENT@RELEASE",
    help="The release to upgrade the example repo to.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep everything in this new (or empty) folder: the repo in DIR/fleet, the merge "
    "request description in DIR/merge-request.md. Default: a temporary folder, removed.",
)
def demo(target: str, keep: Path | None) -> None:
    """Upgrade a copy of the bundled example repo, explaining each step."""
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
    try:
        sys.stdout.flush()
    except OSError:  # an output that cannot be flushed is exit 1, not a traceback at exit
        code = code or 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python would complain again at exit
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    with signals_as_interrupts():
        try:
            cli.main(args=argv, prog_name="waypath", standalone_mode=False)
        except Exit as done:
            return done.code
        except (click.exceptions.Abort, KeyboardInterrupt):
            print("interrupted", file=sys.stderr)
            return 130
        except click.ClickException as exc:
            exc.show()
            return 1
        except OSError as exc:  # click printing help or a version to a closed stdout
            print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    entry()
