"""Find a component's instances in a repo and read their current version from the pins.

An instance is one installation: the HelmRelease a `core` detector matches, plus the
objects the other detectors match in the same scope folder. The scope of an instance is
the highest folder above its core HelmRelease that holds no other instance of the
component (`clusters/prod` in a fleet repo, `.` in a single-cluster repo), so detection
needs no knowledge of the repo's layout.

The version is read from the chart version pin, never guessed: a pin that admits several
known releases, or none, leaves the version unknown and says which releases it admits;
the user then states it with `--assume`.
"""

from __future__ import annotations

import bisect
import functools
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import yaml

from engine.errors import DetectionError, Location, VersionError
from engine.recipe.models import Component, Detector
from engine.recipe.versions import Catalog, Version
from engine.repo.channels import channel_of, resolve
from engine.repo.flux.model import FluxModel, where
from engine.repo.flux.placement import clusters_of_doc, patched_by, place
from engine.repo.workspace import scope_range
from engine.yamltext.yamldoc import YamlDocument


class Reader(Protocol):
    """What detection needs from a Workspace or an Overlay."""

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]: ...

    def documents(self, path: str) -> list[YamlDocument]: ...

    def read_text(self, path: str) -> str: ...


@dataclass
class Source:
    kind: str
    name: str
    namespace: str | None
    url: str | None
    path: str | None  # file holding the source object, when found
    chart: str | None = None  # for OCIRepository / HelmChart: the chart it serves
    pin: str | None = None  # OCIRepository ref.tag / ref.semver


@dataclass
class DetectedObject:
    detector: str
    role: str
    doc: YamlDocument
    chart: str
    pin: str | None
    source: Source | None
    clusters: list[str] = field(default_factory=list)  # that render it (Flux model)
    patched_by: list[str] = field(default_factory=list)  # files whose patches change it
    pin_file: str | None = None  # the file that sets the effective pin, when not its own

    @property
    def path(self) -> str:
        return self.doc.path

    @property
    def name(self) -> str:
        return self.doc.name or ""

    @property
    def namespace(self) -> str | None:
        return self.doc.namespace

    @property
    def spec(self) -> dict[str, Any]:
        data = self.doc.data if isinstance(self.doc.data, dict) else {}
        spec = data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def target_namespace(self) -> str | None:
        value = self.spec.get("targetNamespace")
        return str(value) if value else None

    @property
    def storage_namespace(self) -> str | None:
        value = self.spec.get("storageNamespace")
        return str(value) if value else self.namespace

    @property
    def release_name(self) -> str:
        return helm_release_name(self.doc.data)

    def context(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "namespace": self.namespace,
            "api_version": self.doc.api_version,
            "chart": self.chart,
            "chart_version": self.pin,
            "release_name": self.release_name,
            "target_namespace": self.target_namespace,
            "storage_namespace": self.storage_namespace,
            "data": self.doc.data,
        }


@dataclass
class Instance:
    component: str
    scope: str
    core: DetectedObject
    objects: dict[str, list[DetectedObject]] = field(default_factory=dict)
    version: Version | None = None
    admits: list[Version] = field(default_factory=list)
    explanation: str = ""
    clusters: list[str] = field(default_factory=list)  # the cluster roots it reaches
    refused: str | None = None  # why Waypath cannot upgrade it (e.g. an edge channel)
    floating: bool = False  # version = newest known of a channel that still publishes

    @property
    def label(self) -> str:
        """How messages name it: its folder, and its clusters when the model knows them."""
        if not self.clusters:
            return self.scope
        return f"{self.scope} ({where(self.clusters)})"

    @property
    def paths(self) -> list[str]:
        return sorted({o.path for objs in self.objects.values() for o in objs})

    @property
    def extensions(self) -> list[str]:
        return sorted(
            name
            for name, objs in self.objects.items()
            if objs and objs[0].role == "extension" and name not in ("crds",)
        )


def helm_release_name(data: Any) -> str:
    """The Helm release name helm-controller uses (flux.md §1.3)."""
    if not isinstance(data, dict):
        return ""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    if spec.get("releaseName"):
        return str(spec["releaseName"])
    name = str(metadata.get("name", ""))
    if spec.get("targetNamespace"):
        return f"{spec['targetNamespace']}-{name}"
    return name


def _spec(doc: YamlDocument) -> dict[str, Any]:
    data = doc.data if isinstance(doc.data, dict) else {}
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else {}


def _chart_spec(doc: YamlDocument) -> dict[str, Any]:
    chart = _spec(doc).get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        return chart["spec"]  # type: ignore[no-any-return]
    return {}


