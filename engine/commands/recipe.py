"""`waypath recipe ...`: tools for recipe authors."""

from __future__ import annotations

import json
from typing import TextIO

from engine.error_handler import EXIT_OK
from engine.loading import recipe_json_schema


def schema(*, out: TextIO) -> int:
    out.write(json.dumps(recipe_json_schema(), indent=2) + "\n")
    return EXIT_OK
