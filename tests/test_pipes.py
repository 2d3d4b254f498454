"""lmtui in pipes and scripts: whole tables when stdout is not a terminal, and bare `lmtui` without one."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from test_cli import clean_error, invoke, json_out, ok

from lmtui.cli import main

LONG = "a-run-name-long-enough-that-an-eighty-column-table-cuts-it"


def lmtui(
    *args: str, env: dict[str, str], stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess:
    """The real command with stdout a pipe (as in `lmtui runs | cat`), 80 columns as a terminal would say."""
    return subprocess.run(
        [sys.executable, "-m", "lmtui", *args],
        env=env | {"COLUMNS": "80"},
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_runs_in_a_pipe_prints_whole_names(english_file, child_env):
    ok(invoke("train", english_file, "--model", "ngram", "--order", "2", "--name", LONG))
    result = lmtui("runs", env=child_env)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split("\t")[:3] == ["name", "corpus", "model"]
    assert [row.split("\t")[0] for row in rows] == [LONG]
    assert "…" not in result.stdout


def test_corpora_and_predict_in_a_pipe_are_tab_separated(trained_runs, child_env):
    corpora = lmtui("corpora", env=child_env)
    assert corpora.returncode == 0, corpora.stderr
    lines = corpora.stdout.splitlines()
    assert lines[0].startswith("name\ttitle\t")
    description = lines[1].split("\t")[-1]
    assert len(description) > 40 and "…" not in corpora.stdout  # not cut to the width
    predict = lmtui("predict", "ngram-run", "the old", "--top", "3", env=child_env)
    assert predict.returncode == 0, predict.stderr
    header, *rows = predict.stdout.splitlines()
    assert header == "token\tprobability" and len(rows) == 3
    assert all(0 < float(row.split("\t")[1]) <= 1 for row in rows)


def test_bare_lmtui_without_a_terminal_says_so_and_exits(child_env):
    t0 = time.monotonic()
    result = lmtui(env=child_env)
    assert time.monotonic() - t0 < 30  # it returns (the app would wait forever); not a speed claim
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: the lmtui app needs a terminal; in scripts, run one of the commands above"
    ]
    assert "Usage: " in result.stdout and "train" in result.stdout
    assert "\x1b[" not in result.stdout  # no escape codes


# -- --json on every command


def test_every_command_has_json():
    """Every command a user runs (the hidden `trainer` is the app's child, which speaks JSON lines only)."""
    shown = {n: c for n, c in main.commands.items() if not c.hidden}
    assert "train" in shown and "trainer" not in shown
    missing = [n for n, c in shown.items() if "as_json" not in {p.name for p in c.params}]
    assert not missing, f"commands without --json: {missing}"


def test_export_import_export_arpa_delete_print_json(trained_runs, tmp_path):
    exported = json_out(invoke("export", "ngram-run", tmp_path / "b.safetensors", "--json"))
    assert exported["run"] == "ngram-run" and exported["bytes"] == (tmp_path / "b.safetensors").stat().st_size
    imported = json_out(invoke("import", tmp_path / "b.safetensors", "--name", "copy", "--json"))
    assert imported["imported"] == "copy" and imported["summary"]["model"] == "ngram"
    arpa = json_out(invoke("export-arpa", "copy", tmp_path / "c.arpa", "--json"))
    assert arpa["path"] == str((tmp_path / "c.arpa").resolve()) and arpa["bytes"] > 0
    deleted = invoke("delete", "copy", "--json", input="y\n")  # the question goes to stderr
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout) == {"deleted": "copy"}
    assert "delete run 'copy'" in deleted.stderr


@pytest.mark.parametrize(
    "args",
    [["--length", "0"], ["-t", "-1"], ["--count", "0"], ["--top-k", "0"], ["--top-p", "2"], ["--seed", "-1"]],
)
def test_bad_sample_values_exit_2_in_one_line(trained_runs, args):
    clean_error(invoke("sample", "ngram-run", *args), "must be", code=2)


def test_run_errors_still_exit_1(trained_runs):
    clean_error(invoke("sample", "no-such-run"), "no run", code=1)


def test_table_cells_are_plain_text_in_a_pipe(capsys, monkeypatch):
    from rich.markup import escape
    from rich.table import Table

    from lmtui.cliutil import print_table

    table = Table("name", "note", "")
    table.add_row(escape("notes [draft]"), "[/] unbalanced", "███")
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    print_table(table)
    assert capsys.readouterr().out == "name\tnote\nnotes [draft]\t[/] unbalanced\n"
