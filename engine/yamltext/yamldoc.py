"""Reading YAML files into documents that remember where every node sits in the text.

The splicer (splice.py) edits a file by replacing text at node marks, so a document keeps
both its plain data and its composed node tree. Offsets are character offsets into the
decoded file text (a BOM and CRLF line ends are kept in that text, so writing it back
gives the same bytes).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import LimitError, Location, YamlError

# The C loader is ~10x faster; its marks count characters like the pure-Python one.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAGS: dict[tuple[str, tuple[bool, bool]], str] = {}  # plain scalar text -> its resolved tag


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader, with the tag of each plain scalar text remembered: even the C
    composer calls the Python resolver (a chain of regexes) for every scalar, and a fleet
    repo repeats the same keys and values thousands of times. SafeLoader has no path
    resolvers, so the tag depends on the text alone."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _TAGS.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_TAGS) < 50_000 and len(value) < 100:  # bounded: ~5 MB at most
                _TAGS[key] = tag
        return tag

# An alias bomb ("billion laughs") composes to a small graph but expands when walked;
# these bound what one document may expand to.
MAX_NODES = 1_000_000
MAX_DEPTH = 500
# Composing costs ~40 bytes of memory per byte of YAML; a file this big is no manifest.
MAX_CHARS = 8 * 1024 * 1024

BOM = "\ufeff"
_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)[ \t]*", re.MULTILINE)


def decode(path: str, data: bytes) -> str:
    """Decode a file's bytes as UTF-8, keeping a BOM and CRLF line ends as they are."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlError(
            "file contains a NUL byte; it is binary or not UTF-8 text",
            location=Location(path, data.count(b"\n", 0, nul) + 1),
            hint="remove the file from the repo or save it as UTF-8 text",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            location=Location(path, data.count(b"\n", 0, exc.start) + 1),
            hint="re-save the file as UTF-8",
        ) from None


_LATER: Any = object()  # a node tree let go, to compose again from the text when asked


@dataclass
class YamlDocument:
    """One document of a YAML file.

    `text[start:end]` is the document's content without its `---` line; `head` is where
    that `---` line starts (equal to `start` for an implicit first document).

    `node` is the composed node tree, which only an edit needs (the splicer's marks). It
    costs ~20x the document's text in memory, so a reader that keeps documents lets it go
    (`drop_node`) and it is composed again from `text` when asked.
    """

    path: str
    index: int
    start: int
    end: int
    data: Any
    node: yaml.Node | None = field(compare=False, repr=False)  # a property: see below
    line: int
    head: int = -1
    has_aliases: bool = field(default=False, repr=False)
    text: str | None = field(default=None, compare=False, repr=False)  # the whole file's

    def __post_init__(self) -> None:
        if self.head < 0:
            self.head = self.start

    def drop_node(self) -> None:
        """Let the node tree go; `node` composes it again from the file text if asked."""
        if self.text is not None and self.__dict__.get("_node") is not None:
            self.__dict__["_node"] = _LATER

    def _get(self, *keys: str) -> Any:
        value: Any = self.data
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    @property
    def kind(self) -> str | None:
        value = self._get("kind")
        return value if isinstance(value, str) else None

    @property
    def api_version(self) -> str | None:
        value = self._get("apiVersion")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self._get("metadata", "name")
        return value if isinstance(value, str) else None

    @property
    def namespace(self) -> str | None:
        value = self._get("metadata", "namespace")
        return value if isinstance(value, str) else None

    @property
    def labels(self) -> dict[str, Any]:
        value = self._get("metadata", "labels")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def chart(self) -> str | None:
        """`spec.chart.spec.chart` of a HelmRelease, else None."""
        value = self._get("spec", "chart", "spec", "chart")
        return value if isinstance(value, str) else None

    @property
    def encrypted(self) -> bool:
        """True for a SOPS-encrypted document (it has a top-level `sops:` mapping)."""
        return isinstance(self._get("sops"), dict)

    def location(self) -> Location:
        return Location(self.path, self.line)


# Documents whose node tree was composed again, for `drop_composed` (a reader that only
# looked at a tree, found nothing to edit and wrote nothing leaves it there otherwise).
_COMPOSED: list[YamlDocument] = []


def _node_of(doc: YamlDocument) -> yaml.Node | None:
    node: yaml.Node | None = doc.__dict__.get("_node")
    if node is _LATER:
        assert doc.text is not None
        offset = 1 if doc.text.startswith(BOM) else 0
        node = _kept(compose_all(doc.path, doc.text[offset:])[doc.index], offset)
        doc.__dict__["_node"] = node
        _COMPOSED.append(doc)
    return node


def drop_composed() -> None:
    """Let go of every node tree composed again (by `node`) since the last call."""
    for doc in _COMPOSED:
        doc.drop_node()
    _COMPOSED.clear()


def _set_node(doc: YamlDocument, node: yaml.Node | None) -> None:
    doc.__dict__["_node"] = node


