"""README's "Learning with lmtui" runs as written: every command in it, in order, from an empty runs folder.

A student copies the commands one after another; a later one naming a run no earlier one made ("no run
named …") is the failure this guards against. Budgets are cut by ``LMTUI_MAX_STEPS`` (lmtui.timing), never
the names. Also the unit tests of that cap.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmtui import runs
from lmtui.errors import LmtuiError
from lmtui.events import Finished
from lmtui.models import ModelConfig
from lmtui.timing import MAX_STEPS_ENV, step_cap
from lmtui.training import Job, train

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Learning with lmtui"
STEPS = 20  # each neural training session's steps in the walk-through
FAILS = "# fails"  # a ```sh line the README marks as failing on purpose


@dataclass(frozen=True)
class Command:
    line: str  # as the README writes it (shell syntax: quotes, $'…')
    fails: bool  # marked "# fails": must exit non-zero with a one-line error


def section_text() -> str:
    """The section, from its heading to the next "## " heading."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert found, f"README has no {SECTION!r} section"
    return found.group(1)


def subcommands() -> set[str]:
    from lmtui.cli import main

    return set(main.commands)


def commands(text: str, known: set[str]) -> list[Command]:
    """Every `lmtui …` command of the text in order: each line of a ```sh block, and each inline code span
    that starts with "lmtui " and an existing subcommand (a span may wrap across lines). A span of the
    subcommand alone (`lmtui recall`) names the command rather than runs it: it becomes `lmtui X --help`,
    which still fails if X does not exist. Fragments (`--max-vocab 100000`, `eval --json`) are skipped."""
    found: list[Command] = []
    for i, part in enumerate(re.split(r"^```.*$", text, flags=re.M)):
        if i % 2:  # inside a fenced block
            for line in part.splitlines():
                if line.strip().startswith("lmtui "):
                    found.append(Command(line.strip(), FAILS in line))
            continue
        for span in re.findall(r"`([^`]+)`", part):
            line = re.sub(r"\s*\n\s*", " ", span).strip()
            words = line.split()
            if len(words) < 2 or words[0] != "lmtui" or words[1] not in known:
                continue
            found.append(Command(line + " --help" if len(words) == 2 else line, False))
    return found


def test_the_parser_finds_commands_fragments_and_failures():
    known = {"train", "eval", "runs", "recall"}
    text = (
        "Run `lmtui train x --name a` then `lmtui eval\n   a` (`--max-vocab 100000`, `eval --json`,\n"
        "`lmtui recall`, `lmtui nosuch a`).\n\n```sh\nlmtui train x --lr 10 --name b  # fails\n```\n"
        "`lmtui runs`\n"
    )
    assert commands(text, known) == [
        Command("lmtui train x --name a", False),
        Command("lmtui eval a", False),
        Command("lmtui recall --help", False),
        Command("lmtui train x --lr 10 --name b  # fails", True),
        Command("lmtui runs --help", False),
    ]


def test_readme_learning_section_runs_as_written(tmp_path, child_env):
    """Each command exits 0 in order in a fresh runs folder (a failing one marked "# fails" exits non-zero
    with one error line and no traceback); none prints a traceback."""
    found = commands(section_text(), subcommands())
    assert len(found) >= 40 and sum(c.fails for c in found) == 1  # the parser still reads the section
    home = tmp_path / "home"
    home.mkdir()
    env = {**child_env, "LMTUI_HOME": str(home), MAX_STEPS_ENV: str(STEPS), "OMP_NUM_THREADS": "1"}
    # `lmtui` is this interpreter's lmtui, whatever is on PATH; bash reads the README's quoting ($'…')
    define = f'lmtui() {{ {shlex.quote(sys.executable)} -m lmtui "$@"; }}\n'
    for command in found:
        done = subprocess.run(
            ["bash", "-c", define + command.line],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        said = f"{command.line}\nexit {done.returncode}\nstderr:\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, said
        if command.fails:
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("Error: ")]
            assert done.returncode != 0 and len(errors) == 1, said
        else:
            assert done.returncode == 0, said


# -- LMTUI_MAX_STEPS: read and checked in one place (lmtui.timing.step_cap)


def test_step_cap_reads_a_positive_whole_number(monkeypatch):
    monkeypatch.delenv(MAX_STEPS_ENV, raising=False)
    assert step_cap() is None
    monkeypatch.setenv(MAX_STEPS_ENV, " 20 ")
    assert step_cap() == 20
    for bad in ("0", "-3", "1.5", "ten", "²", "1e3"):
        monkeypatch.setenv(MAX_STEPS_ENV, bad)
        with pytest.raises(LmtuiError, match=f"{MAX_STEPS_ENV}=.*positive whole number"):
            step_cap()


def _finished(job: Job) -> Finished:
    events = list(train(job))
    assert isinstance(events[-1], Finished)
    return events[-1]


@pytest.mark.parametrize("budget", [{"steps": 40}, {"steps": None, "max_seconds": 3600.0}])
def test_step_cap_ends_neural_training_whatever_the_budget(
    budget, english_file, model_cfg, train_cfg, monkeypatch
):
    monkeypatch.setenv(MAX_STEPS_ENV, "7")
    finished = _finished(Job(str(english_file), model_cfg("rnn"), train_cfg(**budget), name="capped"))
    assert finished.step == 7 and finished.reason == "steps"


def test_a_bad_step_cap_fails_before_a_run_exists_and_leaves_ngrams_alone(
    english_file, model_cfg, train_cfg, monkeypatch
):
    monkeypatch.setenv(MAX_STEPS_ENV, "0")
    with pytest.raises(LmtuiError, match=MAX_STEPS_ENV):
        list(train(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=5), name="never")))
    assert not runs.run_path("never").exists()
    counted = ModelConfig(model="ngram", level="char", order=2)
    assert _finished(Job(str(english_file), counted, train_cfg(), name="counts")).reason == "done"
