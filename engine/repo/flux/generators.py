"""configMapGenerator / secretGenerator as kustomize runs them (kustomize-flux.md §3.7):
the generated object, the files it reads, and its hash suffix."""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class GeneratorError(ValueError):
    """A generator input the model cannot read; the message says which and why."""


def _strip_quotes(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _env_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not _ENV_KEY.match(key):
            raise GeneratorError(f"line {number}: {key!r} is not a valid variable name")
        pairs[key] = value
    return pairs


def generate(
    folder: str,
    spec: dict[str, Any],
    kind: str,
    options: dict[str, Any],
    read: Callable[[str], str | None],
) -> tuple[dict[str, Any], list[str], bool]:
    """The generated object (name without hash), the repo files it read, and whether a hash
    suffix is added. `read(path)` gives a repo file's text or None when it is missing."""
    data: dict[str, str] = {}
    sources: list[str] = []
    for literal in spec.get("literals") or []:
        key, sep, value = str(literal).partition("=")
        if not sep:
            raise GeneratorError(f"literal {literal!r} is not KEY=VALUE")
        data[key] = _strip_quotes(value)
    for entry in spec.get("files") or []:
        text_entry = str(entry)
        key, sep, rel = text_entry.partition("=")
        if not sep:
            key, rel = posixpath.basename(text_entry), text_entry
        path = posixpath.normpath(posixpath.join(folder, rel))
        text = read(path)
        if text is None:
            raise GeneratorError(f"file {rel} ({path}) is not in the repo")
        data[key] = text
        sources.append(path)
    for entry in spec.get("envs") or ([spec["env"]] if spec.get("env") else []):
        path = posixpath.normpath(posixpath.join(folder, str(entry)))
        text = read(path)
        if text is None:
            raise GeneratorError(f"env file {entry} ({path}) is not in the repo")
        data.update(_env_pairs(text))
        sources.append(path)
    metadata: dict[str, Any] = {"name": str(spec.get("name") or "")}
    if spec.get("namespace"):
        metadata["namespace"] = str(spec["namespace"])
    local = spec.get("options") if isinstance(spec.get("options"), dict) else {}
    assert isinstance(local, dict)
    for field_ in ("labels", "annotations"):
        merged = {**(options.get(field_) or {}), **(local.get(field_) or {})}
        if merged:
            metadata[field_] = merged
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    if kind == "Secret":
        obj["type"] = str(spec.get("type") or "Opaque")
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    hashed = not (options.get("disableNameSuffixHash") or local.get("disableNameSuffixHash"))
    return obj, sources, hashed


def name_hash(obj: dict[str, Any]) -> str:
    """kustomize's hash suffix of a generated ConfigMap or Secret (§3.7)."""
    encoded: dict[str, Any] = {"data": obj.get("data") or "", "kind": obj["kind"], "name": ""}
    if obj["kind"] == "Secret":
        encoded["type"] = obj.get("type", "Opaque")
        if isinstance(obj.get("stringData"), dict):
            encoded["stringData"] = obj["stringData"]
    elif isinstance(obj.get("binaryData"), dict):
        encoded["binaryData"] = obj["binaryData"]
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))
