"""Where a key or value sits in a YAML file, for `file:line:col` in lint output.

PyYAML's C composer gives node marks at a fraction of ruamel's cost; lint locates hundreds
of values, so each file is composed once.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from engine.errors import Location

Keys = tuple[str | int, ...]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _compose(path: Path, mtime: float) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None  # reported by the schema check, not here


def locate(path: Path, keys: Keys) -> Location:
    """1-based line and column of the value at `keys` (or of the deepest key found).

    A mapping or list value is located at its key, as editors show a block.
    """
    try:
        node = _compose(path, path.stat().st_mtime)
    except OSError:
        node = None
    if node is None:
        return Location(str(path), 1, 1)
    mark = node.start_mark
    for key in keys:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    child = value_node
                    is_block = isinstance(value_node, yaml.MappingNode | yaml.SequenceNode)
                    mark = key_node.start_mark if is_block else value_node.start_mark
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            mark = child.start_mark
        if child is None:
            break
        node = child
    return Location(str(path), mark.line + 1, mark.column + 1)
