"""Reference data a linter and the scaffold can use when it is there: chart default values
and the Flux CRDs.

A source checkout carries a copy in `third_party/shared` (the wheel does not). We look below
`WAYPATH_SHARED`, then in that copy, then next to the checkout (`<repo>/../shared/...`), or where `WAYPATH_REFERENCE` (the folder holding `index.tsv`, or
its parent) and `WAYPATH_FLUX_SCHEMAS` point. When they are missing, the checks that need them say so.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.yamltext.inputs import load_yaml

_REPO = Path(__file__).resolve().parents[2]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def charts_dir() -> Path | None:
    """The folder holding `index.tsv` and the chart default values files, if found."""
    env = os.environ.get("WAYPATH_REFERENCE")
    candidates = [Path(env), Path(env) / "charts"] if env else [_shared() / "reference" / "charts"]
    return next((c for c in candidates if (c / "index.tsv").is_file()), None)


def flux_schemas_dir() -> Path | None:
    env = os.environ.get("WAYPATH_FLUX_SCHEMAS")
    candidate = Path(env) if env else _shared() / "schemas" / "flux"
    return candidate if candidate.is_dir() and any(candidate.glob("*.yaml")) else None


def _shared() -> Path:
    """`$WAYPATH_SHARED` (as the scenario tests use it), else the copy a checkout carries
    in third_party/shared, else `<repo>/../shared`."""
    env = os.environ.get("WAYPATH_SHARED")
    if env:
        return Path(env)
    vendored = _REPO / "third_party" / "shared"
    return vendored if vendored.is_dir() else _REPO.parent / "shared"


@dataclass(frozen=True)
class ChartValues:
    chart: str
    version: str
    path: Path


@functools.cache
def _index(folder: Path) -> dict[tuple[str, str], Path]:
    found: dict[tuple[str, str], Path] = {}
    with (folder / "index.tsv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 6 or row[0].startswith("#"):
                continue
            chart, version, name = row[3], row[4], row[5]
            # `-ha` files are overlays for high availability; the plain file holds the defaults
            if name.endswith(".values.yaml") and not name.endswith("-ha.values.yaml"):
                found.setdefault((chart, version), folder / name)
    return found


def chart_values_file(chart: str, version: str) -> ChartValues | None:
    folder = charts_dir()
    if folder is None:
        return None
    path = _index(folder).get((chart, version))
    return ChartValues(chart, version, path) if path else None


@functools.cache
def load_values(path: Path) -> Any:
    docs = load_yaml(path, "values file")
    return docs[0] if docs else {}


@functools.cache
def crd_schemas() -> dict[str, dict[str, Any]]:
    """Kind -> openAPIV3Schema (properties merged over every served version)."""
    folder = flux_schemas_dir()
    if folder is None:
        return {}
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            kind = doc["spec"]["names"]["kind"]
            for version in doc["spec"].get("versions", []):
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if isinstance(schema, dict):
                    schemas[kind] = _merge(schemas.get(kind, {}), schema)
    return schemas


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = {**a, **{k: v for k, v in b.items() if k != "properties"}}
    props = dict(a.get("properties", {}))
    for key, value in b.get("properties", {}).items():
        props[key] = _merge(props[key], value) if key in props else value
    if props:
        merged["properties"] = props
    return merged


# Used when the CRDs are not reachable: HelmRelease v2 spec fields (Flux 2.x).
BUILTIN_FIELDS: dict[str, list[str]] = {
    "HelmRelease": [
        "chart", "chartRef", "commonMetadata", "dependsOn", "driftDetection",
        "healthCheckExprs", "install", "interval", "kubeConfig", "maxHistory",
        "persistentClient", "postRenderStrategy", "postRenderers", "releaseName", "rollback",
        "serviceAccountName", "storageNamespace", "suspend", "targetNamespace", "test",
        "timeout", "uninstall", "upgrade", "values", "valuesFrom", "waitStrategy",
    ],
}  # fmt: skip
