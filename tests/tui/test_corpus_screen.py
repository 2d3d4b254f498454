"""The corpus screen as a person types in it: the path field's completion, Ctrl+O, paths that break things."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import run_async, settle, wait_for

from lmtui.tui.app import make_app
from lmtui.tui.screens import corpus as corpus_screen
from lmtui.tui.screens.corpus import CorpusScreen, PathInput


def problem_of(screen: CorpusScreen) -> str:
    return str(screen.query_one("#problem").render())


async def _own_text(pilot, tmp_path: Path) -> tuple[CorpusScreen, PathInput]:
    await settle(pilot)
    await pilot.press("ctrl+o")
    screen = pilot.app.screen
    assert isinstance(screen, CorpusScreen)
    field = screen.query_one("#path", PathInput)
    assert field.has_focus
    return screen, field


async def _type(pilot, field: PathInput, text: str) -> None:
    await pilot.press(*text)
    await wait_for(pilot, lambda: bool(field.suggestion), f"a completion of {text}")


@pytest.mark.parametrize("key", ["end", "right"])
@run_async
async def test_end_and_right_accept_the_completion(key: str, fake_corpora: Path, tmp_path: Path) -> None:
    (tmp_path / "shakespeare.txt").write_text("To be, or not to be.\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        await _type(pilot, field, str(tmp_path / "shak"))
        await pilot.press(key)
        assert field.value == str(tmp_path / "shakespeare.txt")
        assert field.has_focus  # accepting a completion does not leave the field
        await pilot.press("enter")
        await settle(pilot)
        assert screen.loaded is not None and screen.loaded.spec == str(tmp_path / "shakespeare.txt")


@run_async
async def test_tab_moves_on_and_leaves_a_typed_folder_as_it_is(fake_corpora: Path, tmp_path: Path) -> None:
    """Tab moves focus, as everywhere (README); it once accepted the completion, turning ``folder/`` into
    ``folder/part0.txt``: one file instead of the folder."""
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "part0.txt").write_text("First part.\n", encoding="utf-8")
    (folder / "part1.txt").write_text("Second part.\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        await _type(pilot, field, f"{folder}/")
        assert field.suggestion == f"{folder}/part0.txt"
        await pilot.press("tab")
        assert not field.has_focus and field.value == f"{folder}/"
        field.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.loaded is not None and screen.loaded.spec == f"{folder}/"
        assert "Second part" in screen.loaded.text  # the folder, both its files
        assert "Tab moves on" in str(screen.query_one("#description").render())


@run_async
async def test_tab_without_a_completion_moves_on(fake_corpora: Path, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        await pilot.press(*str(tmp_path / "nothing-like-this"))
        await settle(pilot)
        await pilot.press("tab")
        assert not field.has_focus


@run_async
async def test_enter_reads_the_path_the_field_shows(fake_corpora: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Some notes of mine.\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        await _type(pilot, field, str(tmp_path / "no"))  # a half path that does not exist
        await pilot.press("enter")
        await settle(pilot)
        assert field.value == str(tmp_path / "notes.txt")
        assert screen.problem is None and screen.loaded is not None
        assert screen.loaded.spec == str(tmp_path / "notes.txt")


@run_async
async def test_ctrl_o_again_replaces_the_path(fake_corpora: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("first text\n", encoding="utf-8")
    second.write_text("second text\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        field.value = str(first)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("shift+tab")  # somewhere else, then back with Ctrl+O
        await pilot.press("ctrl+o")
        assert field.has_focus
        await pilot.press(*str(second))
        assert field.value == str(second)


@pytest.mark.parametrize("error", [PermissionError(13, "Permission denied", "/proc/1/cwd"),
                                   RecursionError("maximum recursion depth exceeded")])
@run_async
async def test_paths_that_break_the_engine_give_one_line(error: Exception, fake_corpora: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(spec: str, encoding: str | None = None) -> None:
        raise error

    monkeypatch.setattr(corpus_screen, "load_corpus", broken)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        field.value = str(tmp_path)
        await pilot.press("enter")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, CorpusScreen)
        problem = problem_of(screen)
        assert problem.startswith("✗ cannot read") and "\n" not in problem.strip()
        assert ("/proc/1/cwd: Permission denied" in problem) or ("nest too deeply" in problem)
        await pilot.press("ctrl+n")  # refused with the same line, the app still up
        assert isinstance(app.screen, CorpusScreen)


def test_read_problem_words() -> None:
    assert corpus_screen.read_problem("x", FileNotFoundError(2, "No such file", "/x/y")) == (
        "cannot read /x/y: No such file")
    assert "nest too deeply" in corpus_screen.read_problem("deep", RecursionError())


@run_async
async def test_a_latin1_file_can_be_read_and_trained_from_the_app(fake_corpora: Path, tmp_path: Path) -> None:
    """The problem names the app's way out (no CLI flag); the chosen encoding reaches the training child."""
    from textual.widgets import Button, Input

    from lmtui.tui.screens.model import ModelScreen

    notes = tmp_path / "notes [draft].txt"
    notes.write_bytes("Café au lait, déjà vu, naïve résumé.\n".encode("latin-1") * 40)
    app = make_app()
    started: list[list[str]] = []

    async def start_training(argv: list[str], resume: str | None = None) -> bool:
        started.append(argv)
        return True

    app.start_training = start_training  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        assert not screen.query_one("#encoding-row").display  # no room taken until a text needs it
        field.value = str(notes)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one("#encoding-row").display
        problem = problem_of(screen)
        assert "notes [draft].txt is not UTF-8 text" in problem and "encoding field" in problem
        assert "--" not in problem
        latin1 = screen.query_one("#latin1", Button)
        assert latin1.display
        await pilot.click("#latin1")
        await settle(pilot)
        assert screen.loaded is not None and screen.loaded.encoding == "latin-1"
        assert screen.query_one("#encoding", Input).value == "latin-1"
        assert str(screen.query_one("#title").render()) == "notes [draft].txt"  # markup escaped
        assert "Café" in str(screen.query_one("#preview").render())
        assert not latin1.display
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, ModelScreen)
        await wait_for(pilot, lambda: app.screen.vocab is not None, "the vocabulary count")
        await pilot.press("ctrl+t")
        await settle(pilot)
    assert started, "Ctrl+T did not start training"
    argv = started[0]
    assert argv[argv.index("--encoding") + 1] == "latin-1"


