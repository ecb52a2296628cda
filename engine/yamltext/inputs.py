"""The one way to read an input file that is not the repo's own YAML: recipes, component
files, waypath.yaml, `recipe new --old-values`, plan.json, Renovate data files.

Every input gets the same limits, so a new input cannot bypass them: a regular file only
(a FIFO, a device, a folder or a socket is refused before it is opened for reading, so
nothing hangs or streams forever), at most `MAX_INPUT_BYTES`, UTF-8 without NUL bytes,
and — for YAML — the alias, depth and size limits of yamldoc.parse_file; for JSON a
nesting limit checked before parsing.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from engine.errors import LimitError, Location
from engine.yamltext.yamldoc import MAX_CHARS, MAX_DEPTH, decode, parse_file

MAX_INPUT_BYTES = MAX_CHARS  # 8 MiB: no recipe, plan or data file comes near it


class InputError(LimitError):
    """An input file that cannot be read within the limits."""


def read_input(path: Path, what: str = "file", limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of regular file `path`, at most `limit` of them; InputError otherwise."""
    where = Location(str(path))
    try:
        # O_NONBLOCK: opening a FIFO never waits for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"this {what} does not exist", location=where) from None
    except OSError as exc:
        raise InputError(
            f"cannot read this {what}: {exc.strerror or exc}", location=where
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise InputError(
                f"this {what} is {kind} (a FIFO, device or socket is never read)",
                location=where,
                hint="give the path of a regular file",
            )
        if info.st_size > limit:
            raise _too_big(path, what, info.st_size, limit)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:  # grew while we read it
                raise _too_big(path, what, size, limit)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(
            f"cannot read this {what}: {exc.strerror or exc}", location=where
        ) from None
    finally:
        os.close(fd)


def _too_big(path: Path, what: str, size: int, limit: int) -> InputError:
    return InputError(
        f"this {what} is too large ({size // 1024} KiB; the limit is {limit // 1024} KiB)",
        location=Location(str(path)),
        hint="give the right file; no input Waypath reads is that large",
    )


def read_text(path: Path, what: str = "file") -> str:
    """`read_input` decoded as UTF-8 (NUL bytes and invalid UTF-8 refused with the line)."""
    return decode(str(path), read_input(path, what))


def load_yaml(path: Path, what: str = "file") -> list[Any]:
    """The plain data of every non-empty document of YAML file `path`, within the limits."""
    return [d.data for d in parse_file(str(path), read_text(path, what)) if d.data is not None]


def load_json(path: Path, what: str = "file") -> Any:
    """The data of JSON file `path`, within the limits (nesting checked before parsing)."""
    text = read_text(path, what)
    _check_json_depth(path, text)
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(
            f"this {what} is not valid JSON: {getattr(exc, 'msg', exc)}",
            location=Location(str(path), line),
        ) from None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _check_json_depth(path: Path, text: str) -> None:
    """Python's json module recurses per level: refuse deep nesting before it does."""
    bare = _STRING.sub(lambda m: "\n" * m.group().count("\n"), text)  # keep line numbers
    depth = 0
    for match in _BRACKET.finditer(bare):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise InputError(
                f"JSON nesting deeper than {MAX_DEPTH} levels",
                location=Location(str(path), bare.count("\n", 0, match.start()) + 1),
                hint="give the right file; no input Waypath reads nests that deep",
            )
