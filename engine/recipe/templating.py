"""Jinja2 for recipes: a sandbox with strict undefined, and the filters recipes may use.

Recipes are shared data from other teams; their templates must not reach Python
internals, the filesystem or the network. `SandboxedEnvironment` refuses attribute tricks
(`''.__class__.__mro__`, `cycler.__init__.__globals__`); the loader reads only from the
recipe's own folder; StrictUndefined turns a misspelt variable into an error naming it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from engine.errors import Location, TemplateError
from engine.recipe.shellwords import ShellWords
from engine.yamltext.inputs import read_text
from engine.yamltext.patching import literal_key
from engine.yamltext.splice import dump_yaml

_WHOLE_EXPRESSION = re.compile(r"\s*\{\{(.*?)\}\}\s*", re.DOTALL)


def _to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for new content; every line indented by `indent` spaces, no trailing newline."""
    if value is None or value == {} or value == []:
        text = "{}" if isinstance(value, dict) else ("[]" if isinstance(value, list) else "null")
    else:
        text = dump_yaml(value).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _split(dotted: str) -> list[str]:
    return [part for part in dotted.split(".") if part]


def _without(value: Any, *dotted_keys: str) -> Any:
    """A deep copy of a mapping without the given keys (dotted paths)."""
    import copy

    result = copy.deepcopy(value)
    for dotted in dotted_keys:
        parts = _split(dotted)
        node = result
        at = 0
        while isinstance(node, dict) and at < len(parts):
            found = literal_key(node, parts, at)
            if found is None:
                break
            if at + found[1] == len(parts):
                node.pop(found[0])
                break
            node = node[found[0]]
            at += found[1]
    return result


def _get(value: Any, dotted: str, default: Any = None) -> Any:
    node = value
    parts = _split(dotted)
    at = 0
    while at < len(parts):
        found = literal_key(node, parts, at) if isinstance(node, Mapping) else None
        if found is None:
            return default
        node = node[found[0]]
        at += found[1]
    return node


def _dirname(path: str) -> str:
    return posixpath.dirname(path.rstrip("/")) or "."


def _basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))


class _RecipeLoader(jinja2.BaseLoader):
    """Loads templates only from below the recipe's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        path = (self.folder / template).resolve()
        if not path.is_relative_to(self.folder) or not path.is_file():
            raise jinja2.TemplateNotFound(template)
        mtime = path.stat().st_mtime
        # The limits of every input file: a regular file, at most 8 MiB, UTF-8 (InputError).
        text = read_text(path, "template file")
        return text, str(path), lambda: path.stat().st_mtime == mtime


class _RecipeEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2 prefers an attribute to an item: `instance.values` would be the dict method
    `values`, not the HelmRelease values (and `doc.spec.values` likewise). In recipes a
    mapping's own key always wins; methods (`.get`, `.keys`) still work for other names."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return self.getitem(obj, attribute)
        return super().getattr(obj, attribute)


def make_environment(
    folder: Path | None = None, finalize: Callable[..., Any] | None = None
) -> SandboxedEnvironment:
    # Immutable: a template cannot change the lists and dicts it is given (`instance.values`
    # is the parsed document itself; `.update()` on it would change what later steps see).
    env = _RecipeEnvironment(
        undefined=jinja2.StrictUndefined,
        loader=_RecipeLoader(folder) if folder is not None else None,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
    )
    env.filters.update(
        to_yaml=_to_yaml, without=_without, get=_get, dirname=_dirname, basename=_basename
    )
    # Recipes need none of these helpers; fewer objects in reach means fewer surprises.
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    return env


def _at_render(words: ShellWords) -> Callable[[Any, Any], Any]:
    # Taking the context keeps Jinja from finalizing constants (`{{ '-o json' }}`) once at
    # compile time: every value is marked when the command renders.
    @jinja2.pass_context
    def finalize(context: Any, value: Any) -> Any:
        return words.finalize(value)

    return finalize


class Renderer:
    """Renders the strings and template files of one recipe, with errors located in it."""

    def __init__(self, recipe_path: Path, folder: Path) -> None:
        self.recipe_path = recipe_path
        self.env = make_environment(folder)
        self._words = ShellWords()
        self._shell_env = make_environment(folder, finalize=_at_render(self._words))
        # The same message or op value renders once per instance: compile it once.
        self._cache: dict[str, jinja2.Template] = {}
        self._commands: dict[str, jinja2.Template] = {}
        self._expressions: dict[str, Any] = {}

    def _fail(self, what: str, exc: Exception) -> TemplateError:
        if isinstance(exc, jinja2.UndefinedError):
            detail = f"undefined variable: {exc.message}"
            hint = "check the spelling; docs/recipes.md lists the template context"
        elif isinstance(exc, jinja2.exceptions.SecurityError):
            detail = f"not allowed in the sandbox: {exc}"
            hint = "recipes may not reach Python internals; use the documented filters"
        elif isinstance(exc, jinja2.TemplateSyntaxError):
            detail = f"template syntax error: {exc.message} (template line {exc.lineno})"
            hint = "fix the Jinja2 syntax"
        elif isinstance(exc, jinja2.TemplateNotFound):
            detail = f"template not found: {exc.name}"
            hint = "template paths are relative to the recipe file and must stay in its folder"
        else:
            detail = f"{type(exc).__name__}: {exc}"
            hint = "fix the template expression"
        return TemplateError(
            f"{what}: {detail}", location=Location(str(self.recipe_path)), hint=hint
        )

    def _compiled(self, text: str) -> jinja2.Template:
        template = self._cache.get(text)
        if template is None:
            template = self._cache[text] = self.env.from_string(text)
        return template

    def string(self, text: str, context: Mapping[str, Any], *, what: str) -> str:
        if "{" not in text:
            return text
        try:
            return self._compiled(text).render(context)
        except Exception as exc:  # jinja raises many types; every one becomes ours
            raise self._fail(what, exc) from exc

    def command(self, text: str, context: Mapping[str, Any], *, what: str) -> str:
        """A copy-paste shell command: every value it interpolates quoted
        (engine/recipe/shellwords.py)."""
        if "{" not in text:
            return text
        try:
            template = self._commands.get(text)
            if template is None:
                template = self._commands[text] = self._shell_env.from_string(text)
            self._words.values = []
            return self._words.substitute(template.render(context))
        except Exception as exc:
            raise self._fail(what, exc) from exc

    def file(self, source: str, context: Mapping[str, Any], *, what: str) -> str:
        try:
            return self.env.get_template(source).render(context)
        except Exception as exc:
            raise self._fail(what, exc) from exc

    def expression(self, expr: str, context: Mapping[str, Any], *, what: str) -> Any:
        try:
            compiled = self._expressions.get(expr)
            if compiled is None:
                compiled = self._expressions[expr] = self.env.compile_expression(
                    expr, undefined_to_none=False
                )
            return compiled(**context)
        except Exception as exc:
            raise self._fail(what, exc) from exc

    def value(self, value: Any, context: Mapping[str, Any], *, what: str) -> Any:
        """Render strings inside an op value (recursively), leaving other types alone.

        A string that is exactly one `{{ expression }}` keeps the expression's type, so
        `value: "{{ params.replicas }}"` gives an integer, not the text "3".
        """
        if isinstance(value, str):
            whole = _WHOLE_EXPRESSION.fullmatch(value)
            if whole and "{{" not in whole.group(1) and "}}" not in whole.group(1):
                return self.expression(whole.group(1), context, what=what)
            return self.string(value, context, what=what)
        if isinstance(value, list):
            return [self.value(v, context, what=what) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v, context, what=what) for k, v in value.items()}
        return value
