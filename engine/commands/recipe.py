"""`waypath recipe ...`: tools for recipe authors (scaffold, lint, test, snapshot review)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from engine.error_handler import EXIT_ERROR, EXIT_OK
from engine.errors import UsageError
from engine.output.outfile import check_output, write_output
from engine.recipe.loading import recipe_json_schema


def schema(*, out: TextIO) -> int:
    out.write(json.dumps(recipe_json_schema(), indent=2) + "\n")
    return EXIT_OK


def where(*, out: TextIO) -> int:
    from engine.recipe.loading import bundled_recipes_dir

    out.write(f"{bundled_recipes_dir()}\n")
    return EXIT_OK


def lint(
    *, paths: Sequence[Path], recipe_dirs: Sequence[Path], out: TextIO, fmt: str = "text"
) -> int:
    from engine.authoring.libraries import effective_dirs
    from engine.authoring.lint import lint as run_lint
    from engine.authoring.lint import lint_target
    from engine.commands import report

    if paths:
        target = lint_target(paths, recipe_dirs)
        result = run_lint(target.libraries, components=target.components, report=target.report)
    else:
        result = run_lint(effective_dirs(recipe_dirs))
    errors, warnings = len(result.errors), len(result.problems) - len(result.errors)
    if fmt == "json":
        problems = [
            {"path": p.location.path, "line": p.location.line, "column": p.location.column,
             "code": p.code, "severity": p.severity, "message": p.message}
            for p in result.problems
        ]  # fmt: skip
        data = {"errors": errors, "warnings": warnings, "problems": problems}
        report.write(out, "recipe lint", {**data, "notes": result.notes})
        return EXIT_ERROR if errors else EXIT_OK
    for problem in result.problems:
        out.write(f"{problem}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    if errors:
        out.write(f"{errors} problem(s), {warnings} warning(s)\n")
        return EXIT_ERROR
    out.write(f"recipes ok ({warnings} warning(s))\n")
    return EXIT_OK


def test(*, recipe_name: str | None, update: bool, recipe_dirs: Sequence[Path], out: TextIO) -> int:
    from engine.authoring import casetest, libraries

    library = libraries.load(recipe_dirs)
    folders = [f.parent for c in library.components.values() for f in c.files]
    cases, recipe = casetest.select_cases(casetest.find_cases(folders), library, recipe_name)
    ran = failed = 0
    for case in cases:
        result = casetest.run_case(case, library)
        if not casetest.involves(result, recipe):
            continue
        ran += 1
        if update and not result.ok:
            libraries.check_writable(case.folder, "the recipe case")
            result = casetest.run_case(case, library, update=True)
        if result.updated:
            out.write(f"updated {case.name}\n")
        elif result.ok:
            out.write(f"ok      {case.name} ({' -> '.join(result.recipes) or 'no change'})\n")
        else:
            failed += 1
            out.write(f"FAILED  {case.name}\n")
            for failure in result.failures:
                out.write(failure if failure.endswith("\n") else failure + "\n")
    if not ran:
        out.write("no recipe cases found (see docs/authoring.md, 'Recipe cases')\n")
    out.write(f"{ran} case(s), {failed} failed\n")
    return EXIT_ERROR if failed else EXIT_OK


def new(
    *,
    component: str,
    from_release: str,
    to_release: str,
    old_values: Path | None,
    new_values: Path | None,
    recipe_dirs: Sequence[Path],
    out: TextIO,
) -> int:
    from engine.authoring.scaffold import new_recipe
    from engine.authoring.valuesdiff import summary_lines

    made = new_recipe(
        component=component,
        from_release=from_release,
        to_release=to_release,
        recipe_dirs=recipe_dirs,
        old_values=old_values,
        new_values=new_values,
    )
    copied = f" (copied from {made.template})" if made.template else ""
    out.write(f"wrote {made.recipe_path}{copied}\n")
    if made.release_added:
        out.write(f"added {to_release} to the releases of {made.component_path}\n")
    if made.values is not None:
        out.write("chart default values:\n")
        out.writelines(f"  {line}\n" for line in summary_lines(made.values))
    out.write(
        "next: fill in every TODO(waypath) marker, then run `waypath recipe lint` and "
        "`waypath recipe test` (docs/authoring.md)\n"
    )
    return EXIT_OK


def snapshot_report(
    *,
    out_file: Path | None,
    snapshots: Path,
    scenarios: str,
    recipe_dirs: Sequence[Path],
    out: TextIO,
) -> int:
    from engine.authoring import libraries, snapreport

    if not snapshots.is_dir():
        raise UsageError(
            f"snapshot folder {snapshots} does not exist",
            hint="run it from the root of the checkout that holds snapshots/, or give "
            "--snapshots DIR (docs/snapshots.md)",
        )
    if out_file is not None:
        out_file = check_output(out_file, "--out")
    rendered = snapreport.render_scenarios(scenarios, lambda: libraries.load(recipe_dirs))
    drift = snapreport.compare(rendered, snapshots)
    report = snapreport.render_report(drift, snapshots=snapshots.as_posix())
    if out_file is not None:
        write_output(out_file, report)
        out.write(f"snapshot report written to {out_file}\n")
    else:
        out.write(report)
    if drift.clean:
        return EXIT_OK
    out.write(f"{len(drift.files)} snapshot file(s) drifted, {len(drift.unused)} unused\n")
    return EXIT_ERROR
