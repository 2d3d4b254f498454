"""How ``lmtui train`` shows a session: a live bar in a terminal, a plain progress line every few seconds
elsewhere (a log file, CI, a pipe), and a closing line that says where the session's time went.

An output that can no longer be written (a closed terminal, ``| head``) stops training like Ctrl+C: the
checkpoint is saved, and the rest of the session writes nowhere instead of failing.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from lmtui.control import Output
from lmtui.events import Eval, Event, Finished, NgramCounts, Note, Sample, Started, Step
from lmtui.visible import visible_markup as shown

HEADLESS_EVERY = 5.0  # seconds between plain progress lines when the output is not a terminal


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich exits the process here (status 1, nothing saved); training stops and saves instead."""
        raise BrokenPipeError


class TrainDisplay:
    def __init__(
        self, control: Any, stderr: bool = False, quiet: bool = False, console: Console | None = None
    ) -> None:
        self.console = console or _Console(stderr=stderr, quiet=quiet)
        self.output = Output(control, self.console.file)
        self.live = self.console.is_terminal and not quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.task: Any = None
        self.ngram = False
        self.last_line = 0.0

    def show(self, event: Event) -> None:
        if self.output.lost:
            return
        try:
            self._show(event)
        except (OSError, ValueError):  # the terminal or pipe went away: stop and save, quietly
            self.output.lose()
            self.console.quiet = True
            with contextlib.suppress(Exception):
                self.progress.stop()

    def _print(self, text: str) -> None:
        self.console.print(text)

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
                self._print(f"{info}  {event.elapsed:.1f} s  {min(event.progress, 1.0):.0%}")
        elif isinstance(event, Eval):
            bpc = f"  {event.bits_per_char:.3f} bits/char" if event.bits_per_char else ""
            star = "  (best)" if event.best else ""
            scope = f"  (slice of {event.tokens:,} tokens)" if event.scope == "slice" and event.tokens else ""
            self._print(
                f"step {event.step:>6}  val loss {event.val_loss:.4f} nats  "
                f"perplexity {event.val_ppl:.2f}{bpc}{star}{scope}"
            )
        elif isinstance(event, NgramCounts):
            counts = ", ".join(f"{n + 1}-grams {c:,}" for n, c in enumerate(event.counts))
            self._print(f"counted in {event.seconds:.2f} s: {counts}")
        elif isinstance(event, Sample):
            self._print("[dim]" + shown(event.text.strip()[:160].replace("\n", " ⏎ ")) + "[/]")
        elif isinstance(event, Note):
            self._print(f"[yellow]note:[/] {shown(event.message)}")
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
        for line in lines:
            self.show_text(line)

    def show_text(self, text: str) -> None:
        if self.output.lost:
            return
        try:
            self._print(text)
        except (OSError, ValueError):
            self.output.lose()
