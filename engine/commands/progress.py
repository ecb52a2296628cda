"""Progress of a long file scan: click's progress bar on stderr, on a terminal only.

The bar appears only for scans of many files and erases its own line when the scan ends
(or the program exits mid-scan), so the output that follows starts on a clean line and
pipes and CI logs never see it.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

MIN_FILES = 300  # below this a scan takes well under a second: no bar
_ERASE = "\r\033[K\033[?25h"  # back to column 0, clear the line, show the cursor again


class ScanProgress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if total < MIN_FILES:
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=total,
                label="scanning files",
                file=self.stream,
                show_pos=True,
                update_min_steps=max(1, total // 100),
            )
            self._bar.__enter__()
            atexit.register(self.close)
        self._bar.update(done - self._done)
        self._done = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar = None
            self.stream.write(_ERASE)
            self.stream.flush()


def scan_progress(stream: TextIO | None = None) -> Callable[[int, int], None] | None:
    """A progress callback for Workspace, or None when `stream` is not a terminal."""
    stream = sys.stderr if stream is None else stream
    return ScanProgress(stream) if stream.isatty() else None
