"""Character and word tokenizers: vocabularies, <unk>, round trips, detokenisation, ARPA names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmtui.tokens import (
    UNK,
    UNK_CHAR,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    arpa_token_names,
    build_tokenizer,
    detokenize,
)

SAMPLE = "The cat sat.\nThe dog didn't sit, did it?\n"


# -- character level


def test_char_vocab_is_unk_then_sorted_distinct_characters():
    tok = CharTokenizer.build("banana\n")
    assert tok.vocab == [UNK, "\n", "a", "b", "n"]
    assert len(tok) == 5
    assert tok.level == "char"


def test_char_encode_decode_known_text():
    tok = CharTokenizer.build("banana\n")
    ids = tok.encode("nab\n")
    assert ids.dtype == np.int32
    assert ids.tolist() == [4, 2, 3, 1]
    assert tok.decode(ids) == "nab\n"


def test_char_unseen_characters_map_to_unk_and_are_reported():
    tok = CharTokenizer.build("abc")
    ids = tok.encode("axbé")
    assert ids.tolist() == [tok.index["a"], 0, tok.index["b"], 0]
    assert tok.decode(ids) == f"a{UNK_CHAR}b{UNK_CHAR}"
    assert tok.unknown("axbéx") == ["x", "é"]
    assert tok.unknown("abc") == []


def test_char_astral_characters_are_one_token():
    tok = CharTokenizer.build("a😀b")
    ids = tok.encode("😀a")
    assert len(ids) == 2 and 0 not in ids.tolist()
    assert tok.decode(ids) == "😀a"


def test_char_encode_across_chunk_boundaries(monkeypatch):
    """Long texts are encoded a chunk at a time; the chunk edges must not shift or drop anything."""
    text = "abcabxcba\nzzab" * 5
    tok = CharTokenizer.build("abc\n")
    expected = [tok.index.get(c, 0) for c in text]
    monkeypatch.setattr(CharTokenizer, "ENCODE_CHUNK", 4)
    assert tok.encode(text).tolist() == expected
    assert tok.encode("").tolist() == []


def test_char_encode_lone_surrogate_is_unknown():
    """Lone surrogates (undecodable argv bytes) map to <unk> instead of raising UnicodeEncodeError."""
    tok = CharTokenizer.build("ab")
    assert tok.encode("a\udcffb").tolist() == [tok.index["a"], 0, tok.index["b"]]


def test_char_vocabulary_must_be_single_characters():
    with pytest.raises(ValueError):
        CharTokenizer([UNK, "ab"])
    with pytest.raises(ValueError):
        CharTokenizer(["a", "b"])  # id 0 must be <unk>


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1))
def test_char_round_trip_for_in_vocabulary_text(text):
    tok = CharTokenizer.build(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert 0 not in ids.tolist()
    assert tok.decode(ids) == text


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text())
def test_char_tokenizer_never_crashes_and_keeps_length(train_text, other):
    tok = CharTokenizer.build(train_text)
    ids = tok.encode(other)
    assert len(ids) == len(other)
    assert all(0 <= i < len(tok) for i in ids.tolist())
    decoded = tok.decode(ids)
    assert len(decoded) == len(other)
    # every known character survives, every unknown one becomes the replacement character
    for ch, out in zip(other, decoded, strict=True):
        assert out == (ch if ch in tok.index else UNK_CHAR)


# -- word level


def test_word_split_keeps_contractions_punctuation_and_newlines():
    tok = WordTokenizer.build(SAMPLE)
    assert tok.split("didn't sit, o'er\nthe") == ["didn't", "sit", ",", "o'er", "\n", "the"]


def test_word_vocab_is_frequency_ranked_with_alphabetical_ties():
    tok = WordTokenizer.build("b a b c c c\n")
    assert tok.vocab == [UNK, "c", "b", "\n", "a"]


def test_word_vocab_cap_keeps_most_frequent():
    tok = WordTokenizer.build("a a a a b b b c c d", max_vocab=2)
    assert tok.vocab == [UNK, "a", "b"]
    assert tok.encode("a b c d").tolist() == [1, 2, 0, 0]


def test_word_min_count_drops_rare_words():
    tok = WordTokenizer.build("a a a b b c", min_count=2)
    assert tok.vocab == [UNK, "a", "b"]
    assert tok.encode("c a").tolist() == [0, 1]


def test_build_tokenizer_dispatch_and_bad_level():
    assert isinstance(build_tokenizer("char", "ab"), CharTokenizer)
    word = build_tokenizer("word", "x y y z z z", max_vocab=2, min_count=1)
    assert isinstance(word, WordTokenizer) and word.vocab == [UNK, "z", "y"]
    with pytest.raises(ValueError):
        build_tokenizer("byte", "ab")


def test_word_unknown_words_map_to_unk():
    tok = WordTokenizer.build(SAMPLE)
    ids = tok.encode("The zebra sat.")
    assert ids.tolist() == [tok.index["The"], 0, tok.index["sat"], tok.index["."]]
    assert tok.decode(ids) == f"The {UNK} sat."
    assert tok.unknown("The zebra and the yak sat.") == ["and", "the", "yak", "zebra"]


def test_detokenize_no_space_before_punctuation_and_keeps_newlines():
    tokens = ["Hello", ",", "world", "!", "\n", "(", "yes", ")", "it", "'", "s", "50", "%", "\n", "end", "."]
    assert detokenize(tokens) == "Hello, world!\n(yes) it' s 50%\nend."


def test_detokenize_round_trips_ordinary_text():
    text = "The dog didn't sit, did it?\nNo: it ran (fast).\n"
    tok = WordTokenizer.build(text)
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_word_encode_decode_round_trip_for_in_vocabulary_ids(data):
    text = data.draw(st.text(min_size=1))
    tok = WordTokenizer.build(text + " the end , \" ( ) ' ’ $ \n")
    ids = data.draw(st.lists(st.integers(1, len(tok) - 1), max_size=30))
    assert tok.encode(tok.decode(ids)).tolist() == ids


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text())
def test_word_tokenizer_never_crashes(train_text, other):
    tok = WordTokenizer.build(train_text)
    ids = tok.encode(other)
    assert all(0 <= i < len(tok) for i in ids.tolist())
    assert len(ids) == len(tok.split(other))
    assert isinstance(tok.decode(ids), str)
    assert set(tok.unknown(other)).isdisjoint(tok.index)


# -- display, serialisation, ARPA names


def test_display_shows_whitespace_as_symbols():
    tok = CharTokenizer.build("a \n\t")
    assert tok.display(tok.index["\n"]) == "⏎"
    assert tok.display(tok.index[" "]) == "␣"
    assert tok.display(tok.index["\t"]) == "⇥"
    assert tok.display(tok.index["a"]) == "a"
    assert tok.newline_id() == tok.index["\n"]
    assert CharTokenizer.build("ab").newline_id() is None


@pytest.mark.parametrize(
    "tok", [CharTokenizer.build(SAMPLE), WordTokenizer.build(SAMPLE)], ids=["char", "word"]
)
def test_to_dict_from_dict_round_trip(tok):
    again = Tokenizer.from_dict(tok.to_dict())
    assert type(again) is type(tok)
    assert again.vocab == tok.vocab
    assert again.encode(SAMPLE).tolist() == tok.encode(SAMPLE).tolist()


@pytest.mark.parametrize(
    "data",
    [
        {"level": "char", "vocab": "abc"},
        {"level": "char", "vocab": [UNK, 3]},
        {"level": "bpe", "vocab": [UNK]},
        {"vocab": [UNK]},
        {"level": "word", "vocab": []},
    ],
)
def test_from_dict_rejects_bad_data(data):
    with pytest.raises(ValueError):
        Tokenizer.from_dict(data)


def test_arpa_names_for_whitespace_and_markers():
    tok = CharTokenizer([UNK, "\n", " ", "\t", "\u3000", "a"])
    assert arpa_token_names(tok) == [UNK, "<nl>", "<sp>", "<tab>", "<U+3000>", "a"]
    words = WordTokenizer([UNK, "<s>", "</s>", "<s>#", "x"])
    names = arpa_token_names(words)
    assert len(set(names)) == len(names)
    assert "<s>" not in names and "</s>" not in names


@settings(max_examples=100, deadline=None)
@given(st.text(), st.sampled_from(["char", "word"]))
def test_arpa_names_unique_and_whitespace_free(text, level):
    tok = build_tokenizer(level, text)
    names = arpa_token_names(tok)
    assert len(names) == len(tok)
    assert len(set(names)) == len(names)
    for name in names:
        assert name and not any(c.isspace() for c in name)
        assert name.split() == [name]


@pytest.mark.parametrize("level", ["char", "word"])
def test_build_and_encode_matches_build_then_encode(level):
    from lmtui.tokens import build_and_encode, build_tokenizer

    text = "The cat sat.\nThe dog, too!\n" * 5 + "rare words once"
    tokenizer, ids = build_and_encode(level, text, max_vocab=6, min_count=1)
    separate = build_tokenizer(level, text, max_vocab=6, min_count=1)
    assert tokenizer.vocab == separate.vocab
    assert ids.tolist() == separate.encode(text).tolist()
    assert ids.dtype == np.int32 and (level == "char" or 0 in ids)  # the word cap leaves some words unknown
