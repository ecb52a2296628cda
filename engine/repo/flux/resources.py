"""The records the kustomize resolution produces: objects with their provenance, patches,
problems. Plain data; no reading, no resolution logic."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engine.yamltext.yamldoc import YamlDocument

PatchKind = Literal["smp", "json6902"]
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git::|gh:|git@|github\.com[:/])", re.I)


@dataclass(frozen=True)
class Problem:
    """A layout the model cannot follow (or a build Flux would fail), by file and reason."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Patch:
    """One patch as kustomize or Flux applies it.

    `file` holds the patch text: the patch file (`doc_index` is its document), or the
    kustomization file / Flux Kustomization for an inline patch (`position` says where in it,
    e.g. `patches[1]` or `spec.patches[0]`; `doc_index` is that file's document).
    """

    file: str
    doc_index: int
    position: str
    kind: PatchKind
    target: dict[str, str] | None
    content: Any = field(compare=False, repr=False)
    line: int | None = None
    inline: bool = False

    def describe(self) -> str:
        where = f"{self.file} {self.position}" if self.inline else self.file
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class ValueOrigin:
    """Where a value was last set: the defining document, a patch, or a repo-held ConfigMap."""

    file: str
    doc_index: int | None
    how: Literal["document", "patch", "configmap", "generator"]
    position: str = ""


@dataclass
class Resource:
    """An object in a kustomize build, with where it came from.

    `path`/`doc_index` is the defining document; generated objects (configMapGenerator,
    secretGenerator) have the kustomization file as `path`, `doc_index` 0 and `generated`
    set to the generator's position with `sources` the files it reads.
    """

    path: str
    doc_index: int
    data: Any
    original_name: str
    original_namespace: str | None
    previous: list[tuple[str, str | None]] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    # leaf path -> the patch that last set it (leaves of the defining document are absent)
    patched: dict[tuple[Any, ...], Patch] = field(default_factory=dict)
    generated: str | None = None
    sources: list[str] = field(default_factory=list)
    copied: bool = False  # `data` is our own copy (safe to change)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion") or "")

    @property
    def group(self) -> str:
        api = self.api_version
        return api.split("/", 1)[0] if "/" in api else ""

    @property
    def version(self) -> str:
        return self.api_version.rsplit("/", 1)[-1]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return str(value) if value else None

    def ids(self) -> list[tuple[str, str | None]]:
        """The (name, namespace) pairs it has had, current first."""
        return [(self.name, self.namespace), *self.previous]


class DocumentReader(Protocol):
    """The least the model's answers need to re-read documents (a Workspace or Overlay)."""

    def documents(self, path: str) -> list[YamlDocument]: ...


class ModelReader(Protocol):
    """What the model reads: the workspace (or an overlay) API."""

    def yaml_files(self) -> list[str]: ...

    def exists(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str: ...

    def documents(self, path: str) -> list[YamlDocument]: ...

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]: ...


@dataclass
class FluxFields:
    """The Flux Kustomization fields written into the root kustomization file (§1.3)."""

    file: str
    doc_index: int
    target_namespace: str | None = None
    name_prefix: str | None = None
    name_suffix: str | None = None
    patches: list[Any] = field(default_factory=list)
    components: list[str] = field(default_factory=list)


@dataclass
class Build:
    """The result of building one folder."""

    folder: str
    resources: list[Resource]
    files: set[str]  # every repo file the build read
    walked: list[str]  # folders whose YAML files a generated kustomization lists
    problems: list[Problem]
    # nameReference entries from `configurations:` files: (kind, field path, referrer kind)
    name_references: list[tuple[str, str, str]] = field(default_factory=list)


def is_remote(entry: str) -> bool:
    return bool(_REMOTE.match(entry))


def join(folder: str, rel: str) -> str:
    """A path relative to `folder`, normalised; `..` cannot climb above the repo root."""
    joined = posixpath.normpath(posixpath.join(folder, rel.lstrip("/") if folder == "." else rel))
    while joined.startswith("../") or joined == "..":
        joined = joined[3:] or "."
    return joined.lstrip("/") or "."
