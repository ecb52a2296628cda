"""engine/repo/plainyaml.py: what the line reader answers is what PyYAML gives (data, types,
document indexes, spans and lines); anything it does not read is None."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.repo.plainyaml import documents
from engine.yamltext.yamldoc import parse_file

ROOT = Path(__file__).resolve().parent.parent


def typed(value: Any) -> Any:
    """The value with every scalar's type next to it (1 == True, 1 == 1.0 in Python)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def described(docs: Any) -> list[Any]:
    return [(d.index, d.head, d.start, d.end, d.line, typed(d.data)) for d in docs]


FLUX_KS = """\
# Flux Kustomization
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: linkerd
  namespace: flux-system
spec:
  dependsOn:
    - name: cert-manager
  interval: 30m   # comment
  path: ./clusters/cluster-3/linkerd
  prune: true
  retries: 3
  ratio: 0.5
  nothing: ~
  empty:
  list: []
  map: {}
  quoted: "1.16.11"
  single: 'x: y'
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster_name: ${cluster}
    substituteFrom:
    - kind: ConfigMap
      name: cluster-settings
    -   kind: Secret
        name: other
  nested:
    -
      a: 1
    - - 2
"""

SURE = {
    "a Flux Kustomization": FLUX_KS.replace("    - - 2\n", "    - 2\n"),
    "crlf": FLUX_KS.replace("    - - 2\n", "").replace("\n", "\r\n"),
    "bom and documents": "\ufeff---\na: 1\n---\n---\n# c\n--- # marker\nb: [ ]\n".replace(
        "[ ]", "[]"
    ),
    "yaml 1.1 scalars": "a: yes\nb: Off\nc: 0x1F\nd: 1_000\ne: .inf\nf: -1\ng: 010\nh: null\n",
    "kustomization": "resources:\n- a.yaml\n- ../base\nnamespace: mesh\n",
    "empty collections with comments": "a: {}  # none\nb: []   # none\nc:\n- {}\n",
    "empty": "",
    "comments only": "# x\n",
}

UNSURE = {
    "block scalar": "patch: |\n  - op: add\n",
    "flow": "a: [1, 2]\n",
    "anchor": "a: &x 1\nb: *x\n",
    "tag": "a: !!str 1\n",
    "merge": "<<: {a: 1}\n",
    "multi-line plain": "a: b\n  c\n",
    "multi-line quoted": 'a: "b\n  c"\n',
    "escapes": 'a: "b\\n"\n',
    "doubled quote": "a: 'it''s'\n",
    "duplicate": "a: 1\na: 2\n",
    "timestamp": "a: 2001-12-14\n",
    "bool key": "on: push\n",
    "nested item": "- - 2\n",
    "tab": "a:\n\tb: 1\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "document end": "a: 1\n...\n",
    "indented root": "  a: 1\n",
    "scalar document": "just text\n",
    "question": "? a\n: b\n",
    "colon in value": "a: b: c\n",
}


@pytest.mark.parametrize("name", sorted(SURE))
def test_what_it_reads_is_what_pyyaml_gives(name: str) -> None:
    text = SURE[name]
    found = documents("x.yaml", text)
    assert found is not None, name
    assert described(found) == described(parse_file("x.yaml", text))
    assert all(d.node is None for d in found)


@pytest.mark.parametrize("name", sorted(UNSURE))
def test_what_it_does_not_read_is_left_to_pyyaml(name: str) -> None:
    assert documents("x.yaml", UNSURE[name]) is None


def test_every_fixture_reads_as_pyyaml_reads_it() -> None:
    answered = 0
    paths = [*ROOT.glob("tests/fixtures/**/*.y*ml"), *ROOT.glob("examples/**/*.y*ml")]
    for path in sorted(paths):
        text = path.read_text(encoding="utf-8")
        found = documents(str(path), text)
        if found is None:
            continue
        answered += 1
        assert described(found) == described(parse_file(str(path), text)), path
    assert answered > 100


def test_equal_lines_never_share_a_mutable_value() -> None:
    # Lines are kept once read (they repeat across a fleet): `{}` and `[]` are made anew.
    first = documents("a.yaml", "a: {}\nb: []\nc: x\n")
    second = documents("b.yaml", "a: {}\nb: []\nc: x\n")
    assert first is not None and second is not None
    assert first[0].data == second[0].data == {"a": {}, "b": [], "c": "x"}
    assert first[0].data["a"] is not second[0].data["a"]
    assert first[0].data["b"] is not second[0].data["b"]
