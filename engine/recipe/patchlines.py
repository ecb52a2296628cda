"""Implicit recipes for patch upgrades inside a release line (2.16.1 -> 2.16.5).

Written recipes cross release lines; moving to the newest patch of the line you are on
needs no migration, only new chart versions — the bump Renovate proposes most often. For
a component with `patch_upgrades: true` (the default) we generate, for every release line
with more than one known release, one recipe from the line's older releases to its
newest: every detected HelmRelease whose chart the target release ships gets that chart
version. Charts pinned by a range, or sourced by `chartRef`, are left as they are.
"""

from __future__ import annotations

from engine.recipe.models import Component, Recipe
from engine.recipe.versions import Catalog, Version

_BUMP = (
    "{{ to_release.charts.get(doc.spec.chart.spec.chart, doc.spec.chart.spec.version) }}"
)


def patch_recipe_id(target: Version) -> str:
    return f"{target.label}-patch"


def patch_recipes(component: Component, catalog: Catalog) -> list[Recipe]:
    if not component.patch_upgrades:
        return []
    lines: dict[tuple[str, int, int], list[Version]] = {}
    for version in catalog.releases:
        key = (version.edition, version.semver.major, version.semver.minor)
        lines.setdefault(key, []).append(version)
    recipes = []
    for (edition, major, minor), versions in sorted(lines.items()):
        newest = max(versions, key=lambda v: v.semver)
        if len(versions) < 2:
            continue
        steps = [
            {
                "id": f"bump-{detector.name}",
                "patch": {
                    "select": {"detector": detector.name, "required": detector.role == "core"},
                    "ops": [
                        {
                            "op": "replace",
                            "path": "/spec/chart/spec/version",
                            "value": _BUMP,
                            "optional": True,
                        }
                    ],
                },
            }
            for detector in component.detectors
        ]
        recipes.append(
            Recipe.model_validate(
                {
                    "apiVersion": "waypath.dev/v1",
                    "kind": "Recipe",
                    "id": patch_recipe_id(newest),
                    "component": component.name,
                    "from": {"edition": edition, "versions": f">={major}.{minor}.0 <{newest.semver}"},
                    "to": {"edition": edition, "version": str(newest.semver)},
                    "summary": f"Patch upgrade to {newest.label}: new chart versions, no migration",
                    "phases": [
                        {
                            "name": "bump",
                            "message": "{{ instance.component }}: upgrade to {{ to_release.label }}",
                            "gate": {
                                "wait": "every HelmRelease of {{ instance.component }} is Ready "
                                "at {{ to_release.label }}",
                                "check": [
                                    "flux get helmreleases -n {{ instance.namespace }}",
                                ],
                            },
                            "steps": steps,
                        }
                    ],
                }
            )
        )
    return recipes

