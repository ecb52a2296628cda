"""YAML inside YAML: the literal block of a ConfigMap edited line by line."""

from __future__ import annotations

from engine.recipe.models import Op
from engine.yamltext.embedded import find_block, put_block
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import load_one, parse_file

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: linkerd-values
data:
  values.yaml: |
    # Shared values.
    policyController:
      # who may talk to meshed pods
      defaultAllowPolicy: cluster-authenticated
   \x20
    proxy:
      logLevel: warn   # keep it quiet
  other: plain
"""


def _block(text: str):  # type: ignore[no-untyped-def]
    doc = parse_file("cm.yaml", text)[0]
    return find_block(text, doc, ["data", "values.yaml"])


def test_block_is_cut_out_dedented() -> None:
    block = _block(CONFIGMAP)
    assert block is not None
    assert block.indent == "    "
    assert block.inner == (
        "# Shared values.\n"
        "policyController:\n"
        "  # who may talk to meshed pods\n"
        "  defaultAllowPolicy: cluster-authenticated\n"
        "\n"
        "proxy:\n"
        "  logLevel: warn   # keep it quiet\n"
    )


def test_unchanged_block_goes_back_byte_identical() -> None:
    block = _block(CONFIGMAP)
    assert block is not None
    assert put_block(CONFIGMAP, block, block.inner) == CONFIGMAP


def test_only_edited_lines_change() -> None:
    block = _block(CONFIGMAP)
    assert block is not None
    op = Op.model_validate({"op": "replace", "path": "/proxy/logLevel", "value": "info"})
    patched = patch_text("inner", block.inner, 0, [op], where="test")
    new = put_block(CONFIGMAP, block, patched.text)
    # the whitespace-only line inside the block keeps its bytes; only one line changed
    assert new == CONFIGMAP.replace("logLevel: warn ", "logLevel: info ")
    assert load_one(parse_file("cm.yaml", new)[0].data["data"]["values.yaml"])["proxy"] == {
        "logLevel": "info"
    }


def test_plain_string_value_is_not_a_block() -> None:
    text = 'kind: ConfigMap\ndata:\n  values.yaml: "proxy: {logLevel: warn}"\n'
    assert _block(text) is None


def test_explicit_indentation_indicator() -> None:
    text = "kind: ConfigMap\ndata:\n  values.yaml: |2\n      indented: more\n    a: 1\n"
    block = _block(text)
    assert block is not None
    assert block.indent == "    "
    assert block.inner == "  indented: more\na: 1\n"
