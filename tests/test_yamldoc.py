from __future__ import annotations

import pytest

from engine.errors import YamlError
from engine.yamltext.yamldoc import decode, parse_file
from tests.helpers import count_calls

HR = """\
# comment block above the first separator
---
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: linkerd
  namespace: linkerd
  labels: {tier: mesh}
spec:
  chart:
    spec:
      chart: linkerd2
---
---
kind: ConfigMap
"""


def test_decode_keeps_bom_and_crlf() -> None:
    assert decode("a.yaml", b"\xef\xbb\xbfa: 1\r\n") == "\ufeffa: 1\r\n"


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [(b"a: 1\nb: \x00\n", 2, "NUL"), (b"a: 1\n\nb: \xff\n", 3, "not valid UTF-8")],
)
def test_decode_refuses_binary(data: bytes, line: int, words: str) -> None:
    with pytest.raises(YamlError, match=words) as caught:
        decode("x.yaml", data)
    assert caught.value.location is not None
    assert (caught.value.location.path, caught.value.location.line) == ("x.yaml", line)
    assert caught.value.hint


def test_documents_spans_and_properties() -> None:
    docs = parse_file("hr.yaml", HR)
    assert [d.index for d in docs] == [0, 1, 2]
    hr, empty, cm = docs
    assert HR[hr.start : hr.end].startswith("apiVersion:") and HR[hr.end :].startswith("---\n---")
    assert (hr.kind, hr.api_version, hr.name, hr.namespace, hr.chart, hr.line) == (
        "HelmRelease", "helm.toolkit.fluxcd.io/v2beta1", "linkerd", "linkerd", "linkerd2", 3,
    )
    assert hr.labels == {"tier": "mesh"} and not hr.encrypted
    assert empty.data is None and empty.node is None and empty.start == empty.end
    assert HR[cm.start : cm.end] == "kind: ConfigMap\n"
    assert cm.namespace is None and cm.labels == {} and cm.chart is None
    assert hr.node is not None and hr.node.start_mark.index == hr.start


def test_implicit_first_document_bom_and_crlf() -> None:
    text = "\ufeffa: é\r\n---\r\nb: 2\r\n"
    first, second = parse_file("x", text)
    assert (first.start, first.end, first.data) == (1, text.index("---"), {"a": "é"})
    assert first.node is not None and first.node.start_mark.index == 1
    assert text[second.start : second.end] == "b: 2\r\n"


def test_sops_document_is_encrypted() -> None:
    (doc,) = parse_file("s.yaml", "data: ENC[x]\nsops:\n  version: 3.8.1\n")
    assert doc.encrypted


def test_syntax_error_has_location() -> None:
    with pytest.raises(YamlError) as caught:
        parse_file("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    assert caught.value.location is not None and caught.value.location.path == "bad.yaml"
    assert caught.value.location.line is not None and caught.value.location.column is not None


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(YamlError, match=r"duplicate key 'a' \(first on line 2, again on line 4\)"):
        parse_file("d.yaml", "x:\n  a: 1\n  b: 2\n  a: 3\n")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(YamlError, match="alias bomb"):
        parse_file("bomb.yaml", "\n".join(lines) + "\n")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlError, match="nesting deeper than 500"):
        parse_file("deep.yaml", "a: " + "[" * 700 + "]" * 700 + "\n")
    with pytest.raises(YamlError, match="nesting"):
        parse_file("deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")


FAST_AND_GENERAL = """\
a: 1
b: 0x1F
c: 1_000
d: 0o17
e: 1.5e3
f: .inf
g: -.Inf
h: true
i: False
j: ~
k: null
l: "quoted"
m: 'single'
n: [1, two, {three: 3}]
o: {p: [], q: {}}
r: 2001-12-14
s: !!str 123
t: !!binary aGVsbG8=
u: 1:30
v: "0x1F"
w: |
  block
x: >-
  folded
? explicit
: value
base: &base {name: shared}
merged:
  <<: *base
  extra: 1
alias: *base
"""


def test_fast_construction_gives_what_pyyaml_gives() -> None:
    # The fast path (issue 12) must return exactly the SafeConstructor's data, and leave
    # every unusual document (merge keys, shared aliases, binary, timestamps) to it.
    import math

    import yaml

    from engine.yamltext.patching import same
    from engine.yamltext.yamldoc import _plain_data, _Unusual, construct, parse_file

    for line in FAST_AND_GENERAL.splitlines():
        if line.startswith((" ", "?", ":", "<<")) or not line or "*" in line:
            continue
        text = line + "\n"
        (doc,) = parse_file("x.yaml", text)
        expected = yaml.safe_load(text)
        value = next(iter(doc.data.values()))
        wanted = next(iter(expected.values()))
        if isinstance(wanted, float) and math.isnan(wanted):
            assert math.isnan(value)
        else:
            assert same(doc.data, expected), line
    (whole,) = parse_file("x.yaml", FAST_AND_GENERAL)
    assert same(whole.data, yaml.safe_load(FAST_AND_GENERAL)) and whole.has_aliases
    assert whole.data["merged"] == {"name": "shared", "extra": 1}
    node = yaml.compose("a: 2001-12-14\n")
    with pytest.raises(_Unusual):
        _plain_data(node)
    assert construct("x.yaml", node)[0] == yaml.safe_load("a: 2001-12-14\n")


def test_remembered_tags_tell_quoted_from_plain() -> None:
    # The loader remembers the tag of each scalar text (issue 12); `"1"` and `1`, `'true'`
    # and `true` still read as different types, however often they repeat.
    from engine.yamltext.yamldoc import parse_file

    text = "a: '1'\nb: 1\nc: 'true'\nd: true\ne: \"null\"\nf: null\n"
    for _ in range(3):
        (doc,) = parse_file("x.yaml", text + text.replace(": ", "2: "))
        assert doc.data == {
            "a": "1", "b": 1, "c": "true", "d": True, "e": "null", "f": None,
            "a2": "1", "b2": 1, "c2": "true", "d2": True, "e2": "null", "f2": None,
        }  # fmt: skip
        assert type(doc.data["b"]) is int and type(doc.data["d"]) is bool


def _marks(node: object) -> list[tuple[str, int, int, int, int, int]]:
    import yaml

    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, yaml.Node):
            continue
        start, end = item.start_mark, item.end_mark
        found.append((str(item.value)[:20] if isinstance(item, yaml.ScalarNode) else item.tag,
                      start.index, start.line, start.column, end.index, end.column))  # fmt: skip
        if isinstance(item, yaml.MappingNode):
            stack.extend(x for pair in item.value for x in pair)
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(item.value)
    return found


def test_a_dropped_node_tree_is_composed_again_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 12: node trees cost ~20x a document's text; documents kept for reading let
    # them go and compose them again only when an edit asks (BOM, CRLF, several documents).
    from engine.yamltext import yamldoc

    text = "\ufeff# head\r\na: 1\r\nb: [x, {c: d}]\r\n---\r\n# only a comment\r\n---\r\nlist:\r\n- 1\r\n"
    docs = parse_file("f.yaml", text)
    before = [_marks(d.node) for d in docs]
    composed = count_calls(monkeypatch, yamldoc, "compose_all")
    for doc in docs:
        doc.drop_node()
    assert composed == []
    assert [_marks(d.node) for d in docs] == before
    assert docs[1].node is None  # the comment-only document has none
    assert composed == ["f.yaml"] * 2  # once per document with content, then kept
    assert [_marks(d.node) for d in docs] == before and len(composed) == 2
    yamldoc.drop_composed()  # what was composed again is let go again
    assert [_marks(d.node) for d in docs] == before and len(composed) == 4