# Set after the dataclass is made: its __init__ assigns `node` through the setter.
YamlDocument.node = property(_node_of, _set_node)  # type: ignore[assignment]


def _kept(node: yaml.Node | None, offset: int) -> yaml.Node | None:
    """A composed document's node as documents keep it: marks moved past a BOM, and None
    for an empty document."""
    if node is not None and offset:
        _shift_marks(node, offset)
    if node is not None and _is_empty_node(node):
        return None
    return node


def _error(path: str, exc: yaml.YAMLError, offset_line: int = 0, text: str = "") -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    location = Location(path)
    if mark is not None:
        location = Location(path, mark.line + 1 + offset_line, mark.column + 1)
    elif isinstance(exc, yaml.reader.ReaderError):  # a control character: no mark, a position
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        message = f"invalid YAML: {exc.reason} (character #x{code:04x})"
        location = Location(path, text.count("\n", 0, exc.position) + 1 + offset_line)
    return YamlError(message, location=location, hint="fix the YAML syntax at this place")


def _segments(text: str) -> list[tuple[int, int, int]]:
    """(head, start, end) of each `---`-delimited segment; the first may be implicit."""
    segments: list[tuple[int, int, int]] = []
    head = start = 0
    for match in _MARKER.finditer(text):
        if match.group(1) == "---":
            segments.append((head, start, match.start()))
            head = match.start()
            start = match.end()
            # A bare `---` line: the document starts on the next line.
            if text.startswith("\r\n", start):
                start += 2
            elif text.startswith("\n", start):
                start += 1
        else:  # `...` ends the document; what follows up to the next `---` is no document
            segments.append((head, start, match.start()))
            head = start = len(text) + 1  # sentinel: swallowed until next `---`
    segments.append((head, start, len(text)))
    return segments


def _line(mark: Any) -> int | None:
    return None if mark is None else int(mark.line) + 1


def _check_depth(path: str, text: str) -> None:
    """Refuse very deep nesting before composing (the composers recurse per level)."""
    if len(text) < MAX_DEPTH:
        return
    widest = max(map(len, text.splitlines()), default=0)
    brackets = text.count("[") + text.count("{")
    if widest + brackets < MAX_DEPTH:  # block depth <= column; flow depth <= brackets
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LimitError(
                        f"YAML nesting deeper than {MAX_DEPTH} levels",
                        location=Location(path, _line(event.start_mark)),
                        hint="this is not a Kubernetes manifest; exclude the file from the repo",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _error(path, exc, text=text) from None


def _check_nodes(path: str, root: yaml.Node) -> bool:
    """Check duplicate keys and expansion size; return whether aliases share nodes."""
    seen: set[int] = set()
    shared = False
    count = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise LimitError(
                f"document expands to more than {MAX_NODES} nodes or {MAX_DEPTH} levels "
                "(an alias bomb?)",
                location=Location(path, root.start_mark.line + 1),
                hint="remove the anchors/aliases that multiply the document",
            )
        if isinstance(node, yaml.ScalarNode):
            continue
        if id(node) in seen:
            shared = True  # walked again: that is the expansion we are counting
        else:
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                _check_duplicates(path, node)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in node.value)
    return shared


def _check_duplicates(path: str, node: yaml.MappingNode) -> None:
    lines: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        ident = (key.tag, key.value)
        line = key.start_mark.line + 1
        if ident in lines:
            raise YamlError(
                f"duplicate key {key.value!r} (first on line {lines[ident]}, again on line {line})",
                location=Location(path, line, key.start_mark.column + 1),
                hint="remove one of the two keys; YAML keeps only the last one",
            )
        lines[ident] = line


def _shift_marks(root: yaml.Node, by: int) -> None:
    """Move every mark `by` characters (the C loader does not count a BOM)."""
    moved: dict[int, yaml.Mark] = {}

    def shifted(mark: Any) -> yaml.Mark:
        if id(mark) not in moved:
            moved[id(mark)] = yaml.Mark(
                mark.name,
                mark.index + by,
                mark.line,
                mark.column,
                None,
                None,  # type: ignore[arg-type]
            )
        return moved[id(mark)]

    done: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        node.start_mark = shifted(node.start_mark)
        node.end_mark = shifted(node.end_mark)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def compose_all(path: str, text: str) -> list[yaml.Node | None]:
    """Compose every document of `text` (no BOM) into nodes; None for an empty document."""
    _check_depth(path, text)
    loader = _Loader(text)
    nodes: list[yaml.Node | None] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            nodes.append(node)
    except yaml.YAMLError as exc:
        raise _error(path, exc, text=text) from None
    finally:
        loader.dispose()
    return nodes


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALARS = yaml.constructor.SafeConstructor()  # for int and float text: PyYAML's own rules


class _Unusual(Exception):
    """The fast construction does not cover this document: use PyYAML's constructor."""


