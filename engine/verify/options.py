"""What verify runs with: the tools, the charts at hand and the Flux CRD schemas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.authoring.reference import flux_schemas_dir
from engine.errors import UsageError
from engine.verify.charts import ChartIndex
from engine.verify.schemas import SchemaIndex, schema_index
from engine.verify.tools import Tool, find_helm, find_kustomize


@dataclass(frozen=True)
class VerifyOptions:
    kustomize: Tool
    helm: Tool
    charts: ChartIndex | None = None
    schemas: SchemaIndex | None = None
    schemas_missing: str = "no Flux CRD schemas found (pass --schemas DIR)"

    def tool_labels(self) -> dict[str, str]:
        def label(tool: Tool) -> str:
            return tool.label if tool.argv else f"missing: {tool.missing}"

        charts = ", ".join(str(f) for f in self.charts.folders) if self.charts else "none given"
        schemas = (
            str(self.schemas.schema_dir) if self.schemas else f"missing: {self.schemas_missing}"
        )
        return {
            "kustomize": label(self.kustomize),
            "helm": label(self.helm),
            "charts": charts,
            "schemas": schemas,
        }


def resolve_options(
    *,
    kustomize: str | None = None,
    helm: str | None = None,
    charts: Sequence[Path] = (),
    schemas: Path | None = None,
) -> VerifyOptions:
    """Find the tools and data; a folder the user names that is not there is an error."""
    for folder in [*charts, *([schemas] if schemas else [])]:
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder", hint="check the path you passed")
    schema_dir = schemas or flux_schemas_dir()
    if schemas is not None and not any(schemas.glob("*.yaml")):
        raise UsageError(f"--schemas {schemas}: no CRD files (*.yaml) there")
    return VerifyOptions(
        kustomize=find_kustomize(kustomize),
        helm=find_helm(helm),
        charts=ChartIndex([Path(c) for c in charts]) if charts else None,
        schemas=schema_index(schema_dir.resolve()) if schema_dir else None,
        schemas_missing="no Flux CRD schemas found: pass --schemas DIR or set WAYPATH_FLUX_SCHEMAS",
    )
