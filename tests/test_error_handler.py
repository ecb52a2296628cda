"""The error boundary: what reaches the user for each kind of failure.

A signal's interrupt raised inside library code that catches what its callbacks raise
(pydantic-core turns it into PydanticSerializationError) is still an interrupt (exit 130),
not "an unexpected error" (exit 3): under load, SIGTERM during `apply --commit` landed in a
serializer and the kill test saw exit 3.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from pydantic import BaseModel, field_serializer

from engine.error_handler import (
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    Exit,
    error_boundary,
    signals_as_interrupts,
)


class _Signalling(BaseModel):
    x: int

    @field_serializer("x")
    def _ser(self, value: int) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return value


def test_an_interrupt_wrapped_by_pydantic_is_reported_as_interrupted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(Exit) as ended, error_boundary(), signals_as_interrupts():
        _Signalling(x=1).model_dump_json()
    assert ended.value.code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err == "interrupted by SIGTERM; nothing half-written is left\n"


def test_an_interrupt_swallowed_into_another_error_is_reported_as_interrupted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def library_call() -> None:
        try:
            os.kill(os.getpid(), signal.SIGHUP)
        except KeyboardInterrupt as exc:
            raise ValueError(f"callback failed: {exc!r}") from None

    with pytest.raises(Exit) as ended, error_boundary(), signals_as_interrupts():
        library_call()
    assert ended.value.code == EXIT_INTERRUPTED
    assert "interrupted by SIGHUP" in capsys.readouterr().err


def test_a_bug_without_a_signal_is_still_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exit) as ended, error_boundary(), signals_as_interrupts():
        raise ValueError("boom")
    assert ended.value.code == EXIT_UNEXPECTED
    assert "an unexpected error occurred" in capsys.readouterr().err


def test_a_signal_of_an_earlier_run_does_not_excuse_a_later_bug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(Exit), error_boundary(), signals_as_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
    capsys.readouterr()
    with pytest.raises(Exit) as ended, error_boundary(), signals_as_interrupts():
        raise ValueError("boom")
    assert ended.value.code == EXIT_UNEXPECTED


class _SignalsWhenCollected:
    """Sends SIGTERM from __del__: the interrupt is raised where Python only prints it
    (as importlib's module-lock weakref callback did during a lazy import under load)."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def test_an_interrupt_raised_where_python_ignores_it_still_stops_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    went_on = []
    with pytest.raises(Exit) as ended, error_boundary(), signals_as_interrupts():
        _SignalsWhenCollected()  # collected at once: its __del__ runs here
        time.sleep(5)  # the run going on (the resent signal ends the sleep)
        went_on.append(True)
    assert went_on == []
    assert ended.value.code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err == "interrupted by SIGTERM; nothing half-written is left\n"
