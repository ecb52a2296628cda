"""Flux `spec.postBuild` variable substitution on a built object's YAML text.

The subset of fluxcd/pkg/envsubst that Flux repos use (shared/reference/kustomize-flux.md
§1.5): `${var}`, `${var:=default}`, `${var:-default}`, `${var=default}`, `${var-default}`,
and `$${var}` for a literal `${var}`. Substitution runs only when at least one variable is
defined; an object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled`
is left alone. Variables that stay unresolved are returned so the caller can say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_VAR = re.compile(r"\$(\$?)\{([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-=])([^}]*))?\}")
DISABLED = "kustomize.toolkit.fluxcd.io/substitute"


def disabled(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    marks = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    return marks.get(DISABLED) == "disabled"


def substitute(text: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with variables replaced, and the names that had no value nor default."""
    if not variables:
        return text, []
    unresolved: list[str] = []

    def replace(match: re.Match[str]) -> str:
        escaped, name, operator, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in variables and not (
            operator and operator.startswith(":") and not variables[name]
        ):
            return variables[name].replace("\n", "")
        if operator is not None:
            return default
        unresolved.append(name)
        return match.group(0)

    return _VAR.sub(replace, text), unresolved