def _pin_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class _Sources:
    """Looks up source objects by kind and name, lazily and only in candidate files."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._cache: dict[tuple[str, str], list[tuple[YamlDocument, str]]] = {}
        # (kind, name, namespace) -> the matching sources and their paths, both sorted
        self._matches: dict[
            tuple[str, str, str | None], tuple[list[tuple[YamlDocument, str]], list[str]]
        ] = {}

    def find(self, kind: str, name: str, namespace: str | None, near: str) -> Source | None:
        key = (kind, name)
        if key not in self._cache:
            found: list[tuple[YamlDocument, str]] = []
            for path in self.reader.candidates(kinds=[kind], contains=[name]):
                for doc in self.reader.documents(path):
                    if doc.kind == kind and doc.name == name:
                        found.append((doc, path))
            self._cache[key] = found
        by_namespace = (kind, name, namespace)
        if by_namespace not in self._matches:
            matching = [
                (doc, path)
                for doc, path in self._cache[key]
                if namespace is None or doc.namespace in (None, namespace)
            ]
            self._matches[by_namespace] = (matching, [m[1] for m in matching])
        matches, paths = self._matches[by_namespace]
        if not matches:
            return None
        # Prefer the source closest to the release (same cluster folder in a fleet repo).
        # The closest paths sort next to `near`: look at the neighbours, not at them all.
        at = bisect.bisect_left(paths, near)
        neighbours = matches[max(0, at - 1) : at + 1] if len(matches) > 2 else matches
        doc, path = max(neighbours, key=lambda m: (_common_prefix_len(m[1], near), m[1]))
        spec = _spec(doc)
        source = Source(
            kind=kind,
            name=name,
            namespace=doc.namespace or namespace,
            url=_pin_text(spec.get("url")),
            path=path,
        )
        if kind == "OCIRepository":
            url = source.url or ""
            source.chart = url.rstrip("/").rsplit("/", 1)[-1] or None
            ref = spec.get("ref") if isinstance(spec.get("ref"), dict) else {}
            assert isinstance(ref, dict)
            source.pin = _pin_text(ref.get("tag")) or _pin_text(ref.get("semver"))
        elif kind == "HelmChart":
            source.chart = _pin_text(spec.get("chart"))
            source.pin = _pin_text(spec.get("version"))
        return source


def _common_prefix_len(a: str, b: str) -> int:
    parts_a, parts_b = a.split("/"), b.split("/")
    n = 0
    for x, y in zip(parts_a, parts_b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _match_release(
    doc: YamlDocument, detectors: Sequence[Detector], sources: _Sources, follow: bool = True
) -> tuple[Detector, str, str | None, Source | None] | None:
    """Which detector matches a HelmRelease document, with its chart, pin and source."""
    chart_spec = _chart_spec(doc)
    chart = _pin_text(chart_spec.get("chart"))
    pin = _pin_text(chart_spec.get("version"))
    source: Source | None = None
    ref = chart_spec.get("sourceRef")
    chart_ref = _spec(doc).get("chartRef")
    if chart is None and isinstance(chart_ref, dict) and chart_ref.get("name"):
        source = sources.find(
            str(chart_ref.get("kind", "OCIRepository")),
            str(chart_ref["name"]),
            _pin_text(chart_ref.get("namespace")) or doc.namespace,
            doc.path,
        )
        if source is None:
            return None
        chart, pin = source.chart, source.pin
    for detector in detectors:
        if chart in detector.charts:
            if follow and source is None and isinstance(ref, dict) and ref.get("name"):
                source = sources.find(
                    str(ref.get("kind", "HelmRepository")),
                    str(ref["name"]),
                    _pin_text(ref.get("namespace")) or doc.namespace,
                    doc.path,
                )
            return detector, chart, pin, source
    return None


def paths_in_scope(paths: Sequence[str], scope: str) -> list[str]:
    """The paths under `scope`, from a sorted list, without scanning all of it."""
    start, end = scope_range(paths, scope)
    return list(paths[start:end])


@functools.lru_cache(maxsize=32)
def _related(charts: tuple[str, ...]) -> re.Pattern[str]:
    """A file can hold a detected release only if it names one of the charts, or uses a
    `chartRef` (the chart name then lives in the source)."""
    return re.compile("|".join(re.escape(c) for c in (*charts, "chartRef")))


@functools.lru_cache(maxsize=65536)
def _mentions(pattern: re.Pattern[str], text: str) -> bool:
    # Planning asks again for every step of every instance; the texts are the same objects,
    # so the cache answers by identity without searching again.
    return pattern.search(text) is not None


def find_objects(
    reader: Reader, component: Component, *, scope: str = ".", sources: bool = True
) -> list[DetectedObject]:
    """Every HelmRelease under `scope` that one of the component's detectors matches.

    With `sources=False` a `sourceRef` is not followed (a `chartRef` still is: the chart
    name lives in the source).
    """
    related = _related(tuple(sorted({c for d in component.detectors for c in d.charts})))
    lookup = _Sources(reader)
    found: list[DetectedObject] = []
    for path in paths_in_scope(reader.candidates(kinds=["HelmRelease"]), scope):
        if not _mentions(related, reader.read_text(path)):
            continue
        for doc in reader.documents(path):
            if doc.kind != "HelmRelease" or not isinstance(doc.data, dict):
                continue
            match = _match_release(doc, component.detectors, lookup, sources)
            if match is None:
                continue
            detector, chart, pin, source = match
            found.append(DetectedObject(detector.name, detector.role, doc, chart, pin, source))
    return found


class InstancesByFolder:
    """The instances whose core HelmRelease is under a folder, found by bisect: the planner
    asks once per instance, and a scan of every instance each time was quadratic."""

    def __init__(self, instances: Sequence[Instance]) -> None:
        order = sorted(range(len(instances)), key=lambda n: instances[n].core.path)
        self._positions = order
        self._instances = instances
        self._paths = [instances[n].core.path for n in order]

    def __call__(self, folder: str) -> list[Instance]:
        """In the order of the list given (the few in range are sorted back)."""
        start, end = scope_range(self._paths, folder)
        return [self._instances[n] for n in sorted(self._positions[start:end])]


def _scope_for(path: str, core_paths: Sequence[str]) -> str:
    """The highest folder above `path` holding no core object but those in `path` itself.

    `core_paths` is sorted: the paths under a folder are one run of it, found by bisect.
    """
    folder = posixpath.dirname(path)
    parts = folder.split("/") if folder else []
    for depth in range(len(parts) + 1):
        candidate = "/".join(parts[:depth]) or "."
        start, end = scope_range(core_paths, candidate)
        # Sorted: every path in the range is `path` when the first and last one are.
        if core_paths[start] == path and core_paths[end - 1] == path:
            return candidate
    return folder or "."


def detect(
    reader: Reader,
    component: Component,
    catalog: Catalog,
    *,
    assume: Mapping[str, str] | None = None,
    model: FluxModel | None = None,
    edited: bool = False,
) -> list[Instance]:
    """The instances of `component`, sorted by scope, with versions read from their pins.

    With the Flux `model` an instance lists the clusters it reaches, and its version is the
    pin those clusters receive after patches; clusters that receive different pins of one
    document are separate instances (same folder, different clusters).
    """
    objects = sorted(find_objects(reader, component), key=lambda o: o.path)
    object_paths = [o.path for o in objects]
    cores = [o for o in objects if o.role == "core"]
    core_paths = [o.path for o in cores]
    instances: list[Instance] = []
    for core in cores:
        scope = _scope_for(core.path, core_paths)
        members = []
        start, end = scope_range(object_paths, scope)
        for at in range(start, end):
            obj = objects[at]
            if obj.role != "core" or obj is core:
                members.append(obj)
        for placed_core in _placed(core, reader, model):
            instance = Instance(component.name, scope, placed_core, clusters=placed_core.clusters)
            for obj in members:
                obj = placed_core if obj is core else obj
                instance.objects.setdefault(obj.detector, []).append(obj)
            _read_version(instance, component, catalog)
            instances.append(instance)
    if model is not None:
        for obj in objects:
            if obj.role != "core":
                obj.clusters = clusters_of_doc(model, obj.doc)
                obj.patched_by = patched_by(model, obj.doc)
    _refuse_duplicates(instances)
    _apply_assume(instances, component.name, catalog, assume or {}, edited=edited)
    instances.sort(key=lambda i: (i.scope, i.core.path, i.clusters))
    return instances


def _refuse_duplicates(instances: Sequence[Instance]) -> None:
    """Two documents defining one HelmRelease (namespace and name written in both) that one
    cluster receives: kustomize refuses such a build, and two Flux Kustomizations applying
    them undo each other. Which one the upgrade should edit is the user's call."""
    seen: dict[tuple[str, str, str], DetectedObject] = {}
    for instance in instances:
        core = instance.core
        if core.namespace is None or not core.name:
            continue
        for cluster in instance.clusters:
            other = seen.setdefault((cluster, core.namespace, core.name), core)
            if other.doc.path == core.path and other.doc.index == core.doc.index:
                continue
            first, second = sorted((other, core), key=lambda o: (o.path, o.doc.index))
            raise DetectionError(
                f"HelmRelease {core.namespace}/{core.name} is defined twice in what cluster "
                f"{cluster} receives: {first.doc.location()} and {second.doc.location()}",
                location=second.doc.location(),
                hint="keep one of them (delete the other, or take it out of the "
                "kustomization.yaml that lists it), then run Waypath again",
            )