def _plain_data(root: yaml.Node) -> Any:
    """The data PyYAML's SafeConstructor gives, for the documents manifests are made of
    (str/int/float/bool/null scalars, mappings, sequences, no alias sharing a collection,
    no merge key, no duplicate key), in one walk that also counts nodes and depth.
    Anything else raises `_Unusual`; the caller then takes the general path, which gives
    the same data or the same error. Twice as fast as the general path with its checks."""
    seen: set[int] = set()
    count = 0

    def build(node: yaml.Node, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise _Unusual
        kind = node.__class__
        if kind is yaml.ScalarNode:
            tag = node.tag
            if tag == _STR:
                return node.value
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return _SCALARS.bool_values[node.value.lower()]
            if tag == _INT:
                return _SCALARS.construct_yaml_int(node)  # type: ignore[arg-type]
            if tag == _FLOAT:
                return _SCALARS.construct_yaml_float(node)  # type: ignore[arg-type]
            raise _Unusual
        if id(node) in seen:
            raise _Unusual  # an alias shares this collection
        seen.add(id(node))
        if kind is yaml.MappingNode and node.tag == _MAP:
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not yaml.ScalarNode:
                    raise _Unusual
                key = build(key_node, depth + 1)
                if key in result:
                    raise _Unusual  # a duplicate key: the general path says where
                result[key] = build(value_node, depth + 1)
            return result
        if kind is yaml.SequenceNode and node.tag == _SEQ:
            return [build(child, depth + 1) for child in node.value]
        raise _Unusual

    return build(root, 1)


def construct(path: str, node: yaml.Node | None) -> tuple[Any, bool]:
    """Plain data of a composed node (as yaml.safe_load gives) and whether it has aliases."""
    if node is None:
        return None, False
    try:
        return _plain_data(node), False
    except Exception:  # any surprise: the general path decides
        pass
    shared = _check_nodes(path, node)
    loader = _Loader("")
    try:
        return loader.construct_document(node), shared
    except yaml.YAMLError as exc:
        raise _error(path, exc) from None
    except (ValueError, OverflowError) as exc:  # e.g. `2001-13-45`, an int of 5,000 digits
        raise YamlError(
            f"invalid YAML value: {exc}",
            location=Location(path, node.start_mark.line + 1),
            hint="quote the value to make it a string, or fix it",
        ) from None
    finally:
        loader.dispose()


def _is_empty_node(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:null"
        and node.value == ""
        and node.start_mark.index == node.end_mark.index
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: it rescans every node made so far, each time it runs, which
    makes a file of 50,000 documents take 7x longer (quadratic). The rare cycle (a
    recursive alias) is collected once the GC runs again. Under the `waypath` command
    (engine.cli.entry) the GC is off for the whole run and this changes nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()



def parse_file(path: str, text: str) -> list[YamlDocument]:
    """Every document of a file, with data, node marks and spans. Empty documents are kept."""
    if not gc.isenabled():  # planning and `waypath` runs: no context manager per file
        return _parse_file(path, text)
    with gc_paused():
        return _parse_file(path, text)


def _parse_file(path: str, text: str) -> list[YamlDocument]:
    if len(text) > MAX_CHARS:
        raise LimitError(
            f"file is too large to parse ({len(text) // 1024} KiB; the limit is "
            f"{MAX_CHARS // 1024} KiB)",
            location=Location(path, 1),
            hint="split the file, or keep it out of the repo's YAML (e.g. in .gitignore)",
        )
    offset = 1 if text.startswith(BOM) else 0
    body = text[offset:]
    nodes = compose_all(path, body)
    segments = [
        (h + offset, s + offset, e + offset) for h, s, e in _segments(body) if s <= len(body)
    ]
    # The segment before the first `---` is a document only when it holds content.
    if len(segments) == len(nodes) + 1:
        segments = segments[1:]
    if len(segments) != len(nodes):
        raise YamlError(  # pragma: no cover - only for streams our scanner misreads
            "cannot tell where the documents of this file start and end",
            location=Location(path),
            hint="put each `---` separator on a line of its own",
        )
    docs: list[YamlDocument] = []
    counted, lines = 0, 1  # starts only grow: count newlines once, not once per document
    for index, (node, (head, start, end)) in enumerate(zip(nodes, segments, strict=True)):
        if node is not None and offset:
            _shift_marks(node, offset)
        data, shared = construct(path, node)
        node = _kept(node, 0)
        lines += text.count("\n", counted, start)
        counted = start
        line = lines
        if node is not None:
            line = node.start_mark.line + 1
        docs.append(
            YamlDocument(
                path=path,
                index=index,
                start=start,
                end=end,
                data=data,
                node=node,
                line=line,
                head=head,
                has_aliases=shared,
                text=text,
            )
        )
    return docs


def load_one(text: str) -> Any:
    """Plain data of a single-document text (used to check spliced results)."""
    return yaml.load(text, Loader=_Loader)
