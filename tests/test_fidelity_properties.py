"""Invariant 1 (fidelity) as properties: random documents in several styles, random ops."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.recipe.models import Op
from engine.yamltext.patching import apply_ops, same
from engine.yamltext.splice import rewrite_document
from engine.yamltext.yamldoc import parse_file

KEYS = st.sampled_from(["name", "image", "port", "proxy", "tag", "enabled", "args", "spec"])
NEW_KEYS = st.sampled_from(["added", "extra", "license", "x-new"])
STRINGS = st.sampled_from([
    "linkerd", "2.11", "1.16.11", "true", "${cluster_name}", "a b", "it's", 'say "hi"',
    "ghcr.io/acme/proxy:1.0", "", "-v", "line one\nline two\n", "null", "x: y",
])
SCALARS = st.one_of(st.integers(-3, 300), st.booleans(), st.none(), STRINGS)
ITEMS = st.one_of(SCALARS, st.dictionaries(KEYS, SCALARS, min_size=1, max_size=3))
VALUES = st.recursive(
    st.one_of(SCALARS, st.lists(ITEMS, max_size=3)),
    lambda children: st.dictionaries(KEYS, children, max_size=4),
    max_leaves=10,
)
DOCS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)
_PLAIN = re.compile(r"^[a-z$][a-z0-9${}_./:-]*$")


class Writer:
    """Writes data as YAML in a drawn style: indents, sequence style, quotes, comments."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.indent = draw(st.sampled_from([2, 4]))
        self.seq_indent = draw(st.booleans())
        self.comments = 0

    def comment(self) -> str:
        self.comments += 1
        return f"# note {self.comments}"

    def scalar(self, value: Any, col: int) -> str:
        if value is None:
            return str(self.draw(st.sampled_from(["null", "~"])))
        if isinstance(value, bool | int):
            return json.dumps(value)
        options = ["double"]
        if "\n" not in value:
            options.append("single")
        if _PLAIN.match(value) and yaml.safe_load(value) == value:
            options.append("plain")
        if value.endswith("\n") and not value.endswith("\n\n"):
            options.append("literal")
        style = self.draw(st.sampled_from(options))
        if style == "plain":
            return str(value)
        if style == "single":
            return "'" + value.replace("'", "''") + "'"
        if style == "literal":
            return "|\n" + "\n".join(" " * col + line for line in value[:-1].split("\n"))
        return json.dumps(value)

    def flow(self, value: dict[str, Any]) -> str:
        return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in value.items()) + "}"

    def mapping(self, data: dict[str, Any], col: int, *, lead_comment: bool = True) -> list[str]:
        lines: list[str] = []
        for i, (key, value) in enumerate(data.items()):
            if (lead_comment or i) and self.draw(st.booleans()):
                lines.append(" " * col + self.comment())
            lines.extend(self.entry(f"{key}:", value, col))
        return lines

    def entry(self, head: str, value: Any, col: int) -> list[str]:
        pad = " " * col
        if isinstance(value, dict) and value:
            if all(not isinstance(v, dict | list) for v in value.values()) and self.draw(st.booleans()):
                return [f"{pad}{head} {self.flow(value)}"]
            return [pad + head, *self.mapping(value, col + self.indent)]
        if isinstance(value, list) and value:
            return [pad + head, *self.sequence(value, col + (self.indent if self.seq_indent else 0))]
        if isinstance(value, dict | list):
            return [f"{pad}{head} {json.dumps(value)}"]
        text = self.scalar(value, col + self.indent)
        if "\n" not in text and self.draw(st.booleans()):
            text += "  " + self.comment()
        return f"{pad}{head} {text}".split("\n")

    def sequence(self, items: list[Any], col: int) -> list[str]:
        pad = " " * col
        lines: list[str] = []
        for item in items:
            if isinstance(item, dict) and item:
                sub = self.mapping(item, col + 2, lead_comment=False)
                sub[0] = f"{pad}- {sub[0][col + 2:]}"
                lines.extend(sub)
            else:
                lines.append(f"{pad}- {self.scalar(item, col + 2)}")
        return lines


