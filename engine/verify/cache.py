"""Results of builds and renders by content hash, shared by every state verify checks: a
plan's commits repeat most of their parent's state, and a test session repeats fixtures.

With a `directory`, results are also kept on disk (one JSON file per key), so a second
run reuses them; keys hash every input (files, values, chart bytes, the tool binary), so
an entry never goes stale, it is only not found.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.verify.build import BuildOutcome, BuiltObject
from engine.verify.helm import RenderOutcome

if TYPE_CHECKING:
    from engine.verify.discovery import Obj

FORMAT = 1  # of the files on disk; bump when what is stored changes


@dataclass
class VerifyCache:
    directory: Path | None = None
    builds: dict[str, BuildOutcome] = field(default_factory=dict)
    renders: dict[str, RenderOutcome] = field(default_factory=dict)
    schema: dict[str, list[str]] = field(default_factory=dict)
    # build key + variables -> parsed objects and unresolved (origin, variable) pairs
    parsed: dict[str, tuple[list[Obj], list[tuple[str, str]]]] = field(default_factory=dict)
    # "builds run"/"renders run": tool processes; "builds checked"/"renders checked": results
    # the verified states used (a cached one counts again each time)
    stats: Counter[str] = field(default_factory=Counter)

    def build(self, key: str) -> BuildOutcome | None:
        if key not in self.builds and (raw := self._load("build", key)) is not None:
            objects = [BuiltObject(o["origin"], o["text"]) for o in raw["objects"]]
            self.builds[key] = BuildOutcome(objects, raw["error"])
        return self.builds.get(key)

    def put_build(self, key: str, outcome: BuildOutcome) -> None:
        self.builds[key] = outcome
        self.stats["builds run"] += 1
        objects = [{"origin": o.origin, "text": o.text} for o in outcome.objects]
        self._store("build", key, {"objects": objects, "error": outcome.error})

    def render(self, key: str) -> RenderOutcome | None:
        if key not in self.renders and (raw := self._load("render", key)) is not None:
            self.renders[key] = RenderOutcome(raw["output"], raw["error"])
        return self.renders.get(key)

    def put_render(self, key: str, outcome: RenderOutcome) -> None:
        self.renders[key] = outcome
        self.stats["renders run"] += 1
        self._store("render", key, {"output": outcome.output, "error": outcome.error})

    def _load(self, kind: str, key: str) -> Any:
        if self.directory is None:
            return None
        try:
            return json.loads(
                (self.directory / f"{kind}-v{FORMAT}-{key}.json").read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return None

    def _store(self, kind: str, key: str, data: Any) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.directory / f"{kind}-v{FORMAT}-{key}.json")
