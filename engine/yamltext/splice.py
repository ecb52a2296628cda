"""Editing YAML text by splicing new text in at node marks.

`rewrite_document` turns a change of a document's data into the smallest text edits that
express it, the way pre-commit's `migrate_config` does: a changed scalar is replaced where
it stands, a new key is inserted after the mapping's last entry, a removed key loses its
lines. Everything else (comments, quotes, indentation, block scalars, `${var}` tokens,
Flux image-policy markers, other documents) keeps its bytes. When a change cannot be
spliced, that one document goes through a ruamel.yaml round trip instead; either result
is re-parsed and must equal the wanted data.

The block-style renderer for new content lives here too (`dump_yaml`, `Renderer`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from engine.errors import Location, PatchError, RepoError, YamlError
from engine.yamltext.patching import same
from engine.yamltext.yamldoc import BOM, YamlDocument, load_one, parse_file

# --------------------------------------------------------------------------- rendering

_RESOLVER = yaml.resolver.Resolver()


def _implicit_tag(text: str) -> str:
    """The tag an unquoted scalar `text` resolves to (str, int, bool, null...)."""
    return str(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)))  # type: ignore[no-untyped-call]


_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"

# Characters that may not start a plain scalar ('-' is handled separately).
_BAD_FIRST = set("!&*{}[]|>'\"%@`#,?:")
_FLOW_CHARS = set(",[]{}:")


def printable(ch: str) -> bool:
    """YAML's printable set (c-printable), without the BOM."""
    code = ord(ch)
    return (
        ch in "\t\n\r"
        or 0x20 <= code <= 0x7E
        or code == 0x85
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    )


def plain_ok(text: str, *, flow: bool = False) -> bool:
    """True when `text` can be written unquoted and still reads back as this string."""
    if not text or text != text.strip(" ") or text[0] in _BAD_FIRST:
        return False
    if text[0] == "-" and (len(text) == 1 or text[1] == " "):
        return False
    if any(ch in "\n\r\t" or not printable(ch) for ch in text):
        return False
    if ": " in text or " #" in text or text.endswith(":") or text.startswith(("---", "...")):
        return False
    if flow and any(ch in _FLOW_CHARS for ch in text):
        return False
    return _implicit_tag(text) == _STR


def single_ok(text: str) -> bool:
    return all(printable(ch) and ch not in "\n\r" for ch in text)