def paths(value: Any, prefix: str = "") -> list[tuple[str, str, Any]]:
    """(kind, path, value) of every place an op can aim at."""
    found: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        found.append(("dict", prefix, value))
        for key, child in value.items():
            found.append(("entry", f"{prefix}/{key}", child))
            found.extend(paths(child, f"{prefix}/{key}"))
    elif isinstance(value, list):
        found.append(("list", prefix, value))
        for i, child in enumerate(value):
            found.extend(paths(child, f"{prefix}/{i}"))
    else:
        found.append(("leaf", prefix, value))
    return found


@st.composite
def cases(draw: Any) -> tuple[str, list[Op], list[str]]:
    data = draw(DOCS)
    writer = Writer(draw)
    body = "\n".join(writer.mapping(data, 0)) + "\n"
    assert yaml.safe_load(body) == data, body
    header = draw(st.sampled_from(["", "# managed by flux\n---\n", "---\n"]))
    text = f"{header}kind: First  # keep\nlist: [1, 2]\n---\n{body}---\n# last\nkind: Last\n"
    targets = [t for t in paths(data) if t[1]]
    ops: list[Op] = []
    touched: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind, path, _ = draw(st.sampled_from(targets or [("dict", "", data)]))
        if kind == "leaf":
            ops.append(Op(op="replace", path=path, value=draw(SCALARS), optional=True))
        elif kind == "entry":
            ops.append(Op(op="remove", path=path, optional=True))
        elif kind == "dict":
            key = draw(NEW_KEYS)
            ops.append(Op(op="add", path=f"{path}/{key}", value=draw(VALUES), optional=True))
        else:
            ops.append(Op(op="add", path=f"{path}/-", value=draw(ITEMS), optional=True))
        touched.append(path)
    return text, ops, touched


def node_at(node: yaml.Node, path: str) -> tuple[yaml.Node, yaml.Node | None]:
    """The node at `path` and the key node in front of it (None for list items)."""
    key: yaml.Node | None = None
    for token in path.split("/")[1:] if path else []:
        if isinstance(node, yaml.MappingNode):
            key, node = next((k, v) for k, v in node.value if k.value == token)
        else:
            key, node = None, node.value[int(token)]
    return node, key


def last_line(text: str, node: yaml.Node) -> int:
    end = node.end_mark.index
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        return last_line(text, node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1])
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        end = node.start_mark.index + len(text[node.start_mark.index:end].rstrip())
    return text.count("\n", 0, max(end - 1, node.start_mark.index))


def allowed_lines(text: str, root: yaml.Node, touched: list[str]) -> set[int]:
    """Lines of the original an edit of these paths may change: the nodes themselves, and
    the mapping or list around them (an emptied `key:` becomes `key: {}`, a first key after
    `- ` pulls the next key up)."""
    allowed: set[int] = set()
    for path in touched:
        node, key = node_at(root, path)
        parent_path = path.rsplit("/", 1)[0]
        parent, parent_key = node_at(root, parent_path)
        for n in (node, key, parent, parent_key):
            if n is not None:
                allowed.update(range(n.start_mark.line, last_line(text, n) + 1))
    return allowed


def is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    rest = iter(haystack)
    return all(any(line == other for other in rest) for line in needles)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_edits_change_only_what_they_touch(case: tuple[str, list[Op], list[str]]) -> None:
    text, ops, touched = case
    _, doc, _ = parse_file("f.yaml", text)
    expected, _ = apply_ops(doc.data, ops)
    out = rewrite_document(text, doc, expected)

    # (1) the document reads back as the patched data
    new_docs = parse_file("f.yaml", out)
    assert same(new_docs[1].data, expected), out
    # (2) the other documents keep their bytes
    assert out[: doc.start] == text[: doc.start]
    assert out[new_docs[1].end :] == text[doc.end :]
    # (3) lines outside the edited nodes survive, in order (comments included)
    assert doc.node is not None
    allowed = allowed_lines(text, doc.node, touched)
    kept = [line for i, line in enumerate(text.split("\n")) if i not in allowed]
    assert is_subsequence(kept, out.split("\n")), out
    # (4) applying the same ops again changes nothing
    again, _ = apply_ops(new_docs[1].data, ops)
    assert rewrite_document(out, new_docs[1], again) == out