def _placed(core: DetectedObject, reader: Reader, model: FluxModel | None) -> list[DetectedObject]:
    """The core object once per group of clusters receiving the same pin."""
    if model is None:
        return [core]
    placed = []
    from_source = isinstance(_spec(core.doc).get("chartRef"), dict)  # the pin is the source's
    for group in place(model, reader, core.doc, core.pin):
        pin = core.pin if from_source else group.pin
        copy = replace(core, pin=pin, clusters=group.clusters, patched_by=group.patched_by)
        copy.pin_file = None if from_source or group.pin_file == core.path else group.pin_file
        placed.append(copy)
    return placed


def _apply_assume(
    instances: Sequence[Instance],
    name: str,
    catalog: Catalog,
    assume: Mapping[str, str],
    *,
    edited: bool = False,
) -> None:
    """`--assume linkerd=R` states R for every instance whose pin does not tell its release;
    `--assume linkerd@clusters/dev=R` for the instance in that folder only. A statement the
    pin contradicts is an error: Waypath never overrides what the repo says. In a repo
    `edited` by the recipes of a path the pins a recipe raised tell the release, so the
    statement (about the release running before) no longer applies to them."""
    everywhere = assume.get(name)
    for instance in instances:
        own = next(
            (
                assume[key]
                for key in (f"{name}@{c}" for c in (*instance.clusters, instance.scope))
                if key in assume
            ),
            None,
        )
        stated = own if own is not None else everywhere
        if stated is None:
            continue
        version = catalog.parse_release(stated)
        if instance.refused:
            continue  # refused whatever the user states: see the planner's error
        if instance.version is None or instance.floating:
            if instance.admits and version not in instance.admits:
                raise DetectionError(
                    f"--assume {stated} for {instance.scope}: {instance.explanation}",
                    location=Location(instance.core.path, instance.core.doc.line),
                    hint="state a release the pin admits",
                )
            instance.version = version
            instance.explanation = f"assumed {version.label} (--assume)"
        elif own is not None and instance.version != version and not edited:
            raise DetectionError(
                f"--assume {name}@{instance.scope}={stated}, but its pin says "
                f"{instance.version.label}",
                location=Location(instance.core.path, instance.core.doc.line),
                hint="drop the --assume: the pin tells the release",
            )
    unknown_folders = [
        key.split("@", 1)[1]
        for key in assume
        if key.startswith(f"{name}@")
        and key.split("@", 1)[1] not in {n for i in instances for n in (i.scope, *i.clusters)}
    ]
    if unknown_folders:
        raise DetectionError(
            f"--assume names no {name} instance in: {', '.join(sorted(unknown_folders))}",
            hint="name an instance folder or a cluster, as `waypath detect` shows them",
        )


