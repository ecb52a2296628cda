"""engine/repo/headers.py: a scan that answers gives exactly what parsing gives; anything
it cannot be sure of is None (the caller parses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.repo.headers import scan
from engine.yamltext.yamldoc import parse_file

ROOT = Path(__file__).resolve().parent.parent


def parsed(text: str) -> list[tuple[int, str | None, str | None, str | None, str | None, int | None]]:
    return [
        (d.index, d.api_version, d.kind, d.name, d.namespace, d.line)
        if d.data is not None
        else (d.index, None, None, None, None, None)
        for d in parse_file("x.yaml", text)
    ]


def scanned(text: str) -> list[tuple[int, str | None, str | None, str | None, str | None, int | None]] | None:
    found = scan(text)
    if found is None:
        return None
    return [
        (h.index, h.api_version, h.kind, h.name, h.namespace, h.line if h.kind else None)
        for h in found
    ]


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\n  namespace: linkerd\ndata:\n  a: b\n"

SURE = {
    "plain": CM,
    "crlf": CM.replace("\n", "\r\n"),
    "bom": "\ufeff" + CM,
    "four spaces, comments, quotes": (
        "# head comment\n---\n# about it\napiVersion: 'v1'   # core\nkind: \"ConfigMap\"\n"
        "metadata:\n    # the name\n    name: values # trailing\n    labels:\n        a: b\n"
        "    namespace: ${ns}\nspec:\n  x: |\n    kind: Other\n    name: other\n"
    ),
    "several documents and empty ones": f"---\n{CM}---\n---\n# only a comment\n---\n{CM}",
    "empty file": "",
    "comments only": "# nothing\n\n",
    "a lone marker": "---\n",
    "marker with a comment": "--- # first\n" + CM,
    "labels and annotations blocks": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    a: |\n      name: x\n"
        "  labels: {}\n  name: svc\nspec: {}\n"
    ),
}

UNSURE = {
    "flow metadata": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: values}\n",
    "anchor": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: &n values\n",
    "alias merge": "base: &b {kind: ConfigMap}\n<<: *b\nmetadata:\n  name: x\n",
    "tag": "apiVersion: v1\nkind: !!str ConfigMap\nmetadata:\n  name: x\n",
    "number name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 1234\n",
    "boolean name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yes\n",
    "null kind": "apiVersion: v1\nkind: null\nmetadata:\n  name: x\n",
    "multi-line name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n    b\n",
    "multi-line kind": "apiVersion: v1\nkind: Config\n  Map\nmetadata:\n  name: a\n",
    "duplicate name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    "duplicate kind": "apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata:\n  name: a\n",
    "duplicate metadata": "kind: ConfigMap\nmetadata:\n  name: a\nmetadata:\n  name: b\n",
    "no name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
    "no kind": "apiVersion: v1\nmetadata:\n  name: a\n",
    "a list": "- kind: ConfigMap\n",
    "indented root": "  kind: ConfigMap\n  metadata:\n    name: a\n",
    "document end": CM + "...\n",
    "directive": "%YAML 1.1\n---\n" + CM,
    "content on the marker line": "--- {kind: ConfigMap, metadata: {name: a}}\n",
    "escaped quotes": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "a\\tb"\n',
    "empty quoted name": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ''\n",
    "open flow value": "kind: ConfigMap\nmetadata:\n  name: a\nspec: {a: 1,\n  b: 2}\n",
    "tab indent": "kind: ConfigMap\nmetadata:\n\tname: a\n",
    "metadata list": "kind: ConfigMap\nmetadata:\n- name: a\n",
}


@pytest.mark.parametrize("name", sorted(SURE))
def test_a_scan_that_answers_agrees_with_the_parser(name: str) -> None:
    text = SURE[name]
    assert scanned(text) is not None, name
    assert scanned(text) == parsed(text)


@pytest.mark.parametrize("name", sorted(UNSURE))
def test_anything_unusual_is_left_to_the_parser(name: str) -> None:
    assert scan(UNSURE[name]) is None


def test_every_fixture_file_scans_as_it_parses() -> None:
    answered = 0
    for path in sorted([*ROOT.glob("tests/fixtures/**/*.y*ml"), *ROOT.glob("examples/**/*.y*ml")]):
        text = path.read_text(encoding="utf-8")
        found = scanned(text)
        if found is None:
            continue
        answered += 1
        assert found == parsed(text), path
    assert answered > 100
