"""lmtui in pipes and scripts: whole tables and unwrapped lines when stdout is not a terminal, results on
stdout and progress, notes and captions on stderr, and bare `lmtui` without a terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from test_cli import TINY, clean_error, invoke, json_out, ok

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
    assert header == "token\tlog p\tlog p / 0.8\tp at T 0.8\tp at T 1" and len(rows) == 3  # sample's T
    assert all(0 < float(p) <= 1 for row in rows for p in row.split("\t")[3:])


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


def test_export_import_export_arpa_delete_print_json(trained_runs, tmp_path, monkeypatch):
    exported = json_out(invoke("export", "ngram-run", tmp_path / "b.safetensors", "--json"))
    assert exported["run"] == "ngram-run" and exported["bytes"] == (tmp_path / "b.safetensors").stat().st_size
    imported = json_out(invoke("import", tmp_path / "b.safetensors", "--name", "copy", "--json"))
    assert imported["imported"] == "copy" and imported["summary"]["model"] == "ngram"
    arpa = json_out(invoke("export-arpa", "copy", tmp_path / "c.arpa", "--json"))
    assert arpa["path"] == str((tmp_path / "c.arpa").resolve()) and arpa["bytes"] > 0
    monkeypatch.setattr("lmtui.cli.interactive", lambda: True)  # a person answers at a terminal
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


# -- results to stdout, whole lines; progress, notes and captions to stderr


BOX = set("┃│━─┏┓┗┛┡┩└┘╇┼┳┻╋")


def piped(*args, input: str | None = None):
    """The command in-process, stdout and stderr not terminals, 80 columns as a terminal would say."""
    return CliRunner(env={"COLUMNS": "80"}).invoke(main, [str(a) for a in args], input=input)


def test_train_in_a_pipe_is_not_wrapped_and_notes_go_to_stderr(english_file):
    name = "a-name-long-enough-that-the-run-line-passes-eighty-columns"
    args = ("train", english_file, "--model", "ngram", "--order", 2)
    out = ok(piped(*args, "--name", name))
    run_line = next(line for line in out.stdout.splitlines() if line.startswith(name + ": ngram"))
    assert len(run_line) > 80 and "vocabulary" in run_line and "training tokens" in run_line
    assert f"{name}: validation perplexity" in out.stdout and "note:" not in out.stdout
    assert "note: level: word" in out.stderr  # n-grams on your own text read words: said aside
    assert all(line.startswith("note:") for line in out.stderr.splitlines())


def test_a_second_run_of_the_same_command_says_its_new_name(english_file):
    args = ("train", english_file, "--model", "ngram", "--order", 2)
    first, second = ok(piped(*args)), ok(piped(*args))
    assert "exists" not in first.stderr
    assert "note: a run named english-ngram-word exists: this one is english-ngram-word-2" in second.stderr
    assert second.stdout.startswith("english-ngram-word-2: ngram")


def test_neural_progress_lines_go_to_stderr(english_file, monkeypatch):
    monkeypatch.setattr("lmtui.display.HEADLESS_EVERY", 0.0)  # a progress line at every step event
    out = ok(piped("train", english_file, "--model", "gru", "--steps", 6, "--eval-every", 3, *TINY))
    assert any(line.startswith("step ") and "tok/s" in line for line in out.stderr.splitlines())
    assert "tok/s" not in out.stdout and "val loss" in out.stdout  # evaluations are the record


def test_no_best_beside_an_infinite_loss(english_file):
    args = ("train", english_file, "--model", "ngram", "--order", 4, "--level", "char", "--smoothing", "mle")
    out = ok(piped(*args, "--name", "mle")).stdout
    evals = [line for line in out.splitlines() if "val loss" in line]
    assert evals and all("perplexity ∞" in line and "(best)" not in line for line in evals), out
    assert "mle: validation perplexity ∞" in out


def test_explain_in_a_pipe_is_tab_separated(trained_runs):
    out = ok(piped("explain", "ngram-run", "the old sailor walked to the river before the rain came"))
    header, *rows = out.stdout.splitlines()
    assert header.split("\t") == [
        "token",
        "context",
        "how: counts at the order used, then P order by order",
        "P",
        "bits",
    ]
    table, after = rows[:-1], rows[-1]
    assert len(table) == len("the old sailor walked to the river before the rain came")  # a row a character
    assert all(len(row.split("\t")) == 5 for row in table) and after.startswith("chain rule: log2 P(text)")
    assert any("; " in row.split("\t")[2] for row in table)  # a cell's lines, one per order, on one line
    assert not BOX & set(out.stdout)
    assert "ngram-run: why each token" in out.stderr and "Kneser-Ney" in out.stderr  # title and legend


def test_gradients_in_a_pipe(trained_runs):
    out = ok(piped("gradients", "lstm-run", "--k", 12))
    header, *rows = out.stdout.splitlines()
    assert header == "k\tgradient norm\tvs 1 step back"  # the bars' column is the terminal's
    assert [row.split("\t")[0] for row in rows[:-1]] == ["1", "2", "3", "5", "10", "12"]
    assert rows[-1].startswith("the gradient 12 steps back is") and "bars" not in rows[-1]
    assert not BOX & set(out.stdout) and "gradient reaching k steps back" in out.stderr


def test_neurons_in_a_pipe(trained_runs):
    text = 'HAMLET: (aside) "To be, or not to be" (that is the question)\nOPHELIA: Good my lord\n'
    out = ok(piped("neurons", "lstm-run", text, "--top", 2))
    assert out.stdout.strip() and all(": unit " in line for line in out.stdout.splitlines())
    assert "r over this text's" in out.stderr


def test_compare_in_a_pipe_and_its_level_chosen_as_train_does(english_file):
    out = ok(piped("compare", english_file, "--models", "1gram,2gram"))
    header, *rows = out.stdout.splitlines()
    assert header.startswith("model\t") and [row.split("\t")[0] for row in rows[:2]] == ["1gram", "2gram"]
    assert rows[2].startswith("With ") or rows[2].startswith("Best: ")  # the verdict, one line
    assert not BOX & set(out.stdout)
    assert "note: level: word" in out.stderr and "training 1gram" in out.stderr
    data = json_out(piped("compare", english_file, "--models", "1gram", "--json"))
    assert data["level"] == "word"  # n-grams on your own text: words, as `lmtui train` reads it


def test_the_compare_level_follows_train():
    from lmtui.cli_lab import _default_level

    assert _default_level("speeches", ["1gram", "lstm"]) == "word"  # a bundled corpus's suggestion
    assert _default_level("scripts", ["3gram"]) == "char"
    assert _default_level("-", ["3gram"]) == "word" and _default_level("-", ["3gram", "gru"]) == "char"


def test_a_pipe_whose_reader_left_is_told_without_writing(tmp_path):
    """`lmtui train … | head -1`: stdout may not get a line for minutes (progress is on stderr), so the
    display asks the system whether the pipe's reader is still there."""
    from lmtui.display import reader_gone

    read, write = os.pipe()
    with os.fdopen(write, "w") as out:
        assert not reader_gone(out)
        os.close(read)
        assert reader_gone(out)
    with open(tmp_path / "log.txt", "w") as log:
        assert not reader_gone(log)
    assert not reader_gone(io.StringIO())  # no descriptor: nothing to ask
