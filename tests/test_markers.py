"""`# renovate:` markers on chart version pins (engine/yamltext/markers.py)."""

from __future__ import annotations

from engine.yamltext.markers import find_marker, set_marker
from engine.yamltext.yamldoc import parse_file

ABOVE = """\
kind: HelmRelease
spec:
  chart:
    spec:
      chart: linkerd2
      # renovate: datasource=helm depName=linkerd2 registryUrl=https://helm.linkerd.io/stable
      version: "2.11.5"
"""

INLINE = """\
kind: HelmRelease
spec:
  chart:
    spec:
      chart: linkerd2
      version: 2.11.5 # renovate: datasource=helm depName=linkerd2
"""

BARE = """\
kind: HelmRelease
spec:
  chart:
    spec:
      chart: linkerd-crds
      version: "1.4.0"
"""


def test_marker_above_and_inline_are_found() -> None:
    above = find_marker(ABOVE, parse_file("a.yaml", ABOVE)[0])
    assert above is not None and above.above
    assert above.fields == {
        "datasource": "helm",
        "depName": "linkerd2",
        "registryUrl": "https://helm.linkerd.io/stable",
    }
    inline = find_marker(INLINE, parse_file("b.yaml", INLINE)[0])
    assert inline is not None and not inline.above
    assert inline.fields == {"datasource": "helm", "depName": "linkerd2"}
    assert find_marker(BARE, parse_file("c.yaml", BARE)[0]) is None


def test_marker_is_added_in_the_style_of_another() -> None:
    doc = parse_file("c.yaml", BARE)[0]
    above = find_marker(ABOVE, parse_file("a.yaml", ABOVE)[0])
    inline = find_marker(INLINE, parse_file("b.yaml", INLINE)[0])
    assert above is not None and inline is not None
    assert set_marker(BARE, doc, above, above.text(depName="linkerd-crds")) == BARE.replace(
        '      version: "1.4.0"\n',
        "      # renovate: datasource=helm depName=linkerd-crds "
        'registryUrl=https://helm.linkerd.io/stable\n      version: "1.4.0"\n',
    )
    assert set_marker(BARE, doc, inline, inline.text(depName="linkerd-crds")) == BARE.replace(
        '"1.4.0"\n', '"1.4.0"  # renovate: datasource=helm depName=linkerd-crds\n'
    )


def test_existing_marker_is_replaced_in_place() -> None:
    doc = parse_file("b.yaml", INLINE)[0]
    marker = find_marker(INLINE, doc)
    assert marker is not None
    assert set_marker(INLINE, doc, marker, marker.text(depName="linkerd-control-plane")) == (
        INLINE.replace("depName=linkerd2", "depName=linkerd-control-plane")
    )
