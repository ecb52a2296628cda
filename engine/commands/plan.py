"""`waypath plan`: the path, the commits and their diffs, without touching the repo."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from engine.commands import common
from engine.commands.stacked import refuse_folder
from engine.error_handler import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from engine.errors import UsageError
from engine.output import render
from engine.output.describe import Described, describe
from engine.output.outfile import check_output, write_output
from engine.output.rollout import plan_requests
from engine.planning.planmodel import Plan
from engine.planning.planner import make_plan
from engine.repo.config import load_config
from engine.repo.workspace import Workspace

if TYPE_CHECKING:
    from engine.verify.plancheck import CommitVerdict


def build(
    *,
    repo: Path,
    target: str | None,
    recipe_dirs: Sequence[Path],
    params: Mapping[str, str],
    assume: Mapping[str, str],
    via: Sequence[str],
    allow_unsupported: bool,
    wave: str | None = None,
) -> tuple[Workspace, Plan]:
    """The plan for `--to`, or for the one component waypath.yaml declares; its waves apply."""
    lib = common.library(recipe_dirs)
    ws = common.workspace(repo)
    requests = plan_requests(
        load_config(ws.root),
        target=target,
        params=params,
        assume=assume,
        via=via,
        allow_unsupported=allow_unsupported,
        wave=wave,
    )
    if len(requests) > 1:
        raise UsageError(
            "waypath.yaml names several components: " + ", ".join(r.target for r in requests),
            hint="pass --to for one of them, or commit them all with `waypath sync`",
        )
    return ws, make_plan(ws, lib, requests[0])


def _reader(ws: Workspace) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        return ws.read_bytes(path) if ws.exists(path) else None

    return read


def format_plan(
    plan: Plan,
    ws: Workspace,
    fmt: str,
    *,
    diff: bool,
    verdicts: list[CommitVerdict] | None = None,
) -> str:
    if verdicts is not None:
        # Imported only with --verify: plain `plan` starts without the verify layer.
        from engine.verify import plancheck
    if fmt == "json":
        if verdicts is None:
            return render.render_json(plan)
        data = json.loads(render.render_json(plan))
        data["verify"] = plancheck.to_json(verdicts)
        return json.dumps(data, indent=2) + "\n"
    diffs = render.commit_diffs(plan, _reader(ws)) if (diff or fmt == "markdown") else None
    if fmt == "markdown":
        text = render.render_markdown(plan, diffs)
        if verdicts is not None:
            text += "\n## Verification\n\n"
            for v in verdicts:
                if v.report is not None:
                    text += (
                        f"{v.number}. {v.subject}\n\n"
                        + "\n".join(plancheck.markdown_lines(v.report))
                        + "\n\n"
                    )
        return text
    text = render.render_text(plan)
    if verdicts is not None:
        text += "\n" + "\n".join(plancheck.text_lines(verdicts)) + "\n"
    if diffs:
        text += "\n" + "\n".join(diffs)
    return text


def verify_commits(
    ws: Workspace,
    plan: Plan,
    *,
    kustomize: str | None,
    helm: str | None,
    charts: Sequence[Path],
    schemas: Path | None,
) -> list[CommitVerdict]:
    from engine.verify import plancheck
    from engine.verify.options import resolve_options
    from engine.verify.tree import Tree

    options = resolve_options(kustomize=kustomize, helm=helm, charts=charts, schemas=schemas)
    return plancheck.verify_plan(Tree(ws), plan, options)


def run(
    *,
    repo: Path,
    target: str | None,
    recipe_dirs: Sequence[Path],
    params: Mapping[str, str],
    assume: Mapping[str, str],
    via: Sequence[str],
    allow_unsupported: bool,
    fmt: str,
    diff: bool,
    out_file: Path | None,
    out: TextIO,
    wave: str | None = None,
    describe_file: Path | None = None,
    verify: bool = False,
    kustomize: str | None = None,
    helm: str | None = None,
    charts: Sequence[Path] = (),
    schemas: Path | None = None,
) -> int:
    refuse_folder(describe_file)
    # Checked before the (long) planning, written at the end.
    if out_file is not None:
        out_file = check_output(out_file, "--out", repo)
    if describe_file is not None:
        describe_file = check_output(describe_file, "--describe", repo)
    ws, plan = build(
        repo=repo,
        target=target,
        recipe_dirs=recipe_dirs,
        params=params,
        assume=assume,
        via=via,
        allow_unsupported=allow_unsupported,
        wave=wave,
    )
    verdicts: list[CommitVerdict] | None = None
    if verify:
        from engine.verify import plancheck

        verdicts = verify_commits(
            ws, plan, kustomize=kustomize, helm=helm, charts=charts, schemas=schemas
        )
    if describe_file is not None:
        verified = (
            [plancheck.markdown_lines(v.report) if v.report else None for v in verdicts]
            if verdicts is not None
            else None
        )
        described = Described(plan, _reader(ws), verified=verified)
        write_output(describe_file, describe([described]))
    text = format_plan(plan, ws, fmt, diff=diff, verdicts=verdicts)
    if out_file is not None:
        write_output(out_file, text)
        out.write(f"plan written to {out_file}\n")
    else:
        out.write(text)
    if verdicts is not None and not plancheck.all_ok(verdicts):
        return EXIT_ERROR
    return EXIT_CHANGES if plan.has_changes else EXIT_OK
