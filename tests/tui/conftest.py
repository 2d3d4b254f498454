"""TUI fixtures: small fake bundled corpora, runs with fixed metrics, and a way to wait for workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmtui import corpus
from lmtui.tui import data

SCRIPT = """THE TEMPEST

PROSPERO:
Now does my project gather to a head.
My charms crack not; my spirits obey.

ARIEL:
On the sixth hour, at which time, my lord,
You said our work should cease.
"""


@pytest.fixture
def fake_corpora(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, english_text: str,
                 colours_file: Path) -> Iterator[Path]:
    """Two small 'bundled' corpora, so screens do not depend on the real (large, changing) ones."""
    folder = tmp_path / "corpora"
    folder.mkdir()
    (folder / "scripts.txt").write_text((SCRIPT + "\n") * 3 + english_text, encoding="utf-8")
    (folder / "paint-colours.txt").write_text(colours_file.read_text(encoding="utf-8"), encoding="utf-8")
    manifest = [
        {"name": "scripts", "title": "Plays (test)", "description": "Speaker lines and speeches.",
         "file": "scripts.txt", "unit": "text", "level": "char"},
        {"name": "paint-colours", "title": "Paint colours (test)", "description": "Name R G B, one per line.",
         "file": "paint-colours.txt", "unit": "lines", "level": "char"},
    ]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(corpus, "corpora_dir", lambda: folder)
    corpus.bundled_corpora.cache_clear()
    data.clear_cache()
    yield folder
    corpus.bundled_corpora.cache_clear()
    data.clear_cache()
