"""F1's panel of every key: this screen's keys first, then the app's, then the focused widget's.

Textual's own help panel lists the keys from the focused widget outwards, so a table's generic keys
("Scroll Left", "Page Left", "Top" …) came first, and at 80x24 the Runs screen's R, E and D were below the
fold. A person opening F1 looks for what this screen can do.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import DataTable, DirectoryTree, Input, OptionList, RadioSet, Static

SECTIONS = ("This screen", "Anywhere", "Where the cursor is")
PALETTE = ("app.command_palette", "command_palette")
TOOLTIPS_FROM = 110  # terminal columns: the panel (a third of them) then holds a description and tooltip
FOCUSED_KIND = (
    (Input, "field"),
    (DataTable, "table"),
    (DirectoryTree, "tree"),
    (OptionList, "list"),
    (RadioSet, "choice"),
)


def own_actions(node: DOMNode) -> set[str]:
    """The actions ``node``'s own class binds (not those inherited from Textual's base classes)."""
    return {b.action for b in getattr(type(node), "BINDINGS", []) if isinstance(b, Binding)}


def section_of(namespace: DOMNode, binding: Binding, screen: Screen) -> int:
    """0: the screen's own keys; 1: the app's own (and the command palette); 2: the rest."""
    if namespace is screen and binding.action in own_actions(screen):
        return 0
    if namespace is screen.app and (binding.action in own_actions(screen.app) or binding.action in PALETTE):
        return 1
    return 2


def focused_title(screen: Screen) -> str:
    """The third section's title: what has the focus."""
    focused = screen.focused
    kind = next((name for cls, name in FOCUSED_KIND if isinstance(focused, cls)), None)
    return f"In the focused {kind}" if kind else SECTIONS[2]


def keys_table(screen: Screen, tooltips: bool = True) -> Group:
    """Every active key of ``screen``, in its three sections (a table each, so a long key in the last does
    not widen the first), a key's several bindings on one row; ``tooltips`` adds what each does."""
    rows: list[list[tuple[Binding, str]]] = [[], [], []]
    seen: dict[tuple[int, str], int] = {}
    for namespace, binding, _enabled, _tooltip in screen.active_bindings.values():
        if binding.system and binding.action not in PALETTE:
            continue
        section = section_of(namespace, binding, screen)
        display = screen.app.get_key_display(binding)
        where = (section, binding.action)
        if where in seen:  # another key for the same action (Esc and F7): one row, both keys
            old, keys = rows[section][seen[where]]
            rows[section][seen[where]] = (old, f"{keys} {display}")
            continue
        seen[where] = len(rows[section])
        rows[section].append((binding, display))
    parts: list[Table | Text] = []
    for title, entries in zip((SECTIONS[0], SECTIONS[1], focused_title(screen)), rows, strict=True):
        if not entries:
            continue
        parts.append(Text(title, style="underline"))
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
        table.add_column(justify="right", style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for binding, keys in entries:
            label, tooltip = binding.description or binding.action, binding.tooltip if tooltips else ""
            description = Text(tooltip if tooltip.lower().startswith(label.lower()) else label)
            if tooltip and not tooltip.lower().startswith(label.lower()):
                description.append(f" · {tooltip}", style="dim")
            table.add_row(keys, description)
        parts += [table, Text("")]
    return Group(*parts)


class KeysPanel(VerticalScroll, can_focus=False):
    """The panel F1 shows at the right of a screen (as Textual's help panel did), kept current as the
    screen's keys change (focus moves, a run starts or stops)."""

    DEFAULT_CSS = """
    KeysPanel {
        split: right;
        width: 33%;
        min-width: 30;
        max-width: 60;
        height: 1fr;
        border-left: vkey $foreground 30%;
        padding: 0 1;
        background: $surface;
    }
    KeysPanel > Static { width: 1fr; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="keys-table")

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            # tooltips where the panel is wide enough to keep them to a line or two (not at 80 columns)
            wide = self.app.size.width >= TOOLTIPS_FROM
            self.query_one("#keys-table", Static).update(keys_table(screen, tooltips=wide))
