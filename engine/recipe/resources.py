"""Keep a folder's kustomization.yaml `resources:` in step with the files steps create,
delete and move.

A file created in a kustomize-built folder must be listed, or `kustomize build` never
sees it; a deleted one must be unlisted, or the build fails. When a file an earlier phase
deleted comes back (an extension uninstalled, then reinstalled), its entry comes back as
the repo had it: same place, same spelling, same line (trailing comment included), so a
phase pair whose net effect is nothing leaves the file as it was.
"""

from __future__ import annotations

import posixpath
from typing import Any

import yaml

from engine.errors import RepoError
from engine.planning.planmodel import ReportItem
from engine.repo.workspace import Overlay
from engine.yamltext.patching import same
from engine.yamltext.splice import rewrite_and_parse
from engine.yamltext.yamldoc import YamlDocument, parse_file

KUSTOMIZE_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_beside(overlay: Overlay, path: str) -> str | None:
    folder = posixpath.dirname(path)
    for name in KUSTOMIZE_FILES:
        candidate = posixpath.join(folder, name) if folder else name
        if overlay.exists(candidate):
            return candidate
    return None


def _resources(doc: YamlDocument) -> list[Any] | None:
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("resources"), list):
        return list(data["resources"])
    return None


def edit_document(overlay: Overlay, doc: YamlDocument, new_data: Any) -> None:
    """Write `new_data` for `doc` into the overlay, spliced into the original text."""
    if same(new_data, doc.data):
        return
    text = overlay.read_text(doc.path)
    new_text, documents = rewrite_and_parse(text, doc, new_data)
    overlay.write_text(doc.path, new_text, documents=documents)


def _listing(overlay: Overlay, path: str) -> tuple[str, YamlDocument, list[Any], str] | None:
    """The kustomization.yaml beside `path`, its document, its resources and the name
    `path` is listed under; None when there is no such list."""
    kustomization = kustomization_beside(overlay, path)
    if kustomization is None or kustomization == path:
        return None
    docs = overlay.documents(kustomization)
    if not docs:  # an empty kustomization.yaml lists nothing
        return None
    doc = docs[0]
    resources = _resources(doc)
    if resources is None:
        return None
    return kustomization, doc, resources, posixpath.basename(path)


def register_resource(overlay: Overlay, path: str, reports: list[ReportItem]) -> None:
    """List a new file in the `resources:` of the kustomization.yaml in its folder."""
    found = _listing(overlay, path)
    if found is None:
        return
    kustomization, doc, resources, name = found
    if name in resources or f"./{name}" in resources:
        return
    new_data = dict(doc.data)
    new_data["resources"], entry = _listed(overlay, kustomization, resources, name)
    if not _put_back_line(overlay, doc, entry, new_data):
        edit_document(overlay, doc, new_data)
    reports.append(ReportItem("kustomize", f"listed {name} in resources", kustomization))


def unregister_resource(overlay: Overlay, path: str, reports: list[ReportItem]) -> None:
    found = _listing(overlay, path)
    if found is None:
        return
    kustomization, doc, resources, name = found
    kept = [r for r in resources if r not in (name, f"./{name}")]
    if kept == resources:
        return
    new_data = dict(doc.data)
    new_data["resources"] = kept
    edit_document(overlay, doc, new_data)
    reports.append(ReportItem("kustomize", f"removed {name} from resources", kustomization))


def _original(overlay: Overlay, kustomization: str) -> YamlDocument | None:
    base = overlay.base
    if not base.exists(kustomization):
        return None
    docs = base.documents(kustomization)
    return docs[0] if docs and _resources(docs[0]) is not None else None


def _listed(
    overlay: Overlay, kustomization: str, resources: list[Any], name: str
) -> tuple[list[Any], tuple[int, Any] | None]:
    """`resources` with `name` added, and (its index in the repo's list, its spelling) when
    the repo's own kustomization listed it: then it goes back where it was; at the end
    otherwise."""
    original_doc = _original(overlay, kustomization)
    original = _resources(original_doc) if original_doc is not None else None
    spelled = [r for r in original or [] if r in (name, f"./{name}")]
    if original is None or not spelled:
        return [*resources, name], None
    at = original.index(spelled[0])
    before = [r for r in original[:at] if r in resources]
    index = resources.index(before[-1]) + 1 if before else 0
    return [*resources[:index], spelled[0], *resources[index:]], (at, spelled[0])


def _item_lines(text: str, node: yaml.Node) -> tuple[int, int]:
    """The span of whole lines a block sequence item's text takes (comment on its line
    included)."""
    start = text.rfind("\n", 0, node.start_mark.index) + 1
    end = text.find("\n", node.end_mark.index)
    return start, len(text) if end < 0 else end + 1


def _put_back_line(
    overlay: Overlay, doc: YamlDocument, entry: tuple[int, Any] | None, new_data: Any
) -> bool:
    """Re-insert the repo's own line of a re-listed entry; say whether that worked."""
    original_doc = _original(overlay, doc.path)
    if entry is None or original_doc is None:
        return False
    old_items = _sequence(original_doc)
    items = _sequence(doc)
    if old_items is None or items is None:
        return False
    base_text = overlay.base.read_text(doc.path)
    line_start, line_end = _item_lines(base_text, old_items[entry[0]])
    line = base_text[line_start:line_end]
    if not line.endswith("\n"):
        line += "\n"
    position = new_data["resources"].index(entry[1])
    text = overlay.read_text(doc.path)
    if position > 0:
        at = _item_lines(text, items[position - 1])[1]
    elif items:
        at = _item_lines(text, items[0])[0]
    else:
        return False
    new_text = text[:at] + line + text[at:]
    try:
        parsed = parse_file(doc.path, new_text)
    except RepoError:
        return False
    if not same(parsed[doc.index].data, new_data):
        return False
    overlay.write_text(doc.path, new_text, documents=parsed)
    return True


def _sequence(doc: YamlDocument) -> list[yaml.Node] | None:
    node = doc.node
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "resources":
            if isinstance(value, yaml.SequenceNode) and not value.flow_style:
                return list(value.value)
            return None
    return None
