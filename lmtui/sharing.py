"""Sharing a sample: as plain text, as Markdown that says how to reproduce it, and as an SVG card.

Samples go into the run's ``samples/`` folder with numbered names (``sample-001.txt`` and ``.md``), so
nothing is overwritten and no clock is involved. The Markdown holds the ``lmtui sample`` command that
writes the same text again: same run, settings and seed.

The .txt file is the sample exactly (it is data). The Markdown and the card are for reading: there, control
characters of the sample and of the corpus name (a stranger's, for an imported run) are shown escaped
(lmtui.visible), so neither ``cat sample-001.md`` nor a viewer of the card acts on them.
"""

from __future__ import annotations

import io
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from lmtui.sampling import SampleSettings
from lmtui.tui.widgets.swatches import style_sample
from lmtui.visible import visible_line, visible_markup, visible_text


@dataclass(frozen=True)
class SampleRecord:
    """A sample and everything needed to write it again."""

    run: str
    corpus: str
    model: dict[str, Any]  # the run's ModelConfig as a dict
    settings: SampleSettings
    text: str  # the continuation, without the prime
    val_ppl: float | None = None

    @classmethod
    def from_run(cls, run: Any, settings: SampleSettings, text: str) -> SampleRecord:
        """Build from an ``lmtui.runs.Run`` (duck-typed, so this module stays free of the model code)."""
        return cls(run.name, run.meta["corpus"]["name"], dict(run.meta["model"]), settings, text,
                   run.meta.get("metrics", {}).get("val_ppl"))

    @property
    def full_text(self) -> str:
        return self.settings.prime + self.text

    def model_line(self) -> str:
        m = self.model
        if m["model"] == "ngram":
            return f"{m['order']}-gram ({m['smoothing']}), {m['level']} level"
        size = f"context {m['context']}, " if m["model"] == "window" else f"{m['layers']} layer(s), "
        output = ", adaptive softmax" if m.get("softmax") == "adaptive" else ""
        return f"{m['model']} ({size}embed {m['embed']}, hidden {m['hidden']}{output}), {m['level']} level"

    def settings_line(self) -> str:
        s = self.settings
        parts = [f"temperature {s.temperature:g}", f"top-k {s.top_k or 'off'}", f"top-p {s.top_p or 'off'}",
                 f"length {s.length}", f"seed {s.seed if s.seed is not None else 'none'}"]
        return ", ".join(parts)


def reproduce_command(record: SampleRecord) -> str:
    """The ``lmtui sample`` command line that writes this sample again."""
    s = record.settings
    argv = ["lmtui", "sample", record.run, "--temperature", f"{s.temperature:g}", "--length", str(s.length)]
    if s.top_k is not None:
        argv += ["--top-k", str(s.top_k)]
    if s.top_p is not None:
        argv += ["--top-p", f"{s.top_p:g}"]
    if s.stop_lines is not None:
        argv += ["--stop-lines", str(s.stop_lines)]
    if s.seed is not None:
        argv += ["--seed", str(s.seed)]
    if s.prime:
        argv += ["--prime", s.prime]
    return shlex.join(argv)


def to_markdown(record: SampleRecord) -> str:
    s = record.settings
    ppl = f" (validation perplexity {record.val_ppl:.2f})" if record.val_ppl else ""
    fence = "````" if "```" in record.full_text else "```"
    return "\n".join([
        f"# Sample from {visible_line(record.run)}",
        "",
        f"{fence}text",
        visible_text(record.full_text.rstrip("\n")),
        fence,
        "",
        "## How to reproduce it",
        "",
        f"- corpus: {visible_line(record.corpus)}",
        f"- run: {visible_line(record.run)}{ppl}",
        f"- model: {record.model_line()}",
        f"- temperature: {s.temperature:g}",
        f"- top-k: {s.top_k if s.top_k is not None else 'off'}",
        f"- top-p: {s.top_p if s.top_p is not None else 'off'}",
        f"- length: {s.length} tokens",
        f"- seed: {s.seed if s.seed is not None else 'none (not reproducible)'}",
        f"- prime: {s.prime!r}",
        "",
        "```sh",
        visible_text(reproduce_command(record)),
        "```",
        "",
    ])


def next_free(folder: Path, stem: str = "sample") -> str:
    """``sample-001``, ``sample-002``…: the first number with no .txt, .md or .svg file yet."""
    n = 1
    while any((folder / f"{stem}-{n:03d}{ext}").exists() for ext in (".txt", ".md", ".svg")):
        n += 1
    return f"{stem}-{n:03d}"


def save_sample(record: SampleRecord, folder: Path) -> tuple[Path, Path]:
    """Write the sample as .txt (just the text) and .md (text + how to reproduce it); return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = next_free(folder)
    txt, md = folder / f"{stem}.txt", folder / f"{stem}.md"
    text = record.full_text
    txt.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")  # a text file ends a line
    md.write_text(to_markdown(record), encoding="utf-8")
    return txt, md


def card_svg(record: SampleRecord, width: int = 72, max_lines: int = 30) -> str:
    """An SVG card of the sample (rich's SVG export): the text, styled as in the app, and its provenance."""
    lines = record.full_text.rstrip("\n").split("\n")
    shown = "\n".join(lines[:max_lines]) + ("\n…" if len(lines) > max_lines else "")
    prime = record.settings.prime[: len(shown)]
    body = style_sample(shown[len(prime):], prime)
    footer = Text(f"{record.model_line()} on {visible_line(record.corpus)}\n{record.settings_line()}",
                  style="dim")
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True)
    console.print(Panel(body, title=f"[b]{visible_markup(record.run)}[/b]", subtitle="lmtui", padding=(1, 2)))
    console.print(footer)
    return console.export_svg(title=f"lmtui · {visible_line(record.run)}")


def save_card(record: SampleRecord, folder: Path, stem: str | None = None) -> Path:
    """Write the card as ``<stem>.svg`` (the saved sample's name, when it was saved first)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem or next_free(folder)}.svg"
    path.write_text(card_svg(record), encoding="utf-8")
    return path


def neuron_card_svg(run: str, text: str, activations: list[float], caption: str, width: int = 72) -> str:
    """An SVG card of a text coloured by one hidden unit's activation (the playground's neuron view)."""
    from lmtui.tui.widgets.neuron_view import coloured_text

    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True)
    console.print(Panel(coloured_text(text, activations), title=f"[b]{visible_markup(run)}[/b]",
                        subtitle="lmtui", padding=(1, 2)))
    console.print(Text(f"{visible_line(caption)}\nred: activation above 0, blue: below 0", style="dim"))
    return console.export_svg(title=f"lmtui · {visible_line(run)} · {visible_line(caption)}")


def save_neuron_card(folder: Path, run: str, text: str, activations: list[float], caption: str) -> Path:
    """Write the neuron card as ``neuron-NNN.svg`` in ``folder`` (the run's samples/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{next_free(folder, 'neuron')}.svg"
    path.write_text(neuron_card_svg(run, text, activations, caption), encoding="utf-8")
    return path
