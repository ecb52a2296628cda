from __future__ import annotations

import pytest

from engine.planning.planmodel import Note, Notes


def test_notes_keep_order_and_drop_repeats_without_scanning(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fleet's split commit holds a note per cluster: adding one must not compare it with
    # every note already there (issue 12: that scan was quadratic). Count the comparisons.
    compared = 0
    original = Note.__eq__

    def counting(self: Note, other: object) -> bool:
        nonlocal compared
        compared += 1
        return original(self, other)

    monkeypatch.setattr(Note, "__eq__", counting)
    notes = Notes()
    for i in range(300):
        notes.add(Note(f"restart cluster-{i}", commands=[f"kubectl rollout restart -n c{i}"]))
        notes.add(Note("rotate the trust anchor", commands=["step certificate create"]))
    notes.add(Note("rotate the trust anchor", commands=["step certificate create"], unverified=True))
    assert len(notes) == 302
    assert notes[0].title == "restart cluster-0" and notes[1].title == "rotate the trust anchor"
    assert notes[-1].unverified and notes[-2].title == "restart cluster-299"
    assert compared == 0
