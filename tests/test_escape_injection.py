"""Strings from files, bundles and models never reach a terminal raw (issue 18, item 10).

A corpus name, a vocabulary token or a sample can hold ESC, BEL, C1 controls and bidi overrides: shown
raw, they retitle the window, clear the screen or reorder the line. Every command's output (and the app's
screens: tests/tui/test_tui_escapes.py) shows them escaped, and ``--json`` still gives them exactly.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pty_util import run_on_pty
from test_cli import REPO, clean_error, invoke, json_out, ok

from lmtui import cliutil
from lmtui.errors import LmtuiError
from lmtui.models import ModelConfig
from lmtui.visible import json_text, risky, visible_cells, visible_line, visible_markup, visible_text

# An OSC that retitles the window, BEL, a clear-screen, rich markup, C1 CSI (U+009B), a bidi override and an
# isolate: each a different way to act on a terminal or mislead the reader.
EVIL = "\x1b]0;pwned\x07\x1b[2J[red]x[/]\x9b31m\u202eevil\u2066"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J[red]x[/]\\x9b31m\\u202eevil\\u2066"
RAW = ("Cc", "Cf", "Cs", "Zl", "Zp")  # control, format, surrogate, line and paragraph separator


def raw_controls(text: str, keep: str = "\n") -> list[str]:
    """The characters of ``text`` a terminal could act on (or that hide or reorder text), other than ``keep``.

    Judged by Unicode category here, not by lmtui.visible, so a gap in that module shows up."""
    return [repr(c) for c in text if c not in keep and unicodedata.category(c) in RAW]


def safe(output: str, keep: str = "\n") -> str:
    found = raw_controls(output, keep)
    assert not found, f"raw control characters {found} in {output!r}"
    return output


# -- what "visible" means


def test_each_kind_of_character_is_spelled_as_python_would():
    assert visible_line("a\x1bb") == "a\\x1bb"
    assert visible_line("\x07\x7f\x9b\x9d") == "\\x07\\x7f\\x9b\\x9d"
    assert visible_line("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert visible_line("\u202e\u2066\u200e\u061c\u200b\ufeff\u00ad") == (
        "\\u202e\\u2066\\u200e\\u061c\\u200b\\ufeff\\xad"
    )
    assert visible_line("\u2028\u2029") == "\\u2028\\u2029"
    assert visible_line("\ud800") == "\\ud800"  # a lone surrogate: not even writable as UTF-8
    assert visible_line("\U000e0041") == "\\U000e0041"  # a tag character: invisible text
    assert visible_line(EVIL) == SHOWN


def test_text_people_write_is_left_alone():
    words = "café, Ελληνικά, 日本語, עברית, العربية, emoji 👩‍👩‍👧 and ZWNJ می‌خواهم [bold]tag[/] C:\\path"
    assert visible_line(words) == words
    assert visible_text("line one\n\tline two\n") == "line one\n\tline two\n"  # lines of a sample are content
    assert visible_text("a\rb\x1b") == "a\\rb\\x1b"


def test_markup_in_a_name_prints_as_it_is():
    from rich.console import Console

    console = Console(record=True, width=200, file=open(os.devnull, "w"))  # noqa: SIM115
    backslashed = "\\[x]"  # a backslash before a tag: escape() doubles it
    console.print(f"[bold]{visible_markup(EVIL)}[/] and [bold]{visible_markup(backslashed)}[/]")
    assert console.export_text() == f"{SHOWN} and {backslashed}\n"


@given(st.text())
def test_nothing_risky_is_left_and_showing_twice_changes_nothing(text: str):
    for show in (visible_line, visible_text):
        shown = show(text)
        assert not raw_controls(shown, "\n\t" if show is visible_text else "")
        assert show(shown) == shown
    assert visible_text(text).count("\n") == text.count("\n")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_json_output_reads_back_exactly_and_holds_nothing_raw(data: object):
    out = json_text(data, indent=2)
    assert json.loads(out) == data
    assert not raw_controls(out)


def test_risky_is_the_unicode_categories():
    assert all(risky(c) for c in "\x00\x1b\x7f\x85\x9b\u200e\u202e\u2066\u2028\ufeff\ud800")
    assert not any(risky(c) for c in "a é\u200c\u200d日[")


# -- a run whose corpus name and vocabulary hold escape codes


def write_evil_text(path: Path, text: str) -> Path:
    """A text of the user's own with escape codes in it: a char model makes them tokens."""
    path.write_text(text.replace("the ", f"the {EVIL} "), encoding="utf-8")
    return path


