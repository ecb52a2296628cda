"""Load component catalogs and recipes from folders, with located errors.

A recipe library folder holds `<component>/component.yaml` and `<component>/*.yaml`
recipes (templates in `templates/`, recipe tests in `tests/`). Files are read with
ruamel's round-trip loader only for the line and column of every key; pydantic
validates, and each validation error becomes a Problem at the offending key or value,
so one run lists every mistake of every file.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union

from pydantic import BaseModel, Field, Tag, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from engine.errors import (
    LimitError,
    Location,
    Problem,
    RecipeError,
    VersionError,
    WaypathError,
    YamlError,
)
from engine.recipe.confine import check_library_links
from engine.recipe.graph import Edge, VersionGraph
from engine.recipe.libcache import cached
from engine.recipe.models import STEP_KINDS, Component, ComponentExtension, Recipe
from engine.recipe.patchlines import patch_recipes
from engine.recipe.versions import Catalog, parse_constraint
from engine.yamltext.inputs import read_text
from engine.yamltext.yamldoc import parse_file

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap
# ruamel.yaml (a tenth of start-up) is imported where it is used: reading a recipe's
# positions for an error message, not on the fast path (`_fast_data`) or from the cache.

T = TypeVar("T", bound=BaseModel)

SCHEMA_ID = "https://waypath.dev/schemas/v1/waypath.schema.json"
_FORMAT_HINT = (
    "see docs/recipes.md; editors check files as you type with the schema from "
    "`waypath recipe schema`"
)


def bundled_recipes_dir() -> Path:
    """The recipes shipped in the wheel (package `engine.recipes_data`), else `<repo>/recipes`."""
    try:
        spec = importlib.util.find_spec("engine.recipes_data")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    return Path(__file__).resolve().parents[2] / "recipes"


# --------------------------------------------------------------------------- one file


def _plain(node: Any) -> Any:
    """ruamel's round-trip types (ScalarFloat, CommentedMap, ...) as plain Python."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    return node


def _input_error(exc: WaypathError) -> RecipeError:
    """A file refused by the input limits, as a RecipeError listing it (one run reports
    every broken file of a library)."""
    return RecipeError(
        exc.message,
        location=exc.location,
        hint=exc.hint,
        problems=[Problem(exc.message, exc.location)],
    )


def _limits(path: Path) -> str:
    """The file's text, read and parsed within the limits every input has (size, FIFOs,
    nesting, alias expansion): ruamel's loader has none, and walking what it loads would
    expand an alias bomb. Syntax errors are left to ruamel, which words them better."""
    try:
        text = read_text(path)  # a LimitError, or a YamlError for NUL bytes and bad UTF-8
    except YamlError as exc:
        raise _input_error(exc) from None
    try:
        parse_file(str(path), text)
    except LimitError as exc:
        raise _input_error(exc) from None
    except WaypathError:
        pass
    return text