def single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def double_quoted(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def literal(text: str, col: int) -> str | None:
    """`text` as a literal block scalar whose lines sit at `col`, or None if it cannot be."""
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    if trailing > 1 or not body or body[0] in " \t" or col < 1:
        return None
    if any(ch != "\n" and (ch == "\r" or not printable(ch)) for ch in text):
        return None
    lines = body.split("\n")
    # A whitespace-only line would read back as an empty one.
    if any(line and not line.strip(" \t") for line in lines):
        return None
    pad = " " * col
    chomp = "" if trailing == 1 else "-"
    return "|" + chomp + "\n" + "\n".join(pad + line if line else "" for line in lines)


def _float(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e+20 -> 1.0e+20
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    if _implicit_tag(text) == _FLOAT:
        return text
    return _other(value)


def _other(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30)
    return text.removesuffix("\n").removesuffix("\n...").strip()


class Renderer:
    """Renders values in block style with a file's indentation conventions."""

    def __init__(self, indent: int = 2, seq_indent: bool = False) -> None:
        self.indent = indent
        self.seq_indent = seq_indent

    def scalar(self, value: Any, *, col: int, flow: bool = False, style: str | None = None) -> str:
        """A scalar's text; a multi-line result has its later lines indented to `col`.

        `style` is the quote style of the scalar being replaced, kept when it can be.
        """
        if isinstance(value, str):
            return self._string(value, col=col, flow=flow, style=style)
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, dict | list) and not value:
            return "{}" if isinstance(value, dict) else "[]"
        return _other(value)  # dates, timestamps, binary: as PyYAML writes them

    def _string(self, value: str, *, col: int, flow: bool, style: str | None) -> str:
        if style == "'" and single_ok(value):
            return single_quoted(value)
        if style == '"':
            return double_quoted(value)
        if style in ("|", ">") and not flow and "\n" in value:
            block = literal(value, col)
            if block is not None:
                return block
        if plain_ok(value, flow=flow):
            return value
        if not flow and "\n" in value:
            block = literal(value, col)
            if block is not None:
                return block
        return double_quoted(value)

    def key(self, key: Any) -> str:
        if isinstance(key, str):
            return key if plain_ok(key) else double_quoted(key)
        return self.scalar(key, col=0, flow=True)

    def flow(self, value: Any) -> str:
        if isinstance(value, dict):
            inner = ", ".join(f"{self.key(k)}: {self.flow(v)}" for k, v in value.items())
            return "{" + inner + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value, col=0, flow=True)

    def block(self, value: Any, col: int) -> list[str]:
        """Lines (without line ends) of `value` as a block node starting at column `col`."""
        pad = " " * col
        lines: list[str] = []
        if isinstance(value, dict) and value:
            for key, item in value.items():
                head = f"{pad}{self.key(key)}:"
                if isinstance(item, dict) and item:
                    lines.append(head)
                    lines.extend(self.block(item, col + self.indent))
                elif isinstance(item, list) and item:
                    lines.append(head)
                    lines.extend(self.block(item, col + (self.indent if self.seq_indent else 0)))
                else:
                    text = self.scalar(item, col=col + self.indent)
                    lines.extend(f"{head} {text}".split("\n"))
            return lines
        if isinstance(value, list) and value:
            for item in value:
                if isinstance(item, dict | list) and item:
                    sub = self.block(item, col + 2)
                    sub[0] = f"{pad}- {sub[0][col + 2 :]}"
                    lines.extend(sub)
                else:
                    text = self.scalar(item, col=col + 2)
                    lines.extend(f"{pad}- {text}".split("\n"))
            return lines
        text = self.scalar(value, col=col + self.indent)
        return f"{pad}{text}".split("\n")


def dump_yaml(data: Any, *, indent: int = 2, seq_indent: bool = False) -> str:
    """Our canonical block-style YAML for new content (ends with a newline)."""
    return "\n".join(Renderer(indent, seq_indent).block(data, 0)) + "\n"


# --------------------------------------------------------------------------- file style


@dataclass(frozen=True)
class Style:
    """A file's conventions: mapping indent, whether `- ` is indented under its key, EOL."""

    indent: int = 2
    seq_indent: bool = False
    newline: str = "\n"


_KEY_LINE = re.compile(r"^( *(?:- +)*)[^\s#-][^#]*:[ \t]*(?:#.*)?$")
_LEAD = re.compile(r"^( *)(- )?")


def detect_style(text: str) -> Style:
    """Guess a file's indentation from lines `key:` followed by a more indented line."""
    indent: int | None = None
    seq_indent: bool | None = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if match is None:
            continue
        key_col = len(match.group(1))
        for following in lines[i + 1 :]:
            if following.strip() and not following.lstrip().startswith("#"):
                break
        else:
            break
        lead = _LEAD.match(following)
        assert lead is not None  # the pattern matches every string
        col = len(lead.group(1))
        if lead.group(2):
            if seq_indent is None and col >= key_col:
                seq_indent = col > key_col
        elif indent is None and col > key_col:
            indent = col - key_col
        if indent is not None and seq_indent is not None:
            break
    newline = "\r\n" if "\r\n" in text else "\n"
    return Style(indent or 2, bool(seq_indent), newline)


# --------------------------------------------------------------------------- splicing


class _CannotSplice(Exception):
    """This change has no minimal text edit; use the round-trip fallback."""


@dataclass(frozen=True)
class _Ctx:
    """Where a node stands: a block mapping value (after `key`), a block sequence item
    (after a dash at `col`), the document root, or inside a flow collection."""

    kind: Literal["root", "map", "seq", "flow"]
    key: yaml.Node | None = None
    col: int = 0


