"""Help that teaches (examples, LMTUI_HOME, preset defaults) and shell completion of run and corpus names."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_cli import invoke, ok

from lmtui.cli import main


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_examples(command):
    text = ok(invoke(command, "--help")).output
    assert "Examples:" in text
    assert f"lmtui {command}" in text.split("Examples:", 1)[1]  # an example of this very command


def test_help_names_lmtui_home_and_completion():
    text = ok(invoke("--help")).output
    assert "LMTUI_HOME" in text and "_LMTUI_COMPLETE=bash_source lmtui" in text
    for command in ("train", "runs", "delete", "import"):
        assert "LMTUI_HOME" in ok(invoke(command, "--help")).output, command


def test_train_help_shows_preset_defaults():
    text = " ".join(ok(invoke("train", "--help")).output.split())
    hidden = "--hidden INTEGER Hidden size. (neural) [small preset: window 256, rnn 384, lstm 384, gru 384]"
    assert hidden in text
    assert "--threads INTEGER" in text and "[small preset: the free cores]" in text
    assert "--order INTEGER n-gram order" in text and "(n-gram) [small preset: 3]" in text


def complete(words: str) -> list[tuple[str, str]]:
    """What bash completion offers for the last word of ``words``: (type, value) pairs."""
    parts = words.split(" ")
    env = {"_LMTUI_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(main, [], env=env, prog_name="lmtui")
    assert result.exit_code == 0, result.output
    return [tuple(line.split(",", 1)) for line in result.output.splitlines() if line]


def test_run_names_complete(trained_runs):
    assert complete("lmtui sample ng") == [("plain", "ngram-run")]
    assert ("plain", "lstm-run") in complete("lmtui eval ")
    assert complete("lmtui train --resume lst") == [("plain", "lstm-run")]
    assert complete("lmtui delete zzz") == []


def test_corpus_names_and_files_complete():
    offered = complete("lmtui train s")
    assert ("plain", "scripts") in offered and ("plain", "speeches") in offered
    assert ("file", "s") in offered  # then the shell completes file names
