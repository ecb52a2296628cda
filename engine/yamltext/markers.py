"""`# renovate:` markers on a HelmRelease's chart version.

Repos that let Renovate bump charts through a regex manager write a comment next to the
pin, either on the line above (`# renovate: datasource=helm depName=linkerd2
registryUrl=https://helm.linkerd.io/stable`) or at the end of the `version:` line. When a
step renames the chart, the marker must name the new chart; when a step writes a new
HelmRelease that takes over from a marked one, it gets a marker in the same style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from engine.yamltext.restructure import child_node
from engine.yamltext.yamldoc import YamlDocument

_MARKER = re.compile(r"#\s*renovate:\s*(?P<fields>.*?)\s*$")
_FIELD = re.compile(r"(?P<key>[A-Za-z]+)=(?P<value>\S+)")


@dataclass(frozen=True)
class Marker:
    above: bool  # on its own line above `version:` (else at the end of that line)
    start: int  # offset of the marker comment in the file text
    end: int  # offset of its end (before the line break)
    fields: dict[str, str]

    def text(self, **changes: str) -> str:
        fields = {**self.fields, **changes}
        return "# renovate: " + " ".join(f"{k}={v}" for k, v in fields.items())


def _version_key(doc: YamlDocument) -> yaml.Node | None:
    node: yaml.Node | None = doc.node
    for key in ("spec", "chart", "spec"):
        node = child_node(node, key) if node is not None else None
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "version":
            return key_node
    return None


def _line_bounds(text: str, index: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    end = len(text) if end < 0 else end
    return start, end - (1 if end > start and text[end - 1] == "\r" else 0)


def find_marker(text: str, doc: YamlDocument) -> Marker | None:
    """The marker of `doc`'s chart version pin, if it has one."""
    key = _version_key(doc)
    if key is None:
        return None
    start, end = _line_bounds(text, key.start_mark.index)
    hash_at = text.find("#", key.end_mark.index, end)
    if hash_at >= 0:
        match = _MARKER.match(text, hash_at, end)
        if match:
            return Marker(False, hash_at, end, _fields(match.group("fields")))
    if start == 0:
        return None
    above_start, above_end = _line_bounds(text, start - 1)
    line = text[above_start:above_end]
    match = _MARKER.match(line.lstrip())
    if match is None:
        return None
    offset = above_start + len(line) - len(line.lstrip())
    return Marker(True, offset, above_end, _fields(match.group("fields")))


def _fields(text: str) -> dict[str, str]:
    return {m.group("key"): m.group("value") for m in _FIELD.finditer(text)}


def set_marker(text: str, doc: YamlDocument, marker: Marker, new: str) -> str:
    """The file text with `doc`'s version pin marked by `new` (a whole `# renovate:`
    comment), in `marker`'s style; an existing marker of `doc` is replaced."""
    own = find_marker(text, doc)
    if own is not None:
        return text[: own.start] + new + text[own.end :]
    key = _version_key(doc)
    if key is None:
        return text
    start, end = _line_bounds(text, key.start_mark.index)
    if marker.above:
        indent = text[start : key.start_mark.index]
        newline = "\r\n" if "\r\n" in text else "\n"
        return text[:start] + indent + new + newline + text[start:]
    return text[:end] + "  " + new + text[end:]
