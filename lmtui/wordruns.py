"""Word tokenizing of long texts without Python work per token.

``WORD_RE.findall`` over a 2M-word corpus, a ``Counter`` of its tokens and a dictionary look-up per token
were most of the n-gram file -> model time. But no token contains whitespace except a newline, which is a
token on its own, so the text's whitespace-free runs (``str.split``, in C) can be tokenized once per
*distinct* run: that corpus has 1.66M runs and 95k distinct ones. Each run costs one dictionary call; the
token sequence is the runs' tokens gathered with numpy, and a token's count is the sum of its runs'.

The result is exactly ``WORD_RE.findall``'s (tests/test_wordruns.py compares them). That rests on two
facts of Python's ``re`` and ``str`` that the tests check for every code point: ``\\s`` matches exactly
the characters ``str.split()`` splits on (``str.isspace``), and ``\\w`` exactly ``str.isalnum()`` plus
``_``, so an ``isalnum()`` run is one ``\\w+`` token.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import numpy as np

# Words (with inner apostrophes: don't, o'er), single punctuation marks, and newlines as their own tokens.
WORD_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]|\n")
SPACE_RE = re.compile(r"\s")
BLOCK = 1 << 20  # characters split at a time: one block's list of runs is freed before the next is made
ENCODE_CHUNK = 1 << 20  # runs expanded into token ids at a time
SHORT = 200  # characters below which WordTokenizer.encode uses the plain regex (quicker for a prime text)
# Stand-ins for "\n" while splitting (the first one absent from the text): non-space control characters,
# which keep an ASCII text one byte per character, then the private use area.
MARKS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F, *range(0xE000, 0xF900))]


class Runs:
    """A text as its distinct whitespace-free runs (``pieces``: the tokens of each) and the run at each
    place (``ids``); the text's tokens are ``pieces[ids[0]] + pieces[ids[1]] + ...``."""

    def __init__(self, text: str) -> None:
        mark = next((m for m in MARKS if m not in text), None)
        if mark is None:  # every stand-in occurs in the text: one run per token instead
            words = WORD_RE.findall(text)
            seen = {w: i for i, w in enumerate(dict.fromkeys(words))}
            self.pieces: list[tuple[str, ...]] = [(w,) for w in seen]
            self.ids = np.fromiter(map(seen.__getitem__, words), dtype=np.int32, count=len(words))
            return
        # index: run -> place of its first occurrence (setdefault with a counter: one dict call per run)
        index: dict[str, int] = {}
        parts, placed = [], 0
        dtype = np.int32 if len(text) < 2**31 else np.int64
        for block in _blocks(text):
            runs = block.replace("\n", f" {mark} ").split()
            places = map(index.setdefault, runs, itertools.count(placed))
            parts.append(np.fromiter(places, dtype=dtype, count=len(runs)))
            placed += len(runs)
        first = np.fromiter(index.values(), dtype=np.int64, count=len(index))
        rank = np.zeros(placed, dtype=np.int32)
        rank[first] = np.arange(len(first), dtype=np.int32)  # first occurrence -> run number
        self.ids = rank[np.concatenate(parts)] if parts else np.zeros(0, dtype=np.int32)
        self.pieces = [_tokens(run, mark) for run in index]

    def counts(self) -> dict[str, int]:
        """How often each token occurs in the text."""
        counts: dict[str, int] = {}
        get = counts.get
        per_run = np.bincount(self.ids, minlength=len(self.pieces)).tolist()
        for tokens, n in zip(self.pieces, per_run, strict=True):
            for tok in tokens:
                counts[tok] = get(tok, 0) + n
        return counts

    def encode(self, index: dict[str, int]) -> np.ndarray:
        """The text's token ids under a vocabulary ``index``; tokens not in it are 0 (``<unk>``)."""
        get = index.get
        flat = np.array([get(t, 0) for tokens in self.pieces for t in tokens], dtype=np.int32)
        sizes = np.fromiter(map(len, self.pieces), dtype=np.int64, count=len(self.pieces))
        if np.all(sizes == 1):  # one token per run (the usual case): a plain gather
            return flat[self.ids]
        starts = np.cumsum(sizes) - sizes  # where each run's tokens begin in ``flat``
        parts = []
        for i in range(0, len(self.ids), ENCODE_CHUNK):  # int64 temporaries stay small however long the text
            ids = self.ids[i : i + ENCODE_CHUNK]
            per_place = sizes[ids]
            ends = np.cumsum(per_place)  # where each place's tokens end in this part
            # position p of place j takes flat[starts[ids[j]] + p - (ends[j] - per_place[j])]
            shift = np.repeat(starts[ids] - ends + per_place, per_place)
            parts.append(flat[np.arange(len(shift)) + shift])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def _tokens(run: str, mark: str) -> tuple[str, ...]:
    """The regex tokens of one whitespace-free run, without the regex for the usual shapes."""
    if run.isalnum():  # "word"
        return (run,)
    last = run[-1]
    if run[:-1].isalnum() and not (last.isalnum() or last == "_"):  # "word," (an apostrophe too: "dogs'")
        return (run[:-1], last)
    return ("\n",) if run == mark else tuple(WORD_RE.findall(run))


def _blocks(text: str) -> Iterator[str]:
    """``text`` in pieces of about BLOCK characters, each cut just before a whitespace character."""
    start = 0
    while start < len(text):
        end = start + BLOCK
        if end < len(text):
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            if cut <= start:  # no space or newline in the whole block: the next whitespace of any kind
                found = SPACE_RE.search(text, end)
                cut = found.start() if found else len(text)
            end = cut
        yield text[start:end]
        start = end