@run_async
async def test_an_encoding_typed_in_the_field_is_used(fake_corpora: Path, tmp_path: Path) -> None:
    from textual.widgets import Input

    cyrillic = tmp_path / "privet.txt"
    cyrillic.write_bytes("Привет, мир! Как дела?\n".encode("cp1251") * 10)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        field.value = str(cyrillic)
        await pilot.press("enter")
        await settle(pilot)
        assert "not UTF-8" in problem_of(screen)
        screen.query_one("#encoding", Input).focus()
        await pilot.press(*"cp1251", "enter")
        await settle(pilot)
        assert screen.loaded is not None and "Привет" in screen.loaded.text
        await pilot.press(*"x", "enter")  # "cp1251x": not an encoding
        await settle(pilot)
        assert "Encoding 'cp1251x' is an unknown encoding" in problem_of(screen)
        assert "--" not in problem_of(screen)  # the app's words, not the command line's


def test_preview_cuts_long_lines_after_a_whole_word() -> None:
    from lmtui.corpus import preview

    speech = "In pursuance of my constitutional duty to give to the Congress information " * 5
    head = preview(speech + "\nnext line", lines=2, width=60)
    first, second = head.split("\n")
    assert len(first) <= 60 and first.endswith(" …")
    assert speech.startswith(first[:-2]) and speech[len(first) - 2] == " "  # the cut falls between words
    assert second == "next line"
    assert preview("x" * 100, lines=1, width=10) == "x" * 9 + "…"  # one long word: cut where it must


@run_async
async def test_stats_explain_why_the_vocabulary_differs(fake_corpora: Path) -> None:
    from lmtui.tui.screens.corpus import VOCAB_NOTE

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "distinct:" in str(app.screen.query_one("#stats").render())
        note = app.screen.query_one("#vocab-note")
        assert str(note.render()) == VOCAB_NOTE and "training split" in VOCAB_NOTE and note.display
        await pilot.resize_terminal(80, 24)  # a short terminal: the note is a tooltip, its rows the preview's
        await settle(pilot)
        assert not app.screen.query_one("#vocab-note").display
        assert app.screen.query_one("#stats").tooltip == VOCAB_NOTE


@run_async
async def test_runs_screen_shows_the_real_runs_folder(lmtui_home: Path) -> None:
    from lmtui.tui.data import display_path

    app = make_app(mode="runs")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        shown = str(app.screen.query_one("#runs-dir").render())
        assert shown == f"runs folder: {display_path(lmtui_home / 'runs')}" and "$" not in shown
    assert display_path(Path.home() / "x" / "runs") == "~/x/runs"
    assert display_path(Path("/elsewhere/runs")) == "/elsewhere/runs"


@run_async
async def test_a_missing_path_is_said_plainly(fake_corpora: Path, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen, field = await _own_text(pilot, tmp_path)
        field.value = str(tmp_path / "missing.txt")
        await pilot.press("enter")
        await settle(pilot)
        assert problem_of(screen) == f"✗ no such file or folder: {tmp_path / 'missing.txt'}"
