"""The values helm-controller would pass to a HelmRelease's chart: `spec.valuesFrom` in
order (whole YAML maps, or one value at `targetPath`), then `spec.values` over them
(shared/reference/flux.md). ConfigMaps and Secrets are looked up among the objects the repo
builds; a Secret we cannot read (SOPS-encrypted) or one the repo does not hold gets a
placeholder at its targetPath, and a note says so."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import WaypathError
from engine.verify.discovery import mapping
from engine.yamltext.yamldoc import parse_file

PLACEHOLDER = "waypath-placeholder"

Lookup = Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name)


@dataclass
class EffectiveValues:
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b.c` (a `\\.` stays a dot in a key), creating maps on the way."""
    parts = [p.replace("\0", ".") for p in path.replace("\\.", "\0").split(".")]
    node = values
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _secret_value(obj: dict[str, Any], key: str) -> str | None:
    """A Secret's value for key, or None when it is SOPS-encrypted or undecodable."""
    if "sops" in obj:
        return None
    string_data = mapping(obj.get("stringData"))
    if key in string_data:
        return str(string_data[key])
    raw = mapping(obj.get("data")).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def effective_values(release: dict[str, Any], namespace: str, lookup: Lookup) -> EffectiveValues:
    spec = mapping(release.get("spec"))
    out = EffectiveValues()
    entries = spec.get("valuesFrom")
    for raw_entry in entries if isinstance(entries, list) else []:
        entry = mapping(raw_entry)
        kind, name = str(entry.get("kind", "")), str(entry.get("name", ""))
        key = str(entry.get("valuesKey") or "values.yaml")
        target = entry.get("targetPath")
        label = f"{kind} {namespace}/{name} key {key}"
        obj = lookup(kind, namespace, name)
        text: str | None = None
        if obj is None:
            if entry.get("optional"):
                out.notes.append(f"valuesFrom {label}: not in the repo, optional, left out")
                continue
            reason = "not in the repo"
        elif kind == "Secret":
            text = _secret_value(obj, key)
            reason = "SOPS-encrypted or not readable"
        else:
            raw = mapping(obj.get("data")).get(key)
            text = None if raw is None else str(raw)
            reason = "has no such key"
        if text is None:
            if target:
                set_path(out.values, str(target), PLACEHOLDER)
                out.notes.append(f"valuesFrom {label}: {reason}; rendered with a placeholder")
            else:
                out.notes.append(f"valuesFrom {label}: {reason}; its values are left out")
            continue
        if target:
            set_path(out.values, str(target), text)
            continue
        try:  # the same limits as every YAML Waypath reads (aliases, depth, size)
            docs = parse_file(label, text)
        except WaypathError as exc:
            out.problems.append(f"valuesFrom {label}: not valid YAML: {exc.message}")
            continue
        if len(docs) > 1:
            out.problems.append(f"valuesFrom {label}: more than one YAML document")
            continue
        loaded = docs[0].data if docs else None
        if isinstance(loaded, dict):
            out.values = merge(out.values, loaded)
        elif loaded is not None:
            out.problems.append(f"valuesFrom {label}: not a YAML map of values")
    inline = spec.get("values")
    if isinstance(inline, dict):
        out.values = merge(out.values, inline)
    return out
