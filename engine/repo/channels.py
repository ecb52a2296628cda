"""Floating pins resolved as helm-controller resolves them: the newest chart version the
pin admits *from the source it names* (kustomize-flux.md §4). The source's URL says the
channel (stable, enterprise, edge: the component's `channels:`); a channel that no longer
publishes makes the answer certain, one that still publishes makes it the newest release
Waypath knows as of the catalog's date, which `--assume` can override."""

from __future__ import annotations

from dataclasses import dataclass

from engine.recipe.models import Channel, Component
from engine.recipe.versions import Catalog, Version


@dataclass(frozen=True)
class Resolution:
    version: Version | None
    explanation: str
    certain: bool  # False: newest known as of the catalog's date (--assume may differ)


def _norm(url: str) -> str:
    return url.strip().rstrip("/").lower()


def channel_of(component: Component, url: str | None) -> Channel | None:
    if not url:
        return None
    return next((c for c in component.channels if _norm(c.repository) == _norm(url)), None)


def resolve(
    component: Component,
    catalog: Catalog,
    channel: Channel,
    chart: str,
    pin: str,
    admits: list[Version],
) -> Resolution | None:
    """The release a floating pin installs from `channel`, or None if the catalog lists no
    release of that channel the pin admits."""
    mine = [
        v
        for v in admits
        if (release := catalog.release(v)) is not None
        and release.repository is not None
        and _norm(release.repository) == _norm(channel.repository)
    ]
    if not mine:
        return None
    newest = max(mine)
    said = (
        f"chart {chart} pin {pin} admits {len(admits)} releases; from the {channel.name} "
        f"channel ({channel.repository}) helm-controller installs the newest, {newest.label}"
    )
    if not channel.publishes:
        return Resolution(newest, f"{said} (the channel publishes no newer release)", True)
    date = f" as of {component.catalog_date}" if component.catalog_date else ""
    return Resolution(
        newest,
        f"{said}: the newest Waypath knows{date}; the channel still publishes, so state the "
        "running release with --assume if it is newer",
        False,
    )
