"""The training dashboard: live curves, speed and ETA, what the model writes now; pause, resume, stop.

Events come from the training child (``trainer_process``); the charts are redrawn on a timer, not per
event, so a fast stream of steps never floods the UI, and only while the dashboard is on screen: a hidden
dashboard keeps the data and plots it once when it is shown again (a screen switch stays cheap).
"""

from __future__ import annotations

import re
import time

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import Header, ProgressBar, Static

from lmtui.errors import LmtuiError
from lmtui.events import Eval, Failed, Finished, GradientReach, NgramCounts, Note, Sample, Started, Step
from lmtui.options import app_words
from lmtui.tui.data import duration, human_bytes, unk_note
from lmtui.tui.modes import ModeScreen
from lmtui.tui.trainer_process import TrainerEvent, TrainerExited, TrainerProcess
from lmtui.tui.widgets.charts import LineChart
from lmtui.tui.widgets.footer import KeyBar
from lmtui.tui.widgets.gradient_reach import GradientReachChart, fit, set_line
from lmtui.tui.widgets.sample_view import SampleView
from lmtui.visible import visible_line

IDLE = "No model is training. Press F2 to choose a text and a model, or F5 to resume a run."
REASONS = {"steps": "step budget reached", "time": "time budget used", "stopped": "stopped",
           "interrupted": "interrupted", "done": "done", "overfit": "stopped early: validation loss rising"}
CHARTS = ("loss", "ppl", "grad")
TITLES = {"loss": "Loss (nats/token)", "ppl": "Validation perplexity", "grad": "Gradient norm",
          "sample": "What it writes now"}
RUNNING = ("starting", "training", "paused", "stopping")
BORDER_LABEL_MARGIN = 6  # a border label is shown whole within the box's width less this ("╭─ " … " ─╮")
SLICE, FULL = "slice", "whole split"  # the perplexity chart's two series (of the validation text)
PPL_TITLES = ("Validation perplexity (lower is better)", "Perplexity (lower is better)",
              "Perplexity ↓ is better", TITLES["ppl"])
EXPLODED = re.compile(r"exploding gradients(?::.*?| at) step (\d+)")  # lmtui.divergence's words


