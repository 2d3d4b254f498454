"""Help that teaches (examples that run as the shell splits them, LMTUI_HOME, preset defaults), one name and
one default per idea across commands, and shell completion of run and corpus names."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from click.testing import CliRunner
from test_cli import invoke, ok

from lmtui.cli import main
from lmtui.options import OPTIONS


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


# -- the examples in --help run as the shell splits them


def example_lines(text: str) -> list[str]:
    """The indented lines of each "Examples:" (or shell completion) block of a help text."""
    lines, indent = [], None
    for line in text.splitlines():
        depth = len(line) - len(line.lstrip())
        if line.rstrip().endswith(":") and ("Examples" in line or "completion" in line):
            indent = depth
        elif indent is not None and line.strip() and depth > indent:
            lines.append(line.strip())
        else:
            indent = None
    return lines


def shell_commands(line: str) -> list[list[str]]:
    """A shell line split as sh would (quotes, # comments), one list of words per command of a pipeline,
    without leading VAR=value assignments."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&")
    lexer.whitespace_split, lexer.commenters = True, "#"
    commands: list[list[str]] = [[]]
    for word in lexer:  # raises ValueError on an unbalanced quote
        if word in ("|", "||", "&&", ";", "&"):
            commands.append([])
        elif commands[-1] or not re.fullmatch(r"[A-Z_]+=\S*", word):
            commands[-1].append(word)
    return [c for c in commands if c]


@pytest.mark.parametrize("command", ["", *sorted(main.commands)])
def test_help_examples_split_into_the_intended_arguments(command):
    """Each `lmtui COMMAND …` of an example parses as that command's arguments once the shell has split it
    (a non-raw docstring once lost the backslashes of `"HAMLET: (aside) \\"To be\\""`: two arguments)."""
    text = ok(invoke(*([command] if command else []), "--help")).output
    lines = example_lines(text)
    assert lines, text
    parsed = 0
    for line in lines:
        for words in shell_commands(line):
            if words[0] != "lmtui" or len(words) < 2 or words[1] not in main.commands:
                continue
            name, args = words[1], words[2:]
            try:
                main.commands[name].make_context(name, args)
            except click.UsageError as exc:
                pytest.fail(f"{line!r}: {exc.format_message()}")
            parsed += 1
    assert parsed, f"no example of lmtui {command} runs lmtui"


def test_the_neurons_example_keeps_its_quotes():
    line = next(line for line in example_lines(ok(invoke("neurons", "--help")).output) if "HAMLET" in line)
    ctx = main.commands["neurons"].make_context("neurons", shell_commands(line)[0][2:])
    assert ctx.params["text"] == 'HAMLET: (aside) "To be"' and ctx.params["top"] == 3


def test_shell_commands_splits_as_sh_does():
    assert shell_commands("cat a | X=1 lmtui eval n   # note") == [["cat", "a"], ["lmtui", "eval", "n"]]
    assert shell_commands('lmtui neurons r "A \\"q\\""') == [["lmtui", "neurons", "r", 'A "q"']]
    assert shell_commands('lmtui neurons r "A "q""') == [["lmtui", "neurons", "r", "A q"]]  # what went wrong
    with pytest.raises(ValueError):
        shell_commands('lmtui neurons r "A')


# -- one idea, one option name, one default


# Every option of every command, by the idea it stands for. A new option joins this table; an idea another
# command already has takes that command's name for it (and its default).
IDEAS = {
    "--json": "print one JSON object",
    "--encoding": "the text encoding of a file",
    "--level": "the token level, chars or words",
    "--max-seconds": "a time budget",
    "--steps": "a budget in optimizer steps",
    "--seed": "a random seed",
    "--name": "the name of the run made",
    "--events": "progress as JSON lines",
    "--control": "control lines on stdin",
    "--model": "the model family to train",
    "--models": "the models to compare",
    "--preset": "starting hyperparameters",
    "--resume": "continue a run",
    "--out": "a folder for result files",
    "--text": "a file to score instead of the test split",
    "--top": "how many of the best to list",
    "--temperature": "sampling temperature",
    "--top-k": "sample from the k most likely",
    "--top-p": "nucleus sampling",
    "--prime": "text a sample continues",
    "--length": "tokens per sample",
    "--count": "number of samples",
    "--stop-lines": "stop a sample after lines",
    "--allow-unk": "let samples hold <unk>",
    "--yes": "do not ask",
    "--group": "NAME is a comparison",
    "--force": "replace an existing file",
    "--prefixes": "how many validation prefixes to score",
    "--prefix": "the length of each prefix",
    "--ahead": "tokens scored after each prefix",
    "--state": "which LSTM state or gate to read",
}
# Where one name means another thing in one command (kept: the lecture's notation, or a list of things).
OTHER_IDEA = {("gradients", "--k"): "steps back to measure"}
# Old spellings kept, hidden, for scripts that use them.
ALIASES = {("compare", "--seconds"): "--max-seconds"}
# One idea, different defaults on purpose: how many to list depends on what is listed.
OWN_DEFAULTS = {"--top"}
# one idea, one default, except where a command's purpose asks for another, said here
REASONED_DEFAULTS = {
    ("forcing", "--temperature"): "free running is measured on the model's own distribution (T = 1)",
    ("forcing", "--seed"): "a measurement repeats exactly unless asked otherwise",
}


def options_by_command() -> list[tuple[str, click.Option]]:
    return [
        (name, p)
        for name, command in sorted(main.commands.items())
        if not command.hidden
        for p in command.params
        if isinstance(p, click.Option) and p.name != "help"
    ]


def long_flag(option: click.Option) -> str:
    return next(o for o in option.opts if o.startswith("--"))


def test_every_option_has_its_idea_and_one_idea_one_name():
    training = {o.flag for o in OPTIONS}  # train's hyperparameters: made from lmtui.options, one list
    unknown = [
        (command, long_flag(p))
        for command, p in options_by_command()
        if long_flag(p) not in IDEAS
        and long_flag(p) not in training
        and (command, long_flag(p)) not in OTHER_IDEA | ALIASES
    ]
    assert not unknown, f"options missing from IDEAS (same idea as another? use its name): {unknown}"
    names: dict[str, set[str]] = {}
    for flag, idea in IDEAS.items():
        names.setdefault(idea, set()).add(flag)
    assert all(len(flags) == 1 for flags in names.values()), names
    for (command, old), new in ALIASES.items():
        option = next(p for c, p in options_by_command() if c == command and long_flag(p) == old)
        assert option.hidden and any(long_flag(p) == new for c, p in options_by_command() if c == command)


def test_one_name_has_one_default_everywhere():
    defaults: dict[str, dict[str, object]] = {}
    for command, p in options_by_command():
        flag = long_flag(p)
        if (command, flag) not in OTHER_IDEA | ALIASES | REASONED_DEFAULTS and flag not in OWN_DEFAULTS:
            defaults.setdefault(flag, {})[command] = p.to_info_dict()["default"]  # None: no default
    differ = {flag: by for flag, by in defaults.items() if len({repr(v) for v in by.values()}) > 1}
    assert not differ, differ
    assert set(defaults["--level"]) >= {"train", "compare"} and defaults["--level"]["compare"] is None
    assert set(defaults["--max-seconds"]) >= {"train", "compare"}
