"""Engine calls the screens need, cached, and meant to be called from thread workers (they read big files)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lmtui.corpus import CorpusInfo, Stats, load_text, preview, split_text, text_stats
from lmtui.tokens import build_tokenizer

_lock = threading.Lock()


@dataclass(frozen=True)
class LoadedCorpus:
    spec: str
    info: CorpusInfo
    text: str
    stats: Stats
    preview: str
    size_bytes: int
    encoding: str | None = None  # None: UTF-8 (or a BOM's UTF-16), as the engine reads by default


def load_corpus(spec: str, encoding: str | None = None) -> LoadedCorpus:
    """Read, check and measure a corpus once (raises LmtuiError with the engine's message)."""
    with _lock:
        return _load(spec, encoding)


def cached_corpus(spec: str, encoding: str | None = None) -> LoadedCorpus | None:
    """The corpus if it was read already: the screen then shows it at once, without a worker round trip."""
    return _loaded.get((spec, encoding))


_loaded: dict[tuple[str, str | None], LoadedCorpus] = {}  # the last few corpora read, newest last


def _load(spec: str, encoding: str | None = None) -> LoadedCorpus:
    key = (spec, encoding)
    if key in _loaded:
        return _loaded[key]
    loaded = _read(spec, encoding)
    _loaded[key] = loaded
    while len(_loaded) > 4:  # a few 6 MB texts at most
        del _loaded[next(iter(_loaded))]
    return loaded


def _read(spec: str, encoding: str | None) -> LoadedCorpus:
    info, text = load_text(spec, encoding)
    if info.path.is_file():
        size = info.path.stat().st_size
    else:
        size = sum(p.stat().st_size for p in info.path.rglob("*.txt") if p.is_file())
    head = preview(text, lines=30, width=160)
    return LoadedCorpus(spec, info, text, text_stats(text), head, size, encoding)


def vocab_size(spec: str, level: str, max_vocab: int, min_count: int, encoding: str | None = None) -> int:
    """The vocabulary a run would get: the tokenizer is built from the training split, as training does."""
    with _lock:
        return _vocab(spec, level, max_vocab, min_count, encoding)


@lru_cache(maxsize=16)
def _vocab(spec: str, level: str, max_vocab: int, min_count: int, encoding: str | None) -> int:
    loaded = _load(spec, encoding)
    train = split_text(loaded.text, loaded.info.unit).train
    return len(build_tokenizer(level, train, max_vocab, min_count))


def clear_cache() -> None:
    """Forget cached corpora (tests point the app at other files under the same names)."""
    with _lock:
        _loaded.clear()
        _vocab.cache_clear()


def display_path(path: Path) -> str:
    """A path as a person would type it: the home folder as ``~``."""
    home = Path.home()
    return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) and path != home else str(path)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def duration(seconds: float | None) -> str:
    """0:42, 3:05, 1:02:03: how long, at a glance."""
    if seconds is None:
        return "–"
    s = int(round(max(seconds, 0)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def unk_note(level: str, unk_rate: float | None) -> str:
    """What a word model's perplexity hides: " (5.4% <unk>)" — a capped vocabulary turns rare words into one
    easy token, so the share is said wherever that perplexity is shown; nothing for char models."""
    if level != "word" or not unk_rate:
        return ""
    return f" ({unk_rate:.1%} <unk>)"
