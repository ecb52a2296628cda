"""Keep `# renovate:` markers true when steps rename a chart or write a new HelmRelease.

A marker naming the old chart after a chart rename makes Renovate look up a chart the
release no longer uses; a HelmRelease that takes over from a marked one (linkerd-crds out
of linkerd2) without a marker drops out of the user's update flow. Markers are comments,
so this works on the text (engine/yamltext/markers.py).
"""

from __future__ import annotations

from typing import Any

from engine.repo.workspace import Overlay
from engine.yamltext.markers import Marker, find_marker, set_marker
from engine.yamltext.yamldoc import YamlDocument


def _source_ref(data: Any) -> dict[str, Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    chart = spec.get("chart") if isinstance(spec, dict) else None
    inner = chart.get("spec") if isinstance(chart, dict) else None
    ref = inner.get("sourceRef") if isinstance(inner, dict) else None
    return ref if isinstance(ref, dict) else {}


def _version(data: Any) -> Any:
    spec = data.get("spec") if isinstance(data, dict) else None
    chart = spec.get("chart") if isinstance(spec, dict) else None
    inner = chart.get("spec") if isinstance(chart, dict) else None
    return inner.get("version") if isinstance(inner, dict) else None


def repository_url(overlay: Overlay, doc: YamlDocument) -> str | None:
    """The URL of the HelmRepository `doc`'s chart comes from, when one document in the
    repo says it unambiguously."""
    ref = _source_ref(doc.data)
    name = ref.get("name")
    if not name or ref.get("kind", "HelmRepository") != "HelmRepository":
        return None
    namespace = ref.get("namespace") or doc.namespace
    urls = set()
    for path in overlay.candidates(kinds=["HelmRepository"], contains=[str(name)]):
        for candidate in overlay.documents(path):
            if candidate.kind != "HelmRepository" or candidate.name != name:
                continue
            if namespace and candidate.namespace and candidate.namespace != namespace:
                continue
            spec = candidate.data.get("spec") if isinstance(candidate.data, dict) else None
            if isinstance(spec, dict) and spec.get("url"):
                urls.add(str(spec["url"]))
    return urls.pop() if len(urls) == 1 else None


def _changes(overlay: Overlay, doc: YamlDocument, marker: Marker, same_source: bool) -> dict[str, str] | None:
    changes = {"depName": doc.chart or ""}
    if "registryUrl" in marker.fields and not same_source:
        url = repository_url(overlay, doc)
        if url is None:
            return None
        changes["registryUrl"] = url
    return changes


def follow_chart_rename(overlay: Overlay, before: YamlDocument, after: YamlDocument) -> None:
    """After a patch changed `before` into `after`: a marker naming the old chart names
    the new one (and the new repository's URL when the source changed)."""
    if before.chart == after.chart or not after.chart:
        return
    text = overlay.read_text(after.path)
    marker = find_marker(text, after)
    if marker is None or marker.fields.get("depName") != before.chart:
        return
    same_source = _source_ref(before.data) == _source_ref(after.data)
    changes = _changes(overlay, after, marker, same_source)
    if changes is not None:
        overlay.write_text(after.path, set_marker(text, after, marker, marker.text(**changes)))


def mark_like(overlay: Overlay, path: str, model: YamlDocument | None) -> None:
    """Give the HelmReleases in `path` that pin a chart version and have no marker one in
    the style of `model`'s (the release they take over from), if `model` has one."""
    if model is None:
        return
    marker = find_marker(overlay.base.read_text(model.path), model)
    if marker is None:
        return
    for index in range(len(overlay.documents(path))):
        doc = overlay.documents(path)[index]
        if doc.kind != "HelmRelease" or not doc.chart or _version(doc.data) is None:
            continue
        text = overlay.read_text(path)
        if find_marker(text, doc) is not None:
            continue
        changes = _changes(overlay, doc, marker, _source_ref(doc.data) == _source_ref(model.data))
        if changes is not None:
            overlay.write_text(path, set_marker(text, doc, marker, marker.text(**changes)))
