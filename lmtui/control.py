"""How a training session is told to pause, resume or stop, and what happens when its output goes away.

Every way in sets the same ``training.Control`` flags, which the loop reads between steps: POSIX signals
(SIGINT, SIGTERM and SIGHUP stop, SIGUSR1/SIGUSR2 pause/resume, where the platform has them), lines on stdin
(``--control stdin``: the app's way, on every platform; end of stdin means the parent is gone), a parent that
died, and an output that can no longer be written (``| head``, a closed terminal). Stopping always means the
loop saves a checkpoint and says ``finished``: nothing is lost, and the run can be resumed.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import stat
import threading
import time
from typing import IO, Any

COMMANDS = ("pause", "resume", "stop")


class StopNow(KeyboardInterrupt):
    """A stop that cuts in at once where nothing would be lost (``Control.interruptible``: start-up, scoring).

    A KeyboardInterrupt, so whatever does not catch it ends the command as Ctrl+C does (exit status 130)."""


def _stop(control: Any, reason: str) -> None:
    control.reason, control.paused, control.stop = reason, False, True


def _cut_in(control: Any) -> None:
    """From another thread: make the main thread's signal handler raise StopNow, if it is interruptible now
    (the handler checks again, so a stretch that ended meanwhile is not cut)."""
    if getattr(control, "can_cut", False) and hasattr(signal, "SIGTERM"):
        with contextlib.suppress(Exception):
            _thread.interrupt_main(signal.SIGTERM)


def silence_terminal(fds: tuple[int, ...] = (0, 1, 2)) -> None:
    """After a hang-up: point whichever of ``fds`` are terminals at the null device.

    Checked with stat, not isatty(): on a hung-up terminal isatty() (tcgetattr) fails and says False.
    Pipes and files are left alone, so a reader still gets the closing lines.
    """
    for fd in fds:
        with contextlib.suppress(OSError):
            if stat.S_ISCHR(os.fstat(fd).st_mode):
                _silence(fd)


def _silence(fd: int) -> None:
    """Point a dead output (a closed pipe, a hung-up terminal) at the null device: later writes succeed."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, fd)
        os.close(null)


class Signals:
    """SIGINT/SIGTERM/SIGHUP stop training at the next step (a checkpoint is saved); SIGUSR1/2 pause/resume.

    Each signal is used only where the platform has it (Windows has neither SIGHUP nor SIGUSR1).
    """

    def __init__(self, control: Any):
        self.control = control
        self.old: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        control = self.control

        def stop(signum: int, _frame: Any) -> None:
            if control.stop and signum == signal.SIGINT and not control.can_cut:
                raise KeyboardInterrupt  # a second Ctrl+C: stop now
            if not control.stop:
                _stop(control, "interrupted" if signum == signal.SIGINT else "stopped")
            if control.can_cut:
                raise StopNow

        def hang_up(_signum: int, _frame: Any) -> None:
            # the terminal is gone: writing to it would fail, so the closing lines go nowhere instead
            silence_terminal((1, 2))
            _stop(control, "stopped")
            if control.can_cut:
                raise StopNow

        def pause(signum: int, _frame: Any) -> None:
            control.paused = signum == getattr(signal, "SIGUSR1", None)

        handlers = {"SIGINT": stop, "SIGTERM": stop, "SIGHUP": hang_up, "SIGUSR1": pause, "SIGUSR2": pause}
        for name, handler in handlers.items():
            sig = getattr(signal, name, None)
            if sig is not None:
                with contextlib.suppress(ValueError, OSError):  # not the main thread, or not settable here
                    self.old[sig] = signal.signal(sig, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)


def control_from_stdin(control: Any, stream: IO[str]) -> threading.Thread:
    """Read ``pause``/``resume``/``stop`` lines from ``stream`` on a thread; its end stops training too."""

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                command = line.strip().lower()
                if command == "pause":
                    control.paused = True
                elif command == "resume":
                    control.paused = False
                elif command == "stop":
                    _stop(control, "stopped")
                    _cut_in(control)
        if not control.stop:  # end of input: the parent closed it or died, so save and end
            _stop(control, "stopped")
            _cut_in(control)

    thread = threading.Thread(target=read, name="stdin-control", daemon=True)
    thread.start()
    return thread


def stop_when_orphaned(control: Any) -> None:
    """A child whose parent died (a crashed app) stops and saves, even while paused and writing nothing."""
    parent = os.getppid()

    def watch() -> None:
        while not control.stop:
            if os.getppid() != parent:
                _stop(control, "stopped")
                _cut_in(control)
            time.sleep(0.5)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


class Output:
    """Writes lines to a stream; when it cannot (``| head -1``, a closed terminal) training stops like Ctrl+C.

    The stream is then pointed at the null device, so the rest of the session (saving the checkpoint, the
    closing line) runs without a traceback and the exit status says "interrupted".
    """

    def __init__(self, control: Any, stream: IO[str]):
        self.control = control
        self.stream = stream
        self.lost = False

    def write(self, text: str) -> None:
        if self.lost:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # BrokenPipeError, EIO from a hung-up terminal, a closed file
            self.lose()

    def lose(self) -> None:
        """The output is gone: stop at the next step, and let later writes go nowhere."""
        self.lost = True
        with contextlib.suppress(OSError, ValueError):
            _silence(self.stream.fileno())
        if not self.control.stop:
            _stop(self.control, "interrupted")
