from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import RepoError
from engine.yamltext.splice import (
    append_document,
    delete_document,
    detect_style,
    dump_yaml,
    replace_document,
    rewrite_document,
)
from engine.yamltext.yamldoc import parse_file


def edit(text: str, change: Callable[[Any], Any], index: int = 0) -> str:
    doc = parse_file("f.yaml", text)[index]
    data = copy.deepcopy(doc.data)
    change(data)
    return rewrite_document(text, doc, data)


RELEASE = """\
# Managed by the platform team
---
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: linkerd  # the control plane
  namespace: linkerd
spec:
  chart:
    spec:
      chart: linkerd2
      version: "2.11.5"
      sourceRef: {kind: HelmRepository, name: linkerd}
  values:
    # installed by the cni chart
    installNamespace: true
    image: ghcr.io/acme/proxy:1.0 # {"$imagepolicy": "flux-system:proxy"}
    cluster: ${cluster_name}
    note: 'it''s fine'
    containers:
    - name: proxy
      image: a
    - name: init
      image: b
    script: |
      echo hi
      echo there

    last: 1
  # a trailing comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
"""


def test_scalar_change_keeps_quotes_comments_and_other_documents() -> None:
    def change(d: Any) -> None:
        d["spec"]["chart"]["spec"]["version"] = "2.12.0"
        d["spec"]["values"]["note"] = "it's new"
        d["metadata"]["name"] = "linkerd-cp"

    out = edit(RELEASE, change)
    assert out == (
        RELEASE.replace('version: "2.11.5"', 'version: "2.12.0"')
        .replace("note: 'it''s fine'", "note: 'it''s new'")
        .replace("name: linkerd  #", "name: linkerd-cp  #")
    )


def test_remove_key_keeps_comment_above_and_marker_lines() -> None:
    out = edit(RELEASE, lambda d: d["spec"]["values"].pop("installNamespace"))
    assert out == RELEASE.replace("    installNamespace: true\n", "")


def test_add_key_goes_after_last_entry_before_trailing_comment() -> None:
    out = edit(RELEASE, lambda d: d["spec"].update(suspend=True))
    assert out == RELEASE.replace("    last: 1\n", "    last: 1\n  suspend: true\n")


def test_add_nested_mapping_and_list_at_detected_indent() -> None:
    out = edit(RELEASE, lambda d: d["spec"]["values"].update(new={"a": [1, "true"], "b": {}}))
    assert out == RELEASE.replace(
        "    last: 1\n",
        '    last: 1\n    new:\n      a:\n      - 1\n      - "true"\n      b: {}\n',
    )


def test_keyed_list_item_edit_and_append() -> None:
    def change(d: Any) -> None:
        containers = d["spec"]["values"]["containers"]
        containers[1]["image"] = "c"
        containers.append({"name": "z", "ports": [80]})

    out = edit(RELEASE, change)
    assert out == RELEASE.replace(
        "      image: b\n", "      image: c\n    - name: z\n      ports:\n      - 80\n"
    )


def test_remove_list_item_and_first_key_of_item() -> None:
    def change(d: Any) -> None:
        containers = d["spec"]["values"]["containers"]
        containers.pop(0)
        del containers[0]["name"]

    out = edit(RELEASE, change)
    assert out == RELEASE.replace("    - name: proxy\n      image: a\n    - name: init\n      image: b\n",
                                  "    - image: b\n")


def test_block_scalar_and_substitution_token() -> None:
    def change(d: Any) -> None:
        d["spec"]["values"]["script"] = "echo bye\necho now\n"
        d["spec"]["values"]["cluster"] = "${cluster_name}-eu"

    out = edit(RELEASE, change)
    assert out == RELEASE.replace("      echo hi\n      echo there\n", "      echo bye\n      echo now\n"
                                  ).replace("cluster: ${cluster_name}", "cluster: ${cluster_name}-eu")


def test_flow_mapping_value_change_and_key_added() -> None:
    out = edit(RELEASE, lambda d: d["spec"]["chart"]["spec"]["sourceRef"].update(name="buoyant"))
    assert out == RELEASE.replace("name: linkerd}", "name: buoyant}")
    out = edit(RELEASE, lambda d: d["spec"]["chart"]["spec"]["sourceRef"].update(namespace="x"))
    assert out == RELEASE.replace(
        "{kind: HelmRepository, name: linkerd}", "{kind: HelmRepository, name: linkerd, namespace: x}"
    )


def test_edit_second_document_only() -> None:
    out = edit(RELEASE, lambda d: d["metadata"].update(name="renamed"), index=1)
    assert out == RELEASE.replace("metadata: {name: other}", "metadata: {name: renamed}")


def test_four_space_indented_sequences() -> None:
    text = "spec:\n    values:\n        args:\n            - a  # first\n            - b\n"
    out = edit(text, lambda d: d["spec"]["values"].update(extra={"list": ["x"]}))
    assert out == text + "        extra:\n            list:\n                - x\n"
    out = edit(text, lambda d: d["spec"]["values"]["args"].insert(1, "c"))
    assert out == text.replace("- a  # first\n", "- a  # first\n            - c\n")


