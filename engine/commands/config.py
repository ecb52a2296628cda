"""`waypath config ...`: the waypath.yaml file of a user's repo."""

from __future__ import annotations

import json
from typing import TextIO

from engine.error_handler import EXIT_OK
from engine.repo.config import RepoConfig

SCHEMA_ID = "https://waypath.dev/schemas/waypath-config.schema.json"


def config_json_schema() -> dict[str, object]:
    """JSON Schema (2020-12) of waypath.yaml, generated from the pydantic model."""
    return {
        **RepoConfig.model_json_schema(by_alias=True),
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "waypath.yaml",
        "description": "Desired release per component and rollout waves of a Flux repo. Put "
        "`# yaml-language-server: $schema=<path or URL of this file>` at the top of "
        "waypath.yaml to have editors check it.",
    }


def schema(*, out: TextIO) -> int:
    out.write(json.dumps(config_json_schema(), indent=2) + "\n")
    return EXIT_OK
