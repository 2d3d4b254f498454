"""The playground: prime a trained model, tune temperature / top-k / top-p, stream a sample, share it.

The model loads in a thread (torch is imported there, never on the event loop); generation streams pieces
from a thread worker; the next-token panel follows what you type, debounced, in its own worker.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Header, Input, Label, Static
from textual.worker import get_current_worker

from lmtui import sharing
from lmtui.errors import LmtuiError, OptionError
from lmtui.sampling import SampleSettings, generate, notes_text, predict_next
from lmtui.tui.breakpoints import set_breakpoints
from lmtui.tui.data import unk_note
from lmtui.tui.modes import ModeScreen
from lmtui.tui.widgets.footer import KeyBar
from lmtui.tui.widgets.next_token import NextTokenBars
from lmtui.tui.widgets.sample_view import SampleView
from lmtui.tui.widgets.visible_input import VisibleInput
from lmtui.visible import visible_line

NO_RUN = "No model open. Press F5 to pick a trained run, or F2 to train one."
MAX_TEMPERATURE = 3.0
# A prime that fits each bundled corpus, put in the prime field when one of its runs opens ("" for others).
# recall: a line of a letter and 25 digits (after a newline, where its lines start); the next-token panel
# shows whether the model still has the letter (k)
PRIMES = {"scripts": "HAMLET:\n", "speeches": "The state of the Union is",
          "recall": "\nk5820391467209381574630185="}
# The playground's field labels, for messages about a setting (the engine names the setting's field).
LABELS = {"temperature": "temperature", "top_k": "top-k", "top_p": "top-p", "length": "length",
          "seed": "seed", "stop_lines": "stop lines"}
# The sampling fields after the temperature: label (also the id), Input type, starting value, placeholder.
SETTING_FIELDS: tuple[tuple[str, Any, str, str], ...]  # Input's type is a Literal
SETTING_FIELDS = (("top-k", "integer", "", "off"), ("top-p", "number", "", "off"),
                  ("length", "integer", "300", ""), ("seed", "integer", "", "random"))


def sampling_label(settings: SampleSettings) -> str:
    """What the next-token panel shows: "after temperature 0.8, top-k 40" (greedy said as such)."""
    if settings.temperature == 0:
        return "greedy (temperature 0): the top token, always"
    parts = [f"temperature {settings.temperature:g}"]
    if settings.top_k is not None:
        parts.append(f"top-k {settings.top_k}")
    if settings.top_p is not None:
        parts.append(f"top-p {settings.top_p:g}")
    return "as sampled after " + ", ".join(parts)


class PlaygroundScreen(ModeScreen):
    """Sample from one run; Enter in the prime (or Ctrl+G) generates."""

    SUB_TITLE = "Playground"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # settings in two rows below 100 columns
    # Below 30 rows the fields lose their borders (one row each): at 80x24 the sample box showed 4 lines.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
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
        Binding("f9", "forcing", "Forcing", tooltip="Teacher forcing against free running: the loss on "
                "the true text when the tokens before it are the model's own"),
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
        self._streamed: list[str] = []  # the pieces shown so far (one per token) while generating
        self._streaming: SampleSettings | None = None
        self._notes: Counter[str] = Counter()  # the sample's draws that backed off, or why it ended early
        self._prime_at_open = ""
        self.predicted_for: str | None = None  # the prime the next-token panel shows predictions after
        self._predict_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        set_breakpoints(self)
        yield Header()
        yield Static(NO_RUN, id="run-line")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield VisibleInput(placeholder="Prime: text the sample continues (\\n: new line); "
                                   "Enter generates", id="prime")
                with Grid(id="settings"):
                    yield Static("", id="temperature")
                    for label, kind, value, placeholder in SETTING_FIELDS:
                        with Horizontal(classes="setting"):
                            yield Label(label)
                            yield Input(value, placeholder=placeholder, type=kind, id=label, valid_empty=True)
                yield Static("", id="settings-error", classes="problem")
                with Vertical(id="sample-box", classes="panel"):
                    yield SampleView("Press Enter or Ctrl+G to generate.", id="sample")
                yield Static("", id="share-status", classes="hint")
            with Vertical(id="next-box", classes="panel"):
                yield NextTokenBars("", id="next")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#sample-box").border_title = "Sample"
        self.query_one("#next-box").border_title = "Next token"
        self._show_temperature()
        self._compact_fields()
        self.query_one("#prime", Input).focus()

    def on_resize(self) -> None:
        self._compact_fields()

    def _compact_fields(self) -> None:
        """Borderless fields in a short terminal, so the sample box keeps its rows."""
        short = self.has_class("-short")
        for field in self.query(Input):
            field.compact = short

    # -- opening a run --------------------------------------------------------------------------------------

    def open_run(self, name: str) -> None:
        self.opened = self.model = self.tokenizer = self.record = None
        self.saved_stem = None
        self.query_one("#run-line", Static).update(Text(f"Loading {name}…", style="italic"))
        self.query_one("#sample", SampleView).clear()
        self.query_one("#next", NextTokenBars).update("")
        self.predicted_for = None
        self.query_one("#share-status", Static).update("")
        self.generating = False
        self.workers.cancel_group(self, "generate")
        prime = self.query_one("#prime", Input)
        prime.focus()  # typing goes into the prime, whatever had focus before
        self._prime_at_open = prime.value
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
        self.query_one("#run-line", Static).update(
            Text(visible_line(f"✗ Cannot open {name}: {message}"), style="bold red"))

    def _loaded(self, run: Any, tokenizer: Any, model: Any) -> None:
        self.opened, self.tokenizer, self.model = run, tokenizer, model
        prime = self.query_one("#prime", Input)
        if prime.value == self._prime_at_open:  # nothing typed while it loaded: a prime that fits this run
            prime.value = PRIMES.get(run.meta["corpus"]["name"], "").replace("\n", "\\n")
            prime.cursor_position = len(prime.value)
        s = run.summary()
        unk = unk_note(s["level"], s.get("val_unk_rate"))
        ppl = f" · validation perplexity {s['val_ppl']:.2f}{unk}" if s.get("val_ppl") else ""
        self.query_one("#run-line", Static).update(Text.assemble(
            (visible_line(run.name), "bold"),
            f" · {sharing.SampleRecord.from_run(run, SampleSettings(), '').model_line()}"
            f" · trained on {visible_line(s['corpus'])}{ppl}"))
        self.schedule_predict(0)

    # -- settings -------------------------------------------------------------------------------------------

    def _show_temperature(self) -> None:
        shown = "greedy" if self.temperature == 0 else f"{self.temperature:.1f}"
        self.query_one("#temperature", Static).update(
            Text.assemble("temp ", (shown, "bold"), (" ↑↓", "dim")))

    def action_temperature(self, delta: float) -> None:
        self.temperature = round(min(MAX_TEMPERATURE, max(0.0, self.temperature + delta)), 1)
        self._show_temperature()
        self.schedule_predict(0.1)  # the panel shows the distribution this temperature samples from

    @property
    def prime(self) -> str:
        return self.query_one("#prime", Input).value.replace("\\n", "\n")

    def read_settings(self) -> tuple[SampleSettings | None, str]:
        """The form's settings checked by the engine, or None and what is wrong (in the form's words)."""
        def number(selector: str, kind: type) -> Any:
            raw = self.query_one(selector, Input).value.strip()
            return kind(raw) if raw else None

        try:
            settings = SampleSettings(self.temperature, number("#top-k", int), number("#top-p", float),
                                      number("#length", int) or 0, self.prime, None, number("#seed", int))
            return settings.validate(), ""
        except ValueError:
            return None, "top-k, top-p, length and seed must be numbers"
        except OptionError as exc:
            return None, exc.labelled(LABELS.get(exc.field, exc.field))
        except LmtuiError as exc:
            return None, str(exc)

    def settings(self) -> SampleSettings | None:
        """The form's settings; None (and the problem shown under the fields) when they are wrong."""
        settings, problem = self.read_settings()
        self.query_one("#settings-error", Static).update(Text(f"✗ {problem}") if problem else "")
        return settings

    @on(Input.Changed, "#settings Input")
    def _setting_changed(self) -> None:
        if self.settings() is not None:
            self.schedule_predict()

    # -- next-token panel -----------------------------------------------------------------------------------

    @on(Input.Changed, "#prime")
    def _prime_changed(self) -> None:
        self.schedule_predict()

    def schedule_predict(self, delay: float = 0.25) -> None:
        """Debounce: predict once typing pauses, not on every key."""
        if self._predict_timer is not None:
            self._predict_timer.stop()
        if self.model is not None:
            self._predict_timer = self.set_timer(max(delay, 0.01), self._predict_now)

    def _predict_now(self) -> None:
        if self.model is None:
            return
        settings = self._sampling()
        self._predict(self.prime, settings, self.model, self.tokenizer)

    def _sampling(self) -> SampleSettings:
        """The settings the panel shows the distribution for: the form's, or just the temperature while the
        form holds a mistake."""
        return self.read_settings()[0] or SampleSettings(temperature=self.temperature)

    @work(thread=True, exclusive=True, group="predict")
    def _predict(self, context: str, settings: SampleSettings, model: Any, tokenizer: Any) -> None:
        predictions = predict_next(model, tokenizer, context, 10, settings.temperature, settings.top_k,
                                   settings.top_p, settings.allow_unk)
        unknown = tokenizer.unknown(context)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._predicted, context, settings, predictions, unknown)

    def _predicted(self, context: str, settings: SampleSettings, predictions: list, unknown: list[str]
                   ) -> None:
        if context == self.prime:
            self.query_one("#next", NextTokenBars).show(predictions, unknown, sampling_label(settings),
                                                        settings.temperature)
            self.predicted_for = context


    # -- generating -----------------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_generate()

    def action_generate(self) -> None:
        if self.model is None:
            self.status(NO_RUN)
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
        self._streamed, self._streaming, self._notes = [], settings, Counter()
        self.status(f"writing… (seed {settings.seed}; Esc stops)")
        self.generating = True
        self._generate(settings, self.model, self.tokenizer)

    @work(thread=True, exclusive=True, group="generate")
    def _generate(self, settings: SampleSettings, model: Any, tokenizer: Any) -> None:
        worker = get_current_worker()
        buffer: list[str] = []
        last = time.monotonic()
        try:
            for piece in generate(model, tokenizer, settings, self._notes):
                if worker.is_cancelled:
                    return
                buffer.append(piece)
                if time.monotonic() - last > 0.03:  # ~30 updates a second, however fast the model is
                    self.app.call_from_thread(self._stream, settings, buffer)
                    buffer, last = [], time.monotonic()
        except (LmtuiError, ValueError) as exc:  # settings the form let through but the engine refuses
            self.app.call_from_thread(self._failed, settings, str(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._stream, settings, buffer)
            self.app.call_from_thread(self._generated, settings)

    def _stream(self, settings: SampleSettings, pieces: list[str]) -> None:
        """Show more of the sample (ignored once stopped: what was shown is what Esc kept)."""
        if self.generating and settings is self._streaming and pieces:
            self._streamed.extend(pieces)
            self.query_one("#sample", SampleView).append("".join(pieces))

    def _failed(self, settings: SampleSettings, message: str) -> None:
        if settings is self._streaming:
            self.generating = False
            self.status(f"✗ {message}", error=True)

    def _keep(self, settings: SampleSettings, stopped: bool) -> None:
        """Make what was written a sample that can be saved, copied and exported (also when Esc stopped it).

        A stopped sample is recorded with the length it reached: the same seed writes exactly it again."""
        self.generating = False
        text = "".join(self._streamed)
        if stopped and not self._streamed:
            self.status("stopped before it wrote anything")
            return
        if stopped:
            settings = replace(settings, length=max(1, len(self._streamed)))
        self.record = sharing.SampleRecord.from_run(self.opened, settings, text)
        self.query_one("#sample", SampleView).set_text(text, settings.prime)
        how = f"stopped after {len(self._streamed)} tokens · " if stopped else ""
        notes = "".join(f"note: {line} · " for line in notes_text(self._notes))
        self.status(f"{notes}{how}seed {settings.seed} · Ctrl+S saves it · Ctrl+Y copies it · "
                    "Ctrl+O exports an SVG card")

    def _generated(self, settings: SampleSettings) -> None:
        if self.generating and settings is self._streaming:
            self._keep(settings, stopped=False)

    def action_cancel(self) -> None:
        if self.generating and self._streaming is not None:
            self.workers.cancel_group(self, "generate")
            self._keep(self._streaming, stopped=True)

    def status(self, message: str, error: bool = False) -> None:
        """The playground's messages go to its status line, where no notice covers them."""
        self.query_one("#share-status", Static).update(
            Text(visible_line(message), style="bold red" if error else ""))

    # -- sharing --------------------------------------------------------------------------------------------

    def _need_record(self) -> sharing.SampleRecord | None:
        if self.record is None:
            self.status("Generate a sample first (Enter or Ctrl+G)." if not self.generating
                        else "Still writing: Esc stops it, then it can be saved.")
        return self.record

    def action_save(self) -> None:
        record = self._need_record()
        if record is None:
            return
        try:
            txt, md = sharing.save_sample(record, self.opened.path / "samples")
        except OSError as exc:
            self.status(f"✗ could not save the sample: {exc.strerror or exc}", error=True)
            return
        self.saved_stem = txt.stem
        self.status(f"saved {txt} and {md.name}")

    def action_copy(self) -> None:
        record = self._need_record()
        if record is not None:
            self.app.copy_to_clipboard(record.full_text)
            self.status("copied the sample (if your terminal allows clipboard access, OSC 52)")

    def action_card(self) -> None:
        record = self._need_record()
        if record is None:
            return
        try:
            path = sharing.save_card(record, self.opened.path / "samples", self.saved_stem)
        except OSError as exc:
            self.status(f"✗ could not export the card: {exc.strerror or exc}", error=True)
            return
        self.status(f"card saved as {path}")

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
            self.app.push_screen(ExplainScreen(self.opened.name, text[:2000], self.tokenizer.level))

    def action_neurons(self) -> None:
        from lmtui.tui.screens.lab import NeuronScreen

        text = self._lab_text()
        if text is None:
            return
        if self.opened.model_config.model not in ("rnn", "lstm", "gru") or self.tokenizer.level != "char":
            self.notify("Neurons are shown for char-level rnn, lstm and gru runs.", severity="warning")
            return
        self.app.push_screen(NeuronScreen(self.opened.name, text[:4000], self.opened.path / "samples"))

    def action_forcing(self) -> None:
        from lmtui.tui.screens.forcing import ForcingScreen

        if self.opened is None:
            self.status(NO_RUN)
            return
        self.app.push_screen(ForcingScreen(self.opened.name))
