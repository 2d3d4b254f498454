"""Trained runs as a table: open one in the playground, resume its training, or delete it.

The runs of one comparison (``lmtui compare``, the Compare screen) are one group: a single row ("▸ cmp3 ·
9 runs") that Enter opens to show them, indented, and closes again; D on it deletes them all together."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from lmtui import columns
from lmtui.errors import LmtuiError
from lmtui.options import app_words
from lmtui.tui.data import display_path, duration, human_bytes
from lmtui.tui.modes import ModeScreen
from lmtui.tui.screens.confirm import ConfirmScreen
from lmtui.tui.trainer_process import resume_argv
from lmtui.tui.widgets.footer import KeyBar
from lmtui.visible import visible_line

COLUMNS = ("name", "corpus", "model", "status", "parameters", "size", "val ppl", "test ppl", "bits/char",
           "unseen", "time")
# Dropped in this order when the table would not fit the terminal's width: the name and the perplexities stay
# (at 80 columns a word run's "141.08 (4.6% <unk>)" and "done, eval pending" left no room for test ppl). The
# order is `lmtui runs`'s too (lmtui.columns); these are the app's columns of it.
LESSER = tuple(label for label in columns.LESSER + columns.LAST if label in COLUMNS)
EMPTY = "No runs yet — press F2 to choose a text and train your first model."
HINT = "Enter or O: sample from it · R: resume training · E: evaluate · D: delete"
GROUP_HINT = "Enter: show or hide this comparison's runs · D: delete them all"
GROUP_KEY = "group:"  # the row key of a comparison's row (run names cannot hold ':')
UNREADABLE = "unreadable"  # a row's key holding why its run cannot be read (the rest of the row is empty)


class RunsTable(DataTable):
    """The runs table; its columns are chosen again when its width changes (a resize, or F1's panel taking
    the right third of the screen), not only when the terminal's does."""

    def on_resize(self) -> None:
        screen = self.screen
        if isinstance(screen, RunsScreen) and screen.rows:
            screen.call_after_refresh(screen.refit)


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "–"


