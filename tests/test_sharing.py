"""Sharing samples: text and Markdown files that say how to reproduce them, and the SVG card."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from rich.style import Style

from lmtui.runs import load_run
from lmtui.sampling import SampleSettings, sample_text
from lmtui.sharing import SampleRecord, card_svg, reproduce_command, save_card, save_sample, to_markdown
from lmtui.tui.widgets.swatches import SWATCH, colour_of, style_sample


def record(**settings: object) -> SampleRecord:
    model = {"model": "lstm", "level": "char", "order": 3, "smoothing": "kn", "context": 8, "embed": 32,
             "hidden": 128, "layers": 1}
    base = dict(temperature=0.7, top_k=20, top_p=None, length=50, prime="HAMLET:\n", seed=42)
    base.update(settings)
    return SampleRecord("scripts-lstm-char", "scripts", model, SampleSettings(**base), "To be, or not.", 5.5)


def test_markdown_says_how_to_reproduce() -> None:
    md = to_markdown(record())
    assert "HAMLET:\nTo be, or not." in md
    for line in ("- corpus: scripts", "- run: scripts-lstm-char (validation perplexity 5.50)",
                 "- temperature: 0.7", "- top-k: 20", "- top-p: off", "- seed: 42", "- prime: 'HAMLET:\\n'"):
        assert line in md
    assert "lstm (1 layer(s), embed 32, hidden 128), char level" in md
    argv = shlex.split(reproduce_command(record()))
    assert argv[:3] == ["lmtui", "sample", "scripts-lstm-char"]
    assert argv[argv.index("--prime") + 1] == "HAMLET:\n" and argv[argv.index("--seed") + 1] == "42"
    assert "--top-p" not in argv


def test_save_numbers_files_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "samples"
    txt, md = save_sample(record(), folder)
    assert (txt.name, md.name) == ("sample-001.txt", "sample-001.md")
    assert txt.read_text(encoding="utf-8") == "HAMLET:\nTo be, or not.\n"  # a text file ends its last line
    card = save_card(record(), folder, txt.stem)
    assert card.name == "sample-001.svg"
    txt2, _ = save_sample(record(), folder)
    assert txt2.name == "sample-002.txt"
    assert save_card(record(), folder).name == "sample-003.svg"


def test_saved_text_gets_one_final_newline(tmp_path: Path) -> None:
    txt, _ = save_sample(record(), tmp_path)
    assert txt.read_text(encoding="utf-8").endswith("not.\n")
    ends_a_line = SampleRecord("r", "c", record().model, SampleSettings(prime=""), "line\n")
    txt, _ = save_sample(ends_a_line, tmp_path)
    assert txt.read_text(encoding="utf-8") == "line\n"


def test_card_is_an_svg_with_the_sample_and_its_provenance() -> None:
    svg = card_svg(record(prime="", seed=None))
    assert svg.startswith("<svg") and "scripts-lstm-char" in svg
    assert "To&#160;be,&#160;or&#160;not." in svg and "seed&#160;none" in svg


def test_swatches_and_speakers() -> None:
    assert colour_of("Absolute Zero 0 72 186") == (0, 72, 186)
    assert colour_of("Too Bright 300 0 0") is None and colour_of("HAMLET:") is None
    text = style_sample(" Sea 0 40 80\nHAMLET:\nTo be", prime="Deep")
    assert text.plain == f"{SWATCH}Deep Sea 0 40 80\nHAMLET:\nTo be"
    styles = {(span.start, span.end): span.style for span in text.spans}
    assert Style.parse(str(styles[(0, len(SWATCH))])).color.triplet == (0, 40, 80)
    assert any("underline" in str(style) for style in styles.values())  # the prime
    hamlet = text.plain.index("HAMLET:")
    assert any(start == hamlet and "bold" in str(style) for (start, _), style in styles.items())


def test_the_reproduce_command_writes_the_same_sample(trained_runs: Path, child_env: dict[str, str]) -> None:
    run = load_run("ngram-run")
    settings = SampleSettings(temperature=0.9, top_k=5, length=60, prime="The ", seed=11)
    text = sample_text(run.load_model(), run.tokenizer(), settings)
    argv = shlex.split(reproduce_command(SampleRecord.from_run(run, settings, text)))
    out = subprocess.run([sys.executable, "-m", "lmtui", *argv[1:]], capture_output=True, text=True,
                         env=child_env, check=True)
    assert out.stdout == "The " + text + "\n"


def test_the_model_line_names_the_adaptive_softmax():
    full = record()
    assert "softmax" not in full.model_line()
    adaptive = SampleRecord("r", "speeches", {**full.model, "level": "word", "softmax": "adaptive"},
                            SampleSettings(), "the", None)
    assert adaptive.model_line() == "lstm (1 layer(s), embed 32, hidden 128, adaptive softmax), word level"
