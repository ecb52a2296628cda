"""YAML inside YAML: a literal block scalar (`values.yaml: |`) edited as its own text.

A ConfigMap that carries Helm values holds them as one string, usually a literal block.
Re-rendering that string would lose every comment and blank line inside it, so the block's
lines are cut out, dedented, edited like any YAML file, re-indented and put back: only
the edited lines change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from engine.errors import RepoError
from engine.recipe.models import Op
from engine.yamltext.patching import OpResult, apply_ops, same
from engine.yamltext.restructure import child_node
from engine.yamltext.splice import dump_yaml, rewrite_and_parse
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import YamlDocument, load_one, parse_file

_HEADER = re.compile(r"\|([1-9]?)([+-]?)([1-9]?)[ \t]*(#.*)?$")


@dataclass(frozen=True)
class Block:
    """The content lines of a literal block scalar in a file's text."""

    start: int  # offset of the first content line
    end: int  # offset just after the last non-blank content line (and its line break)
    indent: str
    inner: str  # the content, dedented: a YAML text of its own
    lines: tuple[str, ...] = ()  # the content lines as they are in the file


Key = str | int


def _node_at(doc: YamlDocument, keys: Sequence[Key]) -> yaml.Node | None:
    node: yaml.Node | None = doc.node
    for key in keys:
        if isinstance(key, int):
            items = node.value if isinstance(node, yaml.SequenceNode) else []
            node = items[key] if key < len(items) else None
        else:
            node = child_node(node, key) if node is not None else None
    return node


def find_block(text: str, doc: YamlDocument, keys: Sequence[Key]) -> Block | None:
    """The literal block at `keys` (e.g. `["data", "values.yaml"]`) of `doc`, or None when
    the value is not a literal block scalar (then edit it as a plain string instead)."""
    node = _node_at(doc, keys)
    if not isinstance(node, yaml.ScalarNode) or node.style != "|":
        return None
    head_end = text.find("\n", node.start_mark.index)
    if head_end < 0:
        return None
    header = _HEADER.match(text[node.start_mark.index : head_end].rstrip("\r"))
    if header is None:
        return None
    start = head_end + 1
    lines = text[start:].splitlines(keepends=True)
    explicit = header.group(1) or header.group(3)
    indent = ""
    if explicit:
        parent = text.rfind("\n", 0, node.start_mark.index) + 1
        base = len(text[parent:]) - len(text[parent:].lstrip(" "))
        indent = " " * (base + int(explicit))
    else:
        first = next((line for line in lines if line.strip()), None)
        if first is None:
            return None
        indent = first[: len(first) - len(first.lstrip(" "))]
    if not indent:
        return None
    kept: list[str] = []
    end = start
    offset = start
    for line in lines:
        if line.strip() and not line.startswith(indent):
            break
        offset += len(line)
        kept.append(line)
        if line.strip():
            end = offset
    outer = tuple(text[start:end].splitlines(keepends=True))
    inner = "".join(_dedent(line, indent) for line in outer)
    return Block(start, end, indent, inner, outer)


def _dedent(line: str, indent: str) -> str:
    if line.strip():
        return line[len(indent) :]
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")


def put_block(text: str, block: Block, inner: str) -> str:
    """`text` with the block's content replaced by `inner`, indented as the block was."""
    old = [_dedent(line, block.indent) for line in block.lines]
    new = inner.splitlines(keepends=True)
    if new and not new[-1].endswith("\n"):
        new[-1] += "\n"
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":  # unchanged lines keep their bytes, trailing blanks and all
            out.extend(block.lines[a1:a2])
        else:
            out.extend(block.indent + line if line.strip() else line for line in new[b1:b2])
    return text[: block.start] + "".join(out) + text[block.end :]


def _value_at(data: Any, keys: Sequence[Key]) -> Any:
    for key in keys:
        if isinstance(key, int):
            data = data[key] if isinstance(data, list) and key < len(data) else None
        else:
            data = data.get(key) if isinstance(data, dict) else None
    return data


def _with_value(data: Any, keys: Sequence[Key], value: Any) -> Any:
    """A copy of `data` with the value at `keys` replaced (copies only the path to it)."""
    if not keys:
        return value
    head, rest = keys[0], keys[1:]
    if isinstance(data, list) and isinstance(head, int):
        return [*data[:head], _with_value(data[head], rest, value), *data[head + 1 :]]
    assert isinstance(data, dict)
    return {**data, head: _with_value(data[head], rest, value)}


@dataclass
class Embedded:
    """What `patch_embedded` did: the new file text, the new inner data, each op's result,
    and the file's documents when the check already parsed them (else None)."""

    text: str
    inner: Any
    results: list[OpResult]
    documents: list[YamlDocument] | None = None


def patch_embedded(
    text: str, doc: YamlDocument, keys: Sequence[Key], ops: Sequence[Op], *, where: str
) -> Embedded | None:
    """Apply `ops` to the YAML held as a string at `keys` of `doc` (a ConfigMap's
    `values.yaml: |`, an inline patch of a kustomization); None when that string is not a
    YAML mapping or list. A literal block is edited line by line; anything else is
    re-rendered."""
    raw = _value_at(doc.data, keys)
    try:
        inner = load_one(raw) if isinstance(raw, str) else None
    except yaml.YAMLError:
        inner = None
    if not isinstance(inner, dict | list):
        return None
    block = find_block(text, doc, keys)
    if block is not None:
        patched = patch_text(f"{doc.path}:{'.'.join(map(str, keys))}", block.inner, 0, ops,
                             where=where)
        new_inner = patched.documents[0].data if patched.documents else inner
        new_text = put_block(text, block, patched.text)
        if new_text == text:
            return Embedded(text, new_inner, patched.results)
        again = _reads_as(new_text, doc, keys, new_inner)
        if again is not None:
            return Embedded(new_text, new_inner, patched.results, again)
    new_inner, results = apply_ops(inner, ops, where=where)
    if same(new_inner, inner):
        return Embedded(text, inner, results)
    rendered = dump_yaml(new_inner)
    new_text, parsed = rewrite_and_parse(text, doc, _with_value(doc.data, keys, rendered))
    return Embedded(new_text, new_inner, results, parsed)


def _reads_as(
    text: str, doc: YamlDocument, keys: Sequence[Key], inner: Any
) -> list[YamlDocument] | None:
    """The edited file's documents when the edited string parses to exactly the edited
    data, else None."""
    try:
        again = parse_file(doc.path, text)
        if same(load_one(_value_at(again[doc.index].data, keys)), inner):
            return again
    except (RepoError, yaml.YAMLError, IndexError, TypeError):
        pass
    return None