class RunsScreen(ModeScreen):
    """The runs folder as a table, re-read each time the screen is shown."""

    SUB_TITLE = "Runs"
    BINDINGS = [
        Binding("o", "open", "Playground", tooltip="Sample from the highlighted run (also Enter)"),
        Binding("r", "resume", "Resume", tooltip="Continue training the highlighted run"),
        Binding("e", "evaluate", "Evaluate", tooltip="Score the highlighted run on its validation and test "
                "text (a stopped run's pending evaluation)"),
        Binding("d", "delete", "Delete", tooltip="Delete the highlighted run and its files"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[dict[str, Any]]] = {}  # comparison -> its runs
        self.expanded: set[str] = set()  # comparisons whose runs are shown
        self.evaluating: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="runs-dir", classes="hint")
        yield RunsTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(EMPTY, id="empty")
        yield Static("", id="detail")
        yield KeyBar()

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    @work(thread=True, exclusive=True, group="list")
    def refresh_runs(self) -> None:
        from lmtui.runs import exists, grouped, run_rows, runs_dir

        damaged: dict[str, str] = {}  # one bad file hides no other run: it gets a row saying unreadable
        rows = grouped(run_rows(damaged))  # a comparison's runs together
        rows += [{"name": n, UNREADABLE: why, "deletable": exists(n)} for n, why in sorted(damaged.items())]
        folder = display_path(runs_dir())  # the real path, so a person can go and look
        trainer = getattr(self.app, "trainer", None)
        listed = (folder, rows, trainer, bool(trainer and trainer.running))
        if listed == getattr(self, "_listed", None):  # as last shown: rebuilding the table would only cost
            return                                      # time on every F5 (BENCHMARKS.md section 6)
        self._listed = listed
        self.app.call_from_thread(self._fill, folder, rows)

    def _fill(self, folder: str, rows: list[dict[str, Any]]) -> None:
        table = self.query_one(DataTable)
        current = self._cursor_key()
        self._shown = (folder, rows)
        self.rows = {r["name"]: r for r in rows}
        self.groups = {}
        for r in rows:
            if r.get("group"):
                self.groups.setdefault(r["group"], []).append(r)
        trainer = getattr(self.app, "trainer", None)
        keys, cells = [], []
        for r in rows:
            group = r.get("group")
            if group and r is self.groups[group][0]:  # the comparison's own row, where its first run is
                keys.append(GROUP_KEY + group)
                cells.append(_group_cells(group, self.groups[group], group in self.expanded, trainer))
            if not group or group in self.expanded:
                keys.append(r["name"])
                cells.append(_cells(r, trainer, indent=bool(group)))
        # Columns sized here, from what they will hold: DataTable's own auto-sizing of rows re-added after
        # clear() sometimes kept the header widths, cutting names short.
        widths = {label: max([len(label), *(len(c[i]) for c in cells)]) for i, label in enumerate(COLUMNS)}
        width = table.size.width if table.display and table.size.width else self.size.width - 2  # margins
        shown = fitting(widths, width - 2)  # a scrollbar's room
        self._fitted = (width, shown)
        table.clear(columns=True)
        for label in shown:
            table.add_column(label, width=widths[label])
        for key, row in zip(keys, cells, strict=True):
            kept = (c for label, c in zip(COLUMNS, row, strict=True) if label in shown)
            table.add_row(*map(escape, kept), key=key)  # DataTable reads a str as markup
        if current is not None and current in keys:
            table.move_cursor(row=table.get_row_index(current))
        self.query_one("#runs-dir", Static).update(Text(f"runs folder: {folder}"))
        table.display = bool(rows)
        self.query_one("#empty").display = not rows
        self._hint()
        table.focus()

    def _readable(self, name: str | None) -> str | None:
        """``name`` if its run can be read; for an unreadable one, say why and give None."""
        row = self.rows.get(name or "")
        if row is not None and UNREADABLE in row:
            self.notify(row[UNREADABLE], title=f"{name} is unreadable", severity="warning", markup=False)
            return None
        return name

    def refit(self) -> None:
        """Choose the columns again for the table's width, from the rows shown (no need to re-read them)."""
        table = self.query_one(DataTable)
        if self.rows and getattr(self, "_fitted", (None,))[0] != table.size.width:
            self._fill(*self._shown)

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= table.row_count:
            return None
        return table.ordered_rows[table.cursor_row].key.value

    def selected(self) -> str | None:
        """The highlighted run's name (None on a comparison's row)."""
        key = self._cursor_key()
        return None if key is None or key.startswith(GROUP_KEY) else key

    def selected_group(self) -> str | None:
        """The comparison whose row is highlighted, if one is."""
        key = self._cursor_key()
        return key.removeprefix(GROUP_KEY) if key and key.startswith(GROUP_KEY) else None

    def _hint(self) -> None:
        """The keys' hint for the highlighted row; for an unreadable run, why (the file and what is wrong)."""
        if self.evaluating:  # it says what is being evaluated until that ends
            return
        row = self.rows.get(self.selected() or "")
        if row is not None and UNREADABLE in row:
            fix = "D: delete it" if row["deletable"] else "move its folder away"
            why = visible_line(row[UNREADABLE])
            self.query_one("#detail", Static).update(Text(f"Unreadable: {why} · {fix}"))
            return
        text = GROUP_HINT if self.selected_group() else HINT
        self.query_one("#detail", Static).update(text if self.rows else "")

    def on_data_table_row_highlighted(self) -> None:
        self._hint()

    def _group_only(self) -> bool:
        """On a comparison's row, a run's key says what to do instead; True when it did."""
        if self.selected_group():
            self.notify("This row is a comparison: Enter shows its runs.")
            return True
        return False

    @on(DataTable.RowSelected)
    async def action_open(self) -> None:
        group = self.selected_group()
        if group:  # open or close the comparison
            self.expanded.symmetric_difference_update({group})
            self._fill(*self._shown)
            return
        name = self._readable(self.selected())
        if name:
            await self.app.open_playground(name)  # type: ignore[attr-defined]

    async def action_resume(self) -> None:
        if self._group_only():
            return
        name = self._readable(self.selected())
        if not name:
            return
        if self.rows[name]["model"] == "ngram":
            self.notify("n-gram models train in one pass: there is nothing to resume.", severity="warning")
            return
        await self.app.start_training(resume_argv(name), resume=name)  # type: ignore[attr-defined]

    def action_evaluate(self) -> None:
        if self._group_only():
            return
        name = self._readable(self.selected())
        if not name:
            return
        if self.evaluating:
            self.notify(f"Evaluating {self.evaluating} already; one at a time.")
            return
        self.evaluating = name
        self.query_one("#detail", Static).update(Text(f"Evaluating {name} on its test text…"))
        self._evaluate(name)

    @work(exclusive=True, group="eval")
    async def _evaluate(self, name: str) -> None:
        """``lmtui eval NAME --json`` in a child process (torch stays out of the app); then re-read runs."""
        import asyncio
        import json
        import sys

        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "lmtui", "eval", name, "--json",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await child.communicate()
            if child.returncode != 0:
                lines = err.decode(errors="replace").strip().splitlines()
                raise LmtuiError(lines[-1] if lines else f"exit status {child.returncode}")
            result = json.loads(out)
            self.notify(f"perplexity {result['perplexity']:.2f} on its {result['text']} "
                        f"({result['tokens']:,} tokens), {result['bits_per_char']:.3f} bits/char",
                        title=f"{name} evaluated", timeout=10)
        except (OSError, ValueError, KeyError, LmtuiError) as exc:
            self.notify(app_words(str(exc)), title=f"Could not evaluate {name}", severity="error")
        finally:
            self.evaluating = None
            self._hint()
        self.refresh_runs()

    def action_delete(self) -> None:
        group = self.selected_group()
        if group:
            self._ask_delete_group(group)
            return
        name = self.selected()
        if not name:
            return
        trainer = getattr(self.app, "trainer", None)
        if trainer and trainer.running and trainer.run_name == name:
            self.notify("This run is training now: stop it first (F3, then S).", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(ConfirmScreen(f"Delete run {name!r} and all its files (checkpoints, samples)?"),
                             answered)

    def _delete(self, name: str) -> None:
        from lmtui.runs import delete_run

        try:
            delete_run(name)
        except LmtuiError as exc:
            self.notify(app_words(str(exc)), title="Could not delete", severity="error")
            return
        self.notify(f"Deleted {name}.")
        self.refresh_runs()

    def _ask_delete_group(self, group: str) -> None:
        members = [r["name"] for r in self.groups.get(group, [])]
        trainer = getattr(self.app, "trainer", None)
        if trainer and trainer.running and trainer.run_name in members:
            self.notify("A run of this comparison is training now: stop it first.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete_group(group)

        question = f"Delete comparison {group!r}: its {len(members)} runs and all their files?"
        self.app.push_screen(ConfirmScreen(question), answered)

    def _delete_group(self, group: str) -> None:
        from lmtui.runs import delete_group

        try:
            deleted = delete_group(group)
        except LmtuiError as exc:
            self.notify(app_words(str(exc)), title="Could not delete", severity="error")
            return
        self.expanded.discard(group)
        self.notify(f"Deleted comparison {group} ({len(deleted)} runs).")
        self.refresh_runs()


def fitting(widths: dict[str, int], room: int) -> list[str]:
    """The columns that fit ``room`` cells (each also takes two of padding), lesser ones dropped first."""
    shown = list(widths)
    for label in LESSER:
        if sum(widths[c] + 2 for c in shown) <= room:
            break
        shown.remove(label)
    return shown


def status(r: dict[str, Any], trainer: Any) -> str:
    """What is true of the run now: the app's own child says paused; a stopped run whose full evaluation
    has not been done yet says so."""
    if trainer is not None and trainer.running and trainer.run_name == r["name"]:
        return "paused" if trainer.paused else "training"
    text = r["status"] or ""
    if r.get("eval_pending"):
        text += ", eval pending" if text else "eval pending"
    return text


def _group_cells(group: str, members: list[dict[str, Any]], open_: bool, trainer: Any = None) -> list[str]:
    """A comparison's own row: its name and size, what it compared, and how it ended (stopped when one of
    its runs was stopped; its runs' rows say the rest)."""
    states = [status(r, trainer) for r in members]
    state = next((s for s in states if s.startswith(("training", "paused"))), None) or next(
        (s for s in states if not s.startswith("done")), "done")
    levels = sorted({r["level"] for r in members})
    corpora = sorted({visible_line(r["corpus"]) for r in members})
    seconds = sum(r["train_seconds"] or 0 for r in members)
    name = f"{'▾' if open_ else '▸'} {group} · {len(members)} run{'s' * (len(members) != 1)}"
    return [name, ", ".join(corpora), f"compare · {', '.join(levels)}", state, "–", "–", "–", "–", "–", "–",
            duration(seconds)]


def _cells(r: dict[str, Any], trainer: Any = None, indent: bool = False) -> list[str]:
    """One row of the table, as text, in the order of COLUMNS (a comparison's run indented under it; control
    characters made visible: the corpus name is a file's, a stranger's for an imported run)."""
    if UNREADABLE in r:  # why is the detail line's, when the row is highlighted
        return [r["name"], "–", "–", UNREADABLE, *["–"] * (len(COLUMNS) - 4)]
    size = human_bytes(r["size_bytes"]) if r["size_bytes"] else "–"
    seconds = duration(r["train_seconds"]) if r["train_seconds"] is not None else "–"
    # n-gram runs: the share of validation n-grams of the model's order never seen in training (sparsity)
    unseen = _num(r.get("unseen_at_order"), ".1%")
    test = "∞" if r.get("test_ppl_infinite") else _num(r["test_ppl"], ".2f")  # as `lmtui runs` shows it
    scores = [_val_ppl(r), test, _num(r["bits_per_char"], ".3f"), unseen]
    params = _num(r["parameters"], ",")
    model = f"{r['model']} · {r['level']}"
    name = f"  {r['name']}" if indent else r["name"]
    cells = [name, r["corpus"], model, status(r, trainer), params, size, *scores, seconds]
    return [visible_line(c) for c in cells]


def _val_ppl(r: dict[str, Any]) -> str:
    """Validation perplexity, with what it hides: ∞ for probability-0 tokens, the <unk> share of word runs."""
    if r.get("val_ppl_infinite"):
        return "∞ (unsmoothed)"
    if r.get("eval_pending") and r.get("slice_val_ppl"):  # the whole split not scored yet: E does it
        return f"{r['slice_val_ppl']:.2f} (slice)"
    unk = r.get("val_unk_rate") or 0.0
    ppl = _num(r["val_ppl"], ".2f")
    return f"{ppl} ({unk:.1%} <unk>)" if r["level"] == "word" and unk >= 0.0005 else ppl
