"""Command lines for every `waypath` command, as hypothesis strategies.

Each command's grammar (from engine/cli.py) lists its positionals and options with the
kind of value each takes; a drawn command line takes some of them, each with a value from
the pool of its kind — valid ones, option-looking ones, empty strings, unicode, bytes that
are not UTF-8 (as Python hands them over: surrogate escapes), paths outside the repo,
missing files, a FIFO, /dev/zero — in any order, sometimes with a stray flag. Conflicting
flags come from drawing several at once.

Paths are relative to the sandbox root (the working folder of a case; tests/fuzz/harness.py).
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import strategies as st

NON_UTF8 = "caf\udce9"  # the bytes b"caf\xe9" from argv, as Python decodes them
ODD = ["", " ", "-", "--", "-x", "--help", "--no-such-option", "é", NON_UTF8, "a\nb", "x" * 5000,
       "${HOME}", "$(touch outside/pwned)", "'", "*"]  # fmt: skip

# Paths a command reads. Not "/": a --recipes folder's component folders are read whole,
# and a first-level folder with YAML at its top (/tmp, on some machines) counts as one, so
# the time would depend on the machine (docs/security.md, what the harness does not reach).
PATHS_IN = [
    "repo", "lib", "lib/meshy", "inputs/plan.json", "inputs/values.yaml", "outside",
    "outside/bystander.txt", "outside/folder", "missing", "missing/deeper", "inputs/fifo",
    "/dev/zero", "/dev/null", "/etc/passwd", "repo/.git", "repo/clusters/prod/apps.yaml",
    "..", ".", "lib/meshy/component.yaml", "repo/clusters/prod", *ODD,
]  # fmt: skip
# Paths a command may write (each one the harness lets it change).
PATHS_OUT = [
    "work/out.txt", "work", "work/new-folder/x", "outside/bystander.txt", "outside/folder",
    "repo/clusters/prod/apps.yaml", "repo/new.md", "repo/.git/x", "repo", "inputs/fifo",
    "/dev/null", "/dev/full", "missing/x", "", "-", "--help", "é.md", NON_UTF8, "x" * 300,
]  # fmt: skip
REPOS = ["repo", "repo/clusters/prod", "lib", "outside", "missing", "inputs/plan.json",
         "inputs/fifo", "repo/.git", "", "-", "é", NON_UTF8]  # fmt: skip
TARGETS = ["meshy@stable-2.0", "meshy@stable-1.1", "meshy@pro-3.0.1", "meshy", "meshy@",
           "@stable-2.0", "meshy@stable-99", "meshy@stable-2.0.0.0", "meshy@>=1.0", "x@y@z",
           "linkerd@enterprise-2.16", "meshy@stable-1.0.0-rc.1+b", "meshy@v2", *ODD]  # fmt: skip
RELEASES = ["stable-1.1.0", "stable-2.0", "pro-3.0.0", "stable-99.0.0", "1.1.0", "meshy@stable-1.1.0",
            *ODD]  # fmt: skip
PAIRS = ["pause_prune=true", "pause_prune=maybe", "pause_prune=", "=", "=x", "novalue",
         "x=1", "a=b=c", "meshy=stable-1.0.0", "meshy@prod=stable-1.0.0",
         "meshy@clusters/prod=stable-1.0.0", "meshy@../..=stable-1.0.0", "meshy@nope=stable-1.0.0",
         "meshy=stable-99.0.0", f"meshy={NON_UTF8}", *ODD]  # fmt: skip
REFS = ["main", "HEAD", "HEAD~1", "HEAD~99", "--output=outside/pwned.txt", "-x", "main..HEAD",
        "@{-1}", ":/initial", "HEAD^{tree}", "refs/heads/main", "nonexistent", *ODD]  # fmt: skip
BRANCHES = ["feature", "main", "HEAD", "a b", "x..y", "x.lock", "a/b/c", "-x", "refs/heads/x",
            "é", NON_UTF8, "a" * 300, ""]  # fmt: skip
NAMES = ["prod", "nonprod", "nope", "origin", "meshy", "linkerd", *ODD]
AUTHORS = ["A U Thor <a@example.com>", "noemail", "<>", f"{NON_UTF8} <x@y>", "a\nb <x@y>", *ODD]
COMMANDS_RUN = ["false", "true", "/nonexistent/kustomize", "kubectl kustomize", "'unclosed", "",
                "-x", "outside/bystander.txt"]  # fmt: skip
MODULES = ["no.such.module", "os", "json", "outside/bystander.txt", "inputs/values.yaml",
           "missing.py", "inputs/fifo", "", "-", ".."]  # fmt: skip

POOLS: dict[str, list[str]] = {
    "in": PATHS_IN, "out": PATHS_OUT, "repo": REPOS, "target": TARGETS, "release": RELEASES,
    "pair": PAIRS, "ref": REFS, "branch": BRANCHES, "name": NAMES, "author": AUTHORS,
    "cmd": COMMANDS_RUN, "module": MODULES, "text": ODD,
}  # fmt: skip

RECIPES_OPT = ("--recipes", "in")
PLAN_OPTS = [("--set", "pair"), ("--assume", "pair"), ("--via", "release"),
             ("--allow-unsupported", None), RECIPES_OPT]  # fmt: skip
VERIFY_OPTS = [("--kustomize", "cmd"), ("--helm", "cmd"), ("--charts", "in"), ("--schemas", "in")]
COMMIT_OPTS = [("--branch", "branch"), ("--base", "ref"), ("--author", "author"),
               ("--push", "name"), ("--force-branch", None), ("--stack", None),
               ("--open", "text"), ("--open", None)]  # fmt: skip
ROLLOUT_OPTS = [("--describe", "out"), ("--wave", "name")]
FORMAT = [("--format", "text")]

# command words: (positionals, options); an option's kind None is a flag.
GRAMMAR: dict[tuple[str, ...], tuple[list[str], list[tuple[str, str | None]]]] = {
    ("detect",): (["repo"], [RECIPES_OPT, ("--assume", "pair"), *FORMAT]),
    ("plan",): (["repo"], [("--to", "target"), *PLAN_OPTS, *FORMAT, ("--diff", None),
                           ("--out", "out"), ("--verify", None), *VERIFY_OPTS, *ROLLOUT_OPTS]),
    ("verify",): (["repo"], [*VERIFY_OPTS, *FORMAT, ("--strict", None)]),
    ("apply",): (["repo", "in"], [("--to", "target"), *PLAN_OPTS, ("--allow-dirty", None),
                                  ("--commit", None), *ROLLOUT_OPTS, *COMMIT_OPTS, *FORMAT]),
    ("sync",): (["repo"], [RECIPES_OPT, ("--set", "pair"), ("--assume", "pair"),
                           ("--no-commit", None), ("--allow-dirty", None), *ROLLOUT_OPTS,
                           *COMMIT_OPTS, *FORMAT]),
    ("config", "schema"): ([], []),
    ("gate", "check"): (["repo"], [("--base", "ref"), ("--head", "ref"), ("--kubeconfig", "in"),
                                   ("--context", "name"), ("--cluster", "in")]),
    ("graph",): ([], [RECIPES_OPT, ("--component", "name"), *FORMAT]),
    ("recipe", "schema"): ([], []),
    ("recipe", "where"): ([], []),
    ("recipe", "new"): (["name"], [("--from", "release"), ("--to", "release"),
                                   ("--old-values", "in"), ("--new-values", "in"),
                                   ("--recipes", "out")]),
    ("recipe", "lint"): (["in"], [RECIPES_OPT, *FORMAT]),
    ("recipe", "test"): (["release"], [("--update", None), RECIPES_OPT]),
    ("recipe", "snapshot-report"): ([], [("--out", "out"), ("--snapshots", "in"),
                                         ("--scenarios", "module"), RECIPES_OPT]),
    ("demo",): ([], [("--to", "target"), ("--keep", "out")]),
    (): ([], [("--version", None), ("--help", None), ("-h", None)]),
}  # fmt: skip

# A command line that works, for each command that needs a repo or a library: half the
# drawn lines start from it, so the fuzzed options reach past the first check.
VALID = {
    ("detect",): ["repo", "--recipes", "lib"],
    ("plan",): ["repo", "--recipes", "lib", "--to", "meshy@stable-2.0"],
    ("verify",): ["repo"],
    ("apply",): ["repo", "--recipes", "lib", "--to", "meshy@stable-2.0"],
    ("sync",): ["repo", "--recipes", "lib"],
    ("gate", "check"): ["repo", "--base", "main"],
    ("recipe", "lint"): ["lib"],
    ("recipe", "test"): ["meshy", "--recipes", "lib"],
    ("recipe", "new"): ["meshy", "--recipes", "lib", "--from", "stable-2.0", "--to", "stable-2.1.0"],
}

# Options whose value a command writes (the harness lets these paths change).
WRITES = {"--out", "--describe", "--keep"}


def _value(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(POOLS[kind])


@st.composite
def command_line(draw: st.DrawFn, words: tuple[str, ...]) -> list[str]:
    positionals, options = GRAMMAR[words]
    parts: list[list[str]] = []
    if words in VALID and draw(st.booleans()):  # half the time from a command that works
        parts.extend([token] for token in VALID[words][:1])
        parts.extend(list(pair) for pair in pairwise(VALID[words][1:]) if pair[0].startswith("--"))
    for kind in positionals:
        if draw(st.booleans()):
            parts.append([draw(_value(kind))])
    for option, kind in draw(st.lists(st.sampled_from(options), max_size=5)) if options else []:
        parts.append([option] if kind is None else [option, draw(_value(kind))])
    if words == ("demo",) and not any(p[0] == "--to" for p in parts):
        # The whole demo is seconds of work: run it only to test a drawn --keep.
        keep = any(p[0] == "--keep" for p in parts)
        parts.append(["--to", "linkerd@enterprise-2.16" if keep else "meshy@stable-2.0"])
    if words == ("recipe", "snapshot-report") and not any(p[0] == "--scenarios" for p in parts):
        parts.append(["--scenarios", "no.such.module"])  # never the real report (minutes)
    if draw(st.integers(0, 9)) == 0:
        parts.append([draw(st.sampled_from(["--", "--bogus", "-q", "--format=json"]))])
    order = draw(st.permutations(range(len(parts))))
    return [*words, *(token for i in order for token in parts[i])]


def outputs_of(argv: list[str]) -> list[str]:
    """Sandbox-relative paths the command line names as outputs (they may change)."""
    writes = set(WRITES)
    if argv[:2] == ["recipe", "new"] or (argv[:2] == ["recipe", "test"] and "--update" in argv):
        writes.add("--recipes")
    return [value for option, value in pairwise(argv) if option in writes]


def writes_repo(argv: list[str]) -> bool:
    """apply and sync change the repo when they succeed; so does an output named in it."""
    inside = any(p == "repo" or p.startswith("repo/") for p in outputs_of(argv))
    return inside or (bool(argv) and argv[0] in ("apply", "sync"))


def needs_bundled(argv: list[str]) -> bool:
    """The commands about the bundled library itself (the others get the toy one only)."""
    return argv[:1] == ["demo"] or argv[:2] in (["recipe", "new"], ["recipe", "where"])
