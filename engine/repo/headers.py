"""The identity of each document of a file (apiVersion, kind, metadata.name and .namespace)
read from its lines, without parsing it.

A kustomize build reaches every object of a cluster, but most questions are about a few
of them: the model keeps the others as their identity and parses a document only when its
data is asked for. The scan answers only for the plain block style manifests are written
in (top-level `key: value` lines, a `metadata:` block, simple scalars) and returns None for
anything else — flow style, anchors, tags, multi-line scalars, directives, duplicate keys,
a document without `kind` or `metadata.name` — so that the caller parses the file and gets
exactly what the parser says. A scan that answers gives what parsing gives (a test holds
it to that on every fixture and on generated variations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from engine.yamltext.yamldoc import _segments as yaml_segments

# `---` / `...` at the start of a line: the same rule yamldoc._segments splits on.
_MARKER = re.compile(r"^(---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?:[ ]+(.*))?$")
_PLAIN = re.compile(r"[A-Za-z0-9$_./][A-Za-z0-9$_./{}-]*")
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_TYPED: dict[str, bool] = {}  # plain text -> resolves to a string (YAML 1.1 rules)
_IDENTITY = ("apiVersion", "kind")


@dataclass(frozen=True, slots=True)
class Header:
    """One document's identity; `kind` is None for an empty document (no data)."""

    index: int
    api_version: str | None
    kind: str | None
    name: str | None
    namespace: str | None
    line: int


class Unsure(Exception):
    """The lines are not in the plain form the scan reads: parse the file instead."""


def segments_with_offsets(body: str) -> list[tuple[int, int, int, int]]:
    """(first line, head, start, end) of each document of `body` (no BOM), cut exactly as
    yamldoc cuts them; Unsure for a `...` marker or content on a `---` line."""
    for match in _MARKER.finditer(body):
        if match.group(1) == "...":
            raise Unsure
        end = body.find("\n", match.end())
        rest = body[match.end() : len(body) if end < 0 else end].strip()
        if rest and not rest.startswith("#"):
            raise Unsure
    return [
        (1 + body.count("\n", 0, start), head, start, end)
        for head, start, end in yaml_segments(body)
        if start <= len(body)
    ]


def _is_string(text: str) -> bool:
    found = _TYPED.get(text)
    if found is None:
        found = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR  # type: ignore[no-untyped-call]
        if len(_TYPED) < 10_000:
            _TYPED[text] = found
    return found


_READ: dict[str, str | None] = {}  # value text -> the string, None when unsure


def _scalar(value: str | None) -> str:
    """A simple one-line string value (plain or quoted without escapes), else Unsure.
    Values repeat (kinds, API versions, namespaces): answers are kept."""
    if not value:
        raise Unsure
    found = _READ.get(value, "")
    if found == "":
        try:
            found = _read_scalar(value)
        except Unsure:
            found = None
        if len(_READ) < 50_000:
            _READ[value] = found
    if found is None:
        raise Unsure
    return found


def _read_scalar(value: str) -> str:
    if " #" in value:
        value = value[: value.index(" #")]
    value = value.rstrip(" ")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        if not inner or '"' in inner or "\\" in inner:
            raise Unsure
        return inner
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1]
        if not inner or "'" in inner:
            raise Unsure
        return inner
    if not _PLAIN.fullmatch(value) or not _is_string(value):
        raise Unsure
    return value


