"""The parts of the command line that are not commands: ``train``'s options made from the one list of
options (with their preset defaults in the help), shell completion of run and corpus names, and tables that
print whole in pipes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from lmtui.options import OPTIONS, Option
from lmtui.visible import visible_line


class PresetOption(click.Option):
    """A training option whose help ends with its default under the small preset, computed only when help is
    shown (presets differ per model family: "[small preset: lstm 0.01, gru 0.008, …]")."""

    def __init__(self, *args: Any, lmtui_option: Option, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lmtui_option = lmtui_option

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        return record[0], f"{record[1]} [{preset_default(self.lmtui_option)}]"


def preset_default(opt: Option, preset: str = "small") -> str:
    """The option's default under a preset at char level, per family where families differ."""
    from lmtui.presets import preset_configs

    values: dict[str, Any] = {}
    for family in opt.families:
        model, train = preset_configs(family, "char", preset)
        values[family] = getattr(model if opt.group == "model" else train, opt.name)

    def show(v: Any) -> str:
        if v is None:
            return "= --seq-len" if opt.name == "k1" else opt.placeholder or "none"
        return f"{v:g}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else str(v)

    if len({show(v) for v in values.values()}) == 1:
        return f"{preset} preset: {show(next(iter(values.values())))}"
    return f"{preset} preset: " + ", ".join(f"{f} {show(v)}" for f, v in values.items())


FAMILY_NOTE = {
    ("ngram",): " (n-gram)",
    ("window",): " (window)",
    ("window", "rnn", "lstm", "gru"): " (neural)",
    ("rnn", "lstm", "gru"): " (rnn/lstm/gru)",
}


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``lmtui train``'s hyperparameter options, one per entry of ``lmtui.options.OPTIONS``."""
    types: dict[str, Any] = {"int": int, "float": float}
    for opt in reversed(OPTIONS):
        family = FAMILY_NOTE.get(opt.families, "")
        if opt.kind == "bool":
            decls = [f"{opt.flag}/--no-{opt.flag[2:]}"]
            extra: dict[str, Any] = {"default": None}
        else:
            decls = [opt.flag]
            extra = {"type": click.Choice(opt.choices) if opt.kind == "choice" else types[opt.kind]}
        command = click.option(
            *decls, opt.name, cls=PresetOption, lmtui_option=opt, help=opt.help + family, **extra
        )(command)
    return command


def complete_run(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of run names: the run folders, without loading any run."""
    from click.shell_completion import CompletionItem

    from lmtui.runs import runs_dir

    try:
        names = sorted(p.name for p in runs_dir().iterdir() if (p / "run.json").is_file())
    except OSError:
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def complete_corpus(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of a corpus: the bundled names, then files and folders."""
    from click.shell_completion import CompletionItem

    from lmtui.corpus import bundled_corpora

    names = [CompletionItem(c.name, help=c.title) for c in bundled_corpora() if c.name.startswith(incomplete)]
    return [*names, CompletionItem(incomplete, type="file")]


def say(message: str, err: bool = False) -> None:
    """One line for a person, its control characters made visible (it may name a file's strings)."""
    click.echo(visible_line(message), err=err)


def terminal() -> bool:
    return sys.stdout.isatty()


def print_table(table: Any) -> None:
    """A rich Table on a terminal; in a pipe or a file, whole rows as tab-separated text after a header line
    (``lmtui runs | cut -f1``), never cut to a terminal's width. Headerless columns (bars) are left out.

    Either way every cell and the title are shown with control characters made visible (lmtui.visible):
    cells name corpora and tokens from files, and a tab or newline in one would break the row."""
    _visible_cells(table)
    if terminal():
        from rich.console import Console

        Console().print(table)
        return
    from rich.errors import MarkupError
    from rich.text import Text

    def plain(cell: Any) -> str:
        try:  # a str cell is Rich markup (names in it are escaped): its plain text
            return cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
        except MarkupError:
            return str(cell)

    columns = [c for c in table.columns if str(c.header)]
    click.echo("\t".join(str(c.header) for c in columns))
    for row in zip(*(list(c.cells) for c in columns), strict=True):
        click.echo("\t".join(plain(cell) for cell in row))


def _visible_cells(table: Any) -> None:
    """Escape control characters in a Table's str (markup) and Text cells and its title, in place.

    A markup string can be escaped as it is: the escapes are printable and end in no backslash, so markup
    (and ``rich.markup.escape``'s ``\\[``) reads the same after. A Text whose characters change loses its
    spans but keeps its style."""
    from rich.text import Text

    def shown(cell: Any) -> Any:
        if isinstance(cell, str):
            return visible_line(cell)
        if isinstance(cell, Text) and visible_line(cell.plain) != cell.plain:
            return Text(visible_line(cell.plain), style=cell.style)
        return cell

    for column in table.columns:
        column._cells = [shown(cell) for cell in column._cells]  # rich's own list of the column's cells
    table.title = shown(table.title)


def families_text(families: tuple[str, ...]) -> str:
    if families == ("ngram",):
        return "n-gram models"
    if len(families) == 1:
        return f"the {families[0]} model"
    return ", ".join(families[:-1]) + f" and {families[-1]} models"
