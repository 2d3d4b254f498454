"""lmtui in pipes and scripts: whole tables when stdout is not a terminal, and bare `lmtui` without one."""

from __future__ import annotations

import subprocess
import sys
import time

from test_cli import invoke, ok

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
