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
from textual.widgets import (
    Button,
    Checkbox,
    Collapsible,
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
from lmtui.errors import LmtuiError, OptionError
from lmtui.models import MODEL_KINDS, ModelConfig, estimate_parameters
from lmtui.options import BY_NAME, OPTIONS, app_words
from lmtui.presets import PRESETS, preset_configs
from lmtui.training import TrainConfig, validate
from lmtui.tui.breakpoints import set_breakpoints
from lmtui.tui.data import LoadedCorpus, human_bytes, vocab_size
from lmtui.tui.modes import ModeScreen
from lmtui.tui.trainer_process import train_argv
from lmtui.tui.widgets.footer import KeyBar
from lmtui.visible import visible_line

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


class NameProblem(LmtuiError):
    """The run name field's value cannot name a new run."""


class ChoiceSet(RadioSet):
    """A RadioSet whose keyboard cursor starts on the chosen button, so Enter keeps the choice and ↑/↓ move
    from it (Textual's starts on the first button); Home and End go to the first and last."""

    BINDINGS = [Binding("home", "first", show=False), Binding("end", "last", show=False)]

    def action_first(self) -> None:
        self._selected = 0

    def action_last(self) -> None:
        self._selected = len(self.query(RadioButton)) - 1

    def action_next_button(self) -> None:
        if self._selected is None:  # RadioSet's mount puts the cursor on the first button with this call
            chosen = [i for i, b in enumerate(self.query(RadioButton)) if b.value]
            if chosen:
                self._selected = chosen[0]
                return
        super().action_next_button()


@dataclass(frozen=True)
class Field:
    """One editable hyperparameter: the config attribute it sets, which model families have it, and where
    the form shows it ("model", "training" or the collapsed "advanced" section)."""

    name: str
    label: str
    kind: str  # "int", "float", "choice", "bool"
    families: tuple[str, ...]
    group: str = "model"
    optional: bool = False
    word_only: bool = False
    placeholder: str = ""


# labels, kinds, families and sections come from the one list of options the CLI's `train` flags are made
# from; the form shows the model's shape first, then the training budget, then the collapsed advanced section
SECTIONS = ("model", "training", "advanced")
FIELDS = tuple(
    sorted(
        (
            Field(o.name, o.label, o.kind, o.families, o.section, o.optional, o.word_only, o.placeholder)
            for o in OPTIONS
            if o.in_form
        ),
        key=lambda f: SECTIONS.index(f.group),
    )
)
LABELS = {f.name: f.label for f in FIELDS} | {"name": "run name"}
OPTION_RE = re.compile(r"--([a-z0-9-]+)")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class ModelScreen(ModeScreen):
    """The model form; Ctrl+T starts training in a child process and shows the dashboard."""

    SUB_TITLE = "2 · Choose a model"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
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
        set_breakpoints(self)  # the narrow form from the first frame, not the wide one with cut labels
        yield Header()
        with Horizontal(id="body"):
            with VerticalScroll(id="choices", can_focus=False):
                yield Label("Model family", classes="step-title")
                with ChoiceSet(id="family", compact=True):
                    for kind in MODEL_KINDS:
                        yield RadioButton(FAMILY_LABELS[kind], value=kind == self.family, name=kind)
                yield Label("Tokens", classes="step-title")
                with ChoiceSet(id="level", compact=True):
                    for level in ("char", "word"):
                        yield RadioButton(f"{level}s", value=level == self.level, name=level)
                yield Label("Preset", classes="step-title")
                with ChoiceSet(id="preset", compact=True):
                    for preset in PRESETS:
                        yield RadioButton(PRESET_LABELS[preset], value=preset == self.preset, name=preset)
            with Vertical(id="form"):
                s = self.loaded.stats
                size = human_bytes(self.loaded.size_bytes)
                yield Static(Text.assemble(("Corpus: ", "bold"), visible_line(self.loaded.info.title),
                                           f"  ({size}, {s.chars:,} characters, {s.words:,} words)"),
                             id="corpus-line")
                # Only the fields scroll: the size, the first problem and Train stay on screen at any size.
                with VerticalScroll(id="fields", can_focus=False):
                    with Grid(id="model-fields", classes="panel fields"):
                        for f in FIELDS:
                            if f.group == "model":
                                yield from self._field(f)
                    with Grid(id="train-fields", classes="panel fields"):
                        for f in FIELDS:
                            if f.group == "training":
                                yield from self._field(f)
                        with Horizontal(classes="field", id="row-name"):
                            yield Label(LABELS["name"])
                            yield Input(placeholder="automatic", id="f-name", compact=True, validate_on=[])
                    with Collapsible(title="Advanced: batch, clip, eval, seed, vocabulary",
                                     id="advanced"), Grid(id="advanced-fields", classes="fields"):
                        for f in FIELDS:
                            if f.group == "advanced":
                                yield from self._field(f)
                yield Static("", id="size")
                yield Static("", id="error", classes="problem")
                with Horizontal(id="actions"):
                    yield Static("Ctrl+T trains · Esc goes back", classes="hint")
                    yield Button("Train ▸", id="train", variant="success", compact=True)
        yield KeyBar()

    def _field(self, f: Field) -> ComposeResult:
        with Horizontal(classes="field", id=f"row-{f.name}"):
            label = Label(f.label)
            label.tooltip = app_words(BY_NAME[f.name].help)  # what the option is for, in the form's words
            yield label
            if f.kind == "choice":
                choices = BY_NAME[f.name].choices
                yield Select([(s, s) for s in choices], allow_blank=False, id=f"f-{f.name}", compact=True)
            elif f.kind == "bool":
                yield Checkbox(id=f"f-{f.name}", compact=True)
            else:
                # validate_on=[]: the engine's check marks bad fields, not Textual's own validators,
                # which would mark an optional field red just for being empty
                yield Input(type="integer" if f.kind == "int" else "number", id=f"f-{f.name}",
                            placeholder=f.placeholder, compact=True, validate_on=[])

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

    def visible_fields(self) -> list[Field]:  # not `visible`: Textual's DOMNode.visible
        return [f for f in FIELDS if self.query_one(f"#row-{f.name}").display]

    def read(self) -> tuple[ModelConfig, TrainConfig, dict[str, str]]:
        """The configs the form describes (preset values for hidden fields) and per-field typing errors."""
        model, train = preset_configs(self.family, self.level, self.preset)
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in self.visible_fields():
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
        """Validate the form with the engine; show the first problem in red, named as the form labels it,
        and mark the field it is about."""
        if self._filling:
            return None
        model, train, errors = self.read()
        bad = set(errors)
        message = next(iter(errors.values()), None)
        if message is None:
            try:
                validate(model, train)
                if model.model != "ngram" and train.steps is None and train.max_seconds is None:
                    raise OptionError("max_seconds", "or max steps: set one of them")
                self._check_name()
            except OptionError as exc:
                bad.add(exc.field)
                message = exc.labelled(LABELS.get(exc.field, exc.field.replace("_", " ")))
            except NameProblem as exc:
                bad.add("name")
                message = str(exc)
            except LmtuiError as exc:
                message = str(exc)
                bad |= {m.replace("-", "_") for m in OPTION_RE.findall(message)}
        for control in self.query(".field Input"):
            control.set_class((control.id or "")[2:] in bad, "-invalid")
        if bad & {f.name for f in FIELDS if f.group == "advanced"}:
            self.query_one("#advanced", Collapsible).collapsed = False  # never hide the field at fault
        self.error = message
        shown = Text(f"✗ {message[:1].upper()}{message[1:]}") if message else ""
        self.query_one("#error", Static).update(shown)
        self.query_one("#train", Button).disabled = message is not None
        self.show_size(model, train)
        return None if message else (model, train)

    def _check_name(self) -> None:
        name = self.query_one("#f-name", Input).value.strip()
        if name:
            try:
                runs.validate_name(name)
            except LmtuiError as exc:
                raise NameProblem(str(exc)) from None
            if runs.exists(name):
                raise NameProblem(f"a run named {name!r} already exists; choose another name")

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
        grows = ""
        if model.model == "window":  # its problem in numbers: weights of each position's own, growing with it
            from lmtui.lab.window import window_line

            grows = f" · {window_line(model, self.vocab)}"
        size.update(Text.assemble(
            ("Size: ", "bold"), (f"{params:,} parameters", "bold"),
            f" ({human_bytes(params * 4)} as float32) · vocabulary {self.vocab:,} {unit}", grows,
            f"\nBudget: {' or '.join(budget)}, whichever ends first" if budget else ""))

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
            n: int | None = vocab_size(spec, level, max_vocab, min_count, self.loaded.encoding)
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
        argv = train_argv(self.spec, model, train, self.preset, name, self.loaded.encoding)
        await self.app.start_training(argv)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()
