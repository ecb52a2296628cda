"""Hostile or broken YAML in a repo: handled faithfully, or refused naming file and line.

Every case runs through the command line (`engine.cli.main`), under a deadline, and must
end with exit 1 and a located message (never a traceback, exit 3), or with exit 0/2 and
byte-exact files. The hostile file holds `kind: HelmRelease` at a line start and the chart
name `meshy`, so the prefilter and the detector let it through to the parser.
"""

from __future__ import annotations

import os
import signal
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import YamlError
from engine.yamltext.yamldoc import MAX_CHARS, parse_file
from tests.helpers import RECIPES, build_tree, git_repo, meshy_files, snapshot_bytes

HOSTILE = "clusters/prod/hostile.yaml"
RELEASE = "clusters/prod/meshy/release.yaml"
HR = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: meshy\n"
BAIT = "\n# chart: meshy\n"  # makes the detector parse the file

HOSTILE_COUNT = 0  # how many hostile inputs ran (for the figures in docs/security.md)


@pytest.fixture(autouse=True)
def _only_test_recipes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Speed: the CLI would also load the bundled Linkerd library (~1 s a run); these tests
    # need only the toy component given with --recipes.
    monkeypatch.setattr("engine.recipe.loading.bundled_recipes_dir", lambda: tmp_path / "no-bundled")


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail the test instead of hanging (SIGALRM: main thread, POSIX)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(capsys: pytest.CaptureFixture[str], *args: str, limit: int = 60) -> tuple[int, str, str]:
    global HOSTILE_COUNT
    HOSTILE_COUNT += 1
    with deadline(limit):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def plan_args(repo: Path) -> list[str]:
    return ["plan", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(RECIPES)]


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return HR + "\n".join(lines) + "\n"


# (id, file bytes, expected line, expected words in the message)
# Pins, in order: decode() NUL and UTF-8 checks; _check_nodes (alias expansion, duplicate
# keys); _check_depth (block nesting; libyaml's own flow limit); _error (syntax errors and
# the control-character ReaderError, which has no mark); construct() turning a constructor's
# ValueError into a YamlError; the safe loader refusing python tags.
REFUSED: list[tuple[str, bytes, int, str]] = [
    ("binary", b"kind: HelmRelease\n\x00\x01\x02\xff\xfe meshy", 2, "NUL byte"),
    ("binary-png", b"\x89PNG\r\n\x1a\n\nkind: HelmRelease\n meshy", 1, "not valid UTF-8"),
    ("invalid-utf8", HR.encode() + b"  namespace: \xc3\x28\n" + BAIT.encode(), 5, "UTF-8"),
    ("billion-laughs", (billion_laughs() + BAIT).encode(), 1, "alias bomb"),
    ("recursive-alias", (HR + "spec: &a [*a]\n" + BAIT).encode(), 1, "alias bomb"),
    (
        "deep-block",
        (HR + "".join("  " * i + f"k{i}:\n" for i in range(2_000)) + BAIT).encode(),
        505,
        "nesting deeper than 500",
    ),
    (
        "deep-flow",
        (HR + "spec: " + "[" * 10_000 + "]" * 10_000 + "\n" + BAIT).encode(),
        5,
        "nesting",
    ),
    (
        "deep-flow-map",
        (HR + "spec: " + "{a: " * 10_000 + "1" + "}" * 10_000 + BAIT).encode(),
        5,
        "nesting",
    ),
    ("duplicate-key", (HR + "  name: other\n" + BAIT).encode(), 5, "duplicate key 'name'"),
    ("tab-indent", (HR + "spec:\n\tinterval: 1m\n" + BAIT).encode(), 6, "cannot start any token"),
    ("unclosed-flow", (HR + "spec: {interval: 1m\n" + BAIT).encode(), 8, "flow mapping"),
    ("control-char", (HR + "spec: \x07\n" + BAIT).encode(), 5, "control characters"),
    (
        "python-tag",
        (HR + "spec: !!python/object/apply:os.system [id]\n" + BAIT).encode(),
        5,
        "could not determine a constructor",
    ),
    ("bad-timestamp", (HR + "spec: {at: 2001-13-45}\n" + BAIT).encode(), 1, "month must be"),
    ("huge-int", (HR + "spec: {n: " + "9" * 5000 + "}\n" + BAIT).encode(), 1, "digits"),
    ("bad-base64", (HR + "spec: !!binary 'not base64%%'\n" + BAIT).encode(), 5, "base64"),
    ("yaml-2.0", ("%YAML 2.0\n---\n" + HR + BAIT).encode(), 1, "incompatible YAML document"),
    ("unhashable-key", (HR + "? [a, b]\n: c\n" + BAIT).encode(), 5, "unhashable key"),
]


