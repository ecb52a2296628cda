"""The chart version a cluster receives for a HelmRelease: the pin after every patch, read
from the document that sets it last. The model's structure is built once per run; the pin
is re-read through the reader given (the planner's overlay), so a raised overlay patch or
an edited base reads as its new value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from engine.errors import WaypathError
from engine.repo.flux.model import Rendering
from engine.repo.flux.resources import DocumentReader, Patch
from engine.yamltext.yamldoc import load_one

VERSION_PATH = ("spec", "chart", "spec", "version")
_POINTER = "/" + "/".join(VERSION_PATH)
_POSITION = re.compile(r"([A-Za-z0-9_]+)(?:\[(\d+)\])?")


@dataclass(frozen=True)
class Pin:
    """The effective pin, and the file (document) that sets it: the release's own document,
    or the patch that overrides it."""

    value: str | None
    file: str
    doc_index: int
    patch: Patch | None = None


def _get(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _document(reader: DocumentReader, path: str, index: int) -> Any:
    try:
        docs = reader.documents(path)
    except WaypathError:
        return None
    return docs[index].data if index < len(docs) else None


def _inline_text(data: Any, position: str) -> str | None:
    """The patch text at `patches[1]` / `spec.patches[0]` of a kustomization document."""
    node = data
    for part in position.split("."):
        match = _POSITION.fullmatch(part)
        if match is None or not isinstance(node, dict):
            return None
        node = node.get(match.group(1))
        if match.group(2) is not None:
            index = int(match.group(2))
            node = node[index] if isinstance(node, list) and index < len(node) else None
    if isinstance(node, dict):
        node = node.get("patch")
    return node if isinstance(node, str) else None


def patch_content(reader: DocumentReader, patch: Patch) -> Any:
    """The patch's current content (SMP mapping or list of ops), or None if gone."""
    data = _document(reader, patch.file, patch.doc_index)
    if not patch.inline:
        return data
    text = _inline_text(data, patch.position)
    if text is None:
        return None
    try:
        return load_one(text)
    except yaml.YAMLError:
        return None


def version_in_patch(content: Any) -> tuple[bool, str | None]:
    """(sets the version?, the version) for an SMP mapping or a JSON 6902 op list."""
    if isinstance(content, dict):
        chart_spec = _get(content, VERSION_PATH[:-1])
        if isinstance(chart_spec, dict) and "version" in chart_spec:
            return True, _text(chart_spec["version"])
        return False, None
    found: tuple[bool, str | None] = (False, None)
    for op in content if isinstance(content, list) else []:
        if isinstance(op, dict) and op.get("path") == _POINTER:
            if op.get("op") in ("add", "replace"):
                found = (True, _text(op.get("value")))
            elif op.get("op") == "remove":
                found = (True, None)
    return found


def effective_pin(reader: DocumentReader, rendering: Rendering) -> Pin:
    """The pin `rendering`'s cluster receives, read through `reader` now."""
    patch = rendering.resource.patched.get(VERSION_PATH)
    if patch is not None:
        sets, value = version_in_patch(patch_content(reader, patch))
        if sets:
            return Pin(value, patch.file, patch.doc_index, patch)
    data = _document(reader, rendering.path, rendering.doc_index)
    return Pin(_text(_get(data, VERSION_PATH)), rendering.path, rendering.doc_index)
