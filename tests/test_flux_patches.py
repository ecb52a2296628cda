"""engine/repo/flux/patches.py: JSON 6902 and the record of what a patch set copy only
what they change (a deep copy per patched object was most of a fleet model's cost)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.repo.flux.patches import apply_json6902, leaves, record
from engine.repo.flux.resources import Patch, Resource

DOC: dict[str, Any] = {
    "kind": "HelmRelease",
    "metadata": {"name": "linkerd", "labels": {"tier": "mesh"}},
    "spec": {
        "chart": {"spec": {"chart": "linkerd2", "version": "2.11.5"}},
        "values": {"proxy": {"resources": {"cpu": "100m"}}, "list": [1, 2, 3]},
    },
}


def test_json6902_shares_what_it_does_not_change() -> None:
    before = copy.deepcopy(DOC)
    ops = [
        {"op": "replace", "path": "/spec/chart/spec/version", "value": "2.11.6"},
        {"op": "add", "path": "/spec/values/list/-", "value": 4},
        {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/role"},
    ]
    after = apply_json6902(DOC, ops)
    assert before == DOC  # the input is never changed
    assert after["spec"]["chart"]["spec"]["version"] == "2.11.6"
    assert after["spec"]["values"]["list"] == [1, 2, 3, 4]
    assert after["metadata"]["labels"] == {"role": "mesh"}
    assert after["spec"]["values"]["proxy"] is DOC["spec"]["values"]["proxy"]
    assert after["kind"] == "HelmRelease"


def test_json6902_errors_are_jsonpatchs_and_change_nothing() -> None:
    before = copy.deepcopy(DOC)
    with pytest.raises(ValueError, match="can't remove a non-existent object 'missing'"):
        apply_json6902(DOC, [{"op": "remove", "path": "/spec/missing"}])
    with pytest.raises(ValueError):
        apply_json6902(
            DOC,
            [
                {"op": "replace", "path": "/spec/chart/spec/version", "value": "x"},
                {"op": "test", "path": "/kind", "value": "Other"},
            ],
        )
    assert before == DOC


def _full_record(patch: Patch, written: list[tuple[Any, ...]], before: Any, after: Any) -> set[Any]:
    """What record kept before issue 12: every leaf of both documents compared."""
    old, new = dict(leaves(before)), dict(leaves(after))
    return {
        path
        for path, value in new.items()
        if path not in old
        or old[path] != value
        or type(old[path]) is not type(value)
        or any(path[: len(w)] == w for w in written)
    }


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "/spec/chart/spec/version", "value": "2.11.5"}],  # same value
        [{"op": "replace", "path": "/spec/values/list", "value": {"a": 1}}],
        [{"op": "remove", "path": "/spec/values/proxy"}],
        [{"op": "add", "path": "/spec/values/proxy/resources/cpu", "value": 100}],
        [{"op": "add", "path": "/spec/values/empty", "value": {}}],
        [{"op": "replace", "path": "/spec/values/list/0", "value": True}],
    ],
)
def test_record_reads_only_what_changed_and_agrees_with_a_full_comparison(
    ops: list[dict[str, Any]],
) -> None:
    after = apply_json6902(DOC, ops)
    patch = Patch("p.yaml", 0, "patches[0]", "json6902", {"kind": "HelmRelease"}, ops)
    resource = Resource("r.yaml", 0, DOC, "linkerd", None)
    record(resource, patch, ops, DOC, after)
    written = [
        tuple(int(p) if p.isdigit() else p for p in str(op["path"]).split("/")[1:])
        for op in ops
        if op["op"] in ("add", "replace")
    ]
    assert set(resource.patched) == _full_record(patch, written, DOC, after)
    assert resource.patches == (patch,)
