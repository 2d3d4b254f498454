"""`lmtui runs` on a terminal: columns that do not fit give way in the app's order (lmtui.columns), and
every run name is shown whole at 80 and 120 columns, so it can be copied into `lmtui sample`."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from pty_util import run_on_pty
from test_cli import ok

from lmtui.cli import RUNS_COLUMNS, main
from lmtui.columns import LAST, LESSER

LONGEST = "x" * 40 + "-longest-run-name-allowed"[: 64 - 40]  # 64 characters, the most a name may have
NAMES = ["a", "speeches-ngram-word-2", "a-run-name-long-enough-that-an-eighty-column-table-cuts-it", LONGEST]


@pytest.fixture
def long_names(trained_runs, english_file):
    """The session's two runs and n-gram runs under the names above (a word model: its <unk> column)."""
    for name in NAMES:
        args = ["train", str(english_file), "--model", "ngram", "--order", "2", "--name", name]
        ok(CliRunner().invoke(main, [*args, *(["--level", "word"] if name == "a" else [])]))
    return ["lstm-run", "ngram-run", *NAMES]


def on_terminal(width: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`lmtui runs` as a terminal of ``width`` columns draws it (the table's path for a terminal)."""
    monkeypatch.setattr("lmtui.cliutil.terminal", lambda: True)
    result = ok(CliRunner(env={"COLUMNS": str(width)}).invoke(main, ["runs"]))
    return result.stdout.splitlines()


def header(lines: list[str]) -> list[str]:
    return [cell.strip() for cell in re.split(r"[┃│]", lines[1]) if cell.strip()]


@pytest.mark.parametrize("width", [80, 120])
def test_every_name_is_whole_and_the_table_fits(long_names, width, monkeypatch):
    lines = on_terminal(width, monkeypatch)
    assert max(map(len, lines)) <= width, "\n".join(lines)
    rows = [[c.strip() for c in re.split(r"[│┃]", line)[1:-1]] for line in lines if line.startswith("│")]
    assert sorted(row[0] for row in rows) == sorted(long_names)
    assert "…" not in "".join(lines)


@pytest.mark.parametrize("width", [80, 120])
def test_lesser_columns_go_first(long_names, width, monkeypatch):
    shown = header(on_terminal(width, monkeypatch))
    gone = [c for c in RUNS_COLUMNS if c not in shown]
    order = [c for c in LESSER + LAST if c in RUNS_COLUMNS]
    assert sorted(gone, key=order.index) == order[: len(gone)]  # the first ones of the order, no other
    assert {"name", "val ppl"} <= set(shown)
    assert [c for c in RUNS_COLUMNS if c in shown] == shown  # kept in the table's own order


def test_a_wide_terminal_shows_every_column(long_names, monkeypatch):
    assert header(on_terminal(250, monkeypatch)) == list(RUNS_COLUMNS)


def test_short_names_at_80_keep_the_scores(trained_runs, monkeypatch):
    shown = header(on_terminal(80, monkeypatch))
    assert {"name", "model", "val ppl", "test ppl", "status"} <= set(shown)


def test_the_app_drops_columns_in_the_same_order():
    """One order for both faces: the app's LESSER is the shared order's labels the app has."""
    from lmtui.tui.screens import runs as app

    assert tuple(c for c in LESSER + LAST if c in app.COLUMNS) == app.LESSER
    assert {"name", "val ppl"}.isdisjoint(LESSER + LAST)


def test_a_real_terminal_of_80_columns(long_names, child_env):
    """The real command on a pseudo-terminal 80 columns wide: every name whole, no line past 80."""
    env = {k: v for k, v in child_env.items() if k not in ("COLUMNS", "LINES")} | {"TERM": "xterm"}
    code, out = run_on_pty(["runs"], env, size=(80, 24))
    assert code == 0, out
    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    lines = text.replace("\r\n", "\n").splitlines()
    assert max(map(len, lines)) <= 80, text
    names = {re.split(r"[│┃]", line)[1].strip() for line in lines if line.startswith("│")}
    assert names == set(long_names)
