"""`waypath verify [REPO]`: check a working tree the way Flux would see it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from engine.commands import common
from engine.commands import report as json_report
from engine.error_handler import EXIT_ERROR, EXIT_OK
from engine.verify.options import resolve_options
from engine.verify.report import format_text
from engine.verify.tree import Tree
from engine.verify.verifier import verify_tree


def run(
    *,
    repo: Path,
    kustomize: str | None,
    helm: str | None,
    charts: Sequence[Path],
    schemas: Path | None,
    fmt: str,
    strict: bool,
    out: TextIO,
) -> int:
    ws = common.workspace(repo)
    options = resolve_options(kustomize=kustomize, helm=helm, charts=charts, schemas=schemas)
    report = verify_tree(Tree(ws), options)
    if fmt == "json":
        json_report.write(out, "verify", report.to_json())
    else:
        out.write(format_text(report))
    if not report.ok or (strict and report.skipped):
        return EXIT_ERROR
    return EXIT_OK
