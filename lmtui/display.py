"""How ``lmtui train`` shows a session: a live bar in a terminal, a plain progress line every few seconds
elsewhere (a log file, CI, a pipe), and a closing line that says where the session's time went.

What the session made goes to stdout: the run line, each evaluation, samples, the closing lines. How it is
going goes to stderr: the bar or progress lines, and notes. So ``lmtui train … > log`` keeps the record and
the terminal shows the progress. Neither stream is wrapped at a width unless it is a terminal.

An output that can no longer be written (a closed terminal, ``| head``) stops training like Ctrl+C: the
checkpoint is saved, and the rest of the session writes nowhere instead of failing. Since stdout may go
minutes without a line now (progress goes to stderr), whether its reader is still there is asked of the
system about once a second while training.
"""

from __future__ import annotations

import contextlib
import math
import select
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from lmtui.control import Output
from lmtui.events import Eval, Event, Finished, NgramCounts, Note, Sample, Started, Step
from lmtui.timing import PATIENCE_EVALS, PATIENCE_PASSES
from lmtui.visible import visible_markup as shown

HEADLESS_EVERY = 5.0  # seconds between plain progress lines when the output is not a terminal
PROBE_EVERY = 1.0  # seconds between asking whether stdout's reader is still there


def reader_gone(stream: Any) -> bool:
    """Has the reader of this pipe gone (``| head -1`` took its line)? Asked without writing: poll reports an
    error or hang-up on a pipe whose read end is closed (and a hung-up terminal). A file: never."""
    try:
        poll = select.poll()
        poll.register(stream.fileno(), select.POLLOUT)
        ready = poll.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll (Windows), no descriptor (a test's stream)
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in ready)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich exits the process here (status 1, nothing saved); training stops and saves instead."""
        raise BrokenPipeError


def _stream_console(stderr: bool, quiet: bool) -> Console:
    """Soft-wrapped (never broken at 80 columns) where the stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    return _Console(stderr=stderr, quiet=quiet, soft_wrap=not stream.isatty())


