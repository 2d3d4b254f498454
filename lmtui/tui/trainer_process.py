"""The training child process and the Textual messages its JSON lines become.

Training runs as ``python -m lmtui train … --events jsonl --control stdin`` in its own session: torch never
loads into the UI process, a crash in training cannot take the app down, and the UI only reads lines. The app
drives it with lines on its stdin (``pause``, ``resume``, ``stop``), which works on every platform; closing
stdin (the app ended, however) stops it too. A child started without ``--control stdin`` gets POSIX signals
instead (SIGUSR1 pauses, SIGUSR2 resumes, SIGTERM stops); the child obeys both. A stopped child saves its
checkpoint, says ``finished`` and exits within about two seconds; its full evaluation is left pending
(``lmtui eval NAME``).

The child is ``python -m lmtui trainer`` (lmtui/warm.py), given its job, the arguments of ``lmtui train``, as
one line on its stdin: started ahead of time it has torch loaded by then, and the first step comes at once;
started when needed it is given the job at once and reads it when its imports are done. Either way it runs the
job as ``lmtui train`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import deque
from collections.abc import Sequence

from textual.message import Message
from textual.message_pump import MessagePump

from lmtui.events import Event, parse_event
from lmtui.models import ModelConfig
from lmtui.threads import KEEP_CORES_ENV
from lmtui.training import TrainConfig
from lmtui.warm import is_ready_line, job_line

RECURRENT = ("rnn", "lstm", "gru")
TRAIN_FIELDS = ("batch_size", "seq_len", "k1", "lr", "clip", "eval_every")


class TrainerEvent(Message):
    """One event the child printed (Started, Step, Eval, Sample, NgramCounts, Note, Finished, Failed)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class TrainerExited(Message):
    """The child is gone; ``error`` is its one-line ``Error: …`` when it failed."""

    def __init__(self, returncode: int, error: str | None) -> None:
        super().__init__()
        self.returncode = returncode
        self.error = error


def _opt(name: str, value: object) -> list[str]:
    return [f"--{name.replace('_', '-')}", str(value)]


def train_argv(
    corpus: str, model: ModelConfig, train: TrainConfig, preset: str = "small", name: str | None = None,
    encoding: str | None = None,
) -> list[str]:
    """The ``lmtui train`` command for these configs: every value explicit, only options the family takes."""
    argv = [sys.executable, "-m", "lmtui", "train", corpus, "--events", "jsonl", "--control", "stdin",
            "--model", model.model, "--level", model.level, "--preset", preset]
    if model.model == "ngram":
        argv += _opt("order", model.order) + _opt("smoothing", model.smoothing)
        if model.smoothing == "add-k":
            argv += _opt("k", model.k)
    else:
        if model.model == "window":
            argv += _opt("context", model.context)
        argv += _opt("embed", model.embed) + _opt("hidden", model.hidden) + _opt("dropout", model.dropout)
        argv += _opt("softmax", model.softmax)
        if model.model in RECURRENT:
            argv += _opt("layers", model.layers)
            argv.append("--tie-weights" if model.tie_weights else "--no-tie-weights")
        if train.steps is not None:
            argv += _opt("steps", train.steps)
        if train.max_seconds is not None:
            argv += _opt("max_seconds", train.max_seconds)
        for field in TRAIN_FIELDS:
            value = getattr(train, field)
            if value is not None:
                argv += _opt(field, value)
        argv += _opt("device", train.device)
    argv += _opt("seed", train.seed)
    if model.level == "word":
        argv += _opt("max_vocab", train.max_vocab) + _opt("min_count", train.min_count)
    if name:
        argv += _opt("name", name)
    if encoding:
        argv += _opt("encoding", encoding)
    return argv


def resume_argv(name: str, max_seconds: float | None = None) -> list[str]:
    """Continue a run from its last checkpoint (its own corpus and model; optionally a new time budget)."""
    argv = [sys.executable, "-m", "lmtui", "train", "--resume", name, "--events", "jsonl"]
    argv += ["--control", "stdin"]
    if max_seconds is not None:
        argv += _opt("max_seconds", max_seconds)
    return argv


def job_args(argv: Sequence[str]) -> list[str] | None:
    """The arguments of ``lmtui train`` in a command made by ``train_argv`` or ``resume_argv``; None for any
    other command (a test's stand-in), which runs as it is."""
    argv = list(argv)
    return argv[4:] if argv[1:4] == ["-m", "lmtui", "train"] else None


async def _spawn(argv: Sequence[str]) -> asyncio.subprocess.Process:
    # A new session: the terminal's Ctrl+C / hang-up reach the app, which stops the child cleanly itself.
    # Training there chooses its threads from the free cores, keeping one for the app's UI.
    return await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1", KEEP_CORES_ENV: "1"},
    )