class TrainingScreen(ModeScreen):
    """Shows one training run at a time, from the child's events (and a resumed run's history)."""

    SUB_TITLE = "Training"
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause/resume", tooltip="Pause or resume training"),
        Binding("s", "stop", "Stop", tooltip="Stop training; the best checkpoint is kept"),
        Binding("g", "playground", "Playground", tooltip="Sample from this run's best checkpoint"),
        Binding("c", "next_chart", "Next chart", tooltip="Show the next chart (a short terminal shows one)"),
        Binding("v", "toggle_reach", "Gradient reach",
                tooltip="Switch the gradient panel: global norm, or gradient reaching k steps back"),
    ]
    # Below 30 rows the three charts take turns (C) beside the sample, so each keeps enough rows to read.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    def __init__(self) -> None:
        super().__init__()
        self.trainer: TrainerProcess | None = None
        self.run_name: str | None = None
        self.started: Started | None = None
        self.status = "idle"
        self.last_step: Step | None = None
        self.best_ppl: float | None = None
        self.last_ppl: float | None = None
        self.chart = "loss"  # the chart shown when only one fits
        self.sample_step: int | None = None  # the step "What it writes now" shows
        self.clip_note = ""  # "clip 1: 25% of recent steps clipped", under the gradient-norm chart's title
        self.clip_short = ""  # "clip 1: 25% clipped", where the panel is narrow
        self.explosion = ""  # "exploded at step 38": the gradient-norm panel's title says it once it happens
        self.stopping_since: float | None = None
        self._last_reach: GradientReach | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(IDLE, id="run-line")
        with Horizontal(id="progress-row"):
            yield Static("idle", id="status")
            yield ProgressBar(total=1.0, show_eta=False, id="progress")
        yield Static("", id="numbers")
        with Grid(id="charts"):
            for name in CHARTS:
                with Vertical(id=f"{name}-box", classes="panel chart-box"):
                    yield LineChart(id=f"{name}-chart")
                    if name == "grad":  # V switches the panel to the gradient reaching k steps back
                        yield GradientReachChart(id="reach-chart")
            with Vertical(id="sample-box", classes="panel"):
                yield SampleView("The model's writing appears here after each evaluation.", id="sample")
        with Vertical(id="ngram-box", classes="panel"):
            yield Static("", id="ngram-counts")
        yield Static("", id="message")
        yield KeyBar()

    def on_mount(self) -> None:
        loss = self.query_one("#loss-chart", LineChart)
        loss.add_series("train", "bright_blue")
        loss.add_series("validation", "bright_magenta", marker="●")  # a mark at each evaluation
        ppl = self.query_one("#ppl-chart", LineChart)
        ppl.add_series(SLICE, "bright_magenta", marker="●")
        ppl.add_series(FULL, "bright_green", marker="◆")
        self.query_one("#grad-chart", LineChart).add_series("|g|", "yellow")
        self.query_one("#grad-chart", LineChart).add_series("clip", "red")
        self.query_one("#reach-chart").display = False
        self.query_one("#ngram-box").display = False
        self._titles()
        self.show_chart("loss")
        self.set_interval(0.3, self.redraw)
        self.set_interval(1.0, self._stopping_tick)

    def _titles(self) -> None:
        short = self.has_class("-short")
        for name in (*CHARTS, "sample"):
            box = self.query_one(f"#{name}-box")
            box.border_title = TITLES[name] + (" (C: next)" if short and name in CHARTS else "")
        ppl = self.query_one("#ppl-box")  # perplexity: says which way is good, as far as the border holds it
        room = ppl.outer_size.width - BORDER_LABEL_MARGIN if ppl.outer_size.width else 0
        ppl.border_title = fit([t + (" (C: next)" if short else "") for t in PPL_TITLES], room)
        if self.sample_step is not None:  # a resize re-titles the boxes: the sample's step stays
            self.query_one("#sample-box").border_title = f"{TITLES['sample']} (step {self.sample_step:,})"
        for name in CHARTS:
            chart = self.query_one(f"#{name}-chart", LineChart)
            self.query_one(f"#{name}-box").border_subtitle = chart.legend()
        self._grad_titles(short)

    def _grad_titles(self, short: bool) -> None:
        """The gradient panel's title and legend: what it shows now (the norm, or the gradient reaching
        back, with the window it was measured over), the longest that its border holds."""
        box = self.query_one("#grad-box")
        room = box.outer_size.width - BORDER_LABEL_MARGIN if box.outer_size.width else 0
        suffix = " (C: next)" if short else ""
        reach = self.query_one("#reach-chart", GradientReachChart)
        if reach.display:
            e = self._last_reach
            titles = reach.titles(e.norms if e else None, e.note if e else "")
            box.border_subtitle = fit(reach.subtitles(e.norms if e else None, e.warmup if e else 0,
                                                      bool(e and e.note)), room)
        else:
            blown = [f"{TITLES['grad']} · {self.explosion}", f"|g| {self.explosion}"]
            blown = blown if self.explosion else []
            notes = [n for n in (self.clip_note, self.clip_short) if n]
            titles = [*blown, *(f"{TITLES['grad']} · {n}" for n in notes), TITLES["grad"]]
        box.border_title = fit([t + suffix for t in titles], room)

    def on_resize(self) -> None:
        self.call_after_refresh(self._titles)

    def show_chart(self, name: str) -> None:
        self.chart = name
        for other in CHARTS:
            self.query_one(f"#{other}-box").set_class(other == name, "-current")
        # replot at its new size: a hidden chart was last drawn (ticks spaced) for no width at all
        self.call_after_refresh(self.query_one(f"#{name}-chart", LineChart).redraw, True)

    def action_next_chart(self) -> None:
        self.show_chart(CHARTS[(CHARTS.index(self.chart) + 1) % len(CHARTS)])

    def redraw(self) -> None:
        """Replot the charts whose data changed, only while they can be seen."""
        if not self.is_current:
            return
        for chart in self.query(LineChart):
            chart.redraw()

    def on_screen_resume(self) -> None:
        # after the screen's first frame: the switch draws at once, the new points follow a frame later
        self.call_after_refresh(self.redraw)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause and Stop only while a child trains; Next chart only when the charts take turns."""
        if action in ("toggle_pause", "stop"):
            return bool(self.trainer and self.trainer.running and self.status in ("training", "paused"))
        if action == "next_chart":
            return self.has_class("-short") and bool(self.query_one("#charts").display)
        if action == "toggle_reach":  # an n-gram model has no gradients: V is neither shown nor offered
            return bool(self.query_one("#charts").display)
        return True

    # -- starting -------------------------------------------------------------------------------------------

    async def begin(self, argv: list[str], resume: str | None = None) -> None:
        """Clear the dashboard and start a training child with ``argv``."""
        for chart in self.query(LineChart):
            chart.reset()
        self.query_one("#sample", SampleView).clear()
        self.sample_step, self.clip_note, self.clip_short, self._last_reach = None, "", "", None
        self.explosion = ""
        self.redraw()  # clean axes at once, not the previous run's until the first point
        self._titles()
        self.query_one("#ngram-box").display = False
        self.query_one("#charts").display = True
        self.run_name, self.started, self.last_step = resume, None, None
        self.best_ppl = self.last_ppl = None
        self.stopping_since = None
        self.query_one("#progress", ProgressBar).update(progress=0)
        self.query_one("#numbers", Static).update("")
        self._message("")
        self._status("starting")
        self.query_one("#run-line", Static).update(
            Text(f"Resuming {resume}…" if resume else "Starting: reading the text, building the model…"))
        if resume:
            self.load_history(resume)
        take = getattr(self.app, "take_trainer_child", None)  # a child started ahead, torch loaded
        self.trainer = TrainerProcess(argv, self, take() if take else None)
        self.trainer.run_name = resume
        self.app.trainer = self.trainer  # type: ignore[attr-defined]
        try:
            await self.trainer.start()
        except OSError as exc:
            self._fail(f"could not start training: {exc}")

    @work(thread=True, exclusive=True, group="history")
    def load_history(self, name: str) -> None:
        """A resumed run's curve carries on from its past steps and evaluations."""
        from lmtui.runs import load_run

        try:
            past = load_run(name).history()
        except LmtuiError:
            return
        self.app.call_from_thread(self._history, past)

    def _history(self, past: list[dict]) -> None:
        loss, ppl, grad = (self.query_one(f"#{n}-chart", LineChart) for n in ("loss", "ppl", "grad"))
        for e in past:
            if e.get("event") == "step":
                loss.add("train", e["step"], e.get("train_loss"))
                grad.add("|g|", e["step"], e.get("grad_norm"))
            elif e.get("event") == "eval":
                loss.add("validation", e["step"], e.get("val_loss"))
                ppl.add(ppl_series(e.get("scope", "full")), e["step"], e.get("val_ppl"))
            elif e.get("event") == "gradient_reach" and isinstance(e.get("norms"), list):
                warmup = e.get("warmup")
                self._reach(GradientReach(e["step"], e["norms"], e.get("note", ""),
                                          warmup if isinstance(warmup, int) else 0))

    # -- events from the child ------------------------------------------------------------------------------

    def on_trainer_event(self, message: TrainerEvent) -> None:
        event = message.event
        if isinstance(event, Started):
            self._started(event)
        elif isinstance(event, Step):
            self._step(event)
        elif isinstance(event, Eval):
            self._eval(event)
        elif isinstance(event, GradientReach):
            self._reach(event)
        elif isinstance(event, Sample):
            self.sample_step = event.step
            self._titles()
            self.query_one("#sample", SampleView).set_text(event.text)
        elif isinstance(event, NgramCounts):
            self._counts(event)
        elif isinstance(event, Note):
            self._message(f"note: {app_words(event.message)}", "warning")  # in the form's words, not flags
            self._explosion(event.message)
        elif isinstance(event, Finished):
            self._finished(event)
        elif isinstance(event, Failed):
            self._fail(event.message)
            self._explosion(event.message)

    def on_trainer_exited(self, message: TrainerExited) -> None:
        if self.status == "stopping" and self.started is None:  # stopped while it was still starting up
            self._status("ended", "stopped")
            self._message("Stopped before training began: nothing was saved.")
        elif message.returncode != 0 and self.status != "failed":
            self._fail(message.error or f"training stopped unexpectedly (exit status {message.returncode})")
        elif self.status in ("starting", "training", "paused", "stopping"):
            self._status("ended")

    def _started(self, e: Started) -> None:
        self.started, self.run_name = e, e.run
        if self.trainer:
            self.trainer.run_name = e.run
        budget = [f"{e.max_seconds:g} s"] if e.max_seconds else []
        budget += [f"{e.max_steps:,} steps"] if e.max_steps else []
        what = "n-gram entries" if e.model == "ngram" else "parameters"
        size = f"{e.parameters:,} {what} ({human_bytes(e.size_bytes)})"
        self.query_one("#run-line", Static).update(Text.assemble(
            (visible_line(e.run), "bold"),
            f" · {e.model} ({e.level}) on {visible_line(e.corpus)} · {size} · vocabulary {e.vocab_size:,}"
            f" · {e.train_tokens:,} training tokens · {e.device}" + (f" ({e.compute})" if e.compute else ""),
            f" · budget {' / '.join(budget)}" if budget else "",
            f" · resuming at step {e.start_step:,}" if e.start_step else ""))
        # why that many threads: in the tooltip, so the line keeps to two rows at 80 columns
        why = f"CPU threads: {e.threads_why}" if e.threads_why else None
        self.query_one("#run-line", Static).tooltip = why
        if e.model == "ngram":
            self.query_one("#charts").display = False
            self.query_one("#ngram-box").display = True
            self.query_one("#ngram-box").border_title = "Counts (an n-gram model trains in one pass)"
            self.query_one("#ngram-counts", Static).update("counting…")
        self._status("training")

    def _step(self, e: Step) -> None:
        self.last_step = e
        self.query_one("#loss-chart", LineChart).add("train", e.step, e.train_loss)
        grad = self.query_one("#grad-chart", LineChart)
        grad.add("|g|", e.step, e.grad_norm)
        clip = self.started.clip if self.started else None
        if clip:  # the clipping threshold as a line, and the share of recent steps that went over it
            set_line(grad, "clip", grad.first_x("|g|"), e.step, clip)
            note = f"clip {clip:g}: {e.clipped:.0%} of recent steps clipped" if e.clipped is not None else ""
            if note and note != self.clip_note:  # re-titling repaints every box: only when it says more
                self.clip_note, self.clip_short = note, f"clip {clip:g}: {e.clipped:.0%} clipped"
                self._titles()
        self.query_one("#progress", ProgressBar).update(progress=min(e.progress, 1.0))
        self._numbers()

    def _eval(self, e: Eval) -> None:
        self.query_one("#loss-chart", LineChart).add("validation", e.step, e.val_loss)
        self.query_one("#ppl-chart", LineChart).add(ppl_series(e.scope), e.step, e.val_ppl)
        self.last_ppl = e.val_ppl
        if e.best:
            self.best_ppl = e.val_ppl
        self._numbers()

    def _numbers(self) -> None:
        e = self.last_step
        parts = []
        if e is not None:
            eta = "–" if e.eta is None else duration(e.eta)
            parts += [f"step [b]{e.step:,}[/]", f"loss [b]{e.train_loss:.3f}[/]", f"|g| {e.grad_norm:.2f}",
                      f"lr {e.lr:.2g}", f"[b]{e.tokens_per_s:,.0f}[/] tokens/s",
                      f"elapsed {duration(e.elapsed)}"]
            if self.status in ("starting", "training", "paused"):  # no time left to estimate once it ends
                parts.append(f"ETA {eta}")
        if self.last_ppl is not None:
            best = f" (best {self.best_ppl:.2f})" if self.best_ppl is not None else ""
            unk = unk_note(self.started.level, self.started.val_unk_rate) if self.started else ""
            parts.append(f"val perplexity [b]{self.last_ppl:.2f}[/]{best}{unk}")
        set_line_text(self.query_one("#numbers", Static), "  ·  ".join(parts))

    def _counts(self, e: NgramCounts) -> None:
        table = Table(title=f"{e.order}-gram model: counted in {e.seconds:.2f} s", title_justify="left",
                      box=None, padding=(0, 2), min_width=60, caption_justify="left")
        table.add_column("n", justify="right")
        table.add_column("distinct n-grams", justify="right")
        if e.unseen:  # sparsity by order (lmtui.lab.sparsity): longer contexts are mostly never seen
            table.add_column("unseen in validation", justify="right")
            table.add_column("size", justify="right")
        for n, count in enumerate(e.counts, 1):
            extra = [f"{e.unseen[n - 1]:.1%}", human_bytes(e.bytes[n - 1])] if e.unseen else []
            table.add_row(str(n), f"{count:,}", *extra)
        if self.started:
            s = self.started
            table.caption = (f"stored entries: {s.parameters:,} · size {human_bytes(s.size_bytes)} · "
                             f"vocabulary {s.vocab_size:,}")
        self.query_one("#ngram-counts", Static).update(table)

    def _finished(self, e: Finished) -> None:
        ngram = self.started is not None and self.started.model == "ngram"
        if e.reason in ("stopped", "interrupted") and not ngram:
            self.query_one("#progress", ProgressBar).update(progress=self.last_step.progress if self.last_step
                                                            else 0)
        else:
            self.query_one("#progress", ProgressBar).update(progress=1.0)
        stopped = e.reason in ("stopped", "interrupted")
        # the seconds from S to the saved checkpoint (the dashboard counted them while it waited)
        saved = "" if self.stopping_since is None else f" in {time.monotonic() - self.stopping_since:.1f} s"
        self._status("finished", "stopped" if stopped else None)
        self.stopping_since = None
        test = f", test perplexity {e.test_ppl:.2f}" if e.test_ppl else ""
        unk = unk_note(self.started.level, self.started.val_unk_rate) if self.started else ""
        val = f"validation perplexity {e.val_ppl:.2f}{unk}" if e.val_ppl else "no validation score"
        if e.val_ppl is None and ngram and not e.eval_pending:  # unsmoothed (mle) counts
            val = "validation perplexity infinite: some tokens got probability 0 (lmtui eval says how many)"
        if e.eval_pending and e.val_scope == "slice" and e.val_ppl:
            val = f"validation perplexity {e.val_ppl:.2f} on a {e.val_slice_tokens or 0:,}-token slice{unk}"
            test = f" (the whole splits: F5, then E, or `lmtui eval {e.run}`)"
        elif e.eval_pending:
            val, test = "its full evaluation is pending", f" (F5, then E, or `lmtui eval {e.run}`)"
        if ngram:
            how = f"counted in {duration(e.elapsed)}"
        else:
            how = f"{REASONS.get(e.reason, e.reason)} after {e.step:,} steps, {duration(e.elapsed)}"
        if stopped:  # not "finished", and no tick: it ended because it was stopped, with its checkpoint saved
            after = "" if ngram else f" after {e.step:,} steps, {duration(e.elapsed)}"
            self._message(f"■ {e.run} {REASONS[e.reason]}{after} (checkpoint saved{saved}): {val}{test}. "
                          "Press G to sample from it.")
        else:
            self._message(f"✓ {e.run} finished ({how}): {val}{test}. Press G to sample from it.", "success")
        if ngram:
            set_line_text(self.query_one("#numbers", Static), f"{val}{test}")
        else:
            self._numbers()  # without the ETA
        if self.app.screen is not self:  # here the message line says it already
            self.notify(f"{val}{test}", title=f"{e.run} {REASONS[e.reason] if stopped else 'finished'}")

    def _reach(self, e: GradientReach) -> None:
        chart = self.query_one("#reach-chart", GradientReachChart)
        chart.show(e.step, e.norms)
        self._last_reach = e
        if chart.display:
            self._titles()

    def _explosion(self, message: str) -> None:
        """Exploding gradients (lmtui.divergence): the gradient-norm chart, whose spike shows them, comes into
        view and its title names the step."""
        found = EXPLODED.match(message)
        if found is None:
            return
        self.explosion = f"exploded at step {int(found.group(1)):,}"
        if self.query_one("#reach-chart").display:
            self.action_toggle_reach()  # (re-titles)
        if self.has_class("-short"):
            self.show_chart("grad")
        self._titles()

    def action_toggle_reach(self) -> None:
        reach, grad = self.query_one("#reach-chart"), self.query_one("#grad-chart")
        reach.display, grad.display = not reach.display, reach.display
        self._titles()

    def _fail(self, message: str) -> None:
        message = app_words(message)  # the child speaks the command line's words
        self._status("failed")
        self._message(f"✗ Training failed: {message}", "error")
        self.notify(message, title="Training failed", severity="error", timeout=10)

    def _status(self, status: str, label: str | None = None) -> None:
        self.status = status
        pill = self.query_one("#status", Static)
        pill.update(label or status)
        pill.set_classes(f"status-{status}")
        self.refresh_bindings()
        if self.last_step is not None and status not in ("training", "paused"):
            self._numbers()  # the ETA goes once training stops

    def _stopping_tick(self) -> None:
        """While the child saves and ends, say for how long: a stop is never a silent wait."""
        if self.status == "stopping" and self.stopping_since is not None:
            waited = time.monotonic() - self.stopping_since
            self._message(f"Stopping: saving the checkpoint and ending the training process… {waited:.0f} s")

    def _message(self, text: str, kind: str = "") -> None:
        widget = self.query_one("#message", Static)
        widget.update(Text(visible_line(text)))  # it names runs and relays the child's errors
        widget.set_classes(kind)

    # -- actions --------------------------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if not (self.trainer and self.trainer.running) or self.status not in ("training", "paused"):
            self.notify("Nothing is training right now.")
            return
        if self.trainer.paused:
            self.trainer.resume()
            self._status("training")
        else:
            self.trainer.pause()
            self._status("paused")

    def action_stop(self) -> None:
        if not (self.trainer and self.trainer.running):
            self.notify("Nothing is training right now.")
            return
        if self.trainer.paused:
            self.trainer.resume()
        self.trainer.stop()
        self._status("stopping")
        self.stopping_since = time.monotonic()
        self._stopping_tick()

    async def action_playground(self) -> None:
        if not self.run_name:
            self.notify("Train a model first (F2), or open a run from Runs (F5).")
            return
        if self.status in ("starting", "training", "paused") and self.best_ppl is None:
            self.notify("No checkpoint yet: the first evaluation saves one.")
            return
        await self.app.open_playground(self.run_name)  # type: ignore[attr-defined]


def set_line_text(widget: Static, markup: str) -> None:
    """Update a height-auto text line, with a layout pass only when its height may change: while it fits
    on one row, new numbers each step (every few milliseconds) only repaint that row."""
    width = widget.content_region.width
    fits = Content.from_markup(markup).cell_length <= width  # read as the Static will read it
    widget.update(markup, layout=not (fits and widget.size.height == 1))


def ppl_series(scope: str) -> str:
    """Evaluations on a fixed slice of the validation split (during training) and on all of it (at the end)
    are different measures: the chart keeps them apart."""
    return SLICE if scope == "slice" else FULL
