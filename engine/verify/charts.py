"""Charts at hand for `helm template`: Helm repository folders (an `index.yaml` beside the
packaged `.tgz` files), given with `--charts DIR`. A DIR without an index.yaml is searched
one level down, so the vendored `third_party/shared/charts/linkerd` gives every release."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from semver import Version as SemVer

from engine.errors import UsageError, VersionError
from engine.recipe.versions import parse_constraint, parse_semver

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ChartFile:
    name: str
    version: str
    path: Path
    sha256: str


class ChartIndex:
    """Chart name -> the packaged versions found in the folders."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self._charts: dict[str, dict[str, ChartFile]] = {}
        for folder in folders:
            indexes = (
                [folder / "index.yaml"]
                if (folder / "index.yaml").is_file()
                else sorted(folder.glob("*/index.yaml"))
            )
            if not indexes:
                raise UsageError(
                    f"--charts {folder}: no index.yaml there or in its sub-folders",
                    hint="give a Helm repository folder (made with `helm repo index .`)",
                )
            for index in indexes:
                self._read(index)

    def _read(self, index: Path) -> None:
        try:
            data = yaml.load(index.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{index}: cannot read the Helm repository index: {exc}") from None
        for name, entries in (data.get("entries") or {}).items():
            for entry in entries or []:
                urls = entry.get("urls") or []
                if not urls or "://" in str(urls[0]):
                    continue  # only charts packaged beside the index
                path = index.parent / str(urls[0])
                if path.is_file():
                    version = str(entry.get("version"))
                    self._charts.setdefault(str(name), {})[version] = ChartFile(
                        str(name), version, path, str(entry.get("digest") or _sha256(path))
                    )

    def knows(self, chart: str) -> bool:
        return chart in self._charts

    def find(self, chart: str, constraint: str) -> ChartFile | None:
        """The newest packaged version the HelmRelease's `version` allows, as Flux picks it."""
        versions = self._charts.get(chart, {})
        if not versions:
            return None
        parsed: dict[SemVer, str] = {}
        for text in versions:
            try:
                parsed[parse_semver(text)] = text
            except (VersionError, ValueError):
                continue
        try:
            best = parse_constraint(constraint or "*").highest(parsed)
        except VersionError:
            return versions.get(constraint)
        return versions[parsed[best]] if best is not None else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
