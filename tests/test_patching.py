from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.errors import PatchError
from engine.recipe.models import Op
from engine.yamltext.patching import apply_ops


def op(**fields: Any) -> Op:
    return Op.model_validate(fields)


DOC: dict[str, Any] = {
    "spec": {
        "values": {
            "installNamespace": True,
            "license": "ref",
            "proxy": {"image": "a"},
            "containers": [{"name": "proxy", "image": "p:1"}, {"name": "init", "image": "i:1"}],
            "a/b": 1,
            "t~x": 2,
        }
    }
}


def run(*ops: Op, data: Any = None) -> tuple[Any, list[str], list[bool]]:
    source = copy.deepcopy(DOC) if data is None else data
    before = copy.deepcopy(source)
    new, results = apply_ops(source, list(ops), where="hr.yaml")
    assert source == before  # never mutated
    return new, [r.message for r in results], [r.applied for r in results]


def test_remove_reports_old_value_and_optional_second_run_is_noop() -> None:
    remove = op(op="remove", path="/spec/values/installNamespace", optional=True)
    new, messages, applied = run(remove)
    assert "installNamespace" not in new["spec"]["values"]
    assert messages == ["removed /spec/values/installNamespace (was: true)"]
    again, messages, applied = run(remove, data=new)
    assert again == new and applied == [False]
    assert messages == ["skipped remove /spec/values/installNamespace: no key `installNamespace`"]


def test_add_replace_and_equal_value_is_not_applied() -> None:
    new, messages, applied = run(
        op(op="add", path="/spec/suspend", value=True),
        op(op="add", path="/spec/suspend", value=True),
        op(op="replace", path="/spec/values/proxy/image", value="b"),
        op(op="replace", path="/spec/values/proxy/image", value="b"),
    )
    assert new["spec"]["suspend"] is True and new["spec"]["values"]["proxy"] == {"image": "b"}
    assert applied == [True, False, True, False]
    assert messages == [
        "added /spec/suspend = true",
        "/spec/suspend is already true",
        "replaced /spec/values/proxy/image: a -> b",
        "/spec/values/proxy/image is already b",
    ]


def test_keyed_list_items_and_escapes() -> None:
    new, messages, _ = run(
        op(op="replace", path="/spec/values/containers[name=init]/image", value="i:2"),
        op(op="remove", path="/spec/values/a~1b"),
        op(op="replace", path="/spec/values/t~0x", value=3),
        op(op="add", path="/spec/values/containers/-", value={"name": "x"}),
        op(op="add", path="/spec/values/containers/-", value={"name": "x"}),
    )
    values = new["spec"]["values"]
    assert values["containers"][1] == {"name": "init", "image": "i:2"}
    assert values["containers"][2:] == [{"name": "x"}]
    assert "a/b" not in values and values["t~x"] == 3
    assert messages[-1] == "/spec/values/containers already holds {'name': 'x'}"


def test_move_copy_test_and_parents() -> None:
    new, messages, applied = run(
        op(op="test", path="/spec/values/license", value="ref"),
        op(op="copy", **{"from": "/spec/values/license"}, path="/spec/values/copy"),
        op(op="move", **{"from": "/spec/values/proxy"}, path="/spec/values/cp/proxy", parents=True),
        op(op="add", path="/spec/a/b/c", value=1, parents=True),
        op(op="move", **{"from": "/spec/values/gone"}, path="/spec/x", optional=True),
        op(op="test", path="/spec/values/license", value="other", optional=True),
    )
    values = new["spec"]["values"]
    assert values["copy"] == "ref" and values["cp"] == {"proxy": {"image": "a"}}
    assert new["spec"]["a"] == {"b": {"c": 1}}
    assert applied == [False, True, True, True, False, False]
    assert messages[0] == "test passed: /spec/values/license is ref"
    assert messages[2] == "moved /spec/values/proxy to /spec/values/cp/proxy"
    assert messages[5] == "skipped: test failed: /spec/values/license is ref, expected other"


