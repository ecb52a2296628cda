"""Mutations of an input file, as hypothesis strategies: structure-aware (a valid document
with wrong types, missing or extra keys, hostile values), text-level (tokens, cuts, line
swaps, BOM, CRLF, NUL, invalid UTF-8, alias bombs, deep nesting, long lines, tags), any
text or bytes, and file shapes (a symlink out, to a device or to itself, a FIFO, a folder,
nothing) where a file is expected.

A mutation is drawn as plain tuples (hypothesis prints them when a case fails) and made
real by `realize`/`place`, so one strategy serves YAML and JSON inputs alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

# Tokens that drive a YAML scanner (and a JSON one) into its corners.
YAML_TOKENS = [
    "a", "b: ", "- ", "  ", "\t", "\n", "\r\n", "\r", "---\n", "...\n", "&x ", "*x", "*y",
    "{", "}", "[", "]", ",", "'", '"', "\\", "!!str ", "!!binary ", "!!python/name:os.system",
    "!local ", "%YAML 1.1\n", "%TAG ! tag:x:\n", "? ", ": ", "|\n", ">-\n", "#c", "<<: ",
    "2001-13-45", "9" * 40, "1e999", ".nan", "~", "\ufeff", "\x00", "\x07", "\u2028", "é",
    "kind: HelmRelease\n", "\ud800",
]  # fmt: skip

# Tokens of recipe files in particular (templates, ops, paths out of the folder).
RECIPE_TOKENS = [
    b"{{", b"}}", b"{%", b"'", b'"', b"\t", b"\n", b"- ", b": ", b"&a ", b"*a", b"[", b"{",
    b"\x00", b"\xff", b"\x1f", b"!!python/name:os.system ", b"op: ", b"select: ", b"ops: ",
    b"phases: ", b"steps: ", b"template: ", b"into: ../x", b"source: /etc/passwd", b"9" * 30,
    b"2001-13-45", b"~", b"null", b"true", b"---\n", b"<<: *a",
]  # fmt: skip

BOMB = "bomb: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

# Values a field should not hold: wrong types, extremes, text that means something elsewhere.
HOSTILE_VALUES: list[Any] = [
    None, 0, -1, 10**40, 1.5, float("inf"), True, "", " ", "x" * 70_000, [], {}, [None],
    {"": None}, "${cluster_name}", "${var:=default}", "../../../outside/bystander.txt",
    "/etc/passwd", "/dev/zero", ".git/config", "a\nb", "\u2028", "é", "\ufeff", "{{ 7 * 7 }}",
    "{{ ''.__class__.__mro__ }}", "{% for x in range(99999999) %}{% endfor %}", "--help",
    "-x", "stable-99.0.0", "meshy@stable-2.0", "*", "[name=x]", "~1", "1e999",
    "2001-13-45", "yes", "0x1F", "a\x00b", "\udcff",
]  # fmt: skip

SHAPES = ["symlink-out", "symlink-dir-out", "symlink-zero", "symlink-loop", "symlink-dangling",
          "fifo", "folder", "empty", "missing"]  # fmt: skip

WHOLE = ["bom", "crlf", "cr", "latin1", "nul", "bomb", "recursive", "deep", "long-line",
         "duplicate-line", "tag", "directive", "huge", "utf16", "surrogate", "no-newline"]  # fmt: skip

Edit = tuple[Any, ...]


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@st.composite
def structure_edits(draw: st.DrawFn) -> list[Edit]:
    """Ops on the parsed data: the node is picked by index among all nodes at apply time."""
    ops = []
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["replace", "delete", "extra", "rename", "wrap", "deep"]))
        node = draw(st.integers(0, 10_000))
        value = draw(st.sampled_from(HOSTILE_VALUES) | st.text(max_size=20))
        ops.append((what, node, value))
    return ops


@st.composite
def text_edits(draw: st.DrawFn, tokens: list[bytes]) -> list[Edit]:
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, 100_000))
        what = draw(st.sampled_from(["cut", "insert", "swap"]))
        if what == "cut":
            ops.append(("cut", at, draw(st.integers(1, 40))))
        elif what == "insert":
            ops.append(("insert", at, draw(st.sampled_from(tokens) | st.binary(max_size=4))))
        else:
            ops.append(("swap", at, draw(st.integers(0, 100_000))))
    return ops


TOKENS_AS_BYTES = [t.encode("utf-8", "surrogatepass") for t in YAML_TOKENS] + RECIPE_TOKENS


def edits(*, shapes: bool = True) -> st.SearchStrategy[tuple[str, Any]]:
    """(family, what) pairs: realize() turns one into bytes, or a shape place() makes."""
    families = [
        st.tuples(st.just("structure"), structure_edits()),
        st.tuples(st.just("text"), text_edits(TOKENS_AS_BYTES)),
        st.tuples(st.just("whole"), st.lists(st.sampled_from(WHOLE), min_size=1, max_size=3)),
        st.tuples(st.just("bytes"), st.binary(max_size=300)),
        st.tuples(st.just("text-any"), st.text(max_size=300)),
    ]
    if shapes:
        families.append(st.tuples(st.just("shape"), st.sampled_from(SHAPES)))
    return st.one_of(*families)


# -- making edits real ------------------------------------------------------------------


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(_nodes(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(_nodes(value, (*path, i)))
    return found


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _structure(data: Any, ops: list[Edit]) -> Any:
    for what, index, value in ops:
        nodes = _nodes(data)
        path = nodes[index % len(nodes)]
        node = _get(data, path)
        if what == "replace":
            data = _set(data, path, value)
        elif what == "wrap":
            data = _set(data, path, [node])
        elif what == "deep":
            data = _set(data, path, _deep(60))
        elif what == "delete" and path:
            parent = _get(data, path[:-1])
            del parent[path[-1]]
        elif what in ("extra", "rename") and isinstance(node, dict):
            key = value if isinstance(value, str) else str(value)
            if what == "rename" and node:
                old = next(iter(node))
                node[key] = node.pop(old)
            else:
                node[key] = value
    return data


def _dump(data: Any, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(data, indent=1).encode("utf-8", "surrogatepass")
    docs = data if isinstance(data, list) and fmt == "yaml-stream" else [data]
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=4096)
    return text.encode("utf-8", "surrogatepass")


def _load(seed: bytes, fmt: str) -> Any:
    if fmt == "json":
        return json.loads(seed)
    docs = list(yaml.safe_load_all(seed))
    return docs if fmt == "yaml-stream" else docs[0]


def _text(data: bytearray, ops: list[Edit]) -> bytes:
    for what, at, arg in ops:
        at %= len(data) + 1
        if what == "cut":
            del data[at : at + arg]
        elif what == "insert":
            data[at:at] = arg
        else:
            lines = bytes(data).split(b"\n")
            i, j = at % len(lines), arg % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _whole(data: bytes, what: str) -> bytes:
    if what == "bom":
        return b"\xef\xbb\xbf" + data
    if what == "crlf":
        return data.replace(b"\n", b"\r\n")
    if what == "cr":
        return data.replace(b"\n", b"\r")
    if what == "latin1":
        return data.replace(b"a", b"\xe9", 1)
    if what == "nul":
        return data[: len(data) // 2] + b"\x00" + data[len(data) // 2 :]
    if what == "bomb":
        return data + b"\n" + BOMB.encode()
    if what == "recursive":
        return data + b"\nloop: &loop [*loop]\n"
    if what == "deep":
        return data + b"\ndeep: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    if what == "long-line":
        return data + b"\nlong: " + b"y" * 300_000 + b"\n"
    if what == "duplicate-line":
        lines = data.split(b"\n")
        return b"\n".join([*lines, *lines[1:3]])
    if what == "tag":
        return b"--- !!python/object:os.system\n" + data
    if what == "directive":
        return b"%YAML 1.1\n%TAG ! tag:evil:\n---\n" + data
    if what == "huge":
        return data + b"\n#" + b"z" * (9 * 1024 * 1024) + b"\n"
    if what == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if what == "surrogate":
        return data + "\nx: \ud800\n".encode("utf-8", "surrogatepass")
    return data.rstrip(b"\n")


def realize(seed: bytes, fmt: str, edit: tuple[str, Any]) -> bytes | str:
    """The new content for an input whose valid content is `seed` (fmt: yaml, yaml-stream,
    json or text), or the name of a shape for `place`."""
    family, what = edit
    if family == "shape":
        return str(what)
    if family == "structure":
        if fmt == "text":
            return _text(bytearray(seed), [("insert", at, b"{{ x }}") for _, at, _ in what])
        return _dump(_structure(_load(seed, fmt), what), fmt)
    if family == "text":
        return _text(bytearray(seed), what)
    if family == "whole":
        for one in what:
            seed = _whole(seed, one)
        return seed
    if family == "bytes":
        return bytes(what)
    return str(what).encode("utf-8", "surrogatepass")


def place(path: Path, content: bytes | str, outside: Path) -> None:
    """Put `content` (bytes, or a shape's name) where `path` is."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "symlink-out":
        path.symlink_to(outside / "bystander.txt")
    elif content == "symlink-dir-out":
        path.symlink_to(outside / "folder")
    elif content == "symlink-zero":
        path.symlink_to("/dev/zero")
    elif content == "symlink-loop":
        path.symlink_to(path.name)
    elif content == "symlink-dangling":
        path.symlink_to(outside / "no-such-file")
    elif content == "fifo":
        os.mkfifo(path)
    elif content == "folder":
        path.mkdir()
        (path / "inner.yaml").write_text("a: 1\n")
    elif content == "empty":
        path.write_bytes(b"")
    # "missing": nothing there