def _pin_location(core: DetectedObject) -> Location:
    """Where the pin is written: the patch that sets it, or the version line of the document."""
    if core.pin_file:
        return Location(core.pin_file)
    node = core.doc.node
    for key in ("spec", "chart", "spec", "version"):
        if not isinstance(node, yaml.MappingNode):
            return core.doc.location()
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return Location(core.path, node.start_mark.line + 1) if node is not None else core.doc.location()


def _unreadable_pin(core: DetectedObject, exc: VersionError) -> str:
    """Why the pin tells no release: a postBuild substitution, or text that is no version."""
    where = _pin_location(core)
    if core.pin is not None and "${" in core.pin:
        return (
            f"chart {core.chart} version `{core.pin}` ({where}) is a Flux postBuild "
            "substitution, filled in by the Flux Kustomization that applies it; Waypath "
            "reads the repo and cannot tell which release it is"
        )
    return f"chart {core.chart} version ({where}): {exc.message}"


def _read_version(instance: Instance, component: Component, catalog: Catalog) -> None:
    core = instance.core
    try:
        admits = catalog.releases_for_chart(core.chart, core.pin)
    except VersionError as exc:
        instance.explanation = _unreadable_pin(core, exc)
        return
    instance.admits = admits
    pin = core.pin or "(unpinned)"
    if core.pin_file:
        pin += f" by the patch in {core.pin_file}"
    channel = channel_of(component, core.source.url if core.source else None)
    if channel is not None and channel.refuse:
        instance.refused = channel.refuse
        instance.explanation = f"chart {core.chart} pin {pin}: {channel.refuse}"
        return
    if len(admits) == 1:
        instance.version = admits[0]
        instance.explanation = f"chart {core.chart} pinned at {pin}"
    elif not admits:
        instance.explanation = f"chart {core.chart} pin {pin} admits no release Waypath knows"
    else:
        found = resolve(component, catalog, channel, core.chart, pin, admits) if channel else None
        if found is not None:
            instance.version, instance.explanation = found.version, found.explanation
            instance.floating = not found.certain
            return
        labels = ", ".join(v.label for v in admits)
        instance.explanation = (
            f"chart {core.chart} pin {pin} admits {len(admits)} releases: {labels}"
        )
