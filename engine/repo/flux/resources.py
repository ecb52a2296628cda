"""The records the kustomize resolution produces: objects with their provenance, patches,
problems. Plain data; no reading, no resolution logic."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

from engine.repo.headers import Header
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


class Resource:
    """An object in a kustomize build, with where it came from.

    `path`/`doc_index` is the defining document; generated objects (configMapGenerator,
    secretGenerator) have the kustomization file as `path`, `doc_index` 0 and `generated`
    set to the generator's position with `sources` the files it reads.

    An object no patch touches may be known by its identity alone (`identity`: apiVersion,
    kind, name, namespace read from the file's lines, engine/repo/flux/headers.py): its
    `data` is read by `load` when first asked for, and the renames and namespace the build
    gave it are applied then. Data is shared, never changed in place: a change copies the
    containers on its path (`own_metadata`).
    """

    __slots__ = (
        "_data",
        "_identity",
        "_pending",
        "_reader",
        "doc_index",
        "generated",
        "original_name",
        "original_namespace",
        "patched",
        "patches",
        "path",
        "previous",
        "sources",
    )  # fmt: skip

    def __init__(
        self,
        path: str,
        doc_index: int,
        data: Any,
        original_name: str,
        original_namespace: str | None,
        *,
        generated: str | None = None,
        sources: list[str] | None = None,
        identity: tuple[str, str, str, str | None] | None = None,
        reader: PlainReader | None = None,
    ) -> None:
        self.path = path
        self.doc_index = doc_index
        self._data = data
        self.original_name = original_name
        self.original_namespace = original_namespace
        # Empty until the build changes them (a container per object was most of the
        # memory of a fleet's model): replaced, never changed in place.
        self.previous: tuple[tuple[str, str | None], ...] = ()
        self.patches: tuple[Patch, ...] = ()
        # leaf path -> the patch that last set it (leaves of the defining document are absent)
        self.patched: Mapping[tuple[Any, ...], Patch] = _NOTHING_PATCHED
        self.generated = generated
        self.sources: tuple[str, ...] = tuple(sources or ())
        # Not loaded yet: (apiVersion, kind, name, namespace) now, the reader to load the
        # document from, and the metadata fields the build set since, in order.
        self._identity = identity
        self._reader = reader
        self._pending: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        return f"Resource({self.path}#{self.doc_index} {self.kind} {self.name})"

    def copy(self) -> Resource:
        """Another object of the same state: what one changes the other does not see (the
        data itself is shared: it is never changed in place)."""
        other = Resource.__new__(Resource)
        other.path, other.doc_index, other._data = self.path, self.doc_index, self._data
        other.original_name, other.original_namespace = self.original_name, self.original_namespace
        other.previous, other.patches = self.previous, self.patches
        other.patched, other.generated = self.patched, self.generated
        other.sources, other._identity = self.sources, self._identity
        other._reader, other._pending = self._reader, self._pending
        return other

    @property
    def loaded(self) -> bool:
        return self._identity is None

    @property
    def data(self) -> Any:
        if self._identity is not None:
            assert self._reader is not None
            data = self._reader.plain_documents(self.path)[self.doc_index].data
            self._identity, self._reader = None, None
            for key, value in self._pending:
                data = _with_metadata(data, key, value)
            self._pending = ()
            self._data = data
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._identity, self._reader, self._pending = None, None, ()
        self._data = value

    def set_metadata(self, key: str, value: str) -> None:
        """Set `metadata.<key>` (name or namespace) on a copy of the data, or remember it
        for when the data is loaded."""
        if self._identity is not None:
            api, kind, name, namespace = self._identity
            if key == "name":
                name = value
            else:
                namespace = value
            self._identity = (api, kind, name, namespace)
            self._pending = (*self._pending, (key, value))
            return
        self._data = _with_metadata(self._data, key, value)

    @property
    def kind(self) -> str:
        if self._identity is not None:
            return self._identity[1]
        return str(self.data.get("kind") or "")

    @property
    def api_version(self) -> str:
        if self._identity is not None:
            return self._identity[0]
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
        if self._identity is not None:
            return self._identity[2]
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        if self._identity is not None:
            return self._identity[3] or None
        value = self.metadata.get("namespace")
        return str(value) if value else None

    def renamed(self, name: str, namespace: str | None) -> None:
        """Remember an id the object had (a transformer changes its name or namespace)."""
        self.previous = (*self.previous, (name, namespace))

    def ids(self) -> list[tuple[str, str | None]]:
        """The (name, namespace) pairs it has had, current first."""
        return [(self.name, self.namespace), *self.previous]


_NOTHING_PATCHED: Mapping[tuple[Any, ...], Patch] = MappingProxyType({})


def _with_metadata(data: Any, key: str, value: str) -> Any:
    """`data` with `metadata.<key>` set: the document and its metadata copied, the rest
    shared (a deep copy per object was most of a fleet model's memory)."""
    data = dict(data)
    meta = data.get("metadata")
    data["metadata"] = {**(meta if isinstance(meta, dict) else {}), key: value}
    return data


class DocumentReader(Protocol):
    """The least the model's answers need to re-read documents (a Workspace or Overlay)."""

    def documents(self, path: str) -> list[YamlDocument]: ...


class PlainReader(Protocol):
    """What a resource loads its data through (a Workspace or Overlay)."""

    def plain_documents(self, path: str) -> list[YamlDocument]: ...


class FileReader(Protocol):
    """Files and their documents: what the model's answers read (references)."""

    def yaml_files(self) -> list[str]: ...

    def exists(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str: ...

    def documents(self, path: str) -> list[YamlDocument]: ...

    def plain_documents(self, path: str) -> list[YamlDocument]: ...

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]: ...


class ModelReader(FileReader, Protocol):
    """What the model is built from: the workspace (or an overlay) API."""

    def listed(self, path: str) -> bool: ...

    def headers(self, path: str) -> list[Header] | None: ...


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
    if "/" not in rel and rel not in ("", ".", "..") and "\\" not in rel:
        return rel if folder in (".", "") else f"{folder}/{rel}"  # a name in `folder` (normalised)
    joined = posixpath.normpath(posixpath.join(folder, rel.lstrip("/") if folder == "." else rel))
    while joined.startswith("../") or joined == "..":
        joined = joined[3:] or "."
    return joined.lstrip("/") or "."
