"""The Renovate hand-off: read the upgrade data Renovate gives a post-upgrade task.

Renovate bumps the desired release in waypath.yaml (a custom regex manager reading a
`# renovate:` comment), then runs `waypath sync`. With `dataFileTemplate` set, it writes
a JSON file and puts its path in `RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE`; the command
runs without a shell, so we read the variable ourselves. The file's shape is whatever the
template renders; docs/renovate/renovate.json renders, per upgrade, `depName`,
`packageFile`, `currentVersion` and `newVersion`. We accept a list of such objects, an
object with an `upgrades` list, or one object.

What we use it for: which components to sync (the ones Renovate bumped), a check that
waypath.yaml now says what Renovate meant to write, and a refusal when Renovate edited a
component's chart somewhere else (a HelmRelease pin bumped by the flux manager would make
the repo look upgraded and skip the migration).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import Problem, UsageError
from engine.recipe.loading import Library
from engine.recipe.versions import Version
from engine.repo.config import CONFIG_FILE, RepoConfig
from engine.yamltext.inputs import InputError, load_json

DATA_FILE_ENV = "RENOVATE_POST_UPGRADE_COMMAND_DATA_FILE"


@dataclass
class Upgrade:
    dep_name: str
    package_file: str
    current_version: str
    new_version: str


def read_data_file(path: Path) -> list[Upgrade]:
    try:
        raw: Any = load_json(path, "Renovate data file")
    except InputError as exc:
        raise UsageError(
            exc.message,
            location=exc.location,
            hint=exc.hint or "check `dataFileTemplate` in renovate.json (see docs/renovate/)",
        ) from None
    if isinstance(raw, dict) and isinstance(raw.get("upgrades"), list):
        raw = raw["upgrades"]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(u, dict) for u in raw):
        raise UsageError(
            f"the Renovate data file {path} is not a list of upgrades",
            hint="render `[{\"depName\": ..., \"packageFile\": ..., \"newVersion\": ...}]` "
            "with `dataFileTemplate` (see docs/renovate/renovate.json)",
        )
    return [
        Upgrade(
            dep_name=str(u.get("depName") or ""),
            package_file=str(u.get("packageFile") or ""),
            current_version=str(u.get("currentVersion") or u.get("from") or ""),
            new_version=str(u.get("newVersion") or u.get("to") or ""),
        )
        for u in raw
    ]


def _component_of(library: Library, chart: str) -> str | None:
    """The component whose catalog ships `chart`."""
    for name, source in sorted(library.components.items()):
        catalog = source.catalog
        for version in catalog.releases:
            entry = catalog.release(version)
            if entry is not None and chart in entry.charts:
                return name
    return None


def _release_of(library: Library, component: str, chart: str, version: str) -> Version | None:
    catalog = library.catalog(component)
    found = [
        v
        for v in catalog.releases
        if (entry := catalog.release(v)) is not None and entry.charts.get(chart) == version
    ]
    return found[-1] if found else None


def components_to_sync(
    upgrades: list[Upgrade], config: RepoConfig, library: Library
) -> tuple[list[str], list[str]]:
    """The components Renovate bumped in waypath.yaml, and the files it edited (which may
    be dirty in a post-upgrade task). Raises UsageError when the data and the repo disagree.
    """
    names: list[str] = []
    problems: list[Problem] = []
    for up in upgrades:
        component = _component_of(library, up.dep_name)
        if component is None:
            continue  # not a chart Waypath knows: not ours
        in_config = posixpath.basename(up.package_file) == CONFIG_FILE
        if not in_config:
            problems.append(
                Problem(
                    f"Renovate bumped {up.dep_name} in {up.package_file}, not in {CONFIG_FILE}: "
                    f"the repo would look upgraded and the {component} migration be skipped"
                )
            )
            continue
        wanted = config.components.get(component)
        if wanted is None:
            problems.append(Problem(f"{CONFIG_FILE} has no `components.{component}` entry"))
            continue
        release = _release_of(library, component, up.dep_name, up.new_version)
        catalog = library.catalog(component)
        if release is None:
            problems.append(
                Problem(
                    f"Renovate proposes {up.dep_name} {up.new_version}, a release this "
                    f"Waypath has no recipe for yet: upgrade Waypath (its recipes) first"
                )
            )
            continue
        if catalog.resolve_target(wanted.version) != release:
            problems.append(
                Problem(
                    f"Renovate moved {up.dep_name} to {up.new_version} ({release.label}), but "
                    f"{CONFIG_FILE} asks for {wanted.version}: check the regex manager"
                )
            )
            continue
        if component not in names:
            names.append(component)
    if problems:
        raise UsageError(
            "the Renovate upgrade data does not match the repo",
            problems=problems,
            hint="let Renovate bump only waypath.yaml for these charts (disable the flux "
            "manager for them; see docs/upgrading.md)",
        )
    return names, [u.package_file for u in upgrades if u.package_file]