def make_evil_run(text: Path, train_cfg: Any, name: str = "evil") -> Path:
    """A char trigram trained on ``text`` whose run.json's corpus name is EVIL (as a bundle could carry)."""
    from lmtui.runs import run_path
    from lmtui.training import Job, train

    list(train(Job(str(text), ModelConfig(model="ngram", level="char", order=3), train_cfg, name=name)))
    meta_path = run_path(name) / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["corpus"]["name"] = EVIL
    assert {"\x1b", "\x9b", "\u202e"} <= set(meta["tokenizer"]["vocab"])
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return run_path(name)


@pytest.fixture
def evil_run(tmp_path: Path, english_text: str, train_cfg: Any) -> Path:
    return make_evil_run(write_evil_text(tmp_path / "evil.txt", english_text), train_cfg())


def test_runs_lists_the_name_escaped_in_a_pipe_and_on_a_terminal(evil_run: Path, monkeypatch):
    out = safe(ok(invoke("runs")).stdout, "\n\t")
    assert SHOWN in out.splitlines()[1].split("\t")  # its own column: no tab or newline of its own
    monkeypatch.setattr(cliutil, "terminal", lambda: True)  # the rich table's path
    assert SHOWN in safe(ok(invoke("runs")).stdout)


def test_json_keeps_every_string_exactly(evil_run: Path):
    result = ok(invoke("runs", "--json"))
    safe(result.stdout)
    assert json.loads(result.stdout)["runs"][0]["corpus"] == EVIL
    data = json_out(invoke("predict", "evil", "the ", "--json"))
    assert "\x1b" in [p["token"] for p in data["next"]]
    sample = ok(invoke("sample", "evil", "--length", "400", "--seed", "1", "--json"))
    safe(sample.stdout)
    assert "\x1b" in json.loads(sample.stdout)["samples"][0]


def test_samples_predictions_and_scores_show_the_tokens_escaped(evil_run: Path):
    sample = safe(ok(invoke("sample", "evil", "--length", "400", "--seed", "1", "--count", "2")).stdout)
    assert "\\x1b" in sample and "\\u202e" in sample
    predict = safe(ok(invoke("predict", "evil", "the ")).stdout, "\n\t")
    assert "\\x1b" in [line.split("\t")[0] for line in predict.splitlines()]
    safe(ok(invoke("eval", "evil")).output)
    explained = safe(ok(invoke("explain", "evil", f"the {EVIL} end")).stdout, "\n\t")  # tab-separated
    assert "\\x1b" in explained and "\\u202e" in explained


def test_export_import_and_delete_say_the_name_escaped(evil_run: Path, tmp_path: Path):
    bundle = tmp_path / "shared.safetensors"
    safe(ok(invoke("export", "evil", bundle)).output)
    imported = ok(invoke("import", bundle, "--name", "theirs"))
    safe(imported.output)
    assert f"trained on {SHOWN}" in imported.stdout
    data = json_out(invoke("import", bundle, "--name", "theirs-too", "--json"))
    assert data["summary"]["corpus"] == EVIL
    safe(ok(invoke("export-arpa", "evil", tmp_path / "evil.arpa")).output)
    safe(ok(invoke("delete", "theirs", "--yes")).output)
    assert SHOWN in safe(ok(invoke("runs")).stdout, "\n\t")


def test_a_neural_model_writes_and_explains_its_tokens_escaped(trained_runs: Path):
    meta_path = trained_runs / "lstm-run" / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    vocab = meta["tokenizer"]["vocab"]
    for old, new in (("e", "\x1b"), ("t", "\u202e"), (" ", "\x9b"), ("a", "\x07")):  # its commonest letters
        vocab[vocab.index(old)] = new
    meta["corpus"]["name"] = EVIL
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    sample = safe(ok(invoke("sample", "lstm-run", "--length", "200", "--seed", "3")).stdout)
    assert "\\x1b" in sample or "\\x9b" in sample
    safe(ok(invoke("predict", "lstm-run", "\x1b\x9b")).output, "\n\t")
    safe(ok(invoke("explain", "lstm-run", "h\x1b\x9b\u202e")).output, "\n\t")  # tab-separated in a pipe
    safe(ok(invoke("neurons", "lstm-run", f'({EVIL}) "quoted"\n')).output)


