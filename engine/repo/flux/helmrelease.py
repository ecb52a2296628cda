"""The effective HelmRelease of one rendering: chart, version and values after every patch,
with repo-held `valuesFrom` ConfigMaps merged in the order helm-controller uses
(kustomize-flux.md §4), and where each value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from engine.repo.flux.model import FluxModel, Rendering
from engine.repo.flux.patches import leaves, smp_merge
from engine.repo.flux.resources import Patch, Problem, ValueOrigin
from engine.yamltext.yamldoc import load_one


@dataclass
class ValuesSource:
    """One `valuesFrom` entry and what the repo says about it."""

    kind: str
    name: str
    key: str
    target_path: str | None
    optional: bool
    found: ValueOrigin | None  # None: not in the repo (a Secret, or made in the cluster)


@dataclass
class EffectiveRelease:
    rendering: Rendering
    chart: str | None
    version: str | None
    version_origin: ValueOrigin
    source_ref: dict[str, str]
    values: dict[str, Any]
    origins: dict[tuple[Any, ...], ValueOrigin] = field(default_factory=dict)
    values_from: list[ValuesSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.rendering.name

    @property
    def namespace(self) -> str | None:
        return self.rendering.namespace


def _origin(rendering: Rendering, path: tuple[Any, ...]) -> ValueOrigin:
    patch: Patch | None = rendering.resource.patched.get(path)
    if patch is None:
        # a parent set as a whole by a patch (SMP replaces lists whole)
        for depth in range(len(path) - 1, 0, -1):
            patch = rendering.resource.patched.get(path[:depth])
            if patch is not None:
                break
    if patch is not None:
        return ValueOrigin(patch.file, patch.doc_index, "patch", patch.position)
    return ValueOrigin(rendering.path, rendering.doc_index, "document")


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _configmap(model: FluxModel, rendering: Rendering, name: str) -> Rendering | None:
    """The ConfigMap a valuesFrom entry names, in the release's namespace and cluster.
    A generated name with a hash suffix matches only where a nameReference configuration
    made kustomize rewrite the reference (§3.7); otherwise the reference dangles."""
    namespace = rendering.namespace or "default"
    for other in model.rendered_in(rendering.cluster):
        ns = other.namespace or "default"
        if other.kind == "ConfigMap" and ns == namespace and other.name == name:
            return other
    return None


def effective_release(model: FluxModel, rendering: Rendering) -> EffectiveRelease:
    data = rendering.data
    spec = _get(data, "spec") or {}
    chart_spec = _get(spec, "chart", "spec") or {}
    version = chart_spec.get("version") if isinstance(chart_spec, dict) else None
    result = EffectiveRelease(
        rendering=rendering,
        chart=str(chart_spec["chart"]) if isinstance(chart_spec, dict) and chart_spec.get("chart") else None,
        version=None if version in (None, "") else str(version),
        version_origin=_origin(rendering, ("spec", "chart", "spec", "version")),
        source_ref={
            str(k): str(v) for k, v in (_get(chart_spec, "sourceRef") or {}).items()
        } if isinstance(chart_spec, dict) else {},
        values={},
    )  # fmt: skip
    merged: dict[str, Any] = {}
    origins: dict[tuple[Any, ...], ValueOrigin] = {}
    for entry in spec.get("valuesFrom") or [] if isinstance(spec, dict) else []:
        if not isinstance(entry, dict):
            continue
        source = ValuesSource(
            kind=str(entry.get("kind") or ""),
            name=str(entry.get("name") or ""),
            key=str(entry.get("valuesKey") or "values.yaml"),
            target_path=str(entry["targetPath"]) if entry.get("targetPath") else None,
            optional=bool(entry.get("optional")),
            found=None,
        )
        result.values_from.append(source)
        if source.kind != "ConfigMap":
            continue
        found = _configmap(model, rendering, source.name)
        if found is None:
            continue
        text = (_get(found.data, "data") or {}).get(source.key)
        resource = found.resource
        how: Literal["generator", "configmap"] = "generator" if resource.generated else "configmap"
        file = resource.sources[-1] if resource.generated and resource.sources else found.path
        origin = ValueOrigin(file, None if resource.generated else found.doc_index, how,
                             f"data.{source.key}" if not resource.generated else source.key)  # fmt: skip
        source.found = origin
        if text is None:
            if not source.optional:
                result.problems.append(
                    Problem(found.path, f"ConfigMap {source.name} has no key {source.key}")
                )
            continue
        if source.target_path:
            continue  # a single --set value: not merged as a map
        try:
            values = load_one(text)
        except yaml.YAMLError as exc:
            result.problems.append(
                Problem(file, f"{source.key} of ConfigMap {source.name} is not YAML: {exc}")
            )
            continue
        if not isinstance(values, dict):
            continue
        merged = smp_merge(merged, values) if merged else values
        for path, _ in leaves(values):
            origins[path] = origin
    inline = spec.get("values") if isinstance(spec, dict) else None
    if isinstance(inline, dict):
        merged = smp_merge(merged, inline) if merged else inline
        for path, _ in leaves(inline):
            origins[path] = _origin(rendering, ("spec", "values", *path))
    result.values = merged
    result.origins = origins
    return result