def _read_yaml(path: Path) -> CommentedMap:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    text = _limits(path)
    try:
        documents = [d for d in YAML(typ="rt").load_all(text) if d is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        what = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            what += f"; {exc.context}"
            if exc.context_mark and exc.problem_mark and exc.context_mark.line != mark.line:
                what += f" that starts at line {exc.context_mark.line + 1}"
        raise RecipeError(
            "invalid YAML",
            location=where,
            problems=[Problem(f"YAML syntax error: {what}", where)],
            hint="check the indentation and quoting around that line",
        ) from None
    # A control character (ValueError), `? - b:` (an unhashable key: TypeError).
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        where = Location(str(path), line)
        raise RecipeError(
            "invalid YAML",
            location=where,
            problems=[Problem(f"YAML error: {getattr(exc, 'reason', None) or exc}", where)],
            hint="remove the character or value the error names",
        ) from None
    if len(documents) != 1 or not isinstance(documents[0], CommentedMap):
        found = "no document" if not documents else f"{len(documents)} documents"
        if len(documents) == 1:
            found = "a " + type(_plain(documents[0])).__name__
        message = f"expected one YAML mapping, found {found}"
        where = Location(str(path), 1, 1)
        raise RecipeError(message, location=where, problems=[Problem(message, where)])
    return documents[0]


def _position(node: Any, key: Any) -> tuple[int, int] | None:
    """0-based line and column of the child `key` of a ruamel container."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    try:
        if isinstance(node, CommentedMap):
            child = node[key]
            if isinstance(child, CommentedMap | CommentedSeq):
                line, col = node.lc.key(key)
            else:
                line, col = node.lc.value(key)
            return int(line), int(col)
        if isinstance(node, CommentedSeq):
            line, col = node.lc.item(key)
            return int(line), int(col)
    except (KeyError, IndexError, TypeError):
        return None
    return None


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _union_members(tp: Any) -> list[Any] | None:
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return None
    return [m for m in typing.get_args(tp) if m is not type(None)]


def _fits(member: Any, data: Any) -> bool:
    """Could `data` be meant as this union member? Decides which branch errors to show."""
    member = typing.get_origin(_strip_annotated(member)) or _strip_annotated(member)
    if isinstance(member, type) and issubclass(member, BaseModel):
        return isinstance(data, dict)
    if member in (list, dict, str, bool):
        return isinstance(data, member)
    if member is int:
        return isinstance(data, int) and not isinstance(data, bool)
    return True


_MISSING = object()


@dataclass
class _Walk:
    """Where one pydantic error points: field path, position, accepted keys there."""

    parts: list[str] = field(default_factory=list)
    position: tuple[int, int] = (0, 0)
    parent_position: tuple[int, int] = (0, 0)
    key_position: tuple[int, int] | None = None
    accepted: list[str] = field(default_factory=list)
    union_path: str | None = None  # set when the error is from a union branch the data does not fit
    union_members: list[str] = field(default_factory=list)
    node: Any = None

    @property
    def field_path(self) -> str:
        return "".join(self.parts).lstrip(".")

    @property
    def parent_path(self) -> str:
        return "".join(self.parts[:-1]).lstrip(".")


def _walk(model: type[BaseModel], raw: CommentedMap, loc: tuple[int | str, ...]) -> _Walk:
    from ruamel.yaml.comments import CommentedMap

    walk = _Walk(position=(int(raw.lc.line), int(raw.lc.col)), node=raw)
    walk.parent_position = walk.position
    tp: Any = model
    node: Any = raw
    for index, element in enumerate(loc):
        tp = _strip_annotated(tp)
        members = _union_members(tp)
        while members is not None and len(members) == 1:
            tp = _strip_annotated(members[0])
            members = _union_members(tp)
        if members is not None:
            chosen = _union_member(members, element)
            if chosen is not None:  # `element` is pydantic's tag for a union member
                if node is not _MISSING and not _fits(chosen, node):
                    walk.union_path = walk.field_path
                    walk.union_members = [_describe_type(m) for m in members]
                tp = chosen
                continue
        last = index == len(loc) - 1
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if last:
                walk.accepted = [f.alias or name for name, f in tp.model_fields.items()]
            info = next(
                (f for name, f in tp.model_fields.items() if element in (f.alias, name)), None
            )
            tp = info.annotation if info is not None else Any
            walk.parts.append(f".{element}")
        elif origin is list:
            tp = typing.get_args(tp)[0]
            walk.parts.append(f"[{element}]")
        elif origin is dict:
            tp = typing.get_args(tp)[1]
            walk.parts.append(f".{element}")
        else:
            tp = Any
            walk.parts.append(f"[{element}]" if isinstance(element, int) else f".{element}")
        walk.parent_position = walk.position
        key_at = (
            node.lc.key(element) if isinstance(node, CommentedMap) and element in node else None
        )
        if key_at is not None:  # a key merged in by `<<:` has no position of its own
            walk.key_position = (int(key_at[0]), int(key_at[1]))
        position = _position(node, element) if node is not _MISSING else None
        if position is None:
            node = _MISSING
        else:
            walk.position = position
            node = node[element]
    walk.node = node
    return walk


def _union_member(members: list[Any], element: int | str) -> Any | None:
    for member in members:
        for meta in getattr(member, "__metadata__", ()):
            if isinstance(meta, Tag) and meta.tag == element:
                return member
        if _type_name(_strip_annotated(member)) == element:
            return member
    return None


def _describe_type(tp: Any) -> str:
    tp = _strip_annotated(tp)
    origin = typing.get_origin(tp) or tp
    if (isinstance(origin, type) and issubclass(origin, BaseModel)) or origin is dict:
        return "a mapping"
    return {list: "a list", str: "a string", int: "an integer", bool: "true or false"}.get(
        origin, _type_name(tp)
    )


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _close(word: str, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = _close(word, choices)
    if close:
        return f"did you mean `{close}`?"
    return "expected one of: " + ", ".join(f"`{c}`" for c in choices)


def _message(error: ErrorDetails, walk: _Walk) -> str:
    kind, value, loc = error["type"], error.get("input"), error["loc"]
    if kind == "extra_forbidden":
        return f"unknown key `{loc[-1]}`; {_did_you_mean(str(loc[-1]), walk.accepted)}"
    if kind == "missing":
        return f"missing required key `{loc[-1]}`"
    if kind == "step_kind" and isinstance(value, dict):
        kinds = [k for k in value if k in STEP_KINDS]
        unknown = [k for k in value if k not in (*STEP_KINDS, "id", "when")]
        if len(kinds) > 1:
            return "a step has exactly one kind; this one has " + ", ".join(f"`{k}`" for k in kinds)
        if unknown:
            return f"unknown step kind `{unknown[0]}`; {_did_you_mean(unknown[0], STEP_KINDS)}"
    if kind in _EXPECTED:
        message = f"expected {_EXPECTED[kind]}, got {_describe_value(value)}"
        if kind == "string_type" and isinstance(value, int | float):
            message += "; quote it, as YAML reads it as a number"
        return message
    if kind == "literal_error":
        return f"expected {error.get('ctx', {}).get('expected')}, got {_describe_value(value)}"
    if kind == "too_short":
        least = error.get("ctx", {}).get("min_length")
        return f"needs at least {least} item" + ("s" if least != 1 else "")
    return error["msg"].removeprefix("Value error, ")


def _location(path: Path, line_col: tuple[int, int]) -> Location:
    return Location(str(path), line_col[0] + 1, line_col[1] + 1)


def _problems(
    path: Path, model: type[BaseModel], raw: CommentedMap, exc: ValidationError
) -> list[Problem]:
    problems: list[Problem] = []
    unions: dict[str, tuple[tuple[int, int], list[str], Any]] = {}
    walks = [(error, _walk(model, raw, error["loc"])) for error in exc.errors()]
    # `titel: x` is both an unknown key and a missing `title`: report only the typo
    misspelt = {
        (walk.parent_path, _close(str(error["loc"][-1]), walk.accepted))
        for error, walk in walks
        if error["type"] == "extra_forbidden"
    }
    for error, walk in walks:
        if error["type"] == "missing" and (walk.parent_path, error["loc"][-1]) in misspelt:
            continue
        if walk.union_path is not None:
            # an error from a union branch the data was not meant for (a string where a
            # mapping is allowed too): say it once, only if no other branch explains it
            unions.setdefault(walk.union_path, (walk.position, walk.union_members, walk.node))
            continue
        if error["type"] == "extra_forbidden":
            where = walk.key_position or walk.position
        elif error["type"] == "missing":
            where = walk.parent_position
        else:
            where = walk.position
        problems.append(Problem(_message(error, walk), _location(path, where), walk.field_path))
    for union_path, (where, members, value) in unions.items():
        if any((p.field_path or "").startswith(union_path) for p in problems):
            continue
        message = f"expected {' or '.join(dict.fromkeys(members))}, got {_describe_value(value)}"
        problems.append(Problem(message, _location(path, where), union_path))
    problems.sort(
        key=lambda p: (p.location.line or 0, p.location.column or 0) if p.location else (0, 0)
    )
    return problems


class _LazyRaw:
    """The round-trip form of a file, read only when an error needs its positions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: CommentedMap | None = None

    @property
    def value(self) -> CommentedMap:
        if self._raw is None:
            self._raw = _read_yaml(self.path)
        return self._raw


def _fast_data(path: Path) -> Any:
    """The file's one mapping through the C parser (duplicate keys refused), or None when
    anything is unusual: the slow path then reports it with its position."""
    try:
        docs = [d for d in parse_file(str(path), read_text(path)) if d.data is not None]
    except LimitError as exc:
        raise _input_error(exc) from None
    except WaypathError:
        return None
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        return None
    return docs[0].data


def _load(
    path: Path, model: type[T], *, what: str | None = None, hint: str = _FORMAT_HINT
) -> tuple[T, CommentedMap | _LazyRaw]:
    # ruamel's round-trip loader gives positions but is ~50x slower than the C parser;
    # valid files (nearly all, every time) take the fast path.
    fast = _fast_data(path)
    if fast is not None:
        try:
            return model.model_validate(fast), _LazyRaw(path)
        except ValidationError:
            pass
    raw = _read_yaml(path)
    try:
        return model.model_validate(_plain(raw)), raw
    except ValidationError as exc:
        problems = _problems(path, model, raw, exc)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        raise RecipeError(
            f"{what or model.__name__.lower() + ' file'} has {count}",
            location=Location(str(path)),
            problems=problems,
            hint=hint,
        ) from None


def load_yaml_model(
    path: Path, model: type[T], *, what: str | None = None, hint: str = _FORMAT_HINT
) -> T:
    """Read one YAML file into `model`; every problem of the file in one RecipeError
    (`what` names the file in the message, `hint` says where its format is documented)."""
    return _load(path, model, what=what, hint=hint)[0]


def _where(path: Path, raw: CommentedMap | _LazyRaw, *keys: str | int) -> Location:
    if isinstance(raw, _LazyRaw):
        raw = raw.value
    node: Any = raw
    line_col = (int(raw.lc.line), int(raw.lc.col))
    for key in keys:
        position = _position(node, key)
        if position is None:
            break
        line_col, node = position, node[key]
    return _location(path, line_col)


# --------------------------------------------------------------------------- library


@dataclass
class RecipeSource:
    recipe: Recipe
    id: str
    path: Path
    folder: Path  # templates are relative to it
    generated: bool = False  # made by the engine (patch upgrades), not read from a file


@dataclass
class ComponentSource:
    component: Component
    path: Path
    catalog: Catalog
    extensions: list[Path] = field(default_factory=list)  # ComponentExtension files merged in

    @property
    def files(self) -> list[Path]:
        """The component file and every extension file that added releases to it."""
        return [self.path, *self.extensions]


@dataclass
class Library:
    components: dict[str, ComponentSource] = field(default_factory=dict)
    recipes: dict[str, RecipeSource] = field(default_factory=dict)
    _graphs: dict[str, VersionGraph] = field(default_factory=dict, repr=False)

    def _component(self, name: str) -> ComponentSource:
        if name not in self.components:
            known = ", ".join(sorted(self.components)) or "none"
            raise RecipeError(
                f"unknown component `{name}`",
                hint=f"known components: {known}; add recipe folders with --recipes",
            )
        return self.components[name]

    def catalog(self, component: str) -> Catalog:
        return self._component(component).catalog

    def recipes_for(self, component: str) -> list[RecipeSource]:
        return sorted(
            (s for s in self.recipes.values() if s.recipe.component == component),
            key=lambda s: s.id,
        )

    def graph(self, component: str) -> VersionGraph:
        """The checked version graph of `component`'s recipes (PathError if inconsistent)."""
        if component not in self._graphs:
            catalog = self.catalog(component)
            edges = [
                Edge(
                    recipe=s.id,
                    source_edition=s.recipe.from_.edition,
                    source_range=parse_constraint(s.recipe.from_.versions),
                    target=catalog.version(s.recipe.to.edition, s.recipe.to.version),
                    supported=s.recipe.supported,
                )
                for s in self.recipes_for(component)
            ]
            graph = VersionGraph(catalog.releases, edges)
            graph.check()
            self._graphs[component] = graph
        return self._graphs[component]


def recipe_files(folder: Path) -> list[Path]:
    """Recipe files of one component folder, without templates/ and tests/."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p in ("templates", "tests") or p.startswith(".") for p in parts[:-1]):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml") and path.name != "component.yaml":
            found.append(path)
    return found


def component_folders(dirs: Sequence[Path], also: Iterable[str] = ()) -> list[Path]:
    """The component folders of libraries: first-level folders holding a component.yaml,
    folders named like one of those (or like a name in `also`), which add recipes to that
    component, and folders holding recipe files at their top (reported if their component
    is unknown). Nothing else below a library is read: `--recipes /` lists the folder, it
    does not walk every tree below it."""
    listed = [
        c for d in dirs for c in sorted(d.iterdir()) if not c.name.startswith(".") and c.is_dir()
    ]
    names = set(also) | {c.name for c in listed if (c / "component.yaml").is_file()}
    return [c for c in listed if c.name in names or _holds_yaml(c)]


def _holds_yaml(folder: Path) -> bool:
    try:
        return any(e.suffix in (".yaml", ".yml") and e.is_file() for e in folder.iterdir())
    except OSError:
        return False


def _load_component(path: Path, library: Library) -> list[Problem]:
    try:
        component, raw = _load(path, Component)
    except RecipeError as exc:
        return exc.problems
    if component.name in library.components:
        other = library.components[component.name].path
        return [
            Problem(
                f"component `{component.name}` is already defined in {other}",
                _where(path, raw, "name"),
                "name",
            )
        ]
    try:
        catalog = Catalog(component)
    except VersionError as exc:
        # the catalog names the entry as `releases[3].version`
        field_path = exc.problems[0].field_path if exc.problems else None
        keys: list[str | int] = ["releases"]
        if field_path:
            keys = [int(k) if k.isdigit() else k for k in re.split(r"[.\[\]]+", field_path) if k]
        message = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
        return [Problem(message, _where(path, raw, *keys), field_path or "releases")]
    library.components[component.name] = ComponentSource(component, path, catalog)
    return []


_KIND_LINE = re.compile(r"^kind:\s*[\"']?(\w+)", re.MULTILINE)


def component_file_kind(path: Path) -> str:
    """`Component` or `ComponentExtension` (read cheaply; a broken file counts as Component,
    whose loading then reports what is wrong with it)."""
    data = _fast_data(path)
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        return str(data["kind"])
    try:
        match = _KIND_LINE.search(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        match = None
    return match.group(1) if match else "Component"


def _extend_component(path: Path, library: Library) -> list[Problem]:
    """Merge a ComponentExtension's releases into the component it names."""
    try:
        extension, raw = _load(path, ComponentExtension)
    except RecipeError as exc:
        return exc.problems
    base = library.components.get(extension.extends)
    if base is None:
        known = ", ".join(sorted(library.components)) or "none"
        message = (
            f"`extends: {extension.extends}` names no component of the library folders "
            f"in use (known: {known})"
        )
        return [Problem(message, _where(path, raw, "extends"), "extends")]
    own = len(base.component.releases)
    merged = base.component.model_copy(
        update={"releases": [*base.component.releases, *extension.releases]}
    )
    try:
        catalog = Catalog(merged)
    except VersionError as exc:
        field_path = exc.problems[0].field_path if exc.problems else None
        index = re.fullmatch(r"releases\[(\d+)\]\.version", field_path or "")
        keys: list[str | int] = ["releases"]
        if index and int(index.group(1)) >= own:
            keys = ["releases", int(index.group(1)) - own, "version"]
        message = f"{exc.message} (the component is defined in {base.path})"
        return [Problem(message, _where(path, raw, *keys), ".".join(map(str, keys)))]
    library.components[extension.extends] = ComponentSource(
        merged, base.path, catalog, [*base.extensions, path]
    )
    return []


def _check_recipe(
    path: Path, raw: CommentedMap | _LazyRaw, recipe: Recipe, library: Library
) -> list[Problem]:
    if recipe.component not in library.components:
        known = ", ".join(sorted(library.components)) or "none"
        message = f"unknown component `{recipe.component}` (known: {known})"
        return [Problem(message, _where(path, raw, "component"), "component")]
    catalog = library.components[recipe.component].catalog
    problems = []
    for key, spec in (("from", recipe.from_), ("to", recipe.to)):
        if spec.edition not in catalog.editions:
            problems.append(
                Problem(
                    f"component `{recipe.component}` has no edition `{spec.edition}`; "
                    + _did_you_mean(spec.edition, catalog.editions),
                    _where(path, raw, key, "edition"),
                    f"{key}.edition",
                )
            )
    try:
        parse_constraint(recipe.from_.versions)
    except VersionError as exc:
        where = _where(path, raw, "from", "versions")
        problems.append(Problem(exc.message, where, "from.versions"))
    if recipe.to.edition in catalog.editions:
        try:
            target = catalog.version(recipe.to.edition, recipe.to.version)
        except VersionError as exc:
            where = _where(path, raw, "to", "version")
            problems.append(Problem(exc.message, where, "to.version"))
        else:
            if catalog.release(target) is None:
                component_file = library.components[recipe.component].path
                message = f"{target.label} is not a known release; add it to `releases` in {component_file}"
                where = _where(path, raw, "to", "version")
                problems.append(Problem(message, where, "to.version"))
    return problems


def _load_recipes(folder: Path, library: Library) -> list[Problem]:
    problems: list[Problem] = []
    for path in recipe_files(folder):
        try:
            recipe, raw = _load(path, Recipe)
        except RecipeError as exc:
            problems.extend(exc.problems)
            continue
        found = _check_recipe(path, raw, recipe, library)
        recipe_id = recipe.id or path.stem
        if recipe_id in library.recipes:
            other = library.recipes[recipe_id].path
            found.append(
                Problem(
                    f"recipe id `{recipe_id}` is already used by {other}",
                    _where(path, raw, "id") if recipe.id else Location(str(path), 1, 1),
                    "id" if recipe.id else None,
                )
            )
        problems.extend(found)
        if not found:
            library.recipes[recipe_id] = RecipeSource(recipe, recipe_id, path, path.parent)
    return problems


def load_library(
    extra_dirs: Sequence[Path] = (),
    *,
    include_bundled: bool = True,
    component_dirs: Sequence[Path] = (),
) -> Library:
    """Components and recipes of the bundled library and `extra_dirs`, later dirs adding,
    and of single component folders `component_dirs` (`recipe lint COMPONENT-FOLDER`).

    The bundled library alone comes from the cache once it was loaded (engine/recipe/libcache.py).
    """
    if include_bundled and not extra_dirs and not component_dirs:
        bundled = bundled_recipes_dir()
        if bundled.is_dir():
            return cached("library", bundled, lambda: _load_library((), include_bundled=True))
    return _load_library(extra_dirs, include_bundled=include_bundled, component_dirs=component_dirs)


def _load_library(
    extra_dirs: Sequence[Path], *, include_bundled: bool, component_dirs: Sequence[Path] = ()
) -> Library:
    dirs: list[Path] = []
    bundled = bundled_recipes_dir()
    if include_bundled and bundled.is_dir():
        dirs.append(bundled)
    for extra in extra_dirs:
        if not extra.is_dir():
            raise RecipeError(
                f"recipe folder {extra} "
                + ("is not a folder" if extra.exists() else "does not exist"),
                location=Location(str(extra)),
                hint="give a folder holding <component>/component.yaml and recipe files",
            )
        dirs.append(extra)
    library_folders = component_folders(dirs)
    check_library_links(dirs, component_dirs, library_folders)
    library = Library()
    problems: list[Problem] = []
    folders = [*library_folders, *component_dirs]
    extensions = []
    for folder in folders:
        path = folder / "component.yaml"
        if not path.is_file():
            continue
        if component_file_kind(path) == "ComponentExtension":
            extensions.append(path)  # merged once every component is defined
        else:
            problems.extend(_load_component(path, library))
    for path in extensions:
        problems.extend(_extend_component(path, library))
    for folder in folders:
        problems.extend(_load_recipes(folder, library))
    if not problems:
        _add_patch_recipes(library)
    if problems:
        files = len({p.location.path for p in problems if p.location})
        raise RecipeError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
            f"{files} recipe file{'s' if files != 1 else ''}",
            problems=problems,
            hint=_FORMAT_HINT,
        )
    return library


