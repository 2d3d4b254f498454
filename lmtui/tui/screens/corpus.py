"""Step 1: choose a text — a bundled corpus, or your own file or folder — and see its stats and problems."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import Suggester, SuggestionReady
from textual.widgets import Button, DirectoryTree, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from lmtui import corpus
from lmtui.errors import EncodingError, LmtuiError
from lmtui.options import in_app
from lmtui.tui.breakpoints import set_breakpoints
from lmtui.tui.data import LoadedCorpus, cached_corpus, human_bytes, load_corpus
from lmtui.tui.modes import ModeScreen
from lmtui.tui.widgets.footer import KeyBar
from lmtui.tui.widgets.visible_input import VisibleInput
from lmtui.visible import visible_line, visible_markup, visible_text

OWN = "__own__"
OWN_HINT = ("Type a path (→ or End accepts the completion; Tab moves on) or pick a file or folder in the "
            "tree; a folder means all the .txt files in it.")
# Why the model screen's "vocabulary" differs from the distinct counts here (127 characters, vocabulary 124).
VOCAB_NOTE = ("A model's vocabulary is counted on the training split (90%), plus one token for anything "
              "unseen there, so it can differ from these counts.")


class PathSuggester(Suggester):
    """Completes file and folder names as you type a path (→ or End accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        path = Path(value).expanduser()
        folder, prefix = (path, "") if value.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                           if p.name.startswith(prefix) and not p.name.startswith("."))
        except OSError:
            return None
        return value + names[0][len(prefix):] if names else None


class PathInput(VisibleInput):
    """The path field: → and End accept the completion it shows (Textual's convention), Tab moves to the next
    field as everywhere else; Enter reads what it shows.

    Tab once accepted the completion too, which turned a typed folder (``texts/``) into its first file; Input
    alone accepts a suggestion only with →, and Enter would read the half path while the field showed the
    full one.
    """

    BINDINGS = [Binding("end", "complete_or_end", "Accept the completion", show=False)]

    @property
    def suggestion(self) -> str:
        """The completion drawn after the cursor ("" when none is shown)."""
        shown = self._suggestion  # Input keeps it private; it is exactly what the field draws
        return shown if self.cursor_at_end and len(shown) > len(self.value) else ""

    def accept_suggestion(self) -> bool:
        if not self.suggestion:
            return False
        self.value = self.suggestion
        self.cursor_position = len(self.value)
        return True

    def action_complete_or_end(self) -> None:
        if not self.accept_suggestion():
            self.action_end()

    async def action_submit(self) -> None:
        typed = self.value.strip()
        if self.suggestion and not (typed and Path(typed).expanduser().exists()):
            self.accept_suggestion()
        await super().action_submit()

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        if self.value and self.suggester is not None:  # Input forgets its completion on blur: ask again
            self.run_worker(self._suggest_again(self.value), exclusive=True, group="suggest")

    async def _suggest_again(self, value: str) -> None:
        assert self.suggester is not None
        suggestion = await self.suggester.get_suggestion(value)
        if suggestion is not None:
            self.post_message(SuggestionReady(value, suggestion))


class CorpusList(OptionList):
    """The list of texts. It names the highlighted text (the screen's title) in the same step as it moves
    its cursor: under load the screen's own handling of the move can come a frame or more later, and the
    title must never name another text than the cursor's (Enter takes the cursor's)."""

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        screen = self.screen if self.is_attached else None
        if highlighted is not None and isinstance(screen, CorpusScreen):
            screen.name_choice(self.options[highlighted].id)


class TextTree(DirectoryTree):
    """Folders and files, hidden ones left out; names shown as they are (Tree reads a str label as markup,
    and would send a name's control characters to the terminal)."""

    def filter_paths(self, paths):  # type: ignore[no-untyped-def, override]
        return [p for p in paths if not p.name.startswith(".")]

    def process_label(self, label: str | Text) -> Text:
        return Text(visible_line(label)) if isinstance(label, str) else label


def _exists(spec: str) -> bool:
    try:
        return Path(spec).expanduser().exists()
    except (OSError, RuntimeError):  # a name too long, or ~nobody
        return False


