"""Check (a): every Flux object a commit writes validates against the real CRD schema.

The strict schema index (closed object nodes, the chart/chartRef CEL rule) is the engine's
(engine/verify/schemas.py, also used by `waypath verify`); this check applies it to the
files each commit writes, before any kustomize build.
"""

from __future__ import annotations

from pathlib import Path

from engine.planning.planmodel import Plan
from engine.verify.schemas import is_flux, schema_index
from tests.checks.repostate import YAML_SUFFIXES, load_documents, walk


def check_plan(
    plan: Plan, initial: dict[str, bytes], schema_dir: Path, patches: frozenset[str] = frozenset()
) -> list[str]:
    """`patches`: kustomize patch files (partial objects by design), not checked."""
    index = schema_index(schema_dir)
    problems: list[str] = []
    for step in walk(plan, initial):
        for change in step.written():
            if not change.path.endswith(YAML_SUFFIXES) or change.path in patches:
                continue
            assert change.content is not None
            try:
                docs = load_documents(change.path, change.content)
            except ValueError as exc:
                problems.append(f"commit {step.index + 1}: {exc}")
                continue
            for number, doc in enumerate(docs, 1):
                if not is_flux(doc):
                    continue
                name = (doc.get("metadata") or {}).get("name")
                where = (
                    f"commit {step.index + 1} ({step.commit.recipe}/{step.commit.phase}): "
                    f"{change.path} document {number} {doc.get('kind')} {name}"
                )
                problems.extend(f"{where}: {p}" for p in index.problems(doc))
    return problems
