"""`waypath detect`: which components are installed where, at which versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from engine.commands import common, report
from engine.error_handler import EXIT_OK
from engine.repo.detect import Instance, detect
from engine.repo.flux.model import build_model, where
from engine.repo.workspace import Workspace
from engine.yamltext.yamldoc import YamlDocument, gc_paused


class _Reading:
    """The workspace as `waypath detect` reads it: documents without node trees. It edits
    nothing, and the node trees of every release it finds were most of its memory (a
    plan parses them with nodes: its steps splice at their marks)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]:
        return self.workspace.candidates(kinds=kinds, contains=contains)

    def documents(self, path: str) -> list[YamlDocument]:
        return self.workspace.plain_documents(path)

    def read_text(self, path: str) -> str:
        return self.workspace.read_text(path)


def find_all(repo: Path, recipe_dirs: Sequence[Path], assume: Mapping[str, str]) -> list[Instance]:
    lib = common.library(recipe_dirs)
    ws = common.workspace(repo)
    reading = _Reading(ws)
    found: list[Instance] = []
    with gc_paused():  # as planning does: see yamldoc.gc_paused
        model = build_model(ws)  # once, for every component
        for name in sorted(lib.components):
            source = lib.components[name]
            found.extend(
                detect(reading, source.component, source.catalog, assume=assume, model=model)
            )
    return found


def as_json(instances: Sequence[Instance]) -> dict[str, Any]:
    return {
        "instances": [
            {
                "component": i.component,
                "instance": i.scope,
                "clusters": i.clusters,
                "edition": i.version.edition if i.version else None,
                "version": i.version.label if i.version else None,
                "admits": [v.label for v in i.admits] if i.version is None else [],
                "explanation": i.explanation,
                "paths": i.paths,
                "objects": {
                    name: [
                        {
                            "path": o.path,
                            "name": o.name,
                            "chart": o.chart,
                            "pin": o.pin,
                            "defined_in": o.path,
                            "patched_by": o.patched_by,
                            "pin_file": o.pin_file or o.path,
                        }
                        for o in objs
                    ]
                    for name, objs in sorted(i.objects.items())
                },
            }
            for i in instances
        ]
    }


def as_text(instances: Sequence[Instance]) -> str:
    if not instances:
        return "no component instances found\n"
    lines = []
    for i in instances:
        version = i.version.label if i.version else "unknown"
        lines.append(f"{i.component} in {i.scope}: {version}  ({i.explanation})")
        if i.clusters:
            lines.append(f"  {where(i.clusters)}")
        for name, objs in sorted(i.objects.items()):
            for o in objs:
                pin = o.pin or "unpinned"
                lines.append(f"  {name:<22} {o.chart} {pin}  {o.path}")
                if o.patched_by:
                    lines.append(f"  {'':<22} patched by {', '.join(o.patched_by)}")
    return "\n".join(lines) + "\n"


def run(
    *,
    repo: Path,
    recipe_dirs: Sequence[Path],
    assume: Mapping[str, str],
    fmt: str,
    out: TextIO,
) -> int:
    instances = find_all(repo, recipe_dirs, assume)
    if fmt == "json":
        report.write(out, "detect", as_json(instances))
    else:
        out.write(as_text(instances))
    return EXIT_OK
