"""Copy-paste shell commands quote every value they interpolate (engine/recipe/shellwords.py):
a value with spaces, `$`, quotes or `;` stays one word, in the plan text, the commit body
and the MR description."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cli import main
from engine.recipe.templating import Renderer
from tests.helpers import RECIPES, build_tree, meshy_files

HOSTILE = [
    "plain",
    "two words",
    "$HOME",
    "it's",
    'say "hi"',
    "a;rm -rf ~",
    "`id`",
    "back\\slash",
    "new\nline",
    "",
    "$(touch PWNED)",
]


def _render(text: str, value: str) -> str:
    renderer = Renderer(Path("recipe.yaml"), Path("."))
    return renderer.command(text, {"v": value, "ns": "linkerd"}, what="test")


@pytest.mark.parametrize("value", HOSTILE)
def test_an_unquoted_value_is_one_word(value: str) -> None:
    command = _render("kubectl -n {{ ns }} get {{ v }} -o {{ 'json' }}", value)
    assert shlex.split(command) == ["kubectl", "-n", "linkerd", "get", value, "-o", "json"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_inside_quotes_the_recipe_wrote_stays_inside_them(
    value: str, tmp_path: Path
) -> None:
    # bash, not shlex: "..." and '...' as the shell that runs the copied command reads them
    command = _render(
        "printf '%s\\n' {{ v }} '{{ v }}' \"{{ v }}\" x{{ v }}y "
        "'jq .a == \"{{ v }}\"' # it's {{ v }}",
        value,
    )
    done = subprocess.run(
        ["bash", "-c", command.replace("printf '%s\\n'", "printf '%s\\0'", 1)],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    words = done.stdout.decode().split("\0")[:-1]
    assert words == [value, value, value, f"x{value}y", f'jq .a == "{value}"']
    assert list(tmp_path.iterdir()) == []  # nothing ran


def test_plain_words_are_unchanged_and_a_macro_is_not_quoted_again() -> None:
    text = (
        "{% macro loop(items) %}for i in {% for x in items %}{{ x }} {% endfor %}; do"
        "{% endmacro %}{{ loop(['a b', 'c']) }} kubectl -n {{ v }}"
    )
    assert _render(text, "clusters/prod/linkerd-2.14.10") == (
        "for i in 'a b' c ; do kubectl -n clusters/prod/linkerd-2.14.10"
    )


RECIPE = """\
apiVersion: waypath.dev/v1
kind: Recipe
component: meshy
from: {edition: oss, versions: ">=1.0.0 <1.1.0"}
to: {edition: oss, version: 1.1.0}
summary: Commands with values in them
params:
  secret_name: {type: string, default: meshy-licence}
phases:
  - name: bump
    message: "meshy: upgrade to {{ to_release.label }}"
    gate:
      wait: "HelmRelease {{ instance.name }} is Ready"
      check:
        - "flux get hr -n {{ instance.namespace }} {{ instance.name }}"
        - "kubectl get secret -n {{ instance.namespace }} {{ params.secret_name }}"
    steps:
      - patch:
          select: {detector: core}
          ops:
            - {op: replace, path: /spec/chart/spec/version, value: "{{ to_release.charts.meshy }}"}
      - note:
          title: Make the licence Secret
          commands:
            - "kubectl create secret generic {{ params.secret_name }} --dry-run=client -o yaml > {{ instance.dir }}/{{ params.secret_name }}.yaml"
"""


@pytest.fixture
def hostile_repo(tmp_path: Path) -> tuple[Path, Path]:
    library = tmp_path / "lib" / "meshy"
    library.mkdir(parents=True)
    shutil.copy(RECIPES / "meshy" / "component.yaml", library / "component.yaml")
    (library / "stable-1.0-to-stable-1.1.yaml").write_text(RECIPE)
    files = {
        path.replace("clusters/prod/meshy", "clusters/prod/my $mesh's"): text.replace(
            "./clusters/prod/meshy", "\"./clusters/prod/my $mesh's\""
        )
        for path, text in meshy_files(("prod",)).items()
    }
    return build_tree(tmp_path / "repo", files), tmp_path / "lib"


def _commands(text: str) -> list[list[str]]:
    return [shlex.split(line.split("$ ", 1)[1]) for line in text.splitlines() if "$ " in line]


def test_plan_text_and_mr_description_quote_set_values_and_paths(
    hostile_repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, lib = hostile_repo
    secret = "lic $(id) 'x'"
    argv = ["plan", str(repo), "--to", "meshy@stable-1.1", "--recipes", str(lib)]
    describe = tmp_path / "mr.md"
    assert main([*argv, "--set", f"secret_name={secret}", "--describe", str(describe)]) == 2
    expected = [
        ["flux", "get", "hr", "-n", "meshy", "meshy"],
        ["kubectl", "get", "secret", "-n", "meshy", secret],
        ["kubectl", "create", "secret", "generic", secret, "--dry-run=client", "-o", "yaml", ">",
         f"clusters/prod/my $mesh's/{secret}.yaml"],
    ]  # fmt: skip
    shown = _commands(capsys.readouterr().out)
    assert sorted(shown) == sorted(expected)
    markdown = describe.read_text()
    fenced = [
        shlex.split(line)
        for line in markdown.splitlines()
        if line.lstrip().startswith(("flux ", "kubectl "))
    ]
    assert sorted(fenced) == sorted(expected)


def _substitute_char_by_char(words: object, text: str) -> str:
    """The first implementation (a loop over every character), kept as the reference."""
    from engine.recipe.shellwords import _MARK, quote_in

    values = words.values  # type: ignore[attr-defined]
    out: list[str] = []
    state = ""
    i = 0
    while i < len(text):
        mark = _MARK.match(text, i)
        if mark:
            out.append(quote_in(state, values[int(mark.group(1))]))
            i = mark.end()
            continue
        char = text[i]
        if char == "\\" and state in ("", '"') and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if state == "":
            if char in ("'", '"'):
                state = char
            elif char == "#" and (i == 0 or text[i - 1] in " \t\n;|&("):
                state = "#"
        elif state == char or (state == "#" and char == "\n"):
            state = ""
        out.append(char)
        i += 1
    return "".join(out)


def test_substitute_skips_to_what_matters_and_says_the_same() -> None:
    # Issue 12: substitute walked every character in Python, 5,700 commands in a
    # 500-cluster split; it now jumps from one mark, quote, `#`, backslash or newline to
    # the next. Same answers as the character loop, on every mix of those.
    import itertools

    from engine.recipe.shellwords import ShellWords

    words = ShellWords()
    marks = [words.finalize(v) for v in HOSTILE]
    pieces = ["a", " ", "'", '"', "#", "\\", "\n", ";", "$x", marks[1], marks[5], marks[8], "\x00"]
    for size in range(1, 5):
        for combo in itertools.product(pieces, repeat=size):
            text = "".join(combo)
            assert words.substitute(text) == _substitute_char_by_char(words, text), repr(text)
