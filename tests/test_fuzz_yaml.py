"""Property tests: the YAML loader and patch ops on generated input.

Bounded for CI (a few hundred cases, seconds). `WAYPATH_SLOW=1 pytest -m slow` runs each
property with 50x the examples; docs/security.md describes the longer runs.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.errors import WaypathError
from engine.output.apply import apply_plan
from engine.planning.planner import PlanRequest, make_plan
from engine.recipe.loading import load_library
from engine.recipe.models import Op
from engine.repo.workspace import Workspace
from engine.yamltext.patching import apply_ops
from engine.yamltext.splice import rewrite_document
from engine.yamltext.yamldoc import decode, parse_file
from tests.fuzz.mutate import YAML_TOKENS
from tests.helpers import MESHY_RELEASE, RECIPES, build_tree, meshy_files, snapshot_bytes

SCALE = 50 if os.environ.get("WAYPATH_SLOW") else 1
CASES = {"count": 0}


def fuzz(n: int) -> Any:
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def ran() -> None:
    CASES["count"] += 1


# YAML-ish text: the tokens that drive the scanner into its corners.
TOKENS = st.sampled_from(YAML_TOKENS)  # shared with the input fuzz harness (tests/fuzz/)
YAMLISH = st.lists(TOKENS, max_size=40).map("".join)


@fuzz(300)
@given(data=st.binary(max_size=300) | YAMLISH.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_parse_file_raises_only_our_errors(data: bytes) -> None:
    # Pins: decode() and parse_file() turning every failure (scanner, composer, constructor,
    # recursion, size) into a YamlError. Any other exception fails the property.
    ran()
    try:
        docs = parse_file("f.yaml", decode("f.yaml", data))
    except WaypathError as exc:
        assert exc.location is not None and exc.location.path == "f.yaml"
        return
    for doc in docs:  # what parsed is self-consistent
        assert 0 <= doc.head <= doc.start <= doc.end


@fuzz(150)
@given(text=YAMLISH | st.text(max_size=200))
@example(text="<<: \u2028b: ")  # a merged key has no position: was a TypeError
def test_load_yaml_model_raises_only_our_errors(text: str, tmp_path: Path) -> None:
    # Pins: loading._read_yaml and pydantic errors both becoming RecipeError.
    from engine.recipe.loading import load_yaml_model
    from engine.recipe.models import Recipe

    ran()
    path = tmp_path / "recipe.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(WaypathError):
        load_yaml_model(path, Recipe)


# -- untouched documents stay byte-identical ------------------------------------------------

SCALARS = st.one_of(
    st.integers(-5, 500),
    st.booleans(),
    st.none(),
    st.sampled_from(["x", "a b", "it's", "${cluster}", "", "1.0", "yes", "line\nline\n"]),
)
KEYS = st.sampled_from(["name", "image", "port", "tag", "args", "spec", "values"])


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.dictionaries(KEYS, children, max_size=3), st.lists(children, max_size=3))


DATA = st.recursive(SCALARS, _nested, max_leaves=8)
DOC = st.dictionaries(KEYS, DATA, min_size=1, max_size=4)


def render(doc: Any, style: int) -> str:
    if doc is None:
        return ""
    return yaml.safe_dump(
        doc,
        default_flow_style=None if style else False,
        indent=2 + 2 * style,
        sort_keys=bool(style),
    )


@fuzz(150)
@given(
    docs=st.lists(st.none() | DOC, min_size=2, max_size=5),
    target=st.integers(0, 4),
    ops=st.lists(
        st.tuples(st.sampled_from(["add", "replace", "remove"]), KEYS, SCALARS),
        min_size=1,
        max_size=3,
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
    style=st.integers(0, 1),
)
def test_editing_one_document_leaves_the_others_byte_identical(
    docs: list[Any],
    target: int,
    ops: list[tuple[str, str, Any]],
    crlf: bool,
    bom: bool,
    style: int,
) -> None:
    # Pins: splice.rewrite_document replacing only its document's span (and keeping the
    # file's BOM and line ends).
    ran()
    nl = "\r\n" if crlf else "\n"
    parts = [render(d, style).replace("\n", nl) for d in docs]
    text = ("\ufeff" if bom else "") + "".join(f"---{nl}{p}" for p in parts)
    parsed = parse_file("f.yaml", text)
    edit = parsed[target % len(parsed)]
    if not isinstance(edit.data, dict):
        return
    patch = [
        Op(op=op, path=f"/{key}", value=value, optional=True)  # type: ignore[call-arg]
        if op != "remove"
        else Op(op=op, path=f"/{key}", optional=True)  # type: ignore[call-arg]
        for op, key, value in ops
    ]
    try:
        new_data, _ = apply_ops(edit.data, patch)
    except WaypathError:
        return
    new_text = rewrite_document(text, edit, new_data)
    again = parse_file("f.yaml", new_text)
    assert len(again) == len(parsed)
    assert again[edit.index].data == new_data
    for old, new in zip(parsed, again, strict=True):
        if old.index != edit.index:
            assert text[old.head : old.end] == new_text[new.head : new.end]
    assert new_text.startswith("\ufeff") == bom
    if crlf:
        assert "\n" not in new_text.replace("\r\n", "")


# -- patch ops on random data raise only PatchError ---------------------------------------

PATHS = st.lists(KEYS | st.sampled_from(["0", "-", "[name=x]", "~1", "~0", ""]), max_size=3).map(
    lambda parts: "/" + "/".join(parts)
) | st.sampled_from(["", "no-slash", "/a//b", "/[=]", "/[name=]"])


@fuzz(300)
@given(
    data=DOC,
    raw=st.lists(
        st.fixed_dictionaries(
            {
                "op": st.sampled_from(
                    ["add", "remove", "replace", "move", "copy", "test", "nest", "unnest"]
                ),
                "path": PATHS,
            },
            optional={
                "value": DATA,
                "from": PATHS,
                "optional": st.booleans(),
                "parents": st.booleans(),
                "key": KEYS,
            },
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_patch_ops_raise_only_our_errors(data: Any, raw: list[dict[str, Any]]) -> None:
    # Pins: patching.apply_ops reporting every failure as a PatchError, never a KeyError,
    # IndexError or TypeError from the data it walks.
    ran()
    try:
        ops = [Op.model_validate(r) for r in raw]
    except ValueError:
        return  # the recipe loader refuses these ops before they ever run
    with contextlib.suppress(WaypathError):
        apply_ops(data, ops)


# -- patch, then plan again: nothing to do ------------------------------------------------

EXTRA_VALUES = st.dictionaries(
    st.sampled_from(["extraA", "extraB", "nested", "list"]),
    DATA,
    max_size=3,
)


@fuzz(12)
@given(extra=EXTRA_VALUES, crlf=st.booleans(), target=st.sampled_from(["1.1", "2.0"]))
def test_apply_then_plan_again_is_a_no_op(
    extra: dict[str, Any], crlf: bool, target: str, tmp_path_factory: Any
) -> None:
    # Pins: idempotent steps (patches compare data, templates compare rendered data) and
    # faithful splicing: applying a plan and planning again finds nothing to do.
    ran()
    root = tmp_path_factory.mktemp("idem")
    files = meshy_files(clusters=("prod",))
    release = "clusters/prod/meshy/release.yaml"
    values = yaml.safe_dump({"extra": extra}, default_flow_style=False).replace("\n", "\n    ")
    text = MESHY_RELEASE.format(pin="1.0.0") + "    " + values.rstrip() + "\n"
    files[release] = text.replace("\n", "\r\n") if crlf else text
    build_tree(root, files)
    library = load_library([RECIPES], include_bundled=False)
    request = PlanRequest(target=f"meshy@stable-{target}")
    apply_plan(root, make_plan(Workspace(root), library, request))
    after = snapshot_bytes(root)
    again = make_plan(Workspace(root), library, request)
    assert not again.has_changes
    assert snapshot_bytes(root) == after
