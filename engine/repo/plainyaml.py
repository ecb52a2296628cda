"""Plain data of the simple block YAML most kustomization files and Flux objects are written
in, read line by line: three times faster than composing nodes with PyYAML's C loader and
building the data from them, which the Flux model did for every kustomization file and
Flux Kustomization of a repo.

It reads block mappings and sequences of one-line scalars (plain, or quoted without
escapes) and `{}`/`[]`; anything else — flow collections, block scalars, anchors, aliases,
tags, multi-line scalars, merge keys, duplicate keys, timestamps, tabs, directives — makes
it answer None, and the caller parses the file with PyYAML. What it answers is what
PyYAML gives (tests/test_plainyaml.py holds it to that on every fixture and on generated
variations); scalars are typed by PyYAML's own resolver and constructor (YAML 1.1).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from engine.repo.headers import Unsure, segments_with_offsets
from engine.yamltext.yamldoc import YamlDocument

_KEY = re.compile(r"([A-Za-z0-9_$][A-Za-z0-9_.$/-]*):(?:[ ]+(.*))?$")
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TAGS: dict[str, str] = {}  # plain text -> its resolved tag
_NOT_PLAIN_START = frozenset("[]{}&*!|>%@`#,?:\"'\t")
MAX_TEXT = 64 * 1024  # bigger files go to PyYAML (it checks their limits)
MAX_DEPTH = 64

Line = tuple[int, int, str]  # (line number, indent, content without indent)


def _tag(text: str) -> str:
    tag = _TAGS.get(text)
    if tag is None:
        tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if len(_TAGS) < 20_000 and len(text) < 100:
            _TAGS[text] = tag
    return str(tag)


def _plain(text: str) -> Any:
    if text[0] in _NOT_PLAIN_START or text.startswith(("- ", "-\t")) or text == "-":
        raise Unsure
    if ": " in text or text.endswith(":") or "\t" in text or " #" in text:
        raise Unsure
    tag = _tag(text)
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _CONSTRUCTOR.bool_values[text.lower()]
    if tag == _INT:
        return _CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(tag, text))
    if tag == _FLOAT:
        return _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, text))
    raise Unsure  # a timestamp, `=`, a merge key...


def _scalar(text: str) -> Any:
    """The value of a one-line scalar (a trailing comment allowed)."""
    quote = text[0]
    if quote in "\"'":
        close = text.find(quote, 1)
        if close < 0:
            raise Unsure  # goes on over the next line
        inner, rest = text[1:close], text[close + 1 :].lstrip(" ")
        if rest and not rest.startswith("#"):
            raise Unsure  # `'a''b'`, `"a" b`...
        if quote == '"' and "\\" in inner:
            raise Unsure
        return inner
    if " #" in text:
        text = text[: text.index(" #")].rstrip(" ")
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    return _plain(text.rstrip(" "))


def _key(text: str) -> tuple[str, str | None]:
    match = _KEY.match(text)
    if match is None or _tag(match.group(1)) != _STR:
        raise Unsure
    rest = match.group(2)
    if rest is not None:
        rest = rest.rstrip(" ")
        if not rest or rest.startswith("#"):
            rest = None
    return match.group(1), rest


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


_NEW_MAP, _NEW_LIST, _UNREAD = object(), object(), object()  # `{}`/`[]` are made anew
_ENTRIES: dict[str, tuple[str, bool, Any] | None] = {}  # line -> (key, has value, value)


def _entry(text: str) -> tuple[str, bool, Any]:
    """(key, whether the line holds the value, the value) of a `key: value` line; lines
    repeat across a fleet's files (`prune: true`, `kind: GitRepository`), so kept."""
    found = _ENTRIES.get(text, _UNREAD)
    if found is _UNREAD:
        try:
            key, rest = _key(text)
            value = _scalar(rest) if rest is not None else None
            if isinstance(value, dict | list):
                value = _NEW_MAP if isinstance(value, dict) else _NEW_LIST
            found = (key, rest is not None, value)
        except Unsure:
            found = None
        if len(_ENTRIES) < 50_000:
            _ENTRIES[text] = found
    if not isinstance(found, tuple):
        raise Unsure
    key, has_value, value = found
    if value is _NEW_MAP:
        value = {}
    elif value is _NEW_LIST:
        value = []
    return key, has_value, value