def test_crlf_and_bom_are_kept() -> None:
    text = "\ufeffa: 1\r\nb:\r\n  c: 2  # keep\r\n"
    out = edit(text, lambda d: d["b"].update(d=[1]))
    assert out == "\ufeffa: 1\r\nb:\r\n  c: 2  # keep\r\n  d:\r\n  - 1\r\n"
    out = edit(text, lambda d: d.update(a=3))
    assert out == "\ufeffa: 3\r\nb:\r\n  c: 2  # keep\r\n"


def test_type_changes_render_blocks_in_place() -> None:
    text = "a: 1  # n\nb:\n  c: 2\nd: x\n"
    assert edit(text, lambda d: d.update(a={"x": 1})) == "a:\n  x: 1  # n\nb:\n  c: 2\nd: x\n"
    assert edit(text, lambda d: d.update(b="s")) == "a: 1  # n\nb: s\nd: x\n"
    assert edit(text, lambda d: d.update(b={})) == "a: 1  # n\nb: {}\nd: x\n"
    assert edit(text, lambda d: d.update(d="true")) == 'a: 1  # n\nb:\n  c: 2\nd: "true"\n'


def test_empty_document_gets_content() -> None:
    text = "a: 1\n---\n# placeholder\n---\nb: 2\n"
    out = rewrite_document(text, parse_file("f", text)[1], {"c": 3})
    assert out == "a: 1\n---\n# placeholder\nc: 3\n---\nb: 2\n"


def test_aliases_fall_back_to_round_trip_of_that_document_only() -> None:
    text = "x: 1\n---\nbase: &b {a: 1}\nuse: *b  # alias\n---\ny:   2\n"
    out = edit(text, lambda d: d.update(extra=True), index=1)
    assert out.startswith("x: 1\n---\n") and out.endswith("---\ny:   2\n")
    assert parse_file("f", out)[1].data == {"base": {"a": 1}, "use": {"a": 1}, "extra": True}
    assert "# alias" in out


def test_sops_encrypted_document_is_refused() -> None:
    text = "data: ENC[abc]\nsops:\n  version: 3.8\n"
    with pytest.raises(RepoError, match="SOPS"):
        edit(text, lambda d: d.update(data="x"))


def test_unchanged_data_returns_same_text() -> None:
    assert edit(RELEASE, lambda d: None) == RELEASE


def test_replace_delete_append_documents() -> None:
    docs = parse_file("f", RELEASE)
    replaced = replace_document(RELEASE, docs[1], "kind: Secret")
    assert replaced == RELEASE.split("apiVersion: v1")[0] + "kind: Secret\n"
    first_gone = delete_document(RELEASE, docs[0])
    assert first_gone == "# Managed by the platform team\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n"
    last_gone = delete_document(RELEASE, docs[1])
    assert last_gone == RELEASE.split("---\napiVersion: v1")[0]
    text = "a: 1\n---\nb: 2\n"
    assert delete_document(text, parse_file("f", text)[0]) == "b: 2\n"
    assert append_document("a: 1", "b: 2") == "a: 1\n---\nb: 2\n"
    assert append_document("", "b: 2\n") == "b: 2\n"
    assert append_document("a: 1\r\n", "b: 2\nc: 3\n") == "a: 1\r\n---\r\nb: 2\r\nc: 3\r\n"
    assert append_document("a: 1\n---\n", "b: 2\n") == "a: 1\n---\nb: 2\n"


def test_dump_yaml_quotes_only_when_needed() -> None:
    data = {
        "version": "2.11",
        "tag": "1.16.11",
        "flag": "true",
        "none": None,
        "enabled": False,
        "count": 3,
        "ratio": 1.5e20,
        "token": "${cluster_name}",
        "colon": "a: b",
        "empty": "",
        "items": [{"name": "a", "args": ["--x", "-v"]}, ["nested"]],
        "text": "line 1\nline 2\n",
        "map": {},
    }
    assert dump_yaml(data) == (
        'version: "2.11"\n'
        "tag: 1.16.11\n"
        'flag: "true"\n'
        "none: null\n"
        "enabled: false\n"
        "count: 3\n"
        "ratio: 1.5e+20\n"
        "token: ${cluster_name}\n"
        'colon: "a: b"\n'
        'empty: ""\n'
        "items:\n"
        "- name: a\n"
        "  args:\n"
        "  - --x\n"
        "  - -v\n"
        "- - nested\n"
        "text: |\n"
        "  line 1\n"
        "  line 2\n"
        "map: {}\n"
    )
    assert dump_yaml({"a": {"b": ["c"]}}, indent=4, seq_indent=True) == "a:\n    b:\n        - c\n"


def test_detect_style() -> None:
    assert detect_style("a:\n    b:\n        - c\n").indent == 4
    assert detect_style("a:\n    b:\n        - c\n").seq_indent is True
    assert detect_style("a:\r\n  b:\r\n  - c\r\n").newline == "\r\n"
    assert detect_style("a:\n  b:\n  - c\n").seq_indent is False