@pytest.mark.parametrize(
    ("data", "line", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_hostile_file_is_refused_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, line: int, words: str
) -> None:
    files: dict[str, str | bytes] = dict(meshy_files(clusters=("prod",)))
    files[HOSTILE] = data
    repo = build_tree(tmp_path, files)
    before = snapshot_bytes(repo)
    started = time.monotonic()
    code, out, err = run(capsys, *plan_args(repo), limit=30)
    assert time.monotonic() - started < 30
    assert code == 1, err
    assert err.startswith(f"error: {HOSTILE}:{line}"), err
    assert words in err
    assert "\nhint: " in err
    assert "Traceback" not in err + out
    assert snapshot_bytes(repo) == before


# Handled faithfully: the edited release file in each of these shapes is written back with
# only the edited lines changed (CRLF kept, BOM kept, empty documents and `...` kept).
EDIT = [
    ('version: "1.0.0"  # pinned', 'version: "1.1.0"  # pinned'),
    ("    legacyFlag: true\n", ""),
]
SHAPES = {
    "lf": lambda s: s,
    "crlf": lambda s: s.replace("\n", "\r\n"),
    "bom": lambda s: "\ufeff" + s,
    "bom-crlf": lambda s: "\ufeff" + s.replace("\n", "\r\n"),
    "empty-docs": lambda s: "---\n---\n" + s + "---\n---\n# only a comment\n---\n",
    "empty-docs-crlf": lambda s: ("---\n---\n" + s + "---\n...\n---\n").replace("\n", "\r\n"),
    "doc-end-marker": lambda s: "---\n" + s + "...\n",
    "tabs-in-comments": lambda s: s.replace("# pinned", "#\tpinned\t"),
    "trailing-spaces": lambda s: s.replace("interval: 10m", "interval: 10m   "),
    "no-final-newline": lambda s: s.rstrip("\n"),
    "unicode": lambda s: s.replace("multi-line", "multi-line — ünïcødé ✓ 🚀"),
    "bom-in-value": lambda s: s.replace("multi-line", "x\ufeffy"),
}


def _edited(text: str) -> str:
    for old, new in EDIT:
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_unusual_but_valid_files_are_edited_faithfully(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str
) -> None:
    # Pins: yamldoc keeps the BOM and CRLF in the text it splices into (decode(), offsets
    # shifted for the BOM), and _segments keeps empty documents; with any of these removed
    # the written bytes differ from the expected ones.
    transform = SHAPES[shape]
    files = meshy_files(clusters=("prod",))
    original = files[RELEASE]
    files[RELEASE] = transform(original)
    repo = git_repo(tmp_path, files)
    others = {k: v for k, v in snapshot_bytes(repo).items() if k != RELEASE}
    code, _, err = run(
        capsys, "apply", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(RECIPES)
    )
    assert code == 0, err
    assert (repo / RELEASE).read_bytes() == transform(_edited(original)).encode("utf-8")
    assert {k: v for k, v in snapshot_bytes(repo).items() if k != RELEASE} == others
    code, out, _ = run(capsys, *plan_args(repo))
    assert code == 0, out  # and planning again is a no-op


@pytest.mark.parametrize(
    "extra",
    [
        "---\n---\n" + HR + "...\n---\n\n---\n",  # empty documents around a foreign release
        "%YAML 1.1\n---\n" + HR,  # a directive
        HR + "spec: !!set {a, b}\n",  # unusual but safe tags
        HR + "base: &b {x: 1}\nspec:\n  <<: *b\n",  # merge keys
        HR + "spec: {x: 1e9999, y: .nan}\n",  # floats that are not numbers
        "apiVersion: v1\rkind: HelmRelease\rmetadata:\r  name: x\r",  # old Mac line ends
        "kind: HelmRelease\n---\njust a string\n---\n- a\n- list\n",  # non-mapping documents
    ],
    ids=["empty-docs", "directive", "set-tag", "merge-key", "inf-nan", "cr-only", "scalars"],
)
def test_odd_files_next_to_the_instance_are_read_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str
) -> None:
    # Pins: the detector reads these files (they contain `meshy`) without failing, and the
    # planner never writes a file no step touches (fidelity invariant 1).
    files = meshy_files(clusters=("prod",))
    files[HOSTILE] = extra + BAIT
    repo = git_repo(tmp_path, files)
    code, _, err = run(
        capsys, "apply", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(RECIPES)
    )
    assert code == 0, err
    assert (repo / HOSTILE).read_bytes() == (extra + BAIT).encode()


