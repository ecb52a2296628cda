"""Interrupts held back while a child process runs, raised when it has ended.

The signal handler (engine/error_handler.py) turns Ctrl-C, SIGTERM and SIGHUP into one
KeyboardInterrupt. Raised in the middle of `Popen.communicate`, that interrupt leaves the
exchange with the child half done: retrying it with the input raises ValueError ("Cannot
send input after starting communication", a `git commit -F -` under SIGHUP was exit 3),
retrying without may never send the rest, and not retrying kills or abandons a `git
commit` that leaves `.git/index.lock` behind. Inside `deferred()` the handler only holds
the interrupt; it is raised as the block ends, when the child has ended (git ends within
moments, or on the same Ctrl-C, which reaches its whole process group).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0
_held: BaseException | None = None
_fired: BaseException | None = None


def fire(interrupt: BaseException) -> None:
    """Remember the run's interrupt: library code that catches whatever its callbacks raise
    (pydantic-core reports a KeyboardInterrupt raised inside a serializer as
    PydanticSerializationError) turns it into another error, which is still the
    interrupt's doing, not a bug."""
    global _fired
    _fired = _fired or interrupt


def fired() -> BaseException | None:
    """The interrupt a signal raised (or held) in this run, if one did."""
    return _fired


def reset() -> None:
    global _fired, _held, _depth
    _fired = _held = None
    _depth = 0


def deferring() -> bool:
    """True inside `deferred()`: the signal handler holds its interrupt instead of raising."""
    return _depth > 0


def hold(interrupt: BaseException) -> None:
    global _held
    _held = _held or interrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Interrupts arriving inside are raised when the (outermost) block ends."""
    global _depth, _held
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _held is not None:
            interrupt, _held = _held, None
            raise interrupt
