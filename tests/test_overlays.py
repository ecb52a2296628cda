"""How a recipe op carries over to the patches on top of a document (engine/recipe/overlays.py)."""

from __future__ import annotations

from engine.recipe.models import Op
from engine.recipe.overlays import _field, _follow_one
from engine.repo.flux.resources import Patch


def _patch(position: str) -> Patch:
    return Patch("k.yaml", 0, position, "json6902", None, content=[], inline=True)


def test_inline_patch_text_is_found_from_its_position() -> None:
    assert _field(_patch("patches[1]")) == ("patches", 1, "patch")
    assert _field(_patch("spec.patches[0]")) == ("spec", "patches", 0, "patch")
    assert _field(_patch("patchesJson6902[2]")) == ("patchesJson6902", 2, "patch")
    assert _field(_patch("patchesStrategicMerge[0]")) == ("patchesStrategicMerge", 0)


def test_json6902_paths_follow_moves_drops_and_nesting() -> None:
    entry = {"op": "add"}
    move = Op.model_validate({"op": "move", "from": "/spec/values/a", "path": "/spec/values/b/c"})
    assert _follow_one(move, 0, "/spec/values/a/x", entry) == "/spec/values/b/c/x"
    assert _follow_one(move, 0, "/spec/values/ab", entry) is None
    remove = Op(op="remove", path="/spec/values/installNamespace")
    assert _follow_one(remove, 0, "/spec/values/installNamespace", entry) == "drop"
    nest = Op(op="nest", path="/spec/values", key="linkerd-control-plane", keep=["license"])
    assert (
        _follow_one(nest, 0, "/spec/values/proxy/logLevel", entry)
        == "/spec/values/linkerd-control-plane/proxy/logLevel"
    )
    assert _follow_one(nest, 0, "/spec/values/license", entry) is None
    unnest = Op(op="unnest", path="/spec/values", key="linkerd-control-plane")
    assert (
        _follow_one(unnest, 0, "/spec/values/linkerd-control-plane/proxy", entry)
        == "/spec/values/proxy"
    )
