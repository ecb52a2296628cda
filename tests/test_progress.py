"""Scan progress (engine/commands/progress.py): a bar on a terminal that erases itself."""

from __future__ import annotations

import io

from engine.commands.progress import MIN_FILES, ScanProgress, scan_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_outside_a_terminal() -> None:
    assert scan_progress(io.StringIO()) is None
    assert isinstance(scan_progress(Terminal()), ScanProgress)


def test_the_bar_erases_its_line_when_the_scan_ends() -> None:
    screen = Terminal()
    progress = ScanProgress(screen)
    total = MIN_FILES * 2
    for done in range(1, total + 1):
        progress(done, total)
        if done == total // 2:
            assert "scanning files" in screen.getvalue()
            assert f"{total // 2}/{total}" in screen.getvalue()
    shown = screen.getvalue()
    assert shown.endswith("\r\033[K\033[?25h")  # line cleared, cursor back, no newline left
    assert "\n" not in shown
    progress.close()  # at exit too: nothing more once closed
    assert screen.getvalue() == shown


def test_short_scans_show_nothing() -> None:
    screen = Terminal()
    progress = ScanProgress(screen)
    for done in range(1, 11):
        progress(done, 10)
    assert screen.getvalue() == ""
