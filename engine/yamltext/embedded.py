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

import yaml

from engine.yamltext.restructure import child_node
from engine.yamltext.yamldoc import YamlDocument

_HEADER = re.compile(r"\|([1-9]?)([+-]?)([1-9]?)[ \t]*(#.*)?$")


@dataclass(frozen=True)
class Block:
    """The content lines of a literal block scalar in a file's text."""

    start: int  # offset of the first content line
    end: int  # offset just after the last non-blank content line (and its line break)
    indent: str
    inner: str  # the content, dedented: a YAML text of its own
    lines: tuple[str, ...] = ()  # the content lines as they are in the file


def find_block(text: str, doc: YamlDocument, keys: Sequence[str]) -> Block | None:
    """The literal block at `keys` (e.g. `["data", "values.yaml"]`) of `doc`, or None when
    the value is not a literal block scalar (then edit it as a plain string instead)."""
    node: yaml.Node | None = doc.node
    for key in keys:
        node = child_node(node, key) if node is not None else None
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
