"""Fuzz target for the recipe loader: bytes in, only our error types out.

Long runs with atheris (coverage-guided; see docs/security.md):

    pip install atheris
    python tests/fuzz/fuzz_recipe_loader.py tests/fuzz/corpus -max_total_time=3600

Without atheris, tests/test_fuzz_recipe_loader.py drives `check_one` with hypothesis.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
COMPONENT = HERE / "corpus" / "component.yaml"
RECIPE_NAME = "stable-1.1-to-stable-2.0.yaml"


def check_one(data: bytes, workdir: Path) -> None:
    """Load a library whose one recipe file holds `data`; anything but WaypathError is a bug."""
    from engine.errors import WaypathError
    from engine.recipe.loading import load_library

    folder = workdir / "meshy"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(COMPONENT, folder / "component.yaml")
    (folder / RECIPE_NAME).write_bytes(data)
    try:
        library = load_library([workdir], include_bundled=False)
    except WaypathError as exc:
        exc.render()  # rendering the message must not fail either
        return
    for source in library.recipes.values():
        assert source.recipe is not None


def main() -> None:  # pragma: no cover - needs atheris
    import atheris

    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="waypath-fuzz-"))

    def one_input(data: bytes) -> None:
        check_one(data, workdir)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
