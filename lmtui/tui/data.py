"""Engine calls the screens need, cached, and meant to be called from thread workers (they read big files)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

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


def load_corpus(spec: str) -> LoadedCorpus:
    """Read, check and measure a corpus once (raises LmtuiError with the engine's message)."""
    with _lock:
        return _load(spec)


def cached_corpus(spec: str) -> LoadedCorpus | None:
    """The corpus if it was read already: the screen then shows it at once, without a worker round trip."""
    return _loaded.get(spec)


_loaded: dict[str, LoadedCorpus] = {}  # the last few corpora read, newest last


def _load(spec: str) -> LoadedCorpus:
    if spec in _loaded:
        return _loaded[spec]
    loaded = _read(spec)
    _loaded[spec] = loaded
    while len(_loaded) > 4:  # a few 6 MB texts at most
        del _loaded[next(iter(_loaded))]
    return loaded


def _read(spec: str) -> LoadedCorpus:
    info, text = load_text(spec)
    if info.path.is_file():
        size = info.path.stat().st_size
    else:
        size = sum(p.stat().st_size for p in info.path.rglob("*.txt") if p.is_file())
    return LoadedCorpus(spec, info, text, text_stats(text), preview(text, lines=30, width=160), size)


def vocab_size(spec: str, level: str, max_vocab: int, min_count: int) -> int:
    """The vocabulary a run would get: the tokenizer is built from the training split, as training does."""
    with _lock:
        return _vocab(spec, level, max_vocab, min_count)


@lru_cache(maxsize=16)
def _vocab(spec: str, level: str, max_vocab: int, min_count: int) -> int:
    loaded = _load(spec)
    train = split_text(loaded.text, loaded.info.unit).train
    return len(build_tokenizer(level, train, max_vocab, min_count))


def clear_cache() -> None:
    """Forget cached corpora (tests point the app at other files under the same names)."""
    with _lock:
        _loaded.clear()
        _vocab.cache_clear()


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