def read_problem(spec: str, exc: Exception) -> str:
    """One line for a path the engine could not read (an unreadable or absurdly deep folder…)."""
    if isinstance(exc, RecursionError):
        return f"cannot read {spec}: its folders nest too deeply"
    if isinstance(exc, OSError):
        return f"cannot read {exc.filename or spec}: {exc.strerror or exc}"
    return f"cannot read {spec}: {exc}"


class CorpusScreen(ModeScreen):
    """Pick what to train on; the stats and any problem with the text show before you go on."""

    SUB_TITLE = "1 · Choose a text"
    # Below 30 rows the note on the vocabulary (four lines at 80 columns) gives its rows to the preview.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("ctrl+n", "next", "Next: model", tooltip="Go on to choosing a model for this text"),
        Binding("ctrl+o", "own_text", "Your own text", tooltip="Type a path or pick a file or folder"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.spec: str | None = None
        self.loaded: LoadedCorpus | None = None
        self.problem: str | None = None
        self._shown: dict[str, str] = {}  # what each Static shows now (see _set)
        self._encodings: dict[str, str] = {}  # path -> the encoding chosen for it (an encoding is a file's)
        self._encoding_path: str | None = None  # the path the encoding field's value belongs to
        self._go_on: str | None = None  # Enter came while this text was being read: go on once it is

    def compose(self) -> ComposeResult:
        set_breakpoints(self)  # laid out for the terminal's size from the first frame
        yield Header()
        with Horizontal():
            with Vertical(id="choices"):
                yield Static("Choose a text to train on", classes="step-title")
                options = [Option(f"{escape(c.title)}\n[dim]{escape(c.name)} · {c.level} level[/]", id=c.name)
                           for c in corpus.bundled_corpora()]
                options.append(Option("Your own text…\n[dim]a .txt file or a folder[/]", id=OWN))
                yield CorpusList(*options, id="corpora")
                with Vertical(id="own"):
                    yield PathInput(placeholder="path: a .txt file or folder", id="path",
                                    suggester=PathSuggester())
                    with Horizontal(id="encoding-row"):
                        yield Label("encoding", id="encoding-label")
                        yield Input(placeholder="UTF-8", id="encoding")
                    yield Button("Read it as Latin-1", id="latin1")
            with Vertical(id="details"):
                yield Static("", id="title", classes="step-title")
                yield Static("", id="description", classes="hint")
                yield Static("", id="stats")
                yield Static(VOCAB_NOTE, id="vocab-note", classes="hint")
                yield Static("", id="problem", classes="problem")
                with VerticalScroll(id="preview-box", classes="panel"):
                    yield Static("", id="preview")
                with Horizontal(id="actions"):
                    yield Static("Enter or Ctrl+N", classes="hint", id="next-hint")
                    yield Button("Next: choose a model ▸", id="next", variant="primary", disabled=True,
                                 compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#preview-box").border_title = "Preview"
        self.query_one("#stats").tooltip = VOCAB_NOTE  # where a short terminal leaves the note out
        self._compact_fields()
        self.query_one("#own").display = False
        self._offer_encoding(False)
        options = self.query_one(OptionList)
        options.focus()
        options.highlighted = 0

    def on_resize(self) -> None:
        self._compact_fields()

    def _compact_fields(self) -> None:
        """Borderless path and encoding fields and button in a short terminal: at 80x24 with a file that
        is not UTF-8, the file tree below them had no row left."""
        short = self.has_class("-short")
        for widget in self.query("#path, #encoding, #latin1"):
            widget.compact = short  # type: ignore[attr-defined]

    # -- choosing -------------------------------------------------------------------------------------------

    def name_choice(self, option_id: str | None) -> None:
        """Title and describe the highlighted choice at once (cheap: two one-line updates); its stats and
        preview follow, and the preview's border says which text it shows."""
        if option_id == OWN:
            self._set("#title", "Your own text")
            self._set("#description", OWN_HINT)
            return
        info = next((c for c in corpus.bundled_corpora() if c.name == option_id), None)
        if info is not None:
            self._set("#title", info.title)
            self._set("#description", info.description)

    @on(OptionList.OptionHighlighted, "#corpora")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.query_one(OptionList).highlighted:
            return  # the cursor has moved on already (keys queued under load): only where it is counts
        own = event.option.id == OWN
        self.query_one("#own").display = own
        if own and not self.query("#tree"):  # the tree lists the disk: only when asked for
            self.query_one("#own").mount(TextTree(Path.cwd(), id="tree"))
        self.name_choice(event.option.id)
        if own:
            path = self.query_one("#path", Input).value.strip()
            self.choose(path or None, self.encoding)
        else:
            self.choose(event.option.id)

    @property
    def encoding(self) -> str | None:
        """The encoding typed for your own text (None: UTF-8, the engine's default)."""
        return self.query_one("#encoding", Input).value.strip() or None

    @on(OptionList.OptionSelected, "#corpora")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == OWN:
            self.query_one("#path", Input).focus()
            return
        if event.option.id != self.spec:  # Enter goes on with the text under the cursor, whatever was shown
            self.choose(event.option.id)
        self.action_next()

    @on(Input.Submitted, "#path")
    def _path_submitted(self) -> None:
        spec = self.query_one("#path", Input).value.strip()
        self._encoding_of(spec or None)  # a new path: its own encoding (UTF-8 unless one was chosen for it)
        self._read_or_go_on(spec)

    @on(Input.Submitted, "#encoding")
    def _encoding_submitted(self) -> None:
        """An encoding typed is the encoding of the path in the path field."""
        spec = self.query_one("#path", Input).value.strip()
        self._encoding_path = spec or None
        self._read_or_go_on(spec)

    def _read_or_go_on(self, spec: str) -> None:
        loaded = self.loaded
        if spec and loaded and (loaded.spec, loaded.encoding) == (spec, self.encoding):
            self.action_next()
        else:
            self.choose(spec or None, self.encoding)

    def _encoding_of(self, spec: str | None) -> None:
        """Give the encoding field the encoding chosen for ``spec`` (empty: UTF-8) when the path changes,
        remembering the one chosen for the path before: an encoding belongs to the file it was chosen for,
        and a folder of UTF-8 files typed after a Latin-1 file is read as UTF-8."""
        if spec == self._encoding_path:
            return
        field = self.query_one("#encoding", Input)
        if self._encoding_path is not None:
            if field.value.strip():
                self._encodings[self._encoding_path] = field.value.strip()
            else:
                self._encodings.pop(self._encoding_path, None)
        field.value = self._encodings.get(spec, "") if spec else ""
        self._encoding_path = spec

    @on(Button.Pressed, "#latin1")
    def _read_as_latin1(self) -> None:
        """Latin-1 gives every byte a character, so any file can be read (if not always rightly)."""
        spec = self.query_one("#path", Input).value.strip() or None
        self.query_one("#encoding", Input).value = "latin-1"
        self._encoding_path = spec
        self.choose(spec, "latin-1")

    @on(DirectoryTree.FileSelected, "#tree")
    @on(DirectoryTree.DirectorySelected, "#tree")
    def _tree_selected(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        path_input = self.query_one("#path", Input)
        path_input.value = str(event.path)
        self._encoding_of(str(event.path))
        self.choose(str(event.path), self.encoding)

    def choose(self, spec: str | None, encoding: str | None = None) -> None:
        """Show what we know about ``spec`` now and read it in a thread (6 MB texts take a moment)."""
        if spec != self.spec:
            self._go_on = None
        self.spec, self.loaded, self.problem = spec, None, None
        self.name_choice(spec)
        cached = cached_corpus(spec, encoding) if spec is not None else None
        if cached is not None and spec is not None:  # read before: show it now, in the highlight's repaint
            self._show(spec, cached, None)
            return
        self._offer_encoding(False)
        self.query_one("#next", Button).disabled = True
        self._set("#problem", "")
        self._set("#preview", "")
        self._set("#stats", "" if spec is None else "[i]reading the text…[/]")
        self._preview_title(None if spec is None else f"reading {self._text_name(spec)}…")
        if spec is not None:
            self.read(spec, encoding)

    def _text_name(self, spec: str) -> str:
        """What the preview's border calls a text: a bundled corpus's title, a file's or folder's name."""
        info = next((c for c in corpus.bundled_corpora() if c.name == spec), None)
        return info.title if info is not None else (Path(spec).name or spec)

    def _preview_title(self, what: str | None) -> None:
        """The preview's border names the text it shows (or is reading), so a preview that has not caught up
        with the cursor yet says whose it is."""
        title = Text("Preview") if what is None else Text.assemble("Preview · ", visible_line(what))
        box = self.query_one("#preview-box")
        if str(box.border_title) != title.plain:
            box.border_title = title

    def _offer_encoding(self, offer: bool) -> None:
        """The encoding field shows for a text that is not UTF-8 (or once one was typed), Latin-1 with it."""
        self.query_one("#latin1").display = offer
        self.query_one("#encoding-row").display = offer or self.encoding is not None

    def _set(self, selector: str, content: str | Text) -> None:
        """Update a Static only when what it shows changes: each update costs a layout and a repaint, and
        ↑/↓ through the corpus list should cost as little as possible (BENCHMARKS.md section 6)."""
        key = content.markup if isinstance(content, Text) else content
        if self._shown.get(selector) != key:
            self._shown[selector] = key
            self.query_one(selector, Static).update(content)

    @work(thread=True, exclusive=True, group="read")
    def read(self, spec: str, encoding: str | None = None) -> None:
        """Read ``spec`` (one text at a time, data.py's lock); a read the cursor has left before it began is
        not done at all, one it left meanwhile is not shown."""
        if get_current_worker().is_cancelled:
            return
        offer_latin1 = False
        try:
            loaded, problem = load_corpus(spec, encoding), None
        except EncodingError as exc:
            offer_latin1 = True
            loaded, problem = None, (f"{exc.where} is not UTF-8 text (bad byte at offset {exc.offset}): "
                                     "type its encoding in the encoding field and press Enter, "
                                     "or read it as Latin-1")
        except LmtuiError as exc:
            loaded, problem = None, in_app(exc)  # an encoding as the field names it, not as a flag
            if not any(c.name == spec for c in corpus.bundled_corpora()) and not _exists(spec):
                problem = f"no such file or folder: {spec}"  # the engine's line also lists corpus names
        except (OSError, RecursionError, ValueError) as exc:  # whatever a strange path does to the engine
            loaded, problem = None, read_problem(spec, exc)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, spec, loaded, problem, offer_latin1)

    def _show(self, spec: str, loaded: LoadedCorpus | None, problem: str | None, offer_latin1: bool = False
              ) -> None:
        if spec != self.spec:
            return
        self.loaded, self.problem = loaded, problem
        if problem or loaded is None:
            self._go_on = None
            self._set("#stats", "")
            self._set("#preview", "")
            self._preview_title(None)
            self._set("#problem", Text(visible_line(f"✗ {problem}")))
            self._offer_encoding(offer_latin1)
            self.query_one("#next", Button).disabled = True
            return
        s = loaded.stats
        if not loaded.info.bundled:
            self._set("#title", Text(visible_line(loaded.info.title)))
        unit = "one item per line" if loaded.info.unit == "lines" else "running text"
        self._set("#stats",
            f"[b]{human_bytes(loaded.size_bytes)}[/] · {s.chars:,} characters · {s.words:,} words · "
            f"{s.lines:,} lines\n"
            f"distinct: [b]{s.distinct_chars:,}[/] characters, [b]{s.distinct_words:,}[/] words · "
            f"{unit} · suggested level: [b]{loaded.info.level}[/]"
            + (f" · read as {visible_markup(loaded.encoding)}" if loaded.encoding else "")
        )
        self._set("#problem", "")
        self._set("#preview", Text(visible_text(loaded.preview)))  # a file's text: its ESC shown, not sent
        self._preview_title(loaded.info.title if loaded.info.bundled else self._text_name(spec))
        self._offer_encoding(False)
        self.query_one("#next", Button).disabled = False
        if self._go_on == spec:  # Enter was pressed while it was read
            self._go_on = None
            self.action_next()

    # -- going on -------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        if self.loaded is None:
            if self.problem:
                self.notify(self.problem, title="This text cannot be used", severity="error", markup=False)
            elif self.spec:
                self._go_on = self.spec
                self.notify(f"Reading {self._text_name(self.spec)}: the model screen follows once it is "
                            "read.")
            else:
                self.notify("Choose a corpus, or type the path of your own text.")
            return
        from lmtui.tui.screens.model import ModelScreen

        self.app.push_screen(ModelScreen(self.loaded))

    def action_own_text(self) -> None:
        """Go to the path field with its text selected, so a new path replaces the old one."""
        options = self.query_one(OptionList)
        options.highlighted = options.option_count - 1
        path = self.query_one("#path", Input)
        path.focus()
        path.select_all()
