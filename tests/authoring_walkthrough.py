"""The worked example of docs/authoring.md, shared by the in-process and the installed-wheel
tests: the doc's `sh` blocks, and the TODO filling a person would do by hand."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"
NEW_RECIPE = "enterprise-2.19-to-enterprise-2.20.yaml"


def sh_blocks() -> list[str]:
    """The walk-through's commands: every ```sh block of docs/authoring.md, in order."""
    return re.findall(r"^```sh\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)


def fill_todos(library: Path) -> None:
    """Step 2 of the guide, done by a program, on the files `recipe new` wrote."""
    component = library / "linkerd" / "component.yaml"
    text = component.read_text()
    text, count = re.subn(
        r"""notes: ["']TODO\(waypath\)[^\n]*""",
        "notes: Made-up release for the authoring guide.",
        text,
    )
    assert count == 1, text
    component.write_text(text)
    recipe = library / "linkerd" / NEW_RECIPE
    text = recipe.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("# ")) + "\n"
    text = re.sub(r'summary: "TODO\(waypath\)[^\n]*"', 'summary: "Bump BEL 2.19 to 2.20.2"', text)
    text = re.sub(
        r"description: \|\n  TODO\(waypath\)[^\n]*\n",
        "description: |\n  A chart-version bump (made-up release for the authoring guide).\n",
        text,
    )
    # 2.20 has no linkerd-jaeger to remove: delete the copied remove-jaeger phase
    start = text.index("  - name: remove-jaeger")
    text = text[:start] + text[text.index("  - name: control-plane") :]
    recipe.write_text(text)
