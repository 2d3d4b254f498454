"""The playground as a person uses it: stopped samples kept, primes per run, the next-token panel, 80×24."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Input
from tui_helpers import run_async, settle, wait_for

from lmtui.runs import load_run
from lmtui.sampling import sample_text
from lmtui.tui.app import make_app
from lmtui.tui.screens import playground
from lmtui.tui.screens.playground import PlaygroundScreen


def shown(widget) -> str:  # noqa: ANN001
    """What a Static draws, at its own width (so cut or squeezed text shows as it would on screen)."""
    console = Console(width=widget.content_size.width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


async def open_playground(pilot, name: str) -> PlaygroundScreen:  # noqa: ANN001
    await pilot.app.open_playground(name)
    screen = pilot.app.screen
    assert isinstance(screen, PlaygroundScreen)
    await wait_for(pilot, lambda: screen.model is not None and screen.opened.name == name, name)
    await settle(pilot)
    return screen


@run_async
async def test_a_sample_stopped_with_esc_can_be_saved_copied_and_exported(trained_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "lstm-run")
        screen.query_one("#length", Input).value = "200000"  # far more than it writes before Esc
        screen.query_one("#seed", Input).value = "7"
        await pilot.press("ctrl+g")
        view = screen.query_one("#sample")
        await wait_for(pilot, lambda: len(view.text) > 20, "some text")
        await pilot.press("escape")
        await settle(pilot)
        record = screen.record
        assert record is not None and not screen.generating
        assert record.text == view.text and len(record.text) > 20
        assert record.settings.length == len(record.text)  # char level: one character per token
        assert "stopped after" in str(screen.query_one("#share-status").render())

        await pilot.press("ctrl+y")
        assert app.clipboard == record.full_text
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+o")
        await settle(pilot)
        samples = trained_runs / "lstm-run" / "samples"
        names = sorted(p.name for p in samples.iterdir())
        assert names == ["sample-001.md", "sample-001.svg", "sample-001.txt"]
        assert (samples / "sample-001.txt").read_text(encoding="utf-8") == record.full_text + "\n"
        assert not list(app.query("Toast"))  # the status line says it; no notice covers it
    # the recorded settings write exactly the stopped sample again
    run = load_run("lstm-run")
    assert sample_text(run.load_model(), run.tokenizer(), record.settings) == record.text


@run_async
async def test_opening_another_run_resets_the_prime_and_focuses_it(trained_runs: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    corpus_name = load_run("lstm-run").meta["corpus"]["name"]
    monkeypatch.setattr(playground, "PRIMES", {corpus_name: "HAMLET:\n"})
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "lstm-run")
        prime = screen.query_one("#prime", Input)
        assert prime.value == "HAMLET:\\n" and screen.prime == "HAMLET:\n" and prime.has_focus
        prime.value = "To be or not"
        screen.query_one("#length", Input).focus()
        monkeypatch.setattr(playground, "PRIMES", {})
        await open_playground(pilot, "ngram-run")
        assert prime.value == "" and prime.has_focus  # no Shakespeare prime carried into another model
        await pilot.press(*"the ")
        assert screen.prime == "the "  # typing lands in the prime, not in the digits-only length field


@run_async
async def test_next_token_panel_shows_the_distribution_sampled(trained_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "ngram-run")
        panel = screen.query_one("#next")
        screen.query_one("#prime", Input).value = "the "
        await wait_for(pilot, lambda: screen.predicted_for == "the ", "the next tokens after the prime")
        cool = shown(panel)
        assert "as sampled after temperature 0.8" in cool
        for _ in range(4):
            await pilot.press("up")
        await wait_for(pilot, lambda: "temperature 1.2" in shown(panel), "the panel at temperature 1.2")
        warm = shown(panel)
        assert warm.split("\n")[1:] != cool.split("\n")[1:]
        screen.query_one("#top-k", Input).value = "2"
        await wait_for(pilot, lambda: "top-k 2" in shown(panel), "the panel with top-k 2")
        assert shown(panel).count("cut") >= 5
        for _ in range(15):
            await pilot.press("down")
        await wait_for(pilot, lambda: "greedy" in shown(panel), "the greedy panel")
        assert "100.0%" in shown(panel)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
@run_async
async def test_unknown_words_are_named_in_full(size: tuple[int, int], trained_runs: Path, english_file: Path,
                                               ) -> None:
    from lmtui.models import ModelConfig
    from lmtui.training import Job, TrainConfig, train

    list(train(Job(str(english_file), ModelConfig(model="ngram", level="word", order=3), TrainConfig(),
                   name="word-run")))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_playground(pilot, "word-run")
        screen.query_one("#prime", Input).value = "the zyzzyvas people"
        await wait_for(pilot, lambda: screen.predicted_for == "the zyzzyvas people", "the next tokens")
        await settle(pilot)
        text = shown(screen.query_one("#next"))
        assert "zyzzyvas" in text.replace("\n", " ")  # the whole word, in a note that wraps
        rows = [line for line in text.split("\n") if "%" in line or line.rstrip().endswith("cut")]
        assert len(rows) == 10
        for row in rows:
            assert row.split()[0] and "…" not in row.split()[-1]  # a token in front, a full percentage


@run_async
async def test_rare_word_token_reads_as_such(trained_runs: Path) -> None:
    from lmtui.sampling import Prediction
    from lmtui.tui.widgets.next_token import NextTokenBars

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "ngram-run")
        panel = screen.query_one("#next", NextTokenBars)
        panel.show([Prediction("<unk>", 0.5), Prediction("the", 0.25)], [], "as sampled after temperature 1")
        await pilot.pause()
        assert "(rare word)" in shown(panel) and "<unk>" not in shown(panel)


@run_async
async def test_settings_at_80x24_are_reachable_readable_and_empty_is_fine(trained_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_playground(pilot, "lstm-run")
        visible = app.screen.region
        for field in ("#top-k", "#top-p", "#length", "#seed"):
            control = screen.query_one(field, Input)
            control.focus()
            await pilot.pause()
            assert visible.contains_region(control.region), field
            assert control.content_size.width >= 6, field  # "random", "0.95", "300" fit
            await pilot.press("tab")
            await pilot.pause()
            assert not control.has_class("-invalid"), field  # empty top-k / top-p mean "off", not an error
        assert str(screen.query_one("#settings-error").render()) == ""


@run_async
async def test_a_negative_seed_gives_a_message_not_a_crash(trained_runs: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "lstm-run")
        screen.query_one("#seed", Input).value = "-1"
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "seed" in str(screen.query_one("#settings-error").render())
        assert app.is_running and screen.record is None and not screen.generating


@run_async
async def test_esc_before_any_text_keeps_no_empty_sample(trained_runs: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import threading

    release, ended = threading.Event(), threading.Event()

    def slow(model, tokenizer, settings, notes=None):  # noqa: ANN001, ANN202
        try:
            release.wait(120)  # the first token is slow in coming: it comes only after Esc
            yield "x"
        finally:
            ended.set()

    monkeypatch.setattr(playground, "generate", slow)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_playground(pilot, "lstm-run")
        await pilot.press("ctrl+g", "escape")
        release.set()  # the late token arrives after Esc ...
        await wait_for(pilot, ended.is_set, "the generator to end")
        await settle(pilot)  # ... and whatever it brought is handled
        assert screen.record is None and not screen.generating
        assert "before it wrote anything" in str(screen.query_one("#share-status").render())
        await pilot.press("ctrl+s")
        assert not (trained_runs / "lstm-run" / "samples").exists()
