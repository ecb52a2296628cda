"""engine/recipe/templating.py: how recipe templates see the context."""

from __future__ import annotations

from pathlib import Path

from engine.recipe.templating import Renderer


def _renderer(tmp_path: Path) -> Renderer:
    return Renderer(tmp_path / "recipe.yaml", tmp_path)


def test_a_mapping_key_wins_over_a_dict_method(tmp_path: Path) -> None:
    # Jinja2 prefers attributes: `instance.values` used to be dict.values, so every
    # `instance.values | get(...)` in a recipe silently gave its default.
    context = {"instance": {"values": {"proxy": {"image": {"version": "stable-2.11.5"}}}}}
    renderer = _renderer(tmp_path)
    got = renderer.expression("instance.values | get('proxy.image.version')", context, what="t")
    assert got == "stable-2.11.5"
    assert renderer.string("{{ instance.values.proxy.image.version }}", context, what="t") == (
        "stable-2.11.5"
    )


def test_dict_methods_still_work_for_other_names(tmp_path: Path) -> None:
    context = {"objects": {"crds": [1]}, "values": {"a": 1, "b": 2}}
    renderer = _renderer(tmp_path)
    assert renderer.expression("objects.get('viz', [])", context, what="t") == []
    assert renderer.expression("values.keys() | list", context, what="t") == ["a", "b"]
