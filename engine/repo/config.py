"""`waypath.yaml` at the root of a user's repo: desired releases and rollout waves.

It is the declarative target Renovate bumps and `waypath sync` reconciles the repo
toward, the way Flux reconciles a cluster toward Git.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from engine.errors import UsageError
from engine.recipe.models import StrictModel

CONFIG_FILE = "waypath.yaml"


class Wave(StrictModel):
    """A group of clusters upgraded together, e.g. `temp`, `nonprod`, `prod`."""

    name: str
    clusters: list[str] = Field(
        default_factory=list,
        description="Cluster names or cluster root folders (globs, e.g. `prod-*` or "
        "`clusters/prod*`), as `waypath detect` shows them.",
    )
    paths: list[str] = Field(
        default_factory=list,
        description="Globs matched against an instance's folder (e.g. `clusters/prod*`) or "
        "the path of its HelmRelease; they also name the clusters whose root they match.",
    )
    description: str = ""

    @model_validator(mode="after")
    def _names_something(self) -> Wave:
        if not self.clusters and not self.paths:
            raise ValueError(f"wave {self.name!r} names no clusters and no paths")
        return self

    def holds_cluster(self, name: str, root: str) -> bool:
        """Does a pattern of `clusters:` or `paths:` name the cluster or its root folder?"""
        for pattern in (*self.clusters, *self.paths):
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(root, pattern):
                return True
            if root.startswith(pattern + "/"):
                return True
        return False


class ComponentTarget(StrictModel):
    version: str = Field(description="Desired release, e.g. `enterprise-2.16.5` (Renovate bumps it).")
    params: dict[str, str] = Field(default_factory=dict, description="Recipe params, as `--set`.")
    assume: str | None = Field(
        default=None, description="Running release where pins do not tell it, as `--assume`."
    )
    allow_unsupported: bool = False


def _unique_names(waves: list[Wave]) -> list[Wave]:
    seen: dict[str, int] = {}
    for number, wave in enumerate(waves, 1):
        if wave.name in seen:
            raise ValueError(
                f"wave name `{wave.name}` is used twice (waves {seen[wave.name]} and {number}); "
                "each wave needs its own name"
            )
        seen[wave.name] = number
    return waves


class RepoConfig(StrictModel):
    api_version: Literal["waypath.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["Config"]
    components: dict[str, ComponentTarget] = Field(default_factory=dict)
    waves: Annotated[list[Wave], AfterValidator(_unique_names)] = Field(
        default_factory=list,
        description="In rollout order; wave names must be unique (Waypath refuses a repeated "
        "name; JSON Schema cannot say it).",
    )


def load_config(repo: Path) -> RepoConfig | None:
    """The repo's waypath.yaml, validated with located errors; None when there is none."""
    path = repo / CONFIG_FILE
    if not path.is_file():
        return None
    from engine.recipe.loading import load_yaml_model

    return load_yaml_model(
        path,
        RepoConfig,
        what=CONFIG_FILE,
        hint="see docs/upgrading.md (Waves: `waypath.yaml`); editors check the file as you "
        "type with the schema from `waypath config schema`",
    )


def wave_of(waves: list[Wave], scope: str, core_path: str) -> str | None:
    for wave in waves:
        for pattern in wave.paths:
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatchcase(scope, pattern) or fnmatch.fnmatchcase(core_path, pattern):
                return wave.name
            if scope.startswith(pattern + "/") or core_path.startswith(pattern + "/"):
                return wave.name
    return None


def check_wave(waves: list[Wave], name: str | None) -> None:
    if name is None:
        return
    names = [w.name for w in waves]
    if name not in names:
        raise UsageError(
            f"--wave {name}: no such wave",
            hint="waves in waypath.yaml: " + (", ".join(names) or "none (add a `waves:` list)"),
        )
