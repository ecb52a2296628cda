"""A bounded hypothesis run of the recipe-loader fuzz target (tests/fuzz/).

Inputs are the corpus recipes, mutated: bytes cut out, tokens inserted, lines swapped.
`WAYPATH_SLOW=1` runs 50x the examples; atheris runs are in docs/security.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.fuzz_recipe_loader import check_one
from tests.fuzz.mutate import RECIPE_TOKENS

CORPUS = sorted((Path(__file__).parent / "fuzz" / "corpus").glob("*-to-*.yaml"))
SEEDS = [p.read_bytes() for p in CORPUS]
TOKENS = RECIPE_TOKENS  # shared with the input fuzz harness (tests/fuzz/mutate.py)
CASES = {"count": 0}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "swap"]))
        if action == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=4))
        else:
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(
    max_examples=250 * (50 if os.environ.get("WAYPATH_SLOW") else 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=mutated())
def test_recipe_loader_raises_only_our_errors(data: bytes) -> None:
    # Pins: load_library turning every failure in a recipe file (YAML, schema, graph,
    # templates' paths) into a RecipeError with a location.
    CASES["count"] += 1
    with tempfile.TemporaryDirectory() as workdir:
        check_one(data, Path(workdir))


def test_the_corpus_loads() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for seed in SEEDS:
            check_one(seed, Path(workdir))
