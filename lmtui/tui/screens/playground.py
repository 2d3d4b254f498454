"""The playground: prime a trained model, tune temperature / top-k / top-p, stream a sample, share it.

The model loads in a thread (torch is imported there, never on the event loop); generation streams pieces
from a thread worker; the next-token panel follows what you type, debounced, in its own worker.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import get_current_worker

from lmtui import sharing
from lmtui.errors import LmtuiError
from lmtui.sampling import SampleSettings, generate, predict_next
from lmtui.tui.widgets.next_token import NextTokenBars
from lmtui.tui.widgets.sample_view import SampleView

NO_RUN = "No model open. Press F5 to pick a trained run, or F2 to train one."
MAX_TEMPERATURE = 3.0


class PlaygroundScreen(Screen[None]):
    """Sample from one run; Enter in the prime (or Ctrl+G) generates."""

    CSS_PATH = "playground.tcss"
    SUB_TITLE = "Playground"
    BINDINGS = [
        Binding("ctrl+g", "generate", "Generate", tooltip="Write a sample from the prime"),
        Binding("up", "temperature(0.1)", "Temp +", key_display="↑", show=False, tooltip="Warmer: +0.1"),
        Binding("down", "temperature(-0.1)", "Temp −", key_display="↓", show=False, tooltip="Cooler: -0.1"),
        Binding("escape", "cancel", "Stop", show=False, tooltip="Stop generating"),
        Binding("ctrl+s", "save", "Save", tooltip="Save the sample as .txt and .md in the run's samples/"),
        Binding("ctrl+y", "copy", "Copy", tooltip="Copy the sample to the clipboard"),
        Binding("ctrl+o", "card", "SVG card", tooltip="Export the sample as an SVG card"),
        Binding("f7", "explain", "Why?", tooltip="Why each token: context, counts, backoff, surprise"),
        Binding("f8", "neurons", "Neurons", tooltip="Colour the text by one hidden unit (char runs)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.opened: Any = None  # the open lmtui.runs.Run
        self.tokenizer: Any = None
        self.model: Any = None
        self.temperature = 0.8
        self.record: sharing.SampleRecord | None = None
        self.saved_stem: str | None = None
        self.generating = False
        self._predict_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(NO_RUN, id="run-line")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="Prime: text the sample continues (\\n: new line); Enter generates",
                            id="prime")
                with Horizontal(id="settings"):
                    yield Static("", id="temperature")
                    yield Label("top-k")
                    yield Input(placeholder="off", type="integer", id="top-k")
                    yield Label("top-p")
                    yield Input(placeholder="off", type="number", id="top-p")
                    yield Label("length")
                    yield Input("300", type="integer", id="length")
                    yield Label("seed")
                    yield Input(placeholder="random", type="integer", id="seed")
                yield Static("", id="settings-error", classes="problem")
                with Vertical(id="sample-box", classes="panel"):
                    yield SampleView("Press Enter or Ctrl+G to generate.", id="sample")
                yield Static("", id="share-status", classes="hint")
            with Vertical(id="next-box", classes="panel"):
                yield NextTokenBars("", id="next")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sample-box").border_title = "Sample"
        self.query_one("#next-box").border_title = "Next token"
        self._show_temperature()
        self.query_one("#prime", Input).focus()

    # -- opening a run --------------------------------------------------------------------------------------

    def open_run(self, name: str) -> None:
        self.opened = self.model = self.tokenizer = self.record = None
        self.saved_stem = None
        self.query_one("#run-line", Static).update(Text(f"Loading {name}…", style="italic"))
        self.query_one("#sample", SampleView).clear()
        self.query_one("#next", NextTokenBars).update("")
        self.query_one("#share-status", Static).update("")
        self._load(name)

    @work(thread=True, exclusive=True, group="load")
    def _load(self, name: str) -> None:
        from lmtui.runs import load_run

        try:
            run = load_run(name)
            tokenizer, model = run.tokenizer(), run.load_model()
        except LmtuiError as exc:
            self.app.call_from_thread(self._load_failed, name, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, run, tokenizer, model)

    def _load_failed(self, name: str, message: str) -> None:
        self.query_one("#run-line", Static).update(Text(f"✗ Cannot open {name}: {message}", style="bold red"))

    def _loaded(self, run: Any, tokenizer: Any, model: Any) -> None:
        self.opened, self.tokenizer, self.model = run, tokenizer, model
        s = run.summary()
        ppl = f" · validation perplexity {s['val_ppl']:.2f}" if s.get("val_ppl") else ""
        self.query_one("#run-line", Static).update(Text.assemble(
            (run.name, "bold"), f" · {sharing.SampleRecord.from_run(run, SampleSettings(), '').model_line()}"
            f" · trained on {s['corpus']}{ppl}"))
        self.schedule_predict(0)

    # -- settings -------------------------------------------------------------------------------------------

    def _show_temperature(self) -> None:
        greedy = " greedy" if self.temperature == 0 else ""
        self.query_one("#temperature", Static).update(
            Text.assemble("temp ", (f"{self.temperature:.1f}", "bold"), greedy, (" ↑↓", "dim")))

    def action_temperature(self, delta: float) -> None:
        self.temperature = round(min(MAX_TEMPERATURE, max(0.0, self.temperature + delta)), 1)
        self._show_temperature()

    @property
    def prime(self) -> str:
        return self.query_one("#prime", Input).value.replace("\\n", "\n")

    def settings(self) -> SampleSettings | None:
        """The form's settings, checked by the engine; None (and a message shown) when they are wrong."""
        def number(selector: str, kind: type) -> Any:
            raw = self.query_one(selector, Input).value.strip()
            return kind(raw) if raw else None

        error = self.query_one("#settings-error", Static)
        try:
            settings = SampleSettings(self.temperature, number("#top-k", int), number("#top-p", float),
                                      number("#length", int) or 0, self.prime, None, number("#seed", int))
            settings.validate()
        except ValueError:
            error.update("✗ top-k, top-p, length and seed must be numbers")
            return None
        except LmtuiError as exc:
            error.update(Text(f"✗ {exc}"))
            return None
        error.update("")
        return settings

    @on(Input.Changed, "#settings Input")
    def _setting_changed(self) -> None:
        self.settings()

    # -- next-token panel -----------------------------------------------------------------------------------

    @on(Input.Changed, "#prime")
    def _prime_changed(self) -> None:
        self.schedule_predict()

    def schedule_predict(self, delay: float = 0.25) -> None:
        """Debounce: predict once typing pauses, not on every key."""
        if self._predict_timer is not None:
            self._predict_timer.stop()
        if self.model is not None:
            self._predict_timer = self.set_timer(
                max(delay, 0.01), lambda: self._predict(self.prime, self.model, self.tokenizer))

    @work(thread=True, exclusive=True, group="predict")
    def _predict(self, context: str, model: Any, tokenizer: Any) -> None:
        predictions = predict_next(model, tokenizer, context, 10)
        unknown = tokenizer.unknown(context)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._predicted, context, predictions, unknown)

    def _predicted(self, context: str, predictions: list, unknown: list[str]) -> None:
        if context == self.prime:
            self.query_one("#next", NextTokenBars).show(predictions, unknown)
            self.query_one("#next-box").border_title = "Next token" + (" after the prime" if context else "")

    # -- generating -----------------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_generate()

    def action_generate(self) -> None:
        if self.model is None:
            self.notify(NO_RUN)
            return
        settings = self.settings()
        if settings is None:
            self.app.bell()
            return
        if settings.seed is None:  # every sample gets a seed, so every sample can be reproduced
            settings.seed = secrets.randbelow(1_000_000)
        view = self.query_one("#sample", SampleView)
        view.set_text("", settings.prime)
        self.record, self.saved_stem = None, None
        self.query_one("#share-status", Static).update(Text(f"writing… (seed {settings.seed}; Esc stops)"))
        self.generating = True
        self._generate(settings, self.model, self.tokenizer, view)

    @work(thread=True, exclusive=True, group="generate")
    def _generate(self, settings: SampleSettings, model: Any, tokenizer: Any, view: SampleView) -> None:
        worker = get_current_worker()
        text, buffer, last = [], [], time.monotonic()
        for piece in generate(model, tokenizer, settings):
            if worker.is_cancelled:
                break
            text.append(piece)
            buffer.append(piece)
            if time.monotonic() - last > 0.03:  # ~30 updates a second, however fast the model is
                self.app.call_from_thread(view.append, "".join(buffer))
                buffer, last = [], time.monotonic()
        if buffer and not worker.is_cancelled:
            self.app.call_from_thread(view.append, "".join(buffer))
        if not worker.is_cancelled:
            self.app.call_from_thread(self._generated, settings, "".join(text))

    def _generated(self, settings: SampleSettings, text: str) -> None:
        self.generating = False
        self.record = sharing.SampleRecord.from_run(self.opened, settings, text)
        self.query_one("#sample", SampleView).set_text(text, settings.prime)
        self.query_one("#share-status", Static).update(Text(
            f"seed {settings.seed} · Ctrl+S saves it · Ctrl+Y copies it · Ctrl+O exports an SVG card"))

    def action_cancel(self) -> None:
        if self.generating:
            self.workers.cancel_group(self, "generate")
            self.generating = False
            self.query_one("#share-status", Static).update("stopped")

    # -- sharing --------------------------------------------------------------------------------------------

    def _need_record(self) -> sharing.SampleRecord | None:
        if self.record is None:
            self.notify("Generate a sample first (Enter or Ctrl+G).")
        return self.record

    def action_save(self) -> None:
        record = self._need_record()
        if record is None:
            return
        try:
            txt, md = sharing.save_sample(record, self.opened.path / "samples")
        except OSError as exc:
            self.notify(str(exc), title="Could not save", severity="error")
            return
        self.saved_stem = txt.stem
        self.query_one("#share-status", Static).update(Text(f"saved {txt} and {md.name}"))
        self.notify(str(md.parent), title=f"Saved {txt.name} and {md.name}")

    def action_copy(self) -> None:
        record = self._need_record()
        if record is not None:
            self.app.copy_to_clipboard(record.full_text)
            self.notify("Copied the sample (your terminal must allow clipboard access, OSC 52).")

    def action_card(self) -> None:
        record = self._need_record()
        if record is None:
            return
        try:
            path = sharing.save_card(record, self.opened.path / "samples", self.saved_stem)
        except OSError as exc:
            self.notify(str(exc), title="Could not export", severity="error")
            return
        self.query_one("#share-status", Static).update(Text(f"card saved as {path}"))
        self.notify(str(path), title="SVG card saved")

    # -- the lab: why this word, what a neuron tracks (lmtui.tui.screens.lab) --------------------------------

    def _lab_text(self) -> str | None:
        """The prime and the sample after it: what the lab views read."""
        if self.opened is None:
            self.notify("Open a run first (F5).")
            return None
        text = self.record.full_text if self.record is not None else self.prime
        if not text.strip():
            self.notify("Type a prime or generate a sample first: the lab reads that text.")
            return None
        return text

    def action_explain(self) -> None:
        from lmtui.tui.screens.lab import ExplainScreen

        text = self._lab_text()
        if text is not None:
            self.app.push_screen(ExplainScreen(self.opened.name, text[:2000]))

    def action_neurons(self) -> None:
        from lmtui.tui.screens.lab import NeuronScreen

        text = self._lab_text()
        if text is None:
            return
        if self.opened.model_config.model not in ("rnn", "lstm", "gru") or self.tokenizer.level != "char":
            self.notify("Neurons are shown for char-level rnn, lstm and gru runs.", severity="warning")
            return
        self.app.push_screen(NeuronScreen(self.opened.name, text[:4000], self.opened.path / "samples"))
