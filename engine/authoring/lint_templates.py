"""Templates compile and use only defined variables and declared params.

Every templated string of a recipe (see docs/recipes.md: fields marked *(template)*,
`when`/`that` expressions, op values, template files) is parsed with the sandboxed
environment recipes run in, and its free variables are compared with the documented
context. `params.X` / `params['X']` must name a declared param.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from engine.authoring.positions import Keys, locate
from engine.authoring.problems import LintProblem
from engine.errors import Location, WaypathError
from engine.recipe.loading import RecipeSource
from engine.recipe.models import (
    AssertStep,
    DeleteStep,
    MoveStep,
    NoteStep,
    PatchStep,
    Selector,
    TemplateStep,
)
from engine.recipe.templating import make_environment
from engine.yamltext.inputs import read_text

CONTEXT = frozenset({"params", "recipe", "from_release", "to_release", "instance"})
TEMPLATE_CONTEXT = CONTEXT | {"doc", "docs"}
PATCH_CONTEXT = CONTEXT | {"doc"}


@dataclass(frozen=True)
class Templated:
    keys: Keys
    text: str
    expression: bool = False
    names: frozenset[str] = CONTEXT


def _selector(keys: Keys, selector: Selector | None) -> Iterator[Templated]:
    if selector is None:
        return
    for field in ("name", "namespace", "file", "kustomizes"):
        value = getattr(selector, field)
        if value is not None:
            yield Templated((*keys, field), value)


def _values(keys: Keys, value: Any) -> Iterator[Templated]:
    if isinstance(value, str):
        yield Templated(keys, value)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _values((*keys, index), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _values((*keys, key), item)


def templated_strings(source: RecipeSource) -> Iterator[Templated]:
    """Every string of the recipe that the engine renders, with where it is."""
    recipe = source.recipe
    for p, phase in enumerate(recipe.phases):
        at: Keys = ("phases", p)
        yield Templated((*at, "message"), phase.message)
        yield Templated((*at, "description"), phase.description)
        if phase.when:
            yield Templated((*at, "when"), phase.when, expression=True)
        if phase.gate:
            yield Templated((*at, "gate", "wait"), phase.gate.wait)
            for c, check in enumerate(phase.gate.check):
                yield Templated((*at, "gate", "check", c), check)
        for u, uninstall in enumerate(phase.uninstalls):
            yield Templated((*at, "uninstalls", u, "name"), uninstall.name)
        for s, step in enumerate(phase.steps):
            yield from _step((*at, "steps", s), step)


def _step(at: Keys, step: Any) -> Iterator[Templated]:
    if step.when:
        yield Templated((*at, "when"), step.when, expression=True)
    if isinstance(step, PatchStep):
        yield from _selector((*at, "patch", "select"), step.patch.select)
        for o, op in enumerate(step.patch.ops):
            here: Keys = (*at, "patch", "ops", o)
            # op paths and values are rendered once per patched document, as `doc`
            yield Templated((*here, "path"), op.path, names=PATCH_CONTEXT)
            if op.from_:
                yield Templated((*here, "from"), op.from_, names=PATCH_CONTEXT)
            for item in _values((*here, "value"), op.value):
                yield Templated(item.keys, item.text, names=PATCH_CONTEXT)
    elif isinstance(step, TemplateStep):
        body = step.template
        here = (*at, "template")
        if body.inline is not None:
            yield Templated((*here, "inline"), body.inline, names=TEMPLATE_CONTEXT)
        if body.into is not None:
            yield Templated((*here, "into"), body.into)
        yield from _selector((*here, "replace"), body.replace)
        yield from _selector((*here, "select"), body.select)
    elif isinstance(step, MoveStep):
        yield Templated((*at, "move", "from"), step.move.from_)
        yield Templated((*at, "move", "to"), step.move.to)
    elif isinstance(step, DeleteStep):
        if step.delete.path:
            yield Templated((*at, "delete", "path"), step.delete.path)
        yield from _selector((*at, "delete", "select"), step.delete.select)
    elif isinstance(step, NoteStep):
        note = step.body
        if isinstance(step.note, str):
            yield Templated((*at, "note"), step.note)
        else:
            yield Templated((*at, "note", "title"), note.title)
            yield Templated((*at, "note", "text"), note.text)
            for c, command in enumerate(note.commands):
                yield Templated((*at, "note", "commands", c), command)
    elif isinstance(step, AssertStep):
        yield Templated((*at, "assert", "that"), step.assert_.that, expression=True)
        yield Templated((*at, "assert", "message"), step.assert_.message)


def _param_uses(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    for node in tree.find_all(nodes.Getattr):
        assert isinstance(node, nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "params":
            yield node.attr, node.lineno
    for item in tree.find_all(nodes.Getitem):
        assert isinstance(item, nodes.Getitem)
        named = isinstance(item.node, nodes.Name) and item.node.name == "params"
        if named and isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
            yield item.arg.value, item.lineno


def _first_line(tree: nodes.Template, name: str) -> int:
    lines = [n.lineno for n in tree.find_all(nodes.Name) if n.name == name]
    return min(lines) if lines else 1


class _Checker:
    def __init__(self, source: RecipeSource) -> None:
        self.source = source
        self.env = make_environment(source.folder)
        self.problems: list[LintProblem] = []

    def add(self, where: Location, code: str, message: str) -> None:
        self.problems.append(LintProblem(where, code, message))

    def check(
        self,
        text: str,
        names: frozenset[str],
        where: Location,
        *,
        in_file: Path | None,
        expression: bool,
    ) -> None:
        body = "{{ " + text + " }}" if expression else text
        try:
            tree = self.env.parse(body)
        except jinja2.TemplateSyntaxError as exc:
            self.add(
                self._at(where, in_file, exc.lineno), "template-syntax", exc.message or str(exc)
            )
            return
        free = meta.find_undeclared_variables(tree) - set(self.env.globals)
        for name in sorted(free - names):
            hint = " (only inside template steps)" if name in TEMPLATE_CONTEXT else ""
            self.add(
                self._at(where, in_file, _first_line(tree, name)),
                "undefined-variable",
                f"`{name}` is not defined in this context{hint}; known: {', '.join(sorted(names))}",
            )
        declared = self.source.recipe.params
        for param, line in _param_uses(tree):
            if param not in declared:
                known = ", ".join(sorted(declared)) or "none"
                self.add(
                    self._at(where, in_file, line),
                    "undeclared-param",
                    f"`params.{param}` is not declared under `params:` (declared: {known})",
                )

    @staticmethod
    def _at(where: Location, in_file: Path | None, line: int | None) -> Location:
        if in_file is not None:
            return Location(str(in_file), line or 1, 1)
        return where


def check_templates(source: RecipeSource) -> list[LintProblem]:
    checker = _Checker(source)
    for item in templated_strings(source):
        if "{" not in item.text and not item.expression:
            continue
        where = locate(source.path, item.keys)
        checker.check(item.text, item.names, where, in_file=None, expression=item.expression)
    for p, phase in enumerate(source.recipe.phases):
        for s, step in enumerate(phase.steps):
            if isinstance(step, TemplateStep) and step.template.source is not None:
                keys: Keys = ("phases", p, "steps", s, "template", "source")
                template = (source.folder / step.template.source).resolve()
                if not template.is_relative_to(source.folder.resolve()) or not template.is_file():
                    checker.add(
                        locate(source.path, keys),
                        "template-missing",
                        f"template file {step.template.source} not found in {source.folder}",
                    )
                    continue
                try:  # the limits of every input file (size, UTF-8, a regular file)
                    text = read_text(template, "template file")
                except WaypathError as exc:
                    checker.add(exc.location or locate(source.path, keys), "template-unreadable",
                                exc.message)  # fmt: skip
                    continue
                checker.check(
                    text,
                    TEMPLATE_CONTEXT,
                    locate(source.path, keys),
                    in_file=template,
                    expression=False,
                )
    return checker.problems