class TrainDisplay:
    """``console``: where results go (stdout; stderr with --json, which prints its own result); ``progress``:
    where the bar, progress lines and notes go (stderr; ``console`` too when only that is given)."""

    def __init__(
        self,
        control: Any,
        stderr: bool = False,
        quiet: bool = False,
        console: Console | None = None,
        progress: Console | None = None,
    ) -> None:
        self.console = console or _stream_console(stderr, quiet)
        self.err = progress or (console if console is not None else _stream_console(True, quiet))
        self.output = Output(control, self.console.file)
        self.live = self.err.is_terminal and not quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=False,
            # results printed while the bar is live pass above it, when they go to the same terminal; to a
            # file they go straight there
            redirect_stdout=self.console.is_terminal,
        )
        self.task: Any = None
        self.ngram = False
        self.last_line = 0.0
        self.infinite = False  # the last evaluation's loss was infinite (a probability-0 token)
        self.last_probe = 0.0

    def show(self, event: Event) -> None:
        if self.output.lost:
            return
        if isinstance(event, Step) and time.monotonic() - self.last_probe >= PROBE_EVERY:
            self.last_probe = time.monotonic()
            if reader_gone(self.console.file):
                self.output.lose()
                self.console.quiet = self.err.quiet = True
                return
        try:
            self._show(event)
        except (OSError, ValueError):  # the terminal or pipe went away: stop and save, quietly
            self.output.lose()
            self.console.quiet = self.err.quiet = True
            with contextlib.suppress(Exception):
                self.progress.stop()

    def _print(self, text: str) -> None:
        self.console.print(text)

    def _aside(self, text: str) -> None:
        self.err.print(text)

    def _show(self, event: Event) -> None:
        if isinstance(event, Started):
            self.ngram = event.model == "ngram"
            self._print(
                f"[bold]{shown(event.run)}[/]: {event.model} ({event.level}) on {shown(event.corpus)}, "
                f"{event.parameters:,} parameters, vocabulary {event.vocab_size:,}, "
                f"{event.train_tokens:,} training tokens, device {event.device}"
                + (f" ({event.compute}{': ' + event.threads_why if event.threads_why else ''})"
                   if event.compute else "")
                + (f", resuming at step {event.start_step}" if event.start_step else "")
            )
            if event.model != "ngram" and self.live:
                self.progress.start()  # only now: an early error leaves no empty progress line behind
                self.task = self.progress.add_task("training", total=1.0, info="")
        elif isinstance(event, Step):
            info = (
                f"step {event.step}  loss {event.train_loss:.3f}  |g| {event.grad_norm:.2f}  "
                f"{event.tokens_per_s:,.0f} tok/s"
            )
            if self.task is not None:
                self.progress.update(self.task, completed=event.progress, info=info)
            elif not self.live and time.monotonic() - self.last_line >= HEADLESS_EVERY:
                self.last_line = time.monotonic()
                self._aside(f"{info}  {event.elapsed:.1f} s  {min(event.progress, 1.0):.0%}")
        elif isinstance(event, Eval):
            finite = math.isfinite(event.val_loss)
            self.infinite = not finite
            bpc = f"  {event.bits_per_char:.3f} bits/char" if event.bits_per_char else ""
            star = "  (best)" if event.best and finite else ""  # an infinite loss is no best of anything
            scope = f"  (slice of {event.tokens:,} tokens)" if event.scope == "slice" and event.tokens else ""
            ppl = f"{event.val_ppl:.2f}" if math.isfinite(event.val_ppl) else "∞"
            loss = f"val loss {event.val_loss:.4f} nats  perplexity {ppl}"
            self._print(f"step {event.step:>6}  {loss}{bpc}{star}{scope}")
        elif isinstance(event, NgramCounts):
            counts = ", ".join(f"{n + 1}-grams {c:,}" for n, c in enumerate(event.counts))
            self._print(f"counted in {event.seconds:.2f} s: {counts}")
        elif isinstance(event, Sample):
            self._print("[dim]" + shown(event.text.strip()[:160].replace("\n", " ⏎ ")) + "[/]")
        elif isinstance(event, Note):
            self._aside(f"[yellow]note:[/] {shown(event.message)}")
        elif isinstance(event, Finished) and self.task is not None:
            self.progress.update(self.task, completed=1.0)  # the bar ends full, whichever budget ended it

    def close(self) -> None:
        if self.task is not None:
            with contextlib.suppress(OSError, ValueError):
                self.progress.stop()

    def closing(self, finished: Finished) -> None:
        """The last lines: scores (or how to get them), where the time went, and how to continue."""
        name = shown(finished.run)
        if finished.eval_pending and finished.val_scope == "slice" and finished.val_ppl:
            score = (
                f"validation perplexity {finished.val_ppl:.2f} on a {finished.val_slice_tokens or 0:,}-token "
                f"slice (the whole validation and test splits: lmtui eval {name})"
            )
        elif finished.eval_pending:
            score = f"validation and test perplexity pending (score them with: lmtui eval {name})"
        else:
            test = f", test perplexity {finished.test_ppl:.2f}" if finished.test_ppl else ""
            score = f"validation perplexity {finished.val_ppl:.2f}{test}" if finished.val_ppl else "no score"
            if not finished.val_ppl and self.infinite:
                score = "validation perplexity ∞ (tokens of probability 0: unsmoothed counts give none)"
        steps = "one counting pass" if self.ngram else f"{finished.step} steps"
        lines = [f"[bold green]{name}[/]: {score} after {steps} ({finished.reason})"]
        if finished.session_seconds is not None:
            parts = (finished.startup_seconds, finished.training_seconds, finished.eval_seconds)
            start, training, evaluation = (p or 0.0 for p in parts)
            lines.append(
                f"{finished.session_seconds:.1f} s: {start:.1f} s start, {training:.1f} s training, "
                f"{evaluation:.1f} s evaluation"
            )
        if finished.reason in ("interrupted", "stopped"):
            lines.append(f"checkpoint saved; continue with: lmtui train --resume {name}")
        elif finished.reason == "overfit":
            lines.append(
                f"stopped early: the validation loss had not improved for {PATIENCE_EVALS} evaluations and "
                f"{PATIENCE_PASSES} passes over the training text (the text is short for this model); the "
                "run keeps its best weights"
            )
        for line in lines:
            self.show_text(line)

    def show_text(self, text: str) -> None:
        if self.output.lost:
            return
        try:
            self._print(text)
        except (OSError, ValueError):
            self.output.lose()
