"""`helm template` of one release with its effective values, cached by content hash."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.verify.charts import ChartFile
from engine.verify.tools import Tool, parallel, run

if TYPE_CHECKING:
    from engine.verify.cache import VerifyCache

_KIND = re.compile(r"^kind: ", re.MULTILINE)
# Parts a chart generates anew on every render (webhook CAs and certs, their checksums,
# the heartbeat CronJob schedule taken from the clock).
_GENERATED = re.compile(
    r"^(\s*(?:caBundle|tls\.crt|tls\.key|ca\.crt|checksum/config|schedule):).*$", re.MULTILINE
)


def stable_output(output: str) -> str:
    """A render with its generated certificates blanked, so two renders compare equal
    when only those differ."""
    return _GENERATED.sub(r"\1 <generated>", output)


@dataclass(frozen=True)
class RenderOutcome:
    output: str
    error: str | None = None

    @property
    def objects(self) -> int:
        return len(_KIND.findall(self.output))


def render_key(tool: Tool, chart: ChartFile, release: str, namespace: str, values: Any) -> str:
    text = json.dumps(
        [tool.identity, chart.sha256, release, namespace, values], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def template(
    tool: Tool,
    chart: ChartFile,
    release: str,
    namespace: str,
    values: dict[str, Any],
    cache: VerifyCache,
) -> RenderOutcome:
    key = render_key(tool, chart, release, namespace, values)
    cache.stats["renders checked"] += 1
    outcome = cache.render(key)
    if outcome is None:
        outcome = _run(tool, chart, release, namespace, values)
        cache.put_render(key, outcome)
    return outcome


def prefetch(
    tool: Tool, jobs: list[tuple[ChartFile, str, str, dict[str, Any]]], cache: VerifyCache
) -> None:
    """Run the renders the cache lacks side by side."""
    missing = {}
    for chart, release, namespace, values in jobs:
        key = render_key(tool, chart, release, namespace, values)
        if key not in missing and cache.render(key) is None:
            missing[key] = partial(_run, tool, chart, release, namespace, values)
    for key, outcome in zip(missing, parallel(list(missing.values())), strict=True):
        cache.put_render(key, outcome)


def _run(
    tool: Tool, chart: ChartFile, release: str, namespace: str, values: dict[str, Any]
) -> RenderOutcome:
    assert tool.argv is not None
    with tempfile.TemporaryDirectory(prefix="waypath-helm-") as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(values, default=str), encoding="utf-8")
        argv = [*tool.argv, "template", release, str(chart.path), "--namespace", namespace]
        ran = run([*argv, "--values", str(values_file)])
    if ran.code != 0:
        message = ran.stderr.strip().replace(str(values_file), "<values>") or f"exit {ran.code}"
        return RenderOutcome("", message)
    return RenderOutcome(ran.stdout)
