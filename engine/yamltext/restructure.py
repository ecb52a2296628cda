"""`nest` and `unnest` as text moves, so a values block keeps its comments and quotes.

Nesting every key of `spec.values` under `linkerd-control-plane:` (BEL 2.15) is, in text,
"indent these lines by one level and put a key line above them". Re-rendering the
mapping would lose every comment and quote in it, so we move the lines themselves. When
the layout is not the plain block style this expects, the functions return None and the
caller falls back to the data diff; the caller also checks that the result parses to
exactly the data the op produces.
"""

from __future__ import annotations

from typing import Any

import yaml

from engine.yamltext.patching import split_path
from engine.yamltext.splice import detect_style
from engine.yamltext.yamldoc import YamlDocument


def child_node(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None


def _mapping_at(doc: YamlDocument, pointer: str) -> yaml.MappingNode | None:
    node: yaml.Node | None = doc.node
    try:
        tokens = split_path(pointer)
    except Exception:
        return None
    for token in tokens:
        if node is None or "[" in token:
            return None
        node = child_node(node, token)
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return node
    return None


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _next_line(text: str, index: int) -> int:
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _content_end(text: str, node: yaml.Node) -> int:
    """The end of the line where a node's own text ends (not trailing comments)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        if not node.value:
            break
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end = node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        end = node.start_mark.index + len(text[node.start_mark.index : end].rstrip())
    return _next_line(text, max(end - 1, node.start_mark.index))


def _entry_spans(text: str, node: yaml.MappingNode) -> list[tuple[int, int]] | None:
    """[start, end) of each entry's lines; None unless every key starts its own line."""
    starts = []
    for key_node, _ in node.value:
        start = _line_start(text, key_node.start_mark.index)
        if text[start : key_node.start_mark.index].strip(" \t\ufeff"):
            return None
        starts.append(start)
    end = _content_end(text, node)
    return [(s, starts[i + 1] if i + 1 < len(starts) else end) for i, s in enumerate(starts)]


def _indent(block: str, unit: str) -> str:
    return "".join(
        unit + line if line.strip() else line for line in block.splitlines(keepends=True)
    )


def _dedent(block: str, unit: str) -> str | None:
    out = []
    for line in block.splitlines(keepends=True):
        if not line.strip():
            out.append(line)
        elif line.startswith(unit):
            out.append(line[len(unit) :])
        else:
            return None
    return "".join(out)


def nest_text(text: str, doc: YamlDocument, pointer: str, key: str, keep: list[str]) -> str | None:
    """The file text with the entries of the mapping at `pointer` (but `keep`) indented
    under a new `key:` line, or None when that is not a plain line move."""
    node = _mapping_at(doc, pointer)
    if node is None or child_node(node, key) is not None:
        return None
    spans = _entry_spans(text, node)
    if spans is None:
        return None
    keys = [k.value for k, _ in node.value]
    moved = [i for i, k in enumerate(keys) if k not in keep]
    if not moved:
        return None
    style = detect_style(text)
    first = spans[moved[0]][0]
    lead = text[first : node.value[moved[0]][0].start_mark.index]
    block = "".join(text[s:e] for i, (s, e) in enumerate(spans) if i in moved)
    if not block.endswith("\n"):
        block += style.newline
    nested = f"{lead}{key}:{style.newline}" + _indent(block, " " * style.indent)
    out: list[str] = []
    for i, (s, e) in enumerate(spans):
        if i == moved[0]:
            out.append(nested)
        elif i not in moved:
            out.append(text[s:e])
    start, end = spans[0][0], spans[-1][1]
    return text[:start] + "".join(out) + text[end:]


def unnest_text(
    text: str, doc: YamlDocument, pointer: str, key: str, keep: list[str]
) -> str | None:
    """The reverse of `nest_text`: the child mapping's lines dedented into the parent."""
    parent = _mapping_at(doc, pointer)
    if parent is None or keep:
        return None
    child = child_node(parent, key)
    if not isinstance(child, yaml.MappingNode) or child.flow_style or not child.value:
        return None
    parent_keys = {k.value for k, _ in parent.value if k.value != key}
    if parent_keys & {k.value for k, _ in child.value}:
        return None  # a conflict: let the data path decide and report it
    key_node = next(k for k, v in parent.value if v is child)
    key_line = _line_start(text, key_node.start_mark.index)
    body_start = _next_line(text, key_node.start_mark.index)
    child_spans = _entry_spans(text, child)
    if child_spans is None or child_spans[0][0] < body_start:
        return None
    body_end = child_spans[-1][1]
    style = detect_style(text)
    body = _dedent(text[body_start:body_end], " " * style.indent)
    if body is None:
        return None
    # A comment on the `key:` line itself is kept, on a line of its own.
    rest = text[key_node.end_mark.index : body_start].strip()
    comment = ""
    if rest.startswith(":") and rest[1:].strip().startswith("#"):
        lead = text[key_line : key_node.start_mark.index]
        comment = f"{lead}{rest[1:].strip()}{style.newline}"
    elif rest != ":":
        return None
    return text[:key_line] + comment + body + text[body_end:]


def restructure(text: str, doc: YamlDocument, op: Any) -> str | None:
    """Text for a `nest`/`unnest` op, or None to fall back to the data diff."""
    if op.op == "nest":
        return nest_text(text, doc, op.path, op.key, list(op.keep))
    if op.op == "unnest":
        return unnest_text(text, doc, op.path, op.key, list(op.keep))
    return None
