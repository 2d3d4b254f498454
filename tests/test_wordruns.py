"""The fast word tokenizer (lmtui/wordruns.py) gives exactly what the plain regex gives.

The reference is the straightforward path: ``WORD_RE.findall`` over the whole text, ``Counter`` of the token
strings, one dictionary look-up per token. Every comparison covers the token sequence, the counts, the
vocabulary and the ids, and is repeated with tiny blocks so that block cuts fall everywhere.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmtui import wordruns
from lmtui.tokens import UNK, WordTokenizer, build_and_encode
from lmtui.wordruns import MARKS, WORD_RE, Runs

TRICKY = [
    "",
    " ",
    "\n",
    "\n\n\n",
    "word",
    "  leading and trailing  \n",
    "don't o'er rock'n'roll ’tis dogs' 'quoted' it’s ''double'' a''b a'’b",
    "Hello,world!How are—you? (yes) [no] {maybe} «quoted» “curly” ‘single’…",
    "Windows\r\nline\r\nendings\r\n\r\nand old Mac\rones",
    "tabs\tand\x0bvertical\x0cform feeds\x1cfile\x1dgroup\x1erecord\x1funit",
    "no\u00a0break\u2002en\u3000ideographic\u2028line\u2029paragraph\x85next",
    "numbers 3.14 1,000,000 2nd ½ ² ٣ ४ 10% $5 -7 +8 1e10",
    "snake_case __dunder__ _ __ a_b'c_d",
    "naïve café résumé Ærø straße İstanbul ΑΘΗΝΑ Москва 東京 日本語テキスト",
    "combining: e\u0301 a\u0308 n\u0303 and zero\u200bwidth\u200djoiner",
    "emoji 🙂👍🏽 flags 🇫🇷 astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
    "surrogates from bad bytes: \udc80\udcff abc\udc80def",
    "controls \x00 \x01\x02 abc\x07def \x7f DEL",
    "private use \ue000 \ue001\uf8ff x",
    "ending without newline, mid'",
    "'",
    "a'",
    "'a",
    "...!!!???",
    "line one\nline two\n\nparagraph\n   indented\n\ttabbed\n",
]


def reference(
    text: str, max_vocab: int = 10_000, min_count: int = 1
) -> tuple[list[str], list[str], list[int]]:
    words = WORD_RE.findall(text)
    counts = Counter(words)
    ranked = sorted((c for c in counts.items() if c[1] >= min_count), key=lambda c: (-c[1], c[0]))
    vocab = [UNK, *(w for w, _ in ranked[:max_vocab])]
    index = {w: i for i, w in enumerate(vocab)}
    return words, vocab, [index.get(w, 0) for w in words]


def tokens_of(runs: Runs) -> list[str]:
    return [tok for i in runs.ids.tolist() for tok in runs.pieces[i]]


def check_same(text: str, max_vocab: int = 10_000, min_count: int = 1) -> None:
    words, vocab, ids = reference(text, max_vocab, min_count)
    runs = Runs(text)
    assert tokens_of(runs) == words
    assert runs.counts() == Counter(words)
    tok, got = build_and_encode("word", text, max_vocab, min_count)
    assert tok.vocab == vocab
    assert got.dtype == np.int32 and got.tolist() == ids
    assert WordTokenizer.build(text, max_vocab, min_count).vocab == vocab
    assert tok.encode(text).tolist() == ids
    # another tokenizer's vocabulary: words it lacks are <unk>
    other = WordTokenizer([UNK, *sorted(set(words))[::2]])
    assert other.encode(text).tolist() == [other.index.get(w, 0) for w in words]


@pytest.fixture(params=[wordruns.BLOCK, 1, 3, 7], ids=lambda b: f"block{b}")
def block(request, monkeypatch):
    """Blocks of text and chunks of runs as small as they get, so their edges fall everywhere."""
    monkeypatch.setattr(wordruns, "BLOCK", request.param)
    monkeypatch.setattr(wordruns, "ENCODE_CHUNK", request.param)
    monkeypatch.setattr(wordruns, "SHORT", 0)  # the tricky texts are short: encode them as long ones
    return request.param


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_tokenize_as_the_regex_does(text, block):
    check_same(text)


def test_all_tricky_texts_together_with_a_small_vocabulary(block):
    text = "\n".join(TRICKY) * 3
    check_same(text)
    check_same(text, max_vocab=5)
    check_same(text, min_count=3)


def test_runs_without_spaces_or_newlines_are_cut_at_other_whitespace(monkeypatch):
    """A block with no space or newline in it is cut at the next whitespace of any kind (here tabs)."""
    monkeypatch.setattr(wordruns, "BLOCK", 4)
    monkeypatch.setattr(wordruns, "SHORT", 0)
    text = "abcdefgh\tij,kl\u3000mnopqrstuvw\x0bxy" + "z" * 20
    assert list(wordruns._blocks(text)) == ["abcdefgh", "\tij,kl", "\u3000mnopqrstuvw", "\x0bxy" + "z" * 20]
    check_same(text)


def test_a_text_holding_every_newline_stand_in_still_tokenizes(monkeypatch):
    monkeypatch.setattr(wordruns, "SHORT", 0)
    monkeypatch.setattr(wordruns, "MARKS", ["\x00", "\ue000"])
    text = "a\x00b \ue000 c\nd's \x00\n\ne, f\n"
    check_same(text)
    assert tokens_of(Runs(text)) == WORD_RE.findall(text)


def test_the_newline_stand_in_is_never_in_the_text(monkeypatch):
    monkeypatch.setattr(wordruns, "SHORT", 0)
    text = "".join(MARKS[:5]) + "\nplain words\n"
    runs = Runs(text)
    assert tokens_of(runs) == WORD_RE.findall(text)
    assert runs.counts()["\n"] == 2


def test_python_agrees_with_its_regex_on_every_code_point():
    """What the fast path rests on: re's \\s is str.isspace (what str.split() splits on) and re's \\w is
    str.isalnum() or "_", for every character this Python knows."""
    space, word = re.compile(r"\s"), re.compile(r"\w")
    chars = [chr(c) for c in range(sys.maxunicode + 1)]
    assert [c for c in chars if c.isspace() != bool(space.match(c))] == []
    assert [c for c in chars if (c.isalnum() or c == "_") != bool(word.match(c))] == []
    joined = "".join(c + "x" for c in chars if not c.isspace())
    assert len(joined.split()) == 1  # str.split() cuts at nothing that is not isspace()
    spaces = [c for c in chars if c.isspace()]
    assert ("x" + "x".join(spaces) + "x").split() == ["x"] * (len(spaces) + 1)  # and at every isspace()


def test_short_and_long_texts_alike_at_the_default_threshold():
    """WordTokenizer.encode takes the plain regex below wordruns.SHORT characters, the runs above."""
    for n in (1, wordruns.SHORT // 16, wordruns.SHORT // 16 + 1, 100):
        check_same("don't stop, now\n" * n)


def test_the_bundled_corpus_tokenizes_as_the_regex_does():
    from lmtui.corpus import load_text

    _, text = load_text("speeches")
    text = text[:400_000]
    words, vocab, ids = reference(text, max_vocab=3_000)
    tok, got = build_and_encode("word", text, 3_000)
    assert tok.vocab == vocab and got.tolist() == ids


TRICKY_CHARS = "ab Zé_'’\n\r\t\x0b\u00a0\u3000.,-!?0٣½🙂\u0301\x00\ue000\x1c\udc80"
texts = st.text(alphabet=st.sampled_from(TRICKY_CHARS), max_size=120) | st.text(max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.integers(1, 40), st.integers(1, 3), st.sampled_from([1, 2, 5, 1 << 20]))
def test_any_text_tokenizes_as_the_regex_does(text, max_vocab, min_count, block):
    saved = wordruns.BLOCK, wordruns.ENCODE_CHUNK, wordruns.SHORT
    wordruns.BLOCK = wordruns.ENCODE_CHUNK = block  # not monkeypatch: one test call runs many examples
    wordruns.SHORT = 0
    try:
        check_same(text, max_vocab, min_count)
    finally:
        wordruns.BLOCK, wordruns.ENCODE_CHUNK, wordruns.SHORT = saved
