"""The one place where errors become messages and exit codes.

Exit codes (documented in README.md and docs/cli.md, tested in tests/test_cli.py):
0 success, nothing to do; 1 a user-fixable error (bad recipe, repo, target, stale plan);
2 `plan` found changes to make; 3 an unexpected error (a bug: please report it);
130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn, TextIO

from engine import interrupts
from engine.errors import WaypathError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


class Exit(Exception):
    """Raised by the boundary to end the process with a code (caught by cli.main)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _fail(code: int) -> NoReturn:
    raise Exit(code)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP (what `timeout`, CI cancellation and a closed terminal send),
    handled like Ctrl-C: every write in flight is rolled back."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class OutputError(WaypathError):
    """The standard output cannot be written (a full disk, a closed pipe)."""


class _Output:
    """sys.stdout for a command: a failed write is an OutputError (exit 1), not a bug."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:  # a file name that is not UTF-8: show its bytes
                raw = text.encode("utf-8", "surrogateescape")
                return self._stream.write(raw.decode("utf-8", "backslashreplace"))
        except OSError as exc:
            raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def command_output(stream: TextIO) -> TextIO:
    return _Output(stream)  # type: ignore[return-value]


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise one KeyboardInterrupt; later signals are ignored
    so that a second one cannot break the rollback the first one started. While a child
    process runs (engine/interrupts.py) the interrupt is raised once it has ended."""
    fired: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if fired:
            return
        fired.append(signum)
        interrupt = (
            KeyboardInterrupt()
            if signum == signal.SIGINT
            else Interrupted(signal.Signals(signum).name)
        )
        interrupts.fire(interrupt)
        if interrupts.deferring():
            interrupts.hold(interrupt)
            return
        raise interrupt

    previous_hook = sys.unraisablehook
    relayed: list[int] = []
    active = [True]

    def unraisable(info: sys.UnraisableHookArgs) -> None:
        # The interrupt was raised where Python can only print it and go on (a weakref
        # callback or __del__: importlib's module-lock clean-up during a lazy import):
        # swallowed, the run would not stop. The signal is sent again from a thread a
        # moment later (sent from here, its handler would raise inside this hook), and its
        # handler raises in the code that runs on.
        if isinstance(info.exc_value, KeyboardInterrupt) and fired and len(relayed) < 20:
            relayed.append(fired.pop())
            resend = threading.Timer(0.01, _resend, (relayed[-1], active))
            resend.daemon = True
            resend.start()
            return
        previous_hook(info)

    interrupts.reset()
    try:
        previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        active.clear()
        sys.unraisablehook = previous_hook
        for signum, old in previous.items():
            signal.signal(signum, old)


def _resend(signum: int, active: list[bool]) -> None:
    if active:  # the run has not ended meanwhile (else the default action would kill it)
        os.kill(os.getpid(), signum)


@contextmanager
def error_boundary() -> Iterator[None]:
    try:
        yield
    except Exit:
        raise
    except WaypathError as exc:
        print(exc.render(), file=sys.stderr)
        _fail(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except OSError as exc:
        if exc.filename is None:
            _unexpected()
        # The system refused a path the user gave or the run needed (a name too long, no
        # permission, a file where a folder must be): theirs to fix, not a bug. Writes
        # are all-or-nothing (apply's journal), so nothing is half-done.
        print(f"error: {_path(exc.filename)}: {exc.strerror or exc}", file=sys.stderr)
        print("hint: check that path (its name, its type and its permissions)", file=sys.stderr)
        _fail(EXIT_ERROR)
    except RuntimeError as exc:
        # Python 3.11's Path.resolve() raises RuntimeError, not OSError, on a symlink loop.
        if not str(exc).startswith("Symlink loop from "):
            _unexpected()
        print(f"error: {str(exc)[len('Symlink loop from ') :]}: a symlink loop", file=sys.stderr)
        print("hint: check that path (its name, its type and its permissions)", file=sys.stderr)
        _fail(EXIT_ERROR)
    except Exception:
        _unexpected()


def _interrupted(exc: BaseException) -> NoReturn:
    by = f" by {exc.name}" if isinstance(exc, Interrupted) else ""
    print(f"interrupted{by}; nothing half-written is left", file=sys.stderr)
    _fail(EXIT_INTERRUPTED)


def _path(name: object) -> str:
    text = os.fsdecode(name) if isinstance(name, str | bytes) else str(name)
    return text if len(text) <= 200 else text[:200] + "..."


def _unexpected() -> NoReturn:
    # A signal's interrupt that library code caught and re-raised as its own error (the
    # rollback ran: writes undo on any exception) is reported as what it was, not a bug.
    interrupt = interrupts.fired()
    if interrupt is not None:
        _interrupted(interrupt)
    print("error: an unexpected error occurred (this is a bug in Waypath)", file=sys.stderr)
    traceback.print_exc(file=sys.stderr)
    print("hint: please report it with the command you ran and the output above", file=sys.stderr)
    _fail(EXIT_UNEXPECTED)