def _add_patch_recipes(library: Library) -> None:
    """Generated recipes for patch upgrades inside a release line (engine/recipe/patchlines.py).

    A written recipe with the same id, or one claiming the same hop, takes precedence."""
    for name, source in library.components.items():
        catalog = source.catalog
        written = [
            (s.recipe.from_.edition, parse_constraint(s.recipe.from_.versions), s.recipe.to)
            for s in library.recipes_for(name)
        ]
        for recipe in patch_recipes(source.component, catalog):
            assert recipe.id is not None
            if recipe.id in library.recipes:
                continue
            starts = [
                v
                for v in catalog.releases
                if v.edition == recipe.from_.edition
                and parse_constraint(recipe.from_.versions).allows(v.semver)
            ]
            if any(
                edition == recipe.from_.edition
                and to == recipe.to
                and any(versions.allows(v.semver) for v in starts)
                for edition, versions, to in written
            ):
                continue
            library.recipes[recipe.id] = RecipeSource(
                recipe, recipe.id, source.path, source.path.parent, generated=True
            )


# --------------------------------------------------------------------------- schema


def recipe_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of recipe and component files, for editors and CI."""
    adapter: TypeAdapter[Recipe | Component | ComponentExtension] = TypeAdapter(
        Annotated[Recipe | Component | ComponentExtension, Field(discriminator="kind")]
    )
    schema = adapter.json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Waypath recipe or component file",
        "description": "A Waypath recipe (kind: Recipe), component catalog (kind: Component) "
        "or catalog extension (kind: ComponentExtension). "
        "Put `# yaml-language-server: $schema=<path or URL of this file>` at the top of a "
        "recipe file to have editors check it.",
        **schema,
    }