class TrainerChild:
    """A ``lmtui trainer`` child waiting for its job (loading torch, then ready), or a stand-in command.

    Only the app's asyncio subprocesses with pipes work here (a multiprocessing "spawn" process cannot be
    started inside a running Textual app). A child never given a job holds nothing: ``close`` ends it at once.
    """

    TRAINER = ("-m", "lmtui", "trainer")

    def __init__(self, process: asyncio.subprocess.Process, announces: bool = True) -> None:
        self.process = process
        self.given = False  # its job was sent (or it was closed): it is no longer waiting
        self._first = asyncio.ensure_future(self._read_first()) if announces else None

    @classmethod
    async def start(cls, argv: Sequence[str] | None = None) -> TrainerChild:
        """A new ``lmtui trainer`` child (or ``argv`` run as it is: it says no ready line)."""
        if argv is None:
            return cls(await _spawn([sys.executable, *cls.TRAINER]))
        return cls(await _spawn(argv), announces=False)

    async def _read_first(self) -> bytes:
        assert self.process.stdout is not None
        return await self.process.stdout.readline()

    async def first_line(self) -> bytes:
        """The line it printed first (the ready line, unless it failed before); b"" for a stand-in or if it
        ended without a word."""
        return await asyncio.shield(self._first) if self._first is not None else b""

    async def ready(self) -> bool:
        """Wait until it has loaded what training needs: True, or False if it ended before."""
        return is_ready_line(await self.first_line())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    @property
    def waiting(self) -> bool:
        """Alive and not yet given a job: it can take one."""
        return self.alive and not self.given

    def give(self, args: Sequence[str]) -> None:
        """Send the job: ``lmtui train``'s arguments."""
        assert self.process.stdin is not None
        self.given = True
        self.process.stdin.write(job_line(list(args)))

    def close(self) -> None:
        """End a child that was never given a job, at once: its stdin closes (which ends it once its imports
        are done, even if this process dies now) and it is told to terminate (it has nothing to save)."""
        if self.given:
            return
        self.given = True
        with contextlib.suppress(OSError, RuntimeError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()

    async def aclose(self) -> None:
        """``close`` and wait for it to be gone."""
        self.close()
        await self.process.wait()
        if self._first is not None:
            await asyncio.gather(self._first, return_exceptions=True)


class TrainerProcess:
    """Runs one training child and posts its events to ``target`` as messages.

    ``child`` is a ``lmtui trainer`` started ahead (the app keeps one waiting); without one, or if it has
    died, ``start`` starts a new one. Either way the child is given its job at once.
    """

    def __init__(self, argv: Sequence[str], target: MessagePump, child: TrainerChild | None = None) -> None:
        self.argv = list(argv)
        self.target = target
        self.offered = child
        self.child: TrainerChild | None = None
        self.warm = False  # the job went to the child started ahead
        self.process: asyncio.subprocess.Process | None = None
        self.paused = False
        self.run_name: str | None = None  # known once the child says "started" (or given when resuming)
        self._stderr: deque[str] = deque(maxlen=20)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        """Give the job to the child offered (if it still waits) or to a new one; a stand-in runs as it is."""
        args = job_args(self.argv)
        offered, self.offered = self.offered, None
        if args is not None and offered is not None and offered.waiting:
            child, self.warm = offered, True
        else:
            if offered is not None:
                await offered.aclose()
            child = await TrainerChild.start(None if args is not None else self.argv)
        if args is not None:
            child.give(args)
        self.child, self.process = child, child.process
        self._tasks = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]

    async def _read_stdout(self) -> None:
        assert self.child and self.process and self.process.stdout
        first = await self.child.first_line()
        pending = [first] if first and not is_ready_line(first) else []
        while line := (pending.pop() if pending else await self.process.stdout.readline()):
            event = parse_event(line.decode("utf-8", "replace"))
            if event is not None:
                self.target.post_message(TrainerEvent(event))
        code = await self.process.wait()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._tasks[1]), 2.0)
        self.target.post_message(TrainerExited(code, self.error if code else None))

    async def _read_stderr(self) -> None:
        assert self.process and self.process.stderr
        while line := await self.process.stderr.readline():
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    @property
    def error(self) -> str | None:
        """The child's last ``Error:`` line, or its last words on stderr (a traceback's last line)."""
        lines = [line for line in self._stderr if line.strip()]
        for line in reversed(lines):
            if line.startswith("Error:"):
                return line.removeprefix("Error:").strip()
        return lines[-1] if lines else None

    def _send(self, command: str, signal_name: str) -> bool:
        """Tell the child ``command`` on its stdin; by signal if it does not read stdin (or that failed)."""
        if not self.running:
            return False
        assert self.process is not None
        pipe = self.process.stdin
        if "--control" in self.argv and pipe is not None and not pipe.is_closing():
            try:
                pipe.write(f"{command}\n".encode())
                return True
            except (OSError, RuntimeError):  # the child is going: its pipe is closed
                pass
        sig = getattr(signal, signal_name, None)
        if sig is not None and os.name == "posix":  # elsewhere os.kill(SIGTERM) would kill it unsaved
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, sig)
        return True

    def pause(self) -> None:
        if self._send("pause", "SIGUSR1"):
            self.paused = True

    def resume(self) -> None:
        if self._send("resume", "SIGUSR2"):
            self.paused = False

    def stop(self) -> None:
        """Ask the child to stop: it saves its checkpoint, leaves the full evaluation pending, and exits."""
        self._send("stop", "SIGTERM")

    async def shutdown(self, timeout: float = 8.0) -> None:
        """Stop the child and wait for it; kill it if it does not finish within ``timeout`` seconds."""
        if self.process is None:
            return
        self.stop()
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.process.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def kill(self) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()  # type: ignore[union-attr]
