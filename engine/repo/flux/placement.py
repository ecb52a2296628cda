"""Where a detected HelmRelease lands: the clusters that render it, the pin each receives
(after patches), and the files that patch it — the model's answers for detection."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.repo.flux.model import FluxModel, Rendering
from engine.repo.flux.pins import effective_pin
from engine.repo.flux.resources import DocumentReader
from engine.yamltext.yamldoc import YamlDocument


@dataclass
class Placement:
    """One group of clusters that receive the document with the same pin."""

    pin: str | None
    clusters: list[str] = field(default_factory=list)
    patched_by: list[str] = field(default_factory=list)
    pin_file: str | None = None  # the file that sets the pin (a patch, or the document)


def renderings_of(model: FluxModel, doc: YamlDocument) -> list[Rendering]:
    """The model's renderings of a document the reader shows now (the model was built from
    the repo before any edit: a document that moved or changed identity has none)."""
    return [
        r
        for r in model.renderings(doc.path, doc.index)
        if r.kind == doc.kind and r.resource.original_name == doc.name
    ]


def place(
    model: FluxModel, reader: DocumentReader, doc: YamlDocument, literal_pin: str | None
) -> list[Placement]:
    """The clusters of a HelmRelease document grouped by the pin they receive, in cluster
    order. A document no model rendering knows (a new file) is placed by its folder."""
    renderings = renderings_of(model, doc)
    if not renderings:
        return [Placement(literal_pin, model.clusters_of(doc.path), [], doc.path)]
    groups: dict[str | None, Placement] = {}
    for rendering in renderings:
        pin = effective_pin(reader, rendering)
        group = groups.setdefault(pin.value, Placement(pin.value, pin_file=pin.file))
        if rendering.cluster not in group.clusters:
            group.clusters.append(rendering.cluster)
        for patch in rendering.patches:
            if patch.file not in group.patched_by:
                group.patched_by.append(patch.file)
    for group in groups.values():
        group.clusters.sort()
        group.patched_by.sort()
    return sorted(groups.values(), key=lambda g: g.clusters)


def patched_by(model: FluxModel, doc: YamlDocument) -> list[str]:
    return sorted({p.file for r in renderings_of(model, doc) for p in r.patches})


def clusters_of_doc(model: FluxModel, doc: YamlDocument) -> list[str]:
    found = sorted({r.cluster for r in renderings_of(model, doc)})
    return found or model.clusters_of(doc.path)
