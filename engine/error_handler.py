"""The one place where errors become messages and exit codes.

Exit codes (documented in README.md and docs/cli.md, tested in tests/test_cli.py):
0 success, nothing to do; 1 a user-fixable error (bad recipe, repo, target, stale plan);
2 `plan` found changes to make; 3 an unexpected error (a bug: please report it);
130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

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


@contextmanager
def error_boundary() -> Iterator[None]:
    try:
        yield
    except Exit:
        raise
    except WaypathError as exc:
        print(exc.render(), file=sys.stderr)
        _fail(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        _fail(EXIT_INTERRUPTED)
    except Exception:
        print("error: an unexpected error occurred (this is a bug in Waypath)", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        print(
            "hint: please report it with the command you ran and the output above",
            file=sys.stderr,
        )
        _fail(EXIT_UNEXPECTED)
