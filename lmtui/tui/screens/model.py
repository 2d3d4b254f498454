"""Step 2: choose a model family, the token level and a preset; edit any hyperparameter; see the size; train.

Every value is checked as you type by the engine's own ``validate`` (the same check ``lmtui train`` makes),
so what this form accepts is exactly what training accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.worker import get_current_worker

from lmtui import runs
from lmtui.errors import LmtuiError
from lmtui.models import MODEL_KINDS, SMOOTHINGS, ModelConfig, estimate_parameters
from lmtui.presets import PRESETS, preset_configs
from lmtui.training import TrainConfig, validate
from lmtui.tui.data import LoadedCorpus, human_bytes, vocab_size
from lmtui.tui.trainer_process import train_argv

NEURAL = ("window", "rnn", "lstm", "gru")
RECURRENT = ("rnn", "lstm", "gru")
FAMILY_LABELS = {
    "ngram": "n-gram (counts)",
    "window": "fixed window (MLP)",
    "rnn": "RNN (vanilla)",
    "lstm": "LSTM",
    "gru": "GRU",
}
PRESET_LABELS = {"quick": "quick (~15 s)", "small": "small (~1 min)", "large": "large (~10 min)"}
MODEL_FIELD_NAMES = {f.name for f in fields(ModelConfig)}


@dataclass(frozen=True)
class Field:
    """One editable hyperparameter: the config attribute it sets and which model families have it."""

    name: str
    label: str
    kind: str  # "int", "float", "choice", "bool"
    families: tuple[str, ...]
    optional: bool = False
    word_only: bool = False


FIELDS = (
    Field("order", "order (n)", "int", ("ngram",)),
    Field("smoothing", "smoothing", "choice", ("ngram",)),
    Field("k", "add-k's k", "float", ("ngram",)),
    Field("context", "context tokens", "int", ("window",)),
    Field("embed", "embedding size", "int", NEURAL),
    Field("hidden", "hidden size", "int", NEURAL),
    Field("layers", "layers", "int", RECURRENT),
    Field("dropout", "dropout", "float", NEURAL),
    Field("tie_weights", "tie weights", "bool", RECURRENT),
    Field("max_seconds", "time budget (s)", "float", NEURAL, optional=True),
    Field("steps", "max steps", "int", NEURAL, optional=True),
    Field("batch_size", "batch size", "int", NEURAL),
    Field("seq_len", "k2: steps back (seq len)", "int", NEURAL),
    Field("k1", "k1: tokens per update", "int", RECURRENT, optional=True),  # truncated BPTT (issue 11.4)
    Field("lr", "learning rate", "float", NEURAL),
    Field("clip", "gradient clip", "float", NEURAL),
    Field("eval_every", "eval every", "int", NEURAL),
    Field("seed", "seed", "int", ("ngram", *NEURAL)),
    Field("max_vocab", "max vocabulary", "int", ("ngram", *NEURAL), word_only=True),
    Field("min_count", "min word count", "int", ("ngram", *NEURAL), word_only=True),
)
OPTION_RE = re.compile(r"--([a-z0-9-]+)")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ModelScreen(Screen[None]):
    """The model form; Ctrl+T starts training in a child process and shows the dashboard."""

    CSS_PATH = "model.tcss"
    SUB_TITLE = "2 · Choose a model"
    BINDINGS = [
        Binding("ctrl+t", "train", "Train", tooltip="Start training with these settings"),
        Binding("escape", "back", "Back", tooltip="Back to choosing a text"),
    ]

    def __init__(self, loaded: LoadedCorpus) -> None:
        super().__init__()
        self.loaded = loaded
        self.spec = loaded.spec if loaded.info.bundled else str(Path(loaded.spec).expanduser().resolve())
        self.family = "lstm"
        self.level = loaded.info.level
        self.preset = "small"
        self.vocab: int | None = None
        self.error: str | None = None
        self._filling = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="choices"):
                yield Label("Model family", classes="step-title")
                with RadioSet(id="family"):
                    for kind in MODEL_KINDS:
                        yield RadioButton(FAMILY_LABELS[kind], value=kind == self.family, name=kind)
                yield Label("Tokens", classes="step-title")
                with RadioSet(id="level"):
                    for level in ("char", "word"):
                        yield RadioButton(f"{level}s", value=level == self.level, name=level)
                yield Label("Preset", classes="step-title")
                with RadioSet(id="preset"):
                    for preset in PRESETS:
                        yield RadioButton(PRESET_LABELS[preset], value=preset == self.preset, name=preset)
            with Vertical(id="form"):
                s = self.loaded.stats
                size = human_bytes(self.loaded.size_bytes)
                yield Static(Text.assemble(("Corpus: ", "bold"), self.loaded.info.title,
                                           f"  ({size}, {s.chars:,} characters, {s.words:,} words)"),
                             id="corpus-line")
                with Grid(id="model-fields", classes="panel fields"):
                    for f in FIELDS[:9]:
                        yield from self._field(f)
                with Grid(id="train-fields", classes="panel fields"):
                    for f in FIELDS[9:]:
                        yield from self._field(f)
                    with Horizontal(classes="field", id="row-name"):
                        yield Label("run name")
                        yield Input(placeholder="automatic", id="f-name")
                yield Static("", id="size")
                yield Static("", id="error", classes="problem")
                with Horizontal(id="actions"):
                    yield Static("Ctrl+T trains · Esc goes back", classes="hint")
                    yield Button("Train ▸", id="train", variant="success")
        yield Footer()

    def _field(self, f: Field) -> ComposeResult:
        with Horizontal(classes="field", id=f"row-{f.name}"):
            yield Label(f.label)
            if f.kind == "choice":
                yield Select([(s, s) for s in SMOOTHINGS], allow_blank=False, id=f"f-{f.name}")
            elif f.kind == "bool":
                yield Checkbox("embed = output", id=f"f-{f.name}")
            else:
                yield Input(type="integer" if f.kind == "int" else "number", id=f"f-{f.name}",
                            placeholder="none" if f.optional else "")

    def on_mount(self) -> None:
        self.query_one("#model-fields").border_title = "Model"
        self.query_one("#train-fields").border_title = "Training"
        self.fill()
        self.query_one("#family", RadioSet).focus()

    # -- the form -------------------------------------------------------------------------------------------

    def fill(self) -> None:
        """Put the preset's values for this family and level into the form."""
        model, train = preset_configs(self.family, self.level, self.preset)
        self._filling = True
        for f in FIELDS:
            value = getattr(model if f.name in MODEL_FIELD_NAMES else train, f.name)
            control = self.query_one(f"#f-{f.name}")
            if isinstance(control, Input):
                control.value = _fmt(value)
            elif isinstance(control, Select):
                control.value = value
            elif isinstance(control, Checkbox):
                control.value = bool(value)
        self._filling = False
        self.show_fields()
        self.check()
        self.count_vocab()

    def show_fields(self) -> None:
        smoothing = self.query_one("#f-smoothing", Select).value
        for f in FIELDS:
            shown = self.family in f.families and (not f.word_only or self.level == "word")
            if f.name == "k":
                shown = shown and smoothing == "add-k"
            self.query_one(f"#row-{f.name}").display = shown

    def visible(self) -> list[Field]:
        return [f for f in FIELDS if self.query_one(f"#row-{f.name}").display]

    def read(self) -> tuple[ModelConfig, TrainConfig, dict[str, str]]:
        """The configs the form describes (preset values for hidden fields) and per-field typing errors."""
        model, train = preset_configs(self.family, self.level, self.preset)
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.visible():
            control = self.query_one(f"#f-{f.name}")
            if isinstance(control, Select | Checkbox):
                values[f.name] = control.value if isinstance(control, Select) else bool(control.value)
                continue
            raw = control.value.strip()  # type: ignore[attr-defined]
            if not raw:
                if f.optional:
                    values[f.name] = None
                else:
                    errors[f.name] = f"{f.label}: enter a value"
                continue
            try:
                values[f.name] = int(raw) if f.kind == "int" else float(raw)
            except ValueError:
                errors[f.name] = f"{f.label}: {raw!r} is not a {'whole ' if f.kind == 'int' else ''}number"
        model = replace(model, **{k: v for k, v in values.items() if k in MODEL_FIELD_NAMES})
        train = replace(train, **{k: v for k, v in values.items() if k not in MODEL_FIELD_NAMES})
        return model, train, errors

    def check(self) -> tuple[ModelConfig, TrainConfig] | None:
        """Validate the form with the engine; show the first problem and mark the fields it names."""
        if self._filling:
            return None
        model, train, errors = self.read()
        bad = set(errors)
        message = next(iter(errors.values()), None)
        if message is None:
            try:
                validate(model, train)
                if model.model != "ngram" and train.steps is None and train.max_seconds is None:
                    bad |= {"max_seconds", "steps"}
                    raise LmtuiError("set a time budget or a number of steps")
                self._check_name()
            except LmtuiError as exc:
                message = str(exc)
                bad |= {m.replace("-", "_") for m in OPTION_RE.findall(message)}
                if "add-k's k" in message:
                    bad.add("k")
                if "run named" in message or "run name" in message:
                    bad.add("name")
        for control in self.query(".field Input"):
            control.set_class((control.id or "")[2:] in bad, "-invalid")
        self.error = message
        self.query_one("#error", Static).update(Text(f"✗ {message}") if message else "")
        self.query_one("#train", Button).disabled = message is not None
        self.show_size(model, train)
        return None if message else (model, train)

    def _check_name(self) -> None:
        name = self.query_one("#f-name", Input).value.strip()
        if name:
            runs.validate_name(name)
            if runs.exists(name):
                raise LmtuiError(f"a run named {name!r} already exists; choose another name")

    def show_size(self, model: ModelConfig, train: TrainConfig) -> None:
        size = self.query_one("#size", Static)
        if self.vocab is None:
            size.update(Text("counting the vocabulary…", style="italic"))
            return
        unit = "characters" if self.level == "char" else "words"
        if model.model == "ngram":
            size.update(Text.assemble(
                ("Size: ", "bold"), f"vocabulary {self.vocab:,} {unit}; an n-gram model's size is known "
                "after counting (one pass, seconds)"))
            return
        try:
            params = estimate_parameters(model, self.vocab)
        except (KeyError, ValueError):
            size.update("")
            return
        budget = []
        if train.max_seconds is not None:
            budget.append(f"{train.max_seconds:g} s")
        if train.steps is not None:
            budget.append(f"{train.steps:,} steps")
        size.update(Text.assemble(
            ("Size: ", "bold"), (f"{params:,} parameters", "bold"),
            f" ({human_bytes(params * 4)} as float32) · vocabulary {self.vocab:,} {unit}",
            f" · budget: {' or '.join(budget)}, whichever ends first" if budget else ""))

    # -- events ---------------------------------------------------------------------------------------------

    @on(RadioSet.Changed)
    def _radio(self, event: RadioSet.Changed) -> None:
        choice = event.pressed.name or ""
        if event.radio_set.id == "family":
            self.family = choice
        elif event.radio_set.id == "level":
            self.level = choice
            self.vocab = None
        else:
            self.preset = choice
        self.fill()

    @on(Input.Changed, ".field Input")
    @on(Checkbox.Changed)
    def _edited(self, event: Input.Changed | Checkbox.Changed) -> None:
        self.check()
        if event.control.id in ("f-max_vocab", "f-min_count"):
            self.count_vocab()

    @on(Select.Changed, "#f-smoothing")
    def _smoothing(self) -> None:
        self.show_fields()
        self.check()

    def count_vocab(self) -> None:
        """Build the tokenizer on the training split (as training will) to know the vocabulary size."""
        _, train, errors = self.read()
        if "max_vocab" in errors or "min_count" in errors or train.max_vocab < 1 or train.min_count < 1:
            return
        self._count(self.loaded.spec, self.level, train.max_vocab, train.min_count)

    @work(thread=True, exclusive=True, group="vocab")
    def _count(self, spec: str, level: str, max_vocab: int, min_count: int) -> None:
        try:
            n: int | None = vocab_size(spec, level, max_vocab, min_count)
        except LmtuiError:
            n = None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._vocab_counted, n)

    def _vocab_counted(self, n: int | None) -> None:
        self.vocab = n
        self.check()

    # -- actions --------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#train")
    async def action_train(self) -> None:
        configs = self.check()
        if configs is None:
            self.app.bell()
            self.notify(self.error or "fix the form first", title="Cannot train yet", severity="error")
            return
        model, train = configs
        name = self.query_one("#f-name", Input).value.strip() or None
        await self.app.start_training(train_argv(self.spec, model, train, self.preset, name))  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