# -- size: bounded time and memory ----------------------------------------------------------

FIFTY_MB = 50 * 1024 * 1024


def _big(doc: str, size: int) -> bytes:
    return (doc * (size // len(doc) + 1)).encode()


def test_a_50_mb_candidate_file_is_refused_fast_and_in_bounded_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: yamldoc.MAX_CHARS. Without it this file is composed into ~2 GB of nodes and
    # the run takes minutes (the deadline fails the test).
    files: dict[str, str | bytes] = dict(meshy_files(clusters=("prod",)))
    files[HOSTILE] = _big("---\n" + HR + "  namespace: meshy\n", FIFTY_MB)
    repo = build_tree(tmp_path, files)
    tracemalloc.start()
    try:
        code, out, err = run(capsys, *plan_args(repo), limit=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert err.startswith(f"error: {HOSTILE}:1: file is too large to parse"), err
    assert peak < 4 * FIFTY_MB, f"peak {peak / 1e6:.0f} MB"  # the bytes, the text, no nodes
    assert "Traceback" not in err + out


def test_a_50_mb_file_the_prefilter_skips_costs_little(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pins: the text prefilter (workspace._matches_bytes): a big file without a HelmRelease
    # at a line start is never parsed (parsing it would take minutes and gigabytes). The
    # documents are big (a dump in a ConfigMap): the prefilter's cost grows with the number
    # of `kind:` lines (a million of them in 50 MB take ~1 s per kind the planner looks for).
    files: dict[str, str | bytes] = dict(meshy_files(clusters=("prod",)))
    dump = "".join(f"  line{i}: {'x' * 80}\n" for i in range(1000))
    files[HOSTILE] = _big(
        f"---\nkind: ConfigMap\nmetadata:\n  name: meshy\ndata:\n{dump}", FIFTY_MB
    )
    repo = build_tree(tmp_path, files)
    tracemalloc.start()
    try:
        code, _, err = run(capsys, *plan_args(repo), limit=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 2, err
    assert peak < 3 * FIFTY_MB, f"peak {peak / 1e6:.0f} MB"
    assert (repo / HOSTILE).stat().st_size >= FIFTY_MB


def test_many_documents_parse_in_linear_time() -> None:
    # Pins: parse_file counting lines incrementally and pausing the GC. Both made a file of
    # many small documents quadratic (5 MB took 2 minutes). Timing-free: 4x the documents
    # may take at most ~8x the time (quadratic would be 16x).
    doc = "---\n" + HR + "  namespace: x\n"

    def cost(n: int) -> float:
        text = doc * n
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            parse_file("many.yaml", text)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = cost(2_000), cost(8_000)
    assert large < 8 * small + 0.5, (small, large)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("WAYPATH_SLOW"), reason="set WAYPATH_SLOW=1 to run")
def test_a_file_just_under_the_size_limit_parses_in_bounded_time() -> None:
    # The largest file Waypath agrees to parse: tens of thousands of documents.
    doc = "---\n" + HR + "  namespace: x\n"
    text = doc * ((MAX_CHARS - 1) // len(doc))
    tracemalloc.start()
    started = time.monotonic()
    try:
        with deadline(300):
            docs = parse_file("big.yaml", text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(docs) == (MAX_CHARS - 1) // len(doc)
    assert time.monotonic() - started < 300
    assert peak < 100 * MAX_CHARS
    with pytest.raises(YamlError, match="too large"):
        parse_file("big.yaml", text + doc * 2)
