"""Render every HelmRelease whose chart is at hand (`--charts`) with `helm template`,
using the values helm-controller would compute (values.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.repo.detect import helm_release_name
from engine.verify.cache import VerifyCache
from engine.verify.charts import ChartFile
from engine.verify.discovery import mapping
from engine.verify.helm import prefetch, template
from engine.verify.report import CheckResult, VerifyReport
from engine.verify.values import EffectiveValues, effective_values

if TYPE_CHECKING:
    from engine.verify.discovery import Obj
    from engine.verify.options import VerifyOptions

HELM_GROUP = "helm.toolkit.fluxcd.io/"


@dataclass(frozen=True)
class Rendered:
    """One successful render, kept for callers that compare outputs (the test suite)."""

    cluster: str  # the file of the first Flux Kustomization of its cluster
    path: str
    subject: str
    chart: ChartFile
    release: str
    namespace: str
    values: dict[str, Any]
    output: str


def _chart_of(obj: Obj, objects: list[Obj]) -> tuple[str, str] | str:
    """(chart name, version constraint), or why the chart is not one we can look up."""
    spec = obj.spec
    chart_spec = mapping(spec.get("chart")).get("spec")
    if isinstance(chart_spec, dict):
        kind = str(mapping(chart_spec.get("sourceRef")).get("kind", "HelmRepository"))
        if kind != "HelmRepository":
            return f"its chart comes from a {kind} path, not a chart repository"
        return str(chart_spec.get("chart", "")), str(chart_spec.get("version") or "*")
    ref = spec.get("chartRef")
    if isinstance(ref, dict) and ref.get("kind") == "OCIRepository":
        ns = str(ref.get("namespace") or obj.namespace)
        for other in objects:
            if (
                other.kind == "OCIRepository"
                and other.name == ref.get("name")
                and other.namespace in (ns, "")
            ):
                source = other.spec
                url = str(source.get("url", "")).rstrip("/")
                ref = mapping(source.get("ref"))
                version = ref.get("tag") or ref.get("semver")
                return url.rsplit("/", 1)[-1], str(version or "*")
        return f"its OCIRepository {ns}/{ref.get('name')} is not in this cluster"
    return "it names no chart"


def check_releases(
    objects: list[Obj],
    options: VerifyOptions,
    cache: VerifyCache,
    report: VerifyReport,
    cluster: str = "",
) -> None:
    by_key = {(o.kind, o.namespace, o.name): o for o in objects}

    def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = by_key.get((kind, namespace, name)) or by_key.get((kind, "", name))
        return found.data if found else None

    todo: list[tuple[Obj, ChartFile, str, str, EffectiveValues]] = []
    for obj in objects:
        if obj.kind != "HelmRelease" or not str(obj.data.get("apiVersion", "")).startswith(
            HELM_GROUP
        ):
            continue
        found = _find_chart(obj, objects, options, report)
        if found is None:
            continue
        namespace = str(obj.spec.get("targetNamespace") or obj.namespace or "default")
        values = effective_values(obj.data, obj.namespace or namespace, lookup)
        todo.append((obj, found, helm_release_name(obj.data), namespace, values))
    prefetch(options.helm, [(c, r, n, v.values) for _, c, r, n, v in todo], cache)
    for obj, found, release, namespace, values in todo:
        for note in values.notes:
            report.note(obj.origin, f"{obj.label}: {note}")
        outcome = template(options.helm, found, release, namespace, values.values, cache)
        subject = f"{obj.label} (chart {found.name} {found.version})"
        problems = values.problems + ([outcome.error] if outcome.error else [])
        if problems:
            report.add(CheckResult("render", "fail", obj.origin, subject, "\n".join(problems)))
            continue
        report.add(CheckResult("render", "pass", obj.origin, subject))
        report.rendered.append(
            Rendered(
                cluster,
                obj.origin,
                subject,
                found,
                release,
                namespace,
                values.values,
                outcome.output,
            )
        )


def _find_chart(
    obj: Obj, objects: list[Obj], options: VerifyOptions, report: VerifyReport
) -> ChartFile | None:
    """The packaged chart to render, or None after reporting why it is skipped."""
    chart = _chart_of(obj, objects)
    if isinstance(chart, str):
        report.add(CheckResult("render", "skip", obj.origin, obj.label, f"not rendered: {chart}"))
        return None
    name, constraint = chart
    found = options.charts.find(name, constraint) if options.charts else None
    if options.charts is None:
        reason = "no --charts folder given"
    elif not options.charts.knows(name):
        reason = f"chart {name} is not in the --charts folders"
    elif found is None:
        reason = f"chart {name} has no version matching {constraint!r} in the --charts folders"
    elif options.helm.argv is None:
        reason = options.helm.missing
    else:
        return found
    report.add(CheckResult("render", "skip", obj.origin, obj.label, reason))
    return None