def _nonempty_collection(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


class _Splicer:
    def __init__(self, text: str, style: Style) -> None:
        self.text = text
        self.style = style
        self.render = Renderer(style.indent, style.seq_indent)
        self.edits: list[tuple[int, int, str]] = []

    # -- text positions ------------------------------------------------------------

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def next_line(self, index: int) -> int:
        """The start of the line after the one holding `index`."""
        found = self.text.find("\n", index)
        return len(self.text) if found < 0 else found + 1

    def col(self, index: int) -> int:
        start = self.line_start(index)
        return index - start - (1 if start == 0 and self.text.startswith(BOM) else 0)

    def blank_before(self, index: int) -> bool:
        """Only indentation stands between the line start and `index`."""
        return not self.text[self.line_start(index) : index].strip(" \t" + BOM)

    def content_end(self, node: yaml.Node) -> int:
        """Where a node's own text ends, before trailing blank lines and comments."""
        while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
            last = node.value[-1]
            node = last[1] if isinstance(node, yaml.MappingNode) else last
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            start = node.start_mark.index
            return start + len(self.text[start : node.end_mark.index].rstrip())
        return int(node.end_mark.index)

    def colon_after(self, key: yaml.Node) -> int:
        index = key.end_mark.index
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        if not self.text.startswith(":", index):
            raise _CannotSplice("no `:` after the key")
        return index + 1

    def dash_before(self, item: yaml.Node) -> int:
        index = item.start_mark.index - 1
        while index >= 0 and self.text[index] in " \t":
            index -= 1
        if index < 0 or self.text[index] != "-":
            raise _CannotSplice("sequence item not on its dash line")
        return index

    def literal_col(self, node: yaml.ScalarNode) -> int:
        for line in self.text[node.start_mark.index : node.end_mark.index].splitlines()[1:]:
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return node.start_mark.column + self.style.indent

    def edit(self, start: int, end: int, new: str) -> None:
        self.edits.append((start, end, new.replace("\n", self.style.newline)))

    def lines(self, value: Any, col: int) -> str:
        return "\n".join(self.render.block(value, col)) + "\n"

    def insert_lines(self, at: int, block: str) -> None:
        if at > 0 and self.text[at - 1] != "\n":
            block = "\n" + block
        self.edit(at, at, block)

    def apply(self, start: int, end: int) -> str:
        """The text of [start, end) with every edit made."""
        out: list[str] = []
        pos = start
        for edit_start, edit_end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if edit_start < pos or edit_end > end:
                raise _CannotSplice("overlapping edits")
            out.append(self.text[pos:edit_start])
            out.append(new)
            pos = edit_end
        out.append(self.text[pos:end])
        return "".join(out)

    # -- diff ----------------------------------------------------------------------

    def diff(self, node: yaml.Node, old: Any, new: Any, ctx: _Ctx) -> None:
        if same(old, new):
            return
        if isinstance(node, yaml.MappingNode) and isinstance(old, dict) and isinstance(new, dict):
            if len(node.value) != len(old):
                raise _CannotSplice("merge keys")
            if node.flow_style and new and old.keys() == new.keys():
                for (_, value), key in zip(node.value, old, strict=True):
                    self.diff(value, old[key], new[key], _Ctx("flow"))
                return
            kept = any(key in new for key in old)
            if not node.flow_style and (kept or self.keeps_lines(node, ctx, bool(new))):
                if not new:  # `key: {}`; the entries' lines go, comments around them stay
                    assert ctx.key is not None
                    self.edit(self.colon_after(ctx.key), self.colon_after(ctx.key), " {}")
                self.diff_mapping(node, old, new)
                return
        if isinstance(node, yaml.SequenceNode) and isinstance(old, list) and isinstance(new, list):
            if len(node.value) != len(old):
                raise _CannotSplice("sequence does not match its data")
            if node.flow_style and len(old) == len(new):
                for item, a, b in zip(node.value, old, new, strict=True):
                    self.diff(item, a, b, _Ctx("flow"))
                return
            if not node.flow_style and new:
                self.diff_sequence(node, old, new)
                return
            if not node.flow_style and self.keeps_lines(node, ctx, False):
                assert ctx.key is not None
                self.edit(self.colon_after(ctx.key), self.colon_after(ctx.key), " []")
                first = self.dash_before(node.value[0])
                end = self.next_line(self.content_end(node.value[-1]))
                self.edit(self.line_start(first), end, "")
                return
        self.replace(node, new, ctx)

    def keeps_lines(self, node: yaml.MappingNode | yaml.SequenceNode, ctx: _Ctx, filled: bool
                    ) -> bool:
        """Whether a block collection can be edited line by line: its first entry starts a
        line; emptied, it must be a mapping value (to become `key: {}` / `key: []`)."""
        first = node.value[0]
        start = (first[0] if isinstance(first, tuple) else self.dash_before(first))
        index = start if isinstance(start, int) else start.start_mark.index
        return self.blank_before(index) and (filled or ctx.kind == "map")

    def diff_mapping(
        self, node: yaml.MappingNode, old: dict[Any, Any], new: dict[Any, Any]
    ) -> None:
        pairs = node.value
        keys = list(old)
        for (key_node, value_node), key in zip(pairs, keys, strict=True):
            if key in new:
                ctx = _Ctx("map", key_node, key_node.start_mark.column)
                self.diff(value_node, old[key], new[key], ctx)
        i = 0
        while i < len(keys):
            if keys[i] in new:
                i += 1
                continue
            j = i
            while j + 1 < len(keys) and keys[j + 1] not in new:
                j += 1
            first = pairs[i][0].start_mark.index
            if self.blank_before(first):
                end = self.next_line(self.content_end(pairs[j][1]))
                self.edit(self.line_start(first), end, "")
            elif j + 1 < len(keys):  # first key after `- `: the next key moves up
                self.edit(first, pairs[j + 1][0].start_mark.index, "")
            else:
                raise _CannotSplice("removing the last key of an inline mapping")
            i = j + 1
        added = {key: value for key, value in new.items() if key not in old}
        if added:
            at = self.next_line(self.content_end(pairs[-1][1]))
            self.insert_lines(at, self.lines(added, pairs[0][0].start_mark.column))

    def diff_sequence(self, node: yaml.SequenceNode, old: list[Any], new: list[Any]) -> None:
        items = node.value
        shortest = min(len(old), len(new))
        head = 0
        while head < shortest and same(old[head], new[head]):
            head += 1
        tail = 0
        while tail < shortest - head and same(old[-1 - tail], new[-1 - tail]):
            tail += 1
        old_mid = len(old) - tail - head
        new_mid = new[head : len(new) - tail]
        paired = min(old_mid, len(new_mid))
        dash_col = self.col(self.dash_before(items[0]))
        for k in range(head, head + paired):
            self.diff(items[k], old[k], new[k], _Ctx("seq", col=dash_col))
        if old_mid > paired:
            first = self.dash_before(items[head + paired])
            if not self.blank_before(first):
                raise _CannotSplice("item shares its line with an outer dash")
            end = self.next_line(self.content_end(items[head + old_mid - 1]))
            self.edit(self.line_start(first), end, "")
        elif len(new_mid) > paired:
            after = head + paired - 1
            if after >= 0:
                at = self.next_line(self.content_end(items[after]))
            else:
                first = self.dash_before(items[0])
                if not self.blank_before(first):
                    raise _CannotSplice("item shares its line with an outer dash")
                at = self.line_start(first)
            self.insert_lines(at, self.lines(new_mid[paired:], dash_col))

    def replace(self, node: yaml.Node, new: Any, ctx: _Ctx) -> None:
        """Write `new` in place of `node`."""
        start = node.start_mark.index
        if ctx.kind == "flow":
            style = node.style if isinstance(node, yaml.ScalarNode) else None
            if isinstance(new, dict | list):
                text = self.render.flow(new)
            else:
                text = self.render.scalar(new, col=0, flow=True, style=style)
            self.edit(start, node.end_mark.index, text)
            return
        end = self.content_end(node)
        block_node = isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style
        keep_flow = (
            isinstance(node, yaml.MappingNode | yaml.SequenceNode)
            and node.flow_style
            and bool(node.value)
        )
        if ctx.kind == "map":
            assert ctx.key is not None
            if isinstance(new, list):
                col = ctx.col + (self.style.indent if self.style.seq_indent else 0)
            else:
                col = ctx.col + self.style.indent
        else:
            col = node.start_mark.column
        if not _nonempty_collection(new) or keep_flow:
            if isinstance(new, dict | list):
                text = self.render.flow(new)
            elif isinstance(node, yaml.ScalarNode):
                scalar_col = self.literal_col(node) if node.style in ("|", ">") else col
                # A comment after the value must stay on its line: no block scalar then.
                trailing = self.text[end : self.next_line(end)].strip()
                text = self.render.scalar(
                    new, col=scalar_col, style=node.style, flow=bool(trailing)
                )
            else:
                text = self.render.scalar(new, col=col)
            if block_node and ctx.kind == "map":
                assert ctx.key is not None
                self.edit(self.colon_after(ctx.key), end, " " + text)
            else:
                self.edit(start, end, text)
            return
        body = self.lines(new, col).removesuffix("\n")
        if ctx.kind == "map":
            assert ctx.key is not None
            self.edit(self.colon_after(ctx.key), end, "\n" + body)
        else:
            self.edit(start, end, body[col:])


# --------------------------------------------------------------------------- fallback


def _kind(value: Any) -> str:
    # ruamel's scalar types subclass int/float/str; ScalarBoolean is an int.
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return "bool"
    for kind in (int, float, str, dict, list):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _merge_rt(target: Any, new: Any) -> Any:
    """Make ruamel data `target` equal `new`, keeping what is unchanged (and its comments)."""
    if isinstance(target, dict) and isinstance(new, dict):
        for key in [k for k in target if k not in new]:
            del target[key]
        for key, value in new.items():
            target[key] = _merge_rt(target[key], value) if key in target else value
        return target
    if isinstance(target, list) and isinstance(new, list):
        del target[len(new) :]
        for i in range(len(target)):
            target[i] = _merge_rt(target[i], new[i])
        target.extend(new[len(target) :])
        return target
    if _kind(target) == _kind(new) and target == new:
        return target
    if isinstance(target, str) and isinstance(new, str) and type(target) is not str:
        return type(target)(new)  # keeps the quote style of a preserved-quote string
    return new


def _roundtrip(doc_text: str, new_data: Any, style: Style) -> str:
    from ruamel.yaml import YAML  # only here: it is ~50x slower than splicing

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    # ruamel writes None as nothing (`key:`); the files we edit spell it `null`.
    rt.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    if style.seq_indent:
        rt.indent(mapping=style.indent, sequence=style.indent + 2, offset=style.indent)
    else:
        rt.indent(mapping=style.indent, sequence=2, offset=0)
    data = rt.load(doc_text.replace("\r\n", "\n"))
    data = _merge_rt(data, new_data)
    out = io.StringIO()
    rt.dump(data, out)
    text = out.getvalue()
    return text.replace("\n", style.newline)


def _roundtrip_or_refuse(doc: YamlDocument, old_text: str, new_data: Any, style: Style) -> str:
    """`_roundtrip`, or a PatchError naming the file when ruamel cannot read what PyYAML
    read (e.g. a second byte-order mark, which PyYAML takes as part of a key)."""
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        return _roundtrip(old_text, new_data, style)
    except RuamelError as exc:
        raise PatchError(
            f"cannot edit this document: the round-trip parser cannot read it ({exc.__class__.__name__}: "
            f"{getattr(exc, 'problem', None) or exc})",
            location=Location(doc.path, doc.line),
            hint="make the change by hand, or rewrite the document as plain YAML (no stray "
            "byte-order marks or control characters)",
        ) from None


# --------------------------------------------------------------------------- public API


def _matches(doc_text: str, new_data: Any) -> bool:
    try:
        return same(load_one(doc_text), new_data)
    except yaml.YAMLError:
        return False


def _ensure_eol(text: str, newline: str) -> str:
    return text if not text or text.endswith("\n") else text + newline


def _splice(text: str, doc: YamlDocument, new_data: Any, style: Style) -> str | None:
    if doc.node is None or doc.has_aliases:
        return None
    splicer = _Splicer(text, style)
    try:
        splicer.diff(doc.node, doc.data, new_data, _Ctx("root"))
        return splicer.apply(doc.start, doc.end)
    except _CannotSplice:
        return None


def rewrite_document(text: str, doc: YamlDocument, new_data: Any) -> str:
    """The whole file text with `doc` changed to hold `new_data`, all else byte-identical."""
    return rewrite_and_parse(text, doc, new_data)[0]


def rewrite_and_parse(
    text: str, doc: YamlDocument, new_data: Any
) -> tuple[str, list[YamlDocument] | None]:
    """`rewrite_document`, plus the new text's documents when the check parsed them (the
    caller's next step needs them: parsing once instead of twice halves an edit's cost)."""
    if doc.encrypted:
        raise RepoError(
            "file is SOPS-encrypted; Waypath cannot edit it",
            location=Location(doc.path, doc.line),
            hint="decrypt it with `sops -d`, make the change by hand, and re-encrypt it",
        )
    if same(doc.data, new_data):
        return text, None
    style = detect_style(text)
    old_text = text[doc.start : doc.end]
    new_text = _splice(text, doc, new_data, style)
    if new_text is not None and doc.node is not None:
        full = text[: doc.start] + new_text + text[doc.end :]
        try:
            parsed = parse_file(doc.path, full)
        except YamlError:
            parsed = None
        if parsed is not None and len(parsed) > doc.index and same(parsed[doc.index].data, new_data):
            return full, parsed
        new_text = None
    if doc.node is None:  # an empty document (maybe comments only): add the content
        rendered = dump_yaml(new_data, indent=style.indent, seq_indent=style.seq_indent)
        new_text = _ensure_eol(old_text, style.newline) + rendered.replace("\n", style.newline)
    if new_text is None or not _matches(new_text, new_data):
        new_text = _roundtrip_or_refuse(doc, old_text, new_data, style)
        if not _matches(new_text, new_data):
            raise PatchError(
                "cannot write the patched document back as YAML that reads the same",
                location=Location(doc.path, doc.line),
                hint="report this as a Waypath bug with the document; edit the file by hand",
            )
    return text[: doc.start] + new_text + text[doc.end :], None


def replace_document(text: str, doc: YamlDocument, new_doc_text: str) -> str:
    """The file text with `doc`'s content (not its `---` line) swapped for `new_doc_text`."""
    style = detect_style(text)
    new = new_doc_text.replace("\r\n", "\n").replace("\n", style.newline)
    if doc.end < len(text) or text.endswith("\n"):
        new = _ensure_eol(new, style.newline)
    return text[: doc.start] + new + text[doc.end :]


_BARE_MARKER = re.compile(r"(---|\.\.\.)[ \t]*(\r?\n|$)")


def delete_document(text: str, doc: YamlDocument) -> str:
    """The file text without `doc` and one `---` separator next to it."""
    end = doc.end
    end_marker = _BARE_MARKER.match(text, end)
    if end_marker and end_marker.group(1) == "...":  # its own end marker goes with it
        end = end_marker.end()
    if doc.head < doc.start:  # remove its own `---` line
        return text[: doc.head] + text[end:]
    following = _BARE_MARKER.match(text, end)
    if following and following.group(1) == "---":  # first document: drop the next `---`
        end = following.end()
    return text[: doc.start] + text[end:]


def append_document(text: str, new_doc_text: str) -> str:
    """The file text with one more document at its end, after a `---` line as needed."""
    style = detect_style(text)
    new_doc_text = new_doc_text.replace("\r\n", "\n")
    # A template that starts with its own `---` must not get a second one.
    if new_doc_text.lstrip("\n").startswith("---\n"):
        new_doc_text = new_doc_text.lstrip("\n")[4:]
    new = _ensure_eol(new_doc_text, "\n").replace("\n", style.newline)
    body = text.removeprefix(BOM)
    if not body.strip():
        return text + new
    text = _ensure_eol(text, style.newline)
    last = text.rstrip().rsplit("\n", 1)[-1].strip()
    if last == "---":
        return text + new
    return text + "---" + style.newline + new
