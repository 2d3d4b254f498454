"""Unsmoothed (mle) n-grams: exact zero-probability counts, infinite perplexity said plainly, sampling only
seen n-grams, and ARPA export refused with its reason."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lab_util import invoke, json_out, ok, one_line_error

from lmtui import runs
from lmtui.corpus import load_text, split_text
from lmtui.lab.scoring import score
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.sampling import SampleSettings, generate

# ids: 0 <unk>, 1 a, 2 b, 3 c; the text "a b a b c a".
TINY = np.array([1, 2, 1, 2, 3, 1])


def mle(tokens: np.ndarray, vocab: int, order: int) -> NgramModel:
    return NgramModel.fit(tokens, vocab, ModelConfig(model="ngram", order=order, smoothing="mle"))


def test_mle_is_count_over_count():
    model = mle(TINY, 4, 2)
    # after a: a b twice, c(a) = 2 (as a context) -> P(b | a) = 1, everything else 0
    np.testing.assert_allclose(np.exp(model.start(np.array([1]))[1]), [0, 0, 1, 0])
    # after b: b a once, b c once -> 1/2 each
    np.testing.assert_allclose(np.exp(model.start(np.array([2]))[1]), [0, 0.5, 0, 0.5])
    # <unk> never seen as a context: the unigram counts 3/6, 2/6, 1/6
    np.testing.assert_allclose(np.exp(model.start(np.array([0]))[1]), [0, 3 / 6, 2 / 6, 1 / 6])


def test_zero_probability_tokens_counted_exactly():
    # "a b c a c b": a->b 1, b->c 1/2, c->a 1, a->c 0, c->b 0: two zero-probability tokens
    s = score(mle(TINY, 4, 2), np.array([1, 2, 3, 1, 3, 2]))
    assert s.zero_prob_tokens == 2 and s.predicted == 5
    assert math.isinf(s.ppl)
    d = s.to_dict()
    assert d["perplexity"] is None and d["perplexity_infinite"] is True and d["zero_prob_tokens"] == 2
    # a seen path has the exact perplexity: P = 1 * 1/2 * 1 -> ppl = 2 ** (1/3)
    s = score(mle(TINY, 4, 2), np.array([1, 2, 3, 1]))
    assert s.zero_prob_tokens == 0 and s.ppl == pytest.approx(2 ** (1 / 3))


def test_mle_samples_only_seen_ngrams():
    rng = np.random.default_rng(0)
    train = rng.integers(1, 8, size=400)
    model = mle(train, 8, 3)
    seen = {tuple(train[i : i + 3]) for i in range(len(train) - 2)}
    for seed in range(5):
        state, logp = model.start(train[:2])
        out = list(train[:2])
        for _ in range(60):
            token = int(rng.choice(8, p=np.exp(logp)))
            out.append(token)
            state, logp = model.advance(state, token)
        assert all(tuple(out[i : i + 3]) in seen for i in range(len(out) - 2)), seed


def _reference_zero_count(train: list[str], test: list[str]) -> int:
    """Independent count: test bigrams whose context was seen in training but never followed by the word."""
    followers: dict[str, set[str]] = {}
    for a, b in zip(train, train[1:], strict=False):
        followers.setdefault(a, set()).add(b)
    zero = 0
    for a, b in zip(test, test[1:], strict=False):
        if a in followers:
            zero += b not in followers[a]
        else:
            zero += b not in set(train)
    return zero


def test_cli_eval_reports_zero_probability_tokens(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", "2",
              "--smoothing", "mle", "--name", "unsmoothed", "--json"))
    run = runs.load_run("unsmoothed")
    tok = run.tokenizer()
    splits = split_text(load_text(str(english_file))[1])
    train_words = [tok.vocab[i] for i in tok.encode(splits.train)]
    test_words = [tok.vocab[i] for i in tok.encode(splits.test)]
    expected = _reference_zero_count(train_words, test_words)
    data = json_out(invoke("eval", "unsmoothed", "--json"))
    assert data["zero_prob_tokens"] == expected
    if expected:
        assert data["perplexity"] is None and data["perplexity_infinite"] is True
        assert run.metrics["test_ppl"] is None and run.metrics["test_ppl_infinite"] is True
        assert run.metrics["test_zero_prob_tokens"] == expected
        human = ok(invoke("eval", "unsmoothed")).stdout
        assert "perplexity infinite" in human and f"{expected:,} of" in human


def test_cli_eval_on_text_with_unseen_bigram(english_file, tmp_path):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", "2",
              "--smoothing", "mle", "--name", "unsmoothed", "--json"))
    other = tmp_path / "other.txt"
    other.write_text("the king the king loved the river\n", encoding="utf-8")  # "king the" never seen
    data = json_out(invoke("eval", "unsmoothed", "--text", other, "--json"))
    tok = runs.load_run("unsmoothed").tokenizer()
    train = split_text(load_text(str(english_file))[1]).train
    words = [tok.vocab[i] for i in tok.encode(train)]
    assert data["zero_prob_tokens"] == _reference_zero_count(words, ["the", "king", "the", "king", "loved",
                                                                     "the", "river", "\n"]) >= 2


def test_export_arpa_refuses_mle(english_file, tmp_path):
    ok(invoke("train", english_file, "--model", "ngram", "--order", "2", "--smoothing", "mle",
              "--name", "unsmoothed", "--json"))
    one_line_error(invoke("export-arpa", "unsmoothed", tmp_path / "m.arpa"), "probability 0")
    assert not (tmp_path / "m.arpa").exists()


def test_sampling_from_an_mle_run(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "char", "--order", "3", "--smoothing",
              "mle", "--name", "unsmoothed", "--json"))
    run = runs.load_run("unsmoothed")
    text = "".join(generate(run.load_model(), run.tokenizer(), SampleSettings(length=200, seed=3)))
    assert len(text) == 200


def test_cli_sample_says_when_it_backed_off_past_unk(tmp_path):
    """"we shall" is only ever followed by a word the 3-word vocabulary leaves out: with <unk> left out of
    samples the trigram context leaves nothing, so the draw backs off, and the CLI says so (issue 19, 4)."""
    path = tmp_path / "t.txt"
    path.write_text("".join(f"we shall w{i}\nshall we\n" for i in range(40)), encoding="utf-8")
    ok(invoke("train", path, "--model", "ngram", "--level", "word", "--smoothing", "mle", "--max-vocab", 3,
              "--name", "m", "--json"))
    data = json_out(invoke("sample", "m", "--prime", "we shall", "--length", 1, "--temperature", 0, "--json"))
    assert "<unk>" not in data["samples"][0]
    assert data["notes"] == [["backed off to the bigram: its context was only ever followed by <unk>, which "
                              "samples leave out (--allow-unk lets it in) (1 draw)"]]
    human = invoke("sample", "m", "--prime", "we shall", "--length", 1, "--temperature", 0)
    assert "note: backed off to the bigram" in ok(human).stderr
    allowed = json_out(invoke("sample", "m", "--prime", "we shall", "--length", 1, "-t", 0, "--allow-unk",
                              "--json"))
    assert allowed["samples"][0].strip() == "<unk>" and allowed["notes"] == [[]]