def test_nest_and_unnest_are_idempotent() -> None:
    nest = op(op="nest", path="/spec/values", key="cp", keep=["license"])
    new, messages, applied = run(nest)
    assert list(new["spec"]["values"]) == ["license", "cp"]
    assert list(new["spec"]["values"]["cp"]) == [
        "installNamespace", "proxy", "containers", "a/b", "t~x",
    ]
    assert messages == ["nested installNamespace, proxy, containers, a/b, t~x under /spec/values/cp"]
    again, _, applied = run(nest, data=new)
    assert again == new and applied == [False]
    unnest = op(op="unnest", path="/spec/values", key="cp")
    back, _, _ = run(unnest, data=new)
    assert back == DOC
    again, messages, applied = run(unnest, data=back)
    assert again == DOC and applied == [False]


def test_unnest_child_keys_win_and_conflict_is_reported() -> None:
    data = {"v": {"a": 1, "child": {"a": 2, "b": 3}, "c": 4}}
    new, messages, _ = run(op(op="unnest", path="/v", key="child"), data=data)
    assert new == {"v": {"a": 2, "b": 3, "c": 4}}
    assert messages == ["unnested /v/child (its a replaced the parent's)"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"op": "remove", "path": "/spec/nope"}, "op 0 (remove /spec/nope) failed: no key `nope`"),
        (
            {"op": "replace", "path": "/spec/values/containers[name=x]/image", "value": 1},
            "failed: no item with name=x in list at `[name=x]`",
        ),
        (
            {"op": "test", "path": "/spec/values/license", "value": "x"},
            "test failed: /spec/values/license is ref, expected x",
        ),
        ({"op": "remove", "path": "/spec/values/containers/5"}, "index 5 out of range"),
        ({"op": "add", "path": "/spec/x/y", "value": 1}, "no key `x`"),
        ({"op": "nest", "path": "/spec/values/license", "key": "k"}, "is a str, not a mapping"),
    ],
)
def test_errors_name_op_and_segment(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as caught:
        apply_ops(DOC, [op(**fields)], where="hr.yaml")
    assert message in caught.value.message
    assert caught.value.message.startswith("hr.yaml: op 0")
    assert caught.value.hint


def test_selector_matching_two_items_is_an_error() -> None:
    data = {"l": [{"n": "a"}, {"n": "a"}]}
    with pytest.raises(PatchError, match="2 items with n=a"):
        apply_ops(data, [op(op="remove", path="/l[n=a]", optional=True)])


def test_prune_removes_parents_left_empty() -> None:
    data = {"spec": {"values": {"identity": {"issuer": {"crtExpiry": "x"}}, "keep": 1}}}
    op = Op.model_validate(
        {"op": "remove", "path": "/spec/values/identity/issuer/crtExpiry", "prune": True}
    )
    new, (result,) = apply_ops(data, [op])
    assert new == {"spec": {"values": {"keep": 1}}}
    assert "removed /spec/values/identity, left empty" in result.message
    again, (second,) = apply_ops(new, [op.model_copy(update={"optional": True})])
    assert again == new and not second.applied


def test_prune_after_move_keeps_non_empty_parents() -> None:
    data = {"a": {"b": {"c": 1}, "d": 2}}
    op = Op.model_validate({"op": "move", "from": "/a/b/c", "path": "/e", "prune": True})
    new, _ = apply_ops(data, [op])
    assert new == {"a": {"d": 2}, "e": 1}


def test_dotted_literal_keys_read_as_their_nested_form() -> None:
    data = {
        "values": {
            "identity.issuer.crtExpiry": "2030",
            "identity": {"issuer": {"scheme": "kubernetes.io/tls"}},
            "policyController.defaultAllowPolicy": "cluster-authenticated",
        }
    }
    ops = [
        Op(op="remove", path="/values/identity/issuer/crtExpiry", prune=True),
        Op.model_validate(
            {
                "op": "move",
                "from": "/values/policyController/defaultAllowPolicy",
                "path": "/values/proxy/defaultInboundPolicy",
                "parents": True,
            }
        ),
    ]
    new, results = apply_ops(data, ops)
    assert new == {
        "values": {
            "identity": {"issuer": {"scheme": "kubernetes.io/tls"}},
            "proxy": {"defaultInboundPolicy": "cluster-authenticated"},
        }
    }
    assert results[0].message == "removed /values/identity/issuer/crtExpiry (was: 2030)"
    # a partly dotted key: `issuer.tls` under `identity`
    partly = {"identity": {"issuer.tls": {"crtPEM": "x"}}}
    new, _ = apply_ops(partly, [Op(op="replace", path="/identity/issuer/tls/crtPEM", value="y")])
    assert new == {"identity": {"issuer.tls": {"crtPEM": "y"}}}


def test_dotted_literal_keys_in_template_reads() -> None:
    from engine.recipe.templating import make_environment

    env = make_environment()
    values = {"identity.issuer.crtExpiry": "2030", "proxy": {"log.level": "warn"}}
    render = env.from_string(
        "{{ v | get('identity.issuer.crtExpiry') }} {{ v | get('proxy.log.level') }} "
        "{{ v | without('identity.issuer.crtExpiry') }}"
    ).render
    assert render(v=values) == "2030 warn {'proxy': {'log.level': 'warn'}}"

def test_ops_copy_only_the_containers_on_their_paths() -> None:
    # Copy on write: a patch of one value in a big document shares every untouched
    # subtree with the original instead of deep-copying it (issue 12).
    data: dict[str, Any] = {
        "spec": {"values": {f"key{i}": {"nested": [i, {"deep": i}]} for i in range(500)}},
        "metadata": {"name": "linkerd", "labels": {"a": "b"}},
    }
    before = copy.deepcopy(data)
    new, results = apply_ops(
        data,
        [
            op(op="replace", path="/spec/values/key7/nested/1/deep", value=-1),
            op(op="move", from_="/spec/values/key8", path="/spec/moved", parents=True),
            op(op="add", path="/spec/values/added/x", value={"y": 1}, parents=True),
            op(op="test", path="/metadata/name", value="linkerd"),
        ],
    )
    assert data == before
    assert [r.applied for r in results] == [True, True, True, False]
    assert new["spec"]["values"]["key7"]["nested"][1] == {"deep": -1}
    assert new["spec"]["moved"] is data["spec"]["values"]["key8"]  # moved, not copied
    assert new["spec"]["values"]["added"] == {"x": {"y": 1}}
    assert new["metadata"] is data["metadata"]  # only tested: shared
    shared = [k for k, v in new["spec"]["values"].items() if v is data["spec"]["values"].get(k)]
    assert len(shared) == 498  # all but key7 (edited) and `added` (new); key8 moved away
    assert new["spec"]["values"]["key7"]["nested"][0] == 7


def test_same_is_identity_first() -> None:
    # Comparing a patched copy with its original walks only what differs: shared
    # subtrees are compared by identity (counts the element comparisons).
    class Counting(int):
        compared = 0

        def __eq__(self, other: object) -> bool:
            Counting.compared += 1
            return int.__eq__(self, other)  # type: ignore[no-any-return]

        __hash__ = int.__hash__

    from engine.yamltext.patching import same

    big = [Counting(i) for i in range(1000)]
    a = {"shared": big, "x": 1}
    b = {"shared": big, "x": 1}
    assert same(a, b)
    assert Counting.compared == 0
    assert not same(a, {"shared": list(big), "x": 2})


def test_copy_on_write_follows_dotted_literal_keys() -> None:
    data: dict[str, Any] = {"values": {"proxy.resources": {"cpu": {"limit": "1"}}, "other": {}}}
    before = copy.deepcopy(data)
    new, _ = apply_ops(data, [op(op="remove", path="/values/proxy/resources/cpu/limit")])
    assert data == before  # the dotted key's mapping was copied before the remove
    assert new["values"]["proxy.resources"] == {"cpu": {}}
    assert new["values"]["other"] is data["values"]["other"]