def test_error_messages_are_escaped_whoever_wrote_them(evil_run: Path, monkeypatch):
    """The error printer escapes every message (other modules' messages quote files' values plainly)."""
    from lmtui import runs

    def damaged(name: str) -> None:
        raise LmtuiError(f"{name}/run.json is damaged: corpus.spec {EVIL}")

    monkeypatch.setattr(runs, "load_run", damaged)
    line = clean_error(invoke("sample", "evil"))
    assert SHOWN in safe(line)

    def listed(found: dict[str, str] | None = None) -> list:
        if found is not None:
            found["broken"] = f"runs/broken/run.json is damaged: {EVIL}"
        return []

    monkeypatch.setattr(runs, "list_runs", listed)
    result = ok(invoke("runs"))
    assert SHOWN in safe(result.stderr)
    assert json.loads(safe(ok(invoke("runs", "--json")).stdout))["damaged"][0]["error"].endswith(EVIL)


def test_the_training_display_shows_file_strings_escaped():
    from rich.console import Console

    from lmtui.display import TrainDisplay
    from lmtui.events import Finished, Note, Sample, Started

    console = Console(record=True, width=300, file=open(os.devnull, "w"))  # noqa: SIM115
    display = TrainDisplay(None, console=console)
    display.show(Started("demo", EVIL, "ngram", "char", 65, 1_000, 4_000, 9_000, 1_000, None, None))
    display.show(Sample(1, f"HAMLET:\n{EVIL}\n"))
    display.show(Note(f"corpus {EVIL} read"))
    display.closing(Finished("demo", 1, "done", 0.5, 1.6, 0.5, 1.6, 2.0, 100, 10, 10))
    out = safe(console.export_text())
    assert out.count(SHOWN) == 3


def test_a_real_terminal_gets_no_escape_sequence_from_the_file(evil_run: Path, child_env: dict[str, str]):
    """`lmtui runs` on a pseudo-terminal: rich colours the table (SGR), nothing else reaches the terminal."""
    env = {**child_env, "COLUMNS": "250", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    code, out = run_on_pty(["runs"], env, cwd=REPO)
    assert code == 0, out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own colours and bold
    safe(plain, "\r\n")
    assert SHOWN in plain


def test_a_shared_sample_is_exact_as_text_and_escaped_for_reading(tmp_path: Path):
    """The .txt is the sample itself; the Markdown and the SVG card are read by people and viewers."""
    from xml.etree import ElementTree

    from lmtui.sampling import SampleSettings
    from lmtui.sharing import SampleRecord, neuron_card_svg, save_card, save_sample

    model = {"model": "ngram", "level": "char", "order": 3, "smoothing": "kn"}
    record = SampleRecord("demo", EVIL, model, SampleSettings(prime="HAMLET:\n", seed=1), f"{EVIL}\nend")
    txt, md = save_sample(record, tmp_path)
    assert txt.read_text(encoding="utf-8") == record.full_text + "\n"
    markdown = safe(md.read_text(encoding="utf-8"))
    assert f"- corpus: {SHOWN}" in markdown and f"HAMLET:\n{SHOWN}\nend" in markdown
    for svg in (
        save_card(record, tmp_path).read_text(encoding="utf-8"),
        neuron_card_svg("demo", EVIL, [0.5] * len(EVIL), "unit 0 of 1"),
    ):
        safe(svg)
        ElementTree.fromstring(svg)  # XML allows no C0 control: a raw ESC made the card unreadable
        assert "\\x1b" in svg


@given(st.text())
def test_an_input_field_draws_one_visible_character_for_each(text: str):
    cells = visible_cells(text)
    assert len(cells) == len(text) and not raw_controls(cells, "")
    assert [a == b for a, b in zip(cells, text, strict=True)] == [not risky(c) for c in text]
    assert visible_cells("\x1b]0;x\x07\n\x7f\x9b") == "␛]0;x␇␊␡�"


def test_every_control_and_format_character_of_this_unicode_is_escaped():
    """lmtui.visible scans a fixed set of ranges (fast for any script): a newer Unicode must not slip by."""
    every = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in RAW]
    every = [c for c in every if c not in "\u200c\u200d"]  # the joiners, of words and emoji, are kept
    assert not [hex(ord(c)) for c in every if visible_line(c) == c]
    assert json_text("".join(c for c in every if c >= "\x7f")).isascii()
