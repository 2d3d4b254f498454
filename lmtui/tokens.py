"""Text <-> token ids, at character or word level.

Both tokenizers are built from the training split only, so validation and test text can contain tokens the
model never saw: they map to id 0, ``<unk>``, which is a real vocabulary entry the model learns to predict.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Any

import numpy as np

from lmtui import wordruns
from lmtui.wordruns import WORD_RE, Runs

UNK = "<unk>"
UNK_CHAR = "\ufffd"  # what an unknown character decodes to
NO_SPACE_BEFORE = set(".,;:!?)]}%'’”»…")
NO_SPACE_AFTER = set("([{$“«‘\n")


class Tokenizer:
    """A vocabulary (id -> token string) with encode/decode; id 0 is always ``<unk>``."""

    level: str = ""

    def __init__(self, vocab: list[str]):
        if not vocab or vocab[0] != UNK:
            raise ValueError("a vocabulary must start with <unk>")
        self.vocab = vocab
        self.index = {tok: i for i, tok in enumerate(vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def decode(self, ids: np.ndarray | list[int]) -> str:
        raise NotImplementedError

    def split(self, text: str) -> list[str]:
        """The token strings of a text, before mapping to ids."""
        raise NotImplementedError

    def unknown(self, text: str) -> list[str]:
        """Distinct tokens of ``text`` that are not in the vocabulary (they will be read as <unk>)."""
        return sorted({t for t in self.split(text) if t not in self.index})

    def display(self, token_id: int) -> str:
        """A visible name for one token (newline and space shown as symbols), for tables and bars."""
        tok = self.vocab[token_id]
        return {"\n": "⏎", " ": "␣", "\t": "⇥"}.get(tok, tok)

    def newline_id(self) -> int | None:
        return self.index.get("\n")

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "vocab": self.vocab}

    @staticmethod
    def from_dict(data: object) -> Tokenizer:  # untrusted JSON: checked here
        if not isinstance(data, dict):
            raise ValueError("a tokenizer must be a JSON object with a level and a vocabulary")
        level, vocab = data.get("level"), data.get("vocab")
        if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
            raise ValueError("tokenizer vocabulary must be a list of strings")
        if level == "char":
            return CharTokenizer(vocab)
        if level == "word":
            return WordTokenizer(vocab)
        raise ValueError(f"unknown tokenizer level {level!r}")


class CharTokenizer(Tokenizer):
    """Every distinct character of the training text is a token."""

    level = "char"

    def __init__(self, vocab: list[str]):
        super().__init__(vocab)
        if any(len(t) != 1 for t in vocab[1:]):
            raise ValueError("a character vocabulary holds single characters")
        # Sorted code points let numpy map a whole text at once (a 100 MB text never becomes a Python list).
        points = np.array([ord(t) for t in vocab[1:]], dtype=np.uint32)
        order = np.argsort(points)
        self._points = points[order]
        self._ids = (order + 1).astype(np.int32)

    @classmethod
    def build(cls, text: str) -> CharTokenizer:
        return cls([UNK, *sorted(set(text))])

    def split(self, text: str) -> list[str]:
        return list(text)

    ENCODE_CHUNK = 1 << 22  # characters per step: temporaries stay ~100 MB however long the text

    def encode(self, text: str) -> np.ndarray:
        out = np.zeros(len(text), dtype=np.int32)
        if len(self._points) == 0:
            return out
        last = len(self._points) - 1
        for i in range(0, len(text), self.ENCODE_CHUNK):
            points = np.frombuffer(
                text[i : i + self.ENCODE_CHUNK].encode("utf-32-le", "surrogatepass"), dtype=np.uint32
            )
            pos = np.searchsorted(self._points, points).clip(0, last)
            out[i : i + len(points)] = np.where(self._points[pos] == points, self._ids[pos], 0)
        return out

    def decode(self, ids: np.ndarray | list[int]) -> str:
        vocab = self.vocab
        return "".join(UNK_CHAR if i == 0 else vocab[i] for i in ids)


class WordTokenizer(Tokenizer):
    """Words and punctuation marks are tokens; newlines too, so scripts and lists keep their shape."""

    level = "word"

    def __init__(self, vocab: list[str]):
        super().__init__(vocab)
        if not all(vocab):
            raise ValueError("a word vocabulary holds no empty tokens")

    @classmethod
    def build(cls, text: str, max_vocab: int = 10_000, min_count: int = 1) -> WordTokenizer:
        return cls.from_counts(Runs(text).counts(), max_vocab, min_count)

    @classmethod
    def from_words(cls, words: list[str], max_vocab: int = 10_000, min_count: int = 1) -> WordTokenizer:
        return cls.from_counts(Counter(words), max_vocab, min_count)

    @classmethod
    def from_counts(
        cls, counts: dict[str, int], max_vocab: int = 10_000, min_count: int = 1
    ) -> WordTokenizer:
        """The ``max_vocab`` most frequent tokens seen at least ``min_count`` times (ties alphabetically)."""
        floor = min_count
        if len(counts) > max_vocab:  # millions of distinct words: rank only those that can make the cut
            values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
            floor = max(floor, int(np.partition(values, -max_vocab)[-max_vocab]))
        # Most frequent first; ties broken alphabetically so the vocabulary is deterministic.
        above = sorted(((t, c) for t, c in counts.items() if c > floor), key=lambda c: (-c[1], c[0]))
        ties = [t for t, c in counts.items() if c == floor] if len(above) < max_vocab else []
        ranked = [tok for tok, _ in above] + heapq.nsmallest(max_vocab - len(above), ties)
        return cls([UNK, *ranked[:max_vocab]])

    def split(self, text: str) -> list[str]:
        return WORD_RE.findall(text)

    def encode(self, text: str) -> np.ndarray:
        if len(text) < wordruns.SHORT:
            return self.encode_words(WORD_RE.findall(text))
        return Runs(text).encode(self.index)

    def encode_words(self, words: list[str]) -> np.ndarray:
        get = self.index.get
        return np.fromiter((get(t, 0) for t in words), dtype=np.int32, count=len(words))

    def decode(self, ids: np.ndarray | list[int]) -> str:
        return detokenize([self.vocab[i] for i in ids])


def detokenize(tokens: list[str]) -> str:
    """Join word tokens into readable text: no space before punctuation or after an opening bracket."""
    out: list[str] = []
    prev = "\n"
    for tok in tokens:
        if out and tok != "\n" and prev[-1] not in NO_SPACE_AFTER and tok[0] not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)


def build_and_encode(
    level: str, text: str, max_vocab: int = 10_000, min_count: int = 1
) -> tuple[Tokenizer, np.ndarray]:
    """Build a tokenizer from a text and encode that same text, splitting it into words only once."""
    if level == "word":
        runs = Runs(text)
        tokenizer: Tokenizer = WordTokenizer.from_counts(runs.counts(), max_vocab, min_count)
        return tokenizer, runs.encode(tokenizer.index)
    tokenizer = build_tokenizer(level, text, max_vocab, min_count)
    return tokenizer, tokenizer.encode(text)


def build_tokenizer(level: str, text: str, max_vocab: int = 10_000, min_count: int = 1) -> Tokenizer:
    if level == "char":
        return CharTokenizer.build(text)
    if level == "word":
        return WordTokenizer.build(text, max_vocab=max_vocab, min_count=min_count)
    raise ValueError(f"unknown level {level!r}; choose char or word")


def arpa_token_names(tokenizer: Tokenizer) -> list[str]:
    """Whitespace-free, unique names for ARPA files, where tokens are separated by spaces."""
    special = {"\n": "<nl>", " ": "<sp>", "\t": "<tab>"}
    names: list[str] = []
    seen: set[str] = set()
    for tok in tokenizer.vocab:
        name = special.get(tok) or ("".join(c if not c.isspace() else f"<U+{ord(c):04X}>" for c in tok))
        while name in seen or name in ("<s>", "</s>"):
            name = f"{name}#"
        seen.add(name)
        names.append(name)
    return names