class _Reader:
    """Lines end with a sentinel of indent -1, so `lines[at]` always exists."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = [*lines, (0, -1, "")]
        self.at = 0

    def done(self) -> bool:
        return self.at == len(self.lines) - 1

    def node(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Unsure
        _, indent, text = self.lines[self.at]
        if _is_item(text):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines = self.lines
        while lines[self.at][1] == indent:
            text = lines[self.at][2]
            if _is_item(text):
                raise Unsure
            key, has_value, value = _entry(text)
            if key in result:
                raise Unsure  # a duplicate: PyYAML says where
            self.at += 1
            following, next_text = lines[self.at][1], lines[self.at][2]
            if has_value:
                if following > indent:
                    raise Unsure  # the value goes on over the next line
            elif following > indent:
                value = self.node(depth + 1)
            elif following == indent and _is_item(next_text):
                value = self.sequence(indent, depth + 1)  # `key:` then `- a` at its indent
            result[key] = value
        return result

    def sequence(self, indent: int, depth: int) -> list[Any]:
        items: list[Any] = []
        lines = self.lines
        while lines[self.at][1] == indent and _is_item(lines[self.at][2]):
            number, _, text = lines[self.at]
            rest = text[1:].lstrip(" ")
            if not rest or rest.startswith("#"):
                self.at += 1
                items.append(self.node(depth + 1) if lines[self.at][1] > indent else None)
            elif _is_item(rest) or rest[0] in "\"'{[" or _KEY.match(rest) is None:
                if _is_item(rest):
                    raise Unsure  # `- - a`
                self.at += 1
                items.append(_scalar(rest))
                if lines[self.at][1] > indent:
                    raise Unsure
            else:  # `- key: value`: a mapping whose keys sit where `key` does
                inner = indent + len(text) - len(rest)
                lines[self.at] = (number, inner, rest)
                items.append(self.mapping(inner, depth + 1))
        return items


def _lines(text: str, first_line: int) -> list[Line]:
    found: list[Line] = []
    for number, raw in enumerate(text.split("\n"), first_line):
        line = raw[:-1] if raw.endswith("\r") else raw
        content = line.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        if content[0] == "\t" or "\r" in content:
            raise Unsure
        found.append((number, len(line) - len(content), content.rstrip(" ")))
    return found


def documents(path: str, text: str) -> list[YamlDocument] | None:
    """Every document of `text` as yamldoc.parse_file gives it (without node trees), or
    None when the text is not in the simple form read here."""
    if len(text) > MAX_TEXT:
        return None
    offset = 1 if text.startswith("\ufeff") else 0
    body = text[offset:]
    if body.startswith("%") or "\n%" in body:
        return None
    try:
        parts = segments_with_offsets(body)
        docs = []
        for index, (line, head, start, end) in enumerate(parts):
            lines = _lines(body[start:end], line)
            if index == 0 and not lines and len(parts) >= 1:
                continue  # comments before the first `---` make no document
            if not lines:
                data, first = None, line
            else:
                if lines[0][1] != 0:
                    raise Unsure  # an indented root
                reader = _Reader(lines)
                data = reader.node(1)
                if not reader.done():
                    raise Unsure
                first = lines[0][0]
            docs.append((data, first, head + offset, start + offset, end + offset))
    except (Unsure, RecursionError, ValueError):
        return None
    return [
        YamlDocument(path, number, start, end, data, None, line, head)
        for number, (data, line, head, start, end) in enumerate(docs)
    ]