def _segments(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each document, as yamldoc cuts a file."""
    found: list[tuple[int, str]] = []
    start, line = 0, 1
    for match in _MARKER.finditer(text):
        if match.group(1) == "...":
            raise Unsure
        found.append((line, text[start : match.start()]))
        end = text.find("\n", match.end())
        rest = text[match.end() : len(text) if end < 0 else end].strip()
        if rest and not rest.startswith("#"):
            raise Unsure  # content on the `---` line
        line += text.count("\n", start, match.start())
        start = len(text) if end < 0 else end + 1
        line += 1
    found.append((line, text[start:]))
    return found


_TOP = re.compile(r"^[^ \t\r\n#].*", re.MULTILINE)  # a line starting in column 0
_CONTENT = re.compile(r"^[ \t]*[^ \t\r\n#]", re.MULTILINE)  # a line that is not blank or a comment


def _document(text: str, first_line: int) -> tuple[tuple[str | None, ...], int] | None:
    """(apiVersion, kind, name, namespace) and the line of the first content, or None for
    a document holding only comments and blank lines. Only the lines in column 0, the
    line after an identity value and the `metadata:` block are read."""
    first = _CONTENT.search(text)
    if first is None:
        return None
    if text[first.start()] in " \t":
        raise Unsure  # the document's root is indented
    content_line = first_line + text.count("\n", 0, first.start())
    values: dict[str, str] = {}
    meta: dict[str, str] | None = None
    tops = list(_TOP.finditer(text))
    for number, match in enumerate(tops):
        key_line = _KEY.fullmatch(match.group(0).rstrip("\r"))
        if key_line is None:
            raise Unsure  # a list, flow style, a merge key, an anchor, a directive...
        key, value = key_line.group(1), key_line.group(2)
        if key in values or (key == "metadata" and meta is not None):
            raise Unsure  # a duplicate key: the parser says where
        end = tops[number + 1].start() if number + 1 < len(tops) else len(text)
        if key == "metadata":
            if value and not value.startswith("#"):
                raise Unsure  # `metadata: {name: x}`
            meta = _metadata(text[match.end() : end])
        elif key in _IDENTITY:
            values[key] = _scalar(value)
            after = _CONTENT.search(text, match.end(), end)
            if after is not None:
                raise Unsure  # the value goes on over the next line
        elif value and value[0] in "[{\"'" and value not in ("[]", "{}") and not _closed(value):
            raise Unsure  # a flow collection or quoted text may go on over the next lines
        else:
            values.setdefault(key, "")
    if "kind" not in values or not meta or "name" not in meta:
        raise Unsure  # the parser says what is wrong with it
    return (values.get("apiVersion"), values["kind"], meta["name"], meta.get("namespace")), (
        content_line
    )


def _metadata(block: str) -> dict[str, str]:
    """name and namespace from the lines of a `metadata:` block."""
    meta: dict[str, str] = {}
    seen: set[str] = set()
    child_indent = 0
    last_scalar = False  # the previous line held a value we read
    for raw in block.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("\t"):
            raise Unsure
        indent = len(line) - len(stripped)
        if not child_indent:
            child_indent = indent
        if indent < child_indent:
            raise Unsure
        if indent > child_indent:
            if last_scalar:
                raise Unsure  # a value we read goes on over this line
            continue
        match = _KEY.fullmatch(stripped)
        if match is None:
            raise Unsure  # a list item, a quoted or complex key...
        key, value = match.group(1), match.group(2)
        if key in seen:
            raise Unsure
        seen.add(key)
        last_scalar = key in ("name", "namespace")
        if last_scalar:
            meta[key] = _scalar(value)
        elif value and value[0] in "[{\"'&*!|>" and value != "{}" and not _closed(value):
            raise Unsure
    return meta


def _closed(value: str) -> bool:
    """A quoted scalar that ends on its line (no comment or flow collection counts)."""
    quote = value[0]
    if quote not in "\"'":
        return False
    body = value.split(" #", 1)[0].rstrip(" ")
    return len(body) >= 2 and body[-1] == quote and quote not in body[1:-1] and "\\" not in body


def scan(text: str) -> list[Header] | None:
    """The headers of every document of `text` (indexed as yamldoc.parse_file indexes
    them), or None when the file must be parsed to know."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.startswith("%") or "\n%" in text:
        return None
    try:
        segments = _segments(text)
        found = [_document(body, line) for line, body in segments]
    except Unsure:
        return None
    if found and found[0] is None:
        found, segments = found[1:], segments[1:]  # only comments before the first `---`
    headers = []
    for index, (item, (line, _)) in enumerate(zip(found, segments, strict=True)):
        if item is None:
            headers.append(Header(index, None, None, None, None, line))
        else:
            (api, kind, name, namespace), content_line = item
            headers.append(Header(index, api, kind, name, namespace, content_line))
    return headers
