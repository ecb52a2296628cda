"""Flux objects against the real Flux CRDs, made strict.

The schemas are the controllers' generated CRDs (the current set, and `legacy-flux-2.6/`
for the beta versions). They are open (no `additionalProperties: false`), so the API
server would silently prune a misspelt or removed field; we close every object node that
lists `properties` and does not preserve unknown fields. CEL rules are not evaluated by
JSON Schema; the one that matters for recipes, "exactly one of chart/chartRef" on a v2
HelmRelease, is checked by hand.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from engine.errors import Location, UsageError
from engine.yamltext.inputs import load_yaml

FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"


def _close(node: Any) -> None:
    if not isinstance(node, dict):
        return
    if (
        node.get("type") == "object"
        and "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in node
    ):
        node["additionalProperties"] = False
    for child in (node.get("properties") or {}).values():
        _close(child)
    if isinstance(node.get("items"), dict):
        _close(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        _close(node["additionalProperties"])


def is_flux(doc: Any) -> bool:
    """True for an object of a Flux API group (`*.toolkit.fluxcd.io`)."""
    if not isinstance(doc, dict):
        return False
    group = str(doc.get("apiVersion", "")).partition("/")[0]
    return group.endswith(FLUX_GROUP_SUFFIX)


class SchemaIndex:
    """(apiVersion, kind) -> strict validator, from the current and the legacy CRD sets."""

    def __init__(self, schema_dir: Path) -> None:
        self.schema_dir = schema_dir
        self._schemas: dict[tuple[str, str], dict[str, Any]] = {}
        # Current set first: a version it serves wins over the legacy copy of it.
        for folder in (schema_dir, schema_dir / "legacy-flux-2.6"):
            for path in sorted(folder.glob("*.yaml")):
                # --schemas DIR is an input like any other: the same limits, errors by name.
                for crd in load_yaml(path, "Flux CRD file"):
                    if isinstance(crd, dict) and crd.get("kind") == "CustomResourceDefinition":
                        self._add(path, crd)
        self._validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}

    def _add(self, path: Path, crd: dict[str, Any]) -> None:
        try:
            spec = crd["spec"]
            for version in spec["versions"]:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                if key not in self._schemas:
                    strict = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                    _close(strict)
                    self._schemas[key] = strict
        except (KeyError, TypeError, AttributeError, IndexError):
            raise UsageError(
                "this CustomResourceDefinition has no spec.group, spec.names.kind and "
                "spec.versions[].schema.openAPIV3Schema",
                location=Location(str(path)),
                hint="point --schemas (or WAYPATH_FLUX_SCHEMAS) at a folder of Flux CRD files",
            ) from None

    def validator(self, api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
        key = (api_version, kind)
        if key not in self._schemas:
            return None
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft7Validator(self._schemas[key])
        return self._validators[key]

    def problems(self, doc: dict[str, Any]) -> list[str]:
        """What the API server (schema + the chart/chartRef CEL rule) would refuse."""
        api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
        validator = self.validator(api_version, kind)
        if validator is None:
            return [f"no CRD schema serves {api_version} {kind}"]
        found = [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        ]
        if kind == "HelmRelease" and api_version.endswith("/v2"):
            spec = doc.get("spec") or {}
            if ("chart" in spec) == ("chartRef" in spec):
                found.append("spec: exactly one of chart and chartRef must be set (CEL rule)")
        return found


@cache
def schema_index(schema_dir: Path) -> SchemaIndex:
    return SchemaIndex(schema_dir)
