"""Copy-paste shell commands from templates: every interpolated value is quoted.

A gate's `check` and a note's `commands` are shell text a person pastes into a terminal.
The values a recipe puts into them (`--set` params, namespaces, release names, paths read
from the repo) are data, and must stay one word whatever they hold: a space, `$`, a quote
or `;` in a value may not split it, expand it or end the command.

How: the command renders with a Jinja `finalize` that stands each `{{ value }}` in for a
mark (NUL, index, NUL: no value from YAML or argv can hold a NUL), and the marks are then
replaced by the value quoted for where the mark sits in the shell text: unquoted (the
value as `shlex.quote` makes it a word), inside '...' (its quotes closed and reopened) or
inside "..." (`\\`, `"`, `$` and backquote escaped). A value that is already a plain word
(`linkerd`, `clusters/prod/linkerd`, `2.14.10`) comes out unchanged. The output of a macro
is template text, not a value: it keeps its own marks and is not quoted again.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

_MARK = re.compile("\x00(\\d+)\x00")
_SPECIAL = re.compile("\x00(\\d+)\x00|[\\\\'\"#\n]")


class ShellWords:
    """The values of one rendering, and the mark each stands in for."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def finalize(self, value: Any) -> Any:
        text = str(value)
        if _MARK.search(text):  # a macro's output: template text holding marks
            return text
        self.values.append(text)
        return f"\x00{len(self.values) - 1}\x00"

    def substitute(self, text: str) -> str:
        """`text` with every mark replaced by its value, quoted for where it stands. Only
        marks, quotes, `#`, backslashes and newlines change anything: the text between
        them is copied as it is."""
        if "\x00" not in text:
            return text
        out: list[str] = []
        state = ""  # "" unquoted, "'" or '"' inside those quotes, "#" in a comment
        i = 0
        while True:
            found = _SPECIAL.search(text, i)
            if found is None:
                out.append(text[i:])
                return "".join(out)
            at = found.start()
            out.append(text[i:at])
            if found.group(1) is not None:
                out.append(quote_in(state, self.values[int(found.group(1))]))
                i = found.end()
                continue
            char = text[at]
            if char == "\\" and state in ("", '"') and at + 1 < len(text):
                out.append(text[at : at + 2])
                i = at + 2
                continue
            if state == "":
                if char in ("'", '"'):
                    state = char
                elif char == "#" and (at == 0 or text[at - 1] in " \t\n;|&("):
                    state = "#"
            elif state == char or (state == "#" and char == "\n"):
                state = ""
            out.append(char)
            i = at + 1


def quote_in(state: str, value: str) -> str:
    """`value` as it must be written at a place of shell text in quoting `state`."""
    if state == "'":
        return value.replace("'", "'\"'\"'")
    if state == '"':
        return re.sub(r'([\\"$`])', r"\\\1", value)
    if state == "#":  # never run, but a newline would end the comment
        return " ".join(value.splitlines())
    return shlex.quote(value)
