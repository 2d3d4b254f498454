"""After a hang-up, Textual's writer thread may die on a write to the dead terminal with its queue full; the
driver's close() would then wait for it forever. The app's watchdog unblocks it whenever it dies."""

from __future__ import annotations

import threading

import pytest
from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

from lmtui.tui.app import unblock_dead_writer, watch_hang_up


class DeadTerminal:
    """A file whose writes fail as a hung-up terminal's do."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")

    def flush(self) -> None:
        raise OSError(5, "Input/output error")

    def fileno(self) -> int:
        return -1


@pytest.fixture
def dead_writer(monkeypatch: pytest.MonkeyPatch) -> WriterThread:
    """Textual's writer, dead of its first write, with its queue then filled by the app's frames."""
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # its death is expected here
    writer = WriterThread(DeadTerminal())  # type: ignore[arg-type]
    writer.start()
    writer.write("first frame")
    writer.join(60)  # returns as soon as it has died
    assert not writer.is_alive()
    for _ in range(MAX_QUEUED_WRITES):
        writer.write("a frame nobody reads")
    assert writer._queue.full()
    return writer


def test_a_close_blocked_on_a_dead_writer_is_released(dead_writer: WriterThread) -> None:
    closing = threading.Thread(target=dead_writer.stop, daemon=True)  # what the driver's close() calls
    closing.start()
    closing.join(0.3)
    assert closing.is_alive(), "the close should be blocked on the full queue"
    assert unblock_dead_writer(dead_writer)
    closing.join(60)
    assert not closing.is_alive()
    for _ in range(3 * MAX_QUEUED_WRITES):  # later frames do not block either
        dead_writer.write("another frame")


def test_a_live_writer_is_left_alone() -> None:
    written: list[str] = []

    class Terminal:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    writer = WriterThread(Terminal())  # type: ignore[arg-type]
    writer.start()
    queue_before = writer._queue
    assert not unblock_dead_writer(writer)
    assert writer._queue is queue_before
    writer.write("frame")
    writer.stop()
    assert written == ["frame"]
    assert not unblock_dead_writer(None)


def test_the_watchdog_releases_a_blocked_close_then_ends_the_process(
        dead_writer: WriterThread, monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("lmtui.tui.app.os._exit", exits.append)
    closing = threading.Thread(target=dead_writer.stop, daemon=True)
    closing.start()
    watch_hang_up(dead_writer, grace=0.3, every=0.01)
    closing.join(60)
    assert not closing.is_alive()
    assert exits == [129]
