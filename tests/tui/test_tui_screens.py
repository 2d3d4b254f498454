"""Pilot tests, screen by screen: what a person reads and what each key does."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select
from tui_helpers import fake_paused_at, run_async, settle, wait_for

from lmtui.events import Eval, Failed, Finished, NgramCounts, Sample, Started, Step
from lmtui.models import ModelConfig, estimate_parameters
from lmtui.runs import load_run
from lmtui.tui.app import make_app
from lmtui.tui.screens.confirm import ConfirmScreen
from lmtui.tui.screens.corpus import CorpusScreen, PathSuggester
from lmtui.tui.screens.model import ModelScreen
from lmtui.tui.screens.playground import PlaygroundScreen
from lmtui.tui.screens.runs import RunsScreen
from lmtui.tui.screens.training import TrainingScreen
from lmtui.tui.trainer_process import TrainerEvent, resume_argv
from lmtui.tui.widgets.charts import LineChart


def text_of(screen, selector: str) -> str:
    """What a Static shows, as plain text (rich tables included)."""
    from rich.console import Console
    from textual.content import Content

    content = screen.query_one(selector).content
    if isinstance(content, str):
        return Content.from_markup(content).plain
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


# -- corpus --------------------------------------------------------------------------------------------------


@run_async
async def test_corpus_screen_shows_stats_preview_and_problems(fake_corpora: Path, tmp_path: Path) -> None:
    empty, binary, folder = tmp_path / "empty.txt", tmp_path / "blob.bin", tmp_path / "nothing"
    empty.write_text("  \n", encoding="utf-8")
    binary.write_bytes(b"\x00\x01\x02 binary")
    folder.mkdir()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, CorpusScreen)
        await settle(pilot)
        assert text_of(screen, "#title") == "Plays (test)"
        stats = text_of(screen, "#stats")
        assert "characters" in stats and "distinct" in stats and "suggested level: char" in stats
        assert "PROSPERO:" in text_of(screen, "#preview")
        await pilot.press("down")
        await settle(pilot)
        assert text_of(screen, "#title") == "Paint colours (test)"
        assert "one item per line" in text_of(screen, "#stats")

        await pilot.press("ctrl+o")
        assert screen.query_one("#path", Input).has_focus
        for path, problem in [(empty, "holds no text"), (binary, "binary"), (folder, "no .txt files"),
                              (tmp_path / "missing.txt", "no such file")]:
            screen.query_one("#path", Input).value = str(path)
            await pilot.press("enter")
            await settle(pilot)
            assert problem in text_of(screen, "#problem"), path
            await pilot.press("ctrl+n")  # refused, with the reason in a notification
            assert isinstance(app.screen, CorpusScreen)


@run_async
async def test_path_suggester_completes_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "shakespeare.txt").write_text("x", encoding="utf-8")
    (tmp_path / "shelf").mkdir()
    suggester = PathSuggester()
    assert await suggester.get_suggestion(str(tmp_path / "shak")) == str(tmp_path / "shakespeare.txt")
    assert await suggester.get_suggestion(str(tmp_path / "she")) == str(tmp_path / "shelf") + "/"
    assert await suggester.get_suggestion(str(tmp_path / "zzz")) is None


# -- model ---------------------------------------------------------------------------------------------------


async def open_model_screen(pilot) -> ModelScreen:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ModelScreen)
    return screen


@run_async
async def test_model_form_validates_as_typed_and_shows_the_size(fake_corpora: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_model_screen(pilot)
        assert screen.error is None
        model, _, _ = screen.read()
        assert f"{estimate_parameters(model, screen.vocab):,} parameters" in text_of(screen, "#size")

        dropout = screen.query_one("#f-dropout", Input)
        dropout.value = "1.5"
        await pilot.pause()
        assert screen.error == "dropout must be in [0, 1)" and dropout.has_class("-invalid")
        assert "✗ Dropout must be in [0, 1)" in text_of(screen, "#error")  # in words, as the form labels it
        assert screen.query_one("#train").disabled
        dropout.value = "0.1"
        await pilot.pause()
        assert screen.error is None and not dropout.has_class("-invalid")

        screen.query_one("#f-hidden", Input).value = ""
        await pilot.pause()
        assert "hidden size: enter a value" in (screen.error or "")
        screen.query_one("#f-hidden", Input).value = "32"
        screen.query_one("#f-max_seconds", Input).value = ""
        await pilot.pause()
        assert screen.error == "time budget (s) or max steps: set one of them"
        await pilot.press("ctrl+t")  # refused: still on the form
        assert app.screen is screen
        screen.query_one("#f-steps", Input).value = "100"
        await pilot.pause()
        assert screen.error is None

        screen.query_one("#f-name", Input).value = "bad/name"
        await pilot.pause()
        assert "invalid run name" in (screen.error or "")
        screen.query_one("#f-name", Input).value = ""

        # n-gram: other fields, and the size is only known after counting
        screen.query_one("#family").query_one("RadioButton").value = True
        await settle(pilot)
        assert screen.family == "ngram"
        assert screen.query_one("#row-order").display and not screen.query_one("#row-embed").display
        assert "after counting" in text_of(screen, "#size")
        screen.query_one("#f-order", Input).value = "9"
        await pilot.pause()
        assert screen.error == "order (n) must be between 1 and 6"

        await pilot.press("escape")
        assert isinstance(app.screen, CorpusScreen)


@run_async
async def test_model_form_offers_the_softmaxes_word_presets_the_adaptive_one(fake_corpora: Path) -> None:
    from textual.widgets.select import InvalidSelectValueError

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_model_screen(pilot)
        softmax = screen.query_one("#f-softmax", Select)
        assert screen.level == "char" and softmax.value == "full" and screen.read()[0].softmax == "full"
        with pytest.raises(InvalidSelectValueError):
            softmax.value = "kn"  # its own choices, not the n-gram smoothings
        word = next(b for b in screen.query_one("#level").query("RadioButton") if b.name == "word")
        word.value = True
        await settle(pilot)
        assert screen.level == "word" and softmax.value == "adaptive"
        model, _, errors = screen.read()
        assert model.softmax == "adaptive" and not errors
        softmax.value = "full"
        await pilot.pause()
        assert screen.read()[0].softmax == "full" and screen.error is None


def test_train_argv_passes_only_the_options_a_family_takes() -> None:
    from lmtui.presets import preset_configs
    from lmtui.tui.trainer_process import train_argv

    model, train = preset_configs("ngram", "char", "small")
    argv = train_argv("scripts", model, train)
    assert "--embed" not in argv and "--steps" not in argv and "--order" in argv
    model, train = preset_configs("window", "word", "quick")
    argv = train_argv("speeches", model, train, "quick", "my-run")
    assert "--context" in argv and "--layers" not in argv and "--max-vocab" in argv and argv[-1] == "my-run"
    assert argv[argv.index("--softmax") + 1] == "adaptive"
    model = ModelConfig(model="gru", level="char", tie_weights=True, embed=32, hidden=32)
    argv = train_argv("x.txt", model, train)
    assert "--tie-weights" in argv and "--layers" in argv


# -- training dashboard --------------------------------------------------------------------------------------


def started(model: str = "lstm") -> Started:
    return Started("demo-lstm-char", "demo", model, "char", 65, 30_000, 120_000, 90_000, 5_000, None, 30.0)


@run_async
async def test_dashboard_draws_events_as_they_come() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        assert "No model is training" in text_of(screen, "#run-line")
        events = [started()]
        for step in range(1, 41):
            elapsed = step * 0.5
            loss = 4.2 - step * 0.05
            events.append(Step(step, loss, 1.0 / step, 0.004, 50_000, elapsed, 30 - elapsed, step / 60))
            if step % 10 == 0:
                events.append(Eval(step, 4.0 - step * 0.04, 50.0 - step, 5.0, True, step * 0.5))
                events.append(Sample(step, "HAMLET:\nTo be or not"))
        for event in events:
            screen.post_message(TrainerEvent(event))
        box = screen.query_one("#sample-box")
        await wait_for(pilot, lambda: "40" in str(box.border_title), "the last event (the sample at step 40)")
        assert "demo-lstm-char" in text_of(screen, "#run-line")
        assert "30,000 parameters" in text_of(screen, "#run-line")
        numbers = text_of(screen, "#numbers")
        assert "step 40" in numbers and "tokens/s" in numbers and "ETA 0:10" in numbers
        assert "val perplexity 10.00" in numbers
        assert screen.query_one("#loss-chart", LineChart).count("train") == 40
        assert screen.query_one("#loss-chart", LineChart).count("validation") == 4
        assert screen.query_one("#ppl-chart", LineChart).count("whole split") == 4
        assert "To be or not" in screen.query_one("#sample").text

        await pilot.press("p")  # no child: says so instead of failing
        screen.post_message(TrainerEvent(Finished("demo-lstm-char", 40, "time", 2.3, 10.0, 2.4, 11.0, 20.0,
                                                  90_000, 5_000, 5_000)))
        await wait_for(pilot, lambda: screen.status == "finished", "the end")
        assert "validation perplexity 10.00" in text_of(screen, "#message")

        screen.post_message(TrainerEvent(Failed("the loss became nan at step 41")))
        await wait_for(pilot, lambda: screen.status == "failed", "the failure")
        assert "the loss became nan" in text_of(screen, "#message")


@run_async
async def test_dashboard_shows_ngram_counts_instead_of_curves() -> None:
    app = make_app(mode="training")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        for event in (started("ngram"), NgramCounts(3, [65, 900, 4_000], 0.12),
                      Eval(1, 2.0, 7.39, 2.9, True, 0.1),
                      Finished("demo-lstm-char", 1, "done", 2.0, 7.39, 2.1, 8.17, 0.2, 90_000, 5_000, 5_000)):
            screen.post_message(TrainerEvent(event))
        await wait_for(pilot, lambda: screen.status == "finished", "the end")
        await pilot.pause()  # and the layout that follows
        assert not screen.query_one("#charts").display and screen.query_one("#ngram-box").display
        assert "4,000" in text_of(screen, "#ngram-counts")
        assert "test perplexity 8.17" in text_of(screen, "#numbers")


@run_async
async def test_a_failing_child_shows_its_error(english_file: Path) -> None:
    from lmtui.tui.trainer_process import train_argv

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        model = ModelConfig(model="ngram", level="char")
        from lmtui.training import TrainConfig

        await app.start_training(train_argv(str(english_file) + ".missing", model, TrainConfig()))
        screen = app.screen
        await wait_for(pilot, lambda: screen.status == "failed", "failure")
        assert "no such file or folder" in text_of(screen, "#message")


def alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))


def fake_argv(*args: str) -> list[str]:
    import sys

    return [sys.executable, FAKE_TRAINER, *args]


@run_async
async def test_pause_resume_and_quit_stop_the_child_cleanly(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        state = tmp_path / "state"
        await app.start_training(fake_argv("--state", str(state)))
        screen = app.screen
        await wait_for(pilot, lambda: screen.last_step is not None, "first step")
        await pilot.press("p")
        assert screen.status == "paused" and app.trainer.paused
        await wait_for(pilot, lambda: fake_paused_at(state) is not None, "the child to pause")
        paused_at = fake_paused_at(state)
        await wait_for(pilot, lambda: screen.last_step.step == paused_at, f"step {paused_at} shown")
        await pilot.press("p")
        assert screen.status == "training" and not app.trainer.paused
        await wait_for(pilot, lambda: screen.last_step.step > paused_at + 2, "steps after resuming")
        pid = app.trainer.pid
        await pilot.press("f5")  # training goes on while another screen is shown
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, "exit")
    assert pid is not None and not alive(pid)
    assert app.trainer.process.returncode == 0  # it stopped on SIGTERM (and said finished), not killed


@run_async
async def test_stop_key_and_second_training_is_refused() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.start_training(fake_argv("--name", "one"))
        screen = app.screen
        await wait_for(pilot, lambda: screen.last_step is not None, "first step")
        assert not await app.start_training(fake_argv("--name", "two"))  # one at a time
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.status == "finished", "stop")
        message = text_of(screen, "#message")
        assert "stopped after" in message and "checkpoint saved in" in message  # S: the seconds the save took
        assert text_of(screen, "#status").strip() == "stopped"


# -- playground ----------------------------------------------------------------------------------------------


@run_async
async def test_playground_streams_predicts_and_shares(trained_runs: Path) -> None:
    app = make_app(run="ngram-run")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        await wait_for(pilot, lambda: screen.model is not None, "model")
        assert "ngram-run" in text_of(screen, "#run-line")

        screen.query_one("#prime", Input).value = "the "
        await wait_for(pilot, lambda: screen.predicted_for == "the ", "the next tokens after the prime")
        assert "%" in text_of(screen, "#next")

        await pilot.press("up", "up")
        assert screen.temperature == pytest.approx(1.0)
        for _ in range(12):
            await pilot.press("down")
        assert screen.temperature == 0.0 and "greedy" in text_of(screen, "#temperature")

        screen.query_one("#top-p", Input).value = "2"
        await pilot.pause()
        assert "top-p" in text_of(screen, "#settings-error")
        screen.query_one("#top-p", Input).value = "0.9"
        screen.query_one("#seed", Input).value = "5"
        screen.query_one("#length", Input).value = "40"
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.record is not None, "sample")
        record = screen.record
        assert record.settings.seed == 5 and record.settings.temperature == 0
        assert screen.query_one("#sample").text == record.text

        await pilot.press("ctrl+y")
        assert app.clipboard == "the " + record.text
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+o")
        samples = trained_runs / "ngram-run" / "samples"
        names = sorted(p.name for p in samples.iterdir())
        assert names == ["sample-001.md", "sample-001.svg", "sample-001.txt"]
        assert "sample-001.svg" in text_of(screen, "#share-status")


# -- runs ----------------------------------------------------------------------------------------------------


@run_async
async def test_runs_table_opens_resumes_and_deletes(trained_runs: Path, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    app = make_app(mode="runs")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await settle(pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == 2 and screen.selected() == "lstm-run"

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert (trained_runs / "lstm-run").is_dir()

        await pilot.press("down")  # ngram-run
        await pilot.press("r")  # n-gram runs have nothing to resume: a warning, no training
        assert app.trainer is None
        await pilot.press("d", "y")
        await settle(pilot)
        assert not (trained_runs / "ngram-run").exists() and table.row_count == 1

        await pilot.press("enter")
        play = app.screen
        assert isinstance(play, PlaygroundScreen)
        await wait_for(pilot, lambda: play.model is not None, "lstm model")

        await pilot.press("f5")
        await settle(pilot)
        argvs = []

        def fake_resume(name: str) -> list[str]:
            argvs.append(resume_argv(name))
            return fake_argv("--steps", "3", "--name", name)

        monkeypatch.setattr("lmtui.tui.screens.runs.resume_argv", fake_resume)
        await pilot.press("r")
        training = app.screen
        assert isinstance(training, TrainingScreen)
        assert argvs and argvs[0][4:8] == ["--resume", "lstm-run", "--events", "jsonl"]
        await wait_for(pilot, lambda: training.status == "finished", "resume")
        history = len([e for e in load_run("lstm-run").history() if e.get("event") == "step"])
        assert training.query_one("#loss-chart", LineChart).count("train") == history + 3  # curve carries on


def test_no_torch_in_the_ui_process_at_import() -> None:
    import subprocess
    import sys

    code = "import sys, lmtui.tui.app, lmtui.sharing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"



@run_async
async def test_the_run_line_keeps_to_two_rows_at_80_columns_and_says_why_in_its_tooltip() -> None:
    """The threads' reason is long ("1 of 2 cores free, one kept for the app; adjusted to the load"): the run
    line names the compute and the budget whole at 80x24, and its tooltip says why that many threads."""
    app = make_app(mode="training")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        why = "1 of 2 cores free, one kept for the app; adjusted to the load"
        event = Started("scripts-lstm-char", "scripts", "lstm", "char", 80, 95_824, 383_296, 4_131_973,
                        229_550, None, 15.0, compute="bf16, 1 thread", threads_why=why)  # fmt: skip
        screen.post_message(TrainerEvent(event))
        line = screen.query_one("#run-line")
        await wait_for(pilot, lambda: "scripts-lstm-char" in text_of(screen, "#run-line"), "the run line")
        await settle(pilot)
        rows = line.render_lines(line.region.reset_offset)
        shown = "\n".join(rows[i].text for i in range(line.region.height))
        assert "(bf16, 1 thread)" in " ".join(shown.split()) and "budget 15 s" in shown, shown
        assert line.region.height <= 2 and why not in shown
        assert line.tooltip == f"CPU threads: {why}"
