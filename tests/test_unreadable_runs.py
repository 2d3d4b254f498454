"""One bad file never hides the other runs, and never prints a traceback: every kind of damage to a run.json
(numbers JSON has no form for, sizes, nesting, encodings, a folder in its place, a read that fails) is one
line naming the file, in ``lmtui runs`` (listed as unreadable, with why), in ``sample``/``eval``/``predict``,
in the app's runs table; and text no UTF-8 file can hold is refused, naming the field, before any write."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import clean_error, invoke, json_out, ok

from lmtui import runs, storage
from lmtui.errors import LmtuiError


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def meta_text(trained_runs: Path) -> str:
    return (trained_runs / "lstm-run" / "run.json").read_text(encoding="utf-8")


def damage_run_json(path: Path, kind: str, good: str) -> str:
    """Damage ``path`` (a good run.json holding ``good``) in one way; the fragment its error must hold."""
    meta = json.loads(good)
    if kind == "5000-digit int":
        meta["metrics"]["step"] = "@"
        path.write_text(json.dumps(meta).replace('"@"', "9" * 5000), encoding="utf-8")
        return "5,000 digits"
    if kind == "deep nesting":
        meta["extra"] = "@"
        path.write_text(json.dumps(meta).replace('"@"', "[" * 100_000 + "]" * 100_000), encoding="utf-8")
        return "nested too deeply"
    if kind in ("NaN", "Infinity", "1e999"):
        meta["metrics"]["val_ppl"] = "@"
        path.write_text(json.dumps(meta).replace('"@"', kind), encoding="utf-8")
        return "metrics.val_ppl"
    if kind == "duplicate key":
        path.write_text(good.replace('"status":', '"status": "done", "status":', 1), encoding="utf-8")
        return "'status' appears twice"
    if kind == "invalid UTF-8":
        path.write_bytes(good.encode("utf-8").replace(b'"format"', b'"form\xffat"', 1))
        return "not UTF-8"
    if kind == "a folder":
        path.unlink()
        path.mkdir()
        (path / "inside").write_text("x", encoding="utf-8")
        return "not a regular file"
    if kind == "a FIFO":
        path.unlink()
        os.mkfifo(path)
        return "not a regular file"
    if kind == "too large":
        path.write_text(good + " " * 2000, encoding="utf-8")
        return "far too large"
    if kind == "truncated":
        path.write_text(good[: len(good) // 2], encoding="utf-8")
        return "not valid JSON"
    raise AssertionError(kind)


KINDS = [
    "5000-digit int", "deep nesting", "NaN", "Infinity", "1e999", "duplicate key", "invalid UTF-8",
    "a folder", "a FIFO", "too large", "truncated",
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_run_json_is_listed_as_unreadable_and_hides_no_other_run(trained_runs, monkeypatch, kind):
    good = meta_text(trained_runs)
    if kind == "too large":
        monkeypatch.setattr(storage, "MAX_JSON_BYTES", len(good.encode("utf-8")) + 1000)
    path = trained_runs / "lstm-run" / "run.json"
    fragment = damage_run_json(path, kind, good)

    data = json_out(invoke("runs", "--json"))
    assert [r["name"] for r in data["runs"]] == ["ngram-run"]  # the other run is still listed
    [bad] = data["damaged"]
    assert bad["name"] == "lstm-run" and bad["status"] == "unreadable"
    assert str(path) in bad["error"] and fragment in bad["error"] and "\n" not in bad["error"]

    table = ok(invoke("runs"))
    rows = {line.split("\t")[0]: line.split("\t") for line in table.stdout.splitlines()[1:]}
    assert set(rows) == {"ngram-run", "lstm-run"} and rows["lstm-run"][-1] == "unreadable"
    assert "Traceback" not in table.output
    note = [line for line in table.stderr.splitlines() if line.startswith("note:")]
    assert len(note) == 1 and fragment in note[0] and "lstm-run" in note[0]

    for args in (["sample", "lstm-run", "--length", 5], ["eval", "lstm-run"], ["predict", "lstm-run", "x"]):
        assert str(path) in clean_error(invoke(*args), fragment)


def test_a_bom_is_read_as_utf8_and_a_damaged_file_says_where(trained_runs):
    path = trained_runs / "lstm-run" / "run.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # an editor on Windows adds one
    assert runs.load_run("lstm-run").meta["name"] == "lstm-run"
    path.write_text('{\n  "format": "lmtui-run",\n  oops\n}', encoding="utf-8")
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run")
    assert "line 3, column 3" in one_line(exc)


def test_a_run_json_that_cannot_be_opened(trained_runs, monkeypatch):
    """Permission denied (chmod is no test as root): the open itself fails."""
    path = trained_runs / "lstm-run" / "run.json"
    real_open = os.open

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    damaged: dict[str, str] = {}
    assert [r["name"] for r in runs.run_rows(damaged)] == ["ngram-run"]
    assert damaged == {"lstm-run": f"cannot read {path}: Permission denied"}


def test_a_run_folder_that_cannot_be_looked_into(trained_runs, monkeypatch):
    path = trained_runs / "lstm-run" / "run.json"
    real_lstat = os.lstat

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_lstat(file, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", denied)
    damaged: dict[str, str] = {}
    assert [r["name"] for r in runs.run_rows(damaged)] == ["ngram-run"]
    assert "Permission denied" in damaged["lstm-run"]


def test_what_the_checks_did_not_foresee_still_names_the_file(trained_runs, monkeypatch):
    """A belt to the schema's brace: any exception while checking or summarising one run is one line naming
    its run.json, and that run only is unreadable."""
    real_check = runs.schema.check_run

    def surprised(meta, where):
        if "lstm-run" in where:
            raise TypeError("unforeseen\nsecond line \x1b[2J")
        return real_check(meta, where)

    monkeypatch.setattr(runs.schema, "check_run", surprised)
    with pytest.raises(LmtuiError) as exc:
        runs.load_run("lstm-run")
    message = one_line(exc)
    assert "lstm-run/run.json is damaged (TypeError: unforeseen)" in message
    clean_error(invoke("sample", "lstm-run"), "TypeError: unforeseen")
    monkeypatch.setattr(runs.schema, "check_run", real_check)

    real_summary = runs.Run.summary

    def broken(self):
        if self.name == "ngram-run":
            raise AttributeError("'int' object has no attribute 'get' \x1b]0;pwned\x07")
        return real_summary(self)

    monkeypatch.setattr(runs.Run, "summary", broken)
    data = json_out(invoke("runs", "--json"))
    assert [r["name"] for r in data["runs"]] == ["lstm-run"]
    [bad] = data["damaged"]
    assert bad["name"] == "ngram-run" and "AttributeError" in bad["error"]
    assert "\x1b" not in bad["error"] and "\x07" not in bad["error"] and "\\x1b]0;pwned\\x07" in bad["error"]


def test_a_summary_holding_a_lone_surrogate_is_unreadable_not_a_traceback(trained_runs):
    path = trained_runs / "ngram-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["corpus"]["name"] = "x\ud800y"
    path.write_text(json.dumps(meta), encoding="utf-8")  # as \ud800: valid JSON, but no text to print
    table = ok(invoke("runs"))
    assert "Traceback" not in table.output and "lstm-run" in table.stdout
    data = json_out(invoke("runs", "--json"))
    assert [r["name"] for r in data["runs"]] == ["lstm-run"]
    assert [d["name"] for d in data["damaged"]] == ["ngram-run"]
    assert "corpus" in data["damaged"][0]["error"]


def test_only_folders_with_a_run_json_are_runs(trained_runs):
    (trained_runs / "empty").mkdir()
    (trained_runs / "a-file").write_text("x", encoding="utf-8")
    damaged: dict[str, str] = {}
    assert {r["name"] for r in runs.run_rows(damaged)} == {"lstm-run", "ngram-run"}
    assert damaged == {}
    with pytest.raises(LmtuiError, match="no run named 'empty'"):
        runs.load_run("empty")


# -- the write half: text no UTF-8 file can hold is refused before anything is written


def test_write_json_refuses_a_lone_surrogate_naming_the_field(tmp_path):
    target = tmp_path / "out" / "run.json"
    storage.write_json(target, {"a": 1})
    bad = {"corpus": {"name": "\x1b]0;x\ud800"}, "tokenizer": {"vocab": ["a", "\udcff"]}}
    with pytest.raises(LmtuiError) as exc:
        storage.write_json(target, bad)
    message = one_line(exc)
    assert str(target) in message and "corpus.name holds text that is not valid Unicode" in message
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 1}  # the previous version is kept
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]  # and no temporary file is left
    with pytest.raises(LmtuiError, match=r"tokenizer\.vocab\.1 holds"):
        storage.write_json(target, {"tokenizer": {"vocab": ["a", "\udcff"]}})
    with pytest.raises(LmtuiError, match="\\\\ud800x holds"):  # a key, shown escaped
        storage.write_json(target, {"\ud800x": 1})
    with pytest.raises(LmtuiError, match="not a number"):
        storage.write_json(target, {"loss": float("nan")})


def test_write_tensors_refuses_metadata_no_file_can_hold(tmp_path):
    target = tmp_path / "out" / "w.safetensors"
    target.parent.mkdir()
    arrays = {"a": np.zeros(3, dtype=np.float32)}
    for metadata, fragment in (({"lmtui-run": "x\ud800"}, "lmtui-run holds"), ({"k": 1}, "must be text")):
        with pytest.raises(LmtuiError) as exc:
            storage.write_tensors(target, arrays, metadata)  # type: ignore[arg-type]
        assert str(target) in one_line(exc) and fragment in one_line(exc)
        assert list(target.parent.iterdir()) == []


def test_export_of_a_run_whose_name_is_not_unicode_is_one_line(trained_runs, tmp_path):
    path = trained_runs / "ngram-run" / "run.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["corpus"]["name"] = "x\ud800y"
    path.write_text(json.dumps(meta), encoding="utf-8")
    out = tmp_path / "shared.safetensors"
    clean_error(invoke("export", "ngram-run", out), "corpus")
    assert not out.exists() and list(tmp_path.glob(".*")) == []


def test_events_with_a_lone_surrogate_are_written_and_read_back(trained_runs):
    run = runs.load_run("lstm-run")
    runs.append_event(run, {"event": "sample", "step": 1, "text": "caf\xe9 \ud800"})
    lines = (run.path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[-1].isascii() and "\\ud800" in lines[-1]
    assert run.history()[-1]["text"] == "caf\xe9 \ud800"
    runs.trim_history(run, 10**6)  # rewritten whole: still no error, and still there
    assert run.history()[-1]["text"] == "caf\xe9 \ud800"
    with open(run.path / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"event": "step", "step": ' + "9" * 5000 + "}\n")  # skipped, like any damaged line
    assert run.history()[-1]["text"] == "caf\xe9 \ud800"
    with pytest.raises(LmtuiError, match="events.jsonl"):
        runs.append_event(run, {"event": "x", "value": object()})


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('{"format": "lmtui-run", "version": 1, "version": 1}', "appears twice"),
        ('{"format": "lmtui-run", "extra": NaN}', "extra is NaN"),
        ('{"format": "lmtui-run", "n": ' + "1" * 5000 + "}", "5,000 digits"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ],
)
def test_a_bundle_with_strange_json_is_one_line_and_changes_nothing(trained_runs, tmp_path, raw, fragment):
    from safetensors.numpy import save_file

    bundle = tmp_path / "shared.safetensors"
    save_file({"a": np.zeros(2, dtype=np.float32)}, str(bundle), metadata={runs.BUNDLE_KEY: raw})
    before = sorted(p.name for p in trained_runs.iterdir())
    assert str(bundle) in clean_error(invoke("import", bundle, "--name", "shared"), fragment)
    assert sorted(p.name for p in trained_runs.iterdir()) == before


# -- the app's runs table


def test_the_app_lists_an_unreadable_run_with_why(trained_runs):
    from textual.widgets import DataTable, Static

    from lmtui.tui.app import make_app
    from lmtui.tui.screens.runs import RunsScreen

    path = trained_runs / "lstm-run" / "run.json"
    path.write_text('{"format": "lmtui-run", "n": ' + "7" * 5000 + "}", encoding="utf-8")

    async def until(pilot, condition, what: str) -> None:
        deadline = time.monotonic() + 120  # a bound for a hang only: the test waits on the condition
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    async def drive() -> None:
        app = make_app(mode="runs")
        notes: list[str] = []  # as raised: a toast leaves app._notifications when it times out
        real_notify = app.notify

        def notify(message, *args, **kwargs):
            notes.append(str(message))
            return real_notify(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, RunsScreen)
            table = screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 2, "both runs listed")
            cells = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(2)}
            assert "unreadable" in cells["lstm-run"] and "unreadable" not in cells["ngram-run"]
            detail = screen.query_one("#detail", Static)
            await until(pilot, lambda: screen.selected() is not None, "a row highlighted")
            if screen.selected() != "lstm-run":
                await pilot.press("down")
            await until(pilot, lambda: "5,000 digits" in str(detail.content), "the reason shown")
            assert str(path) in str(detail.content)
            await pilot.press("enter")  # opening it: a warning naming why, and no playground
            await until(pilot, lambda: bool(notes), "a notification")
            assert app.screen is screen and "5,000 digits" in notes[0]

    asyncio.run(drive())
