"""Perplexity beside what it hides: the <unk> share and perplexity excluding <unk> targets (as KenLM)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lab_util import invoke, json_out, ok

from lmtui import runs
from lmtui.corpus import load_text, split_text
from lmtui.lab.scoring import score, token_log_probs
from lmtui.models import ModelConfig
from lmtui.models.neural import RecurrentModel
from lmtui.models.ngram import NgramModel
from lmtui.training import Job, train


def test_perplexity_excluding_unk_by_hand():
    rng = np.random.default_rng(1)
    train_ids, test = rng.integers(0, 6, 500), rng.integers(0, 6, 200)
    model = NgramModel.fit(train_ids, 6, ModelConfig(model="ngram", order=2))
    s = score(model, test)
    logp = model.token_log_probs(test)
    known = test[1:] != 0
    assert s.unk_tokens == int(np.sum(test == 0)) and s.unk_rate == pytest.approx(np.mean(test == 0))
    assert s.ppl_excl_oov == pytest.approx(math.exp(-logp[known].mean()))
    assert s.ppl == pytest.approx(math.exp(-logp.mean()))
    assert s.to_dict()["oov_excluded_tokens"] == int(np.sum(~known))


def test_neural_token_log_probs_add_up_to_nll():
    torch.manual_seed(0)
    model = RecurrentModel(ModelConfig(model="lstm", embed=8, hidden=16), 12)
    tokens = np.random.default_rng(2).integers(0, 12, 1500)  # several streams and a leftover tail
    logp = token_log_probs(model, tokens)
    total, count = model.nll(tokens)
    assert len(logp) == count and -logp.sum() == pytest.approx(total, rel=1e-5)
    assert np.all(logp <= 0)


def test_eval_json_with_a_capped_vocabulary(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", 3, "--max-vocab", 40,
              "--name", "capped", "--json"))
    run = runs.load_run("capped")
    data = json_out(invoke("eval", "capped", "--json"))
    ids = run.tokenizer().encode(split_text(load_text(str(english_file))[1]).test)
    logp = run.load_model().token_log_probs(ids)
    known = ids[1:] != 0
    assert data["unk_rate"] == pytest.approx(np.mean(ids == 0)) and data["unk_rate"] > 0.05
    assert data["perplexity_excl_oov"] == pytest.approx(math.exp(-logp[known].mean()))
    assert data["perplexity_excl_oov"] != pytest.approx(data["perplexity"])
    assert run.metrics["test_ppl_excl_oov"] == pytest.approx(data["perplexity_excl_oov"])
    assert run.metrics["val_unk_rate"] > 0 and run.summary()["val_unk_rate"] == run.metrics["val_unk_rate"]
    human = ok(invoke("eval", "capped")).stdout
    assert "perplexity excluding <unk>" in human and f"{data['unk_rate']:.2%}" in human
    table = ok(invoke("runs")).stdout
    assert "<unk>" in table and f"{run.metrics['val_unk_rate']:.1%}" in table


def test_word_level_neural_run_stores_unk_metrics(english_file, model_cfg, train_cfg):
    job = Job(str(english_file), model_cfg("gru", level="word"), train_cfg(steps=4, max_vocab=30), name="w")
    list(train(job))
    m = runs.load_run("w").metrics
    assert m["val_unk_rate"] > 0 and math.isfinite(m["val_ppl_excl_oov"])
    assert "val_zero_prob_tokens" in m and m["val_zero_prob_tokens"] == 0


def test_runs_screen_cell_says_what_perplexity_hides():
    from lmtui.tui.screens.runs import _val_ppl

    base = {"val_ppl": 12.345, "level": "word", "val_unk_rate": 0.0412}
    assert _val_ppl(base) == "12.35 (4.1% <unk>)"
    assert _val_ppl(base | {"level": "char"}) == "12.35"
    assert _val_ppl(base | {"val_ppl": None, "val_ppl_infinite": True}).startswith("∞")


def test_runs_screen_shows_an_infinite_test_perplexity_as_the_cli_does():
    from lmtui.tui.screens.runs import COLUMNS, _cells

    row = {"name": "mle", "corpus": "speeches", "model": "ngram", "level": "word", "status": "done",
           "parameters": 10, "size_bytes": 100, "val_ppl": None, "val_ppl_infinite": True, "test_ppl": None,
           "test_ppl_infinite": True, "bits_per_char": None, "unseen_at_order": None, "train_seconds": 1.0}
    cells = dict(zip(COLUMNS, _cells(row), strict=True))
    assert cells["test ppl"] == "∞" and cells["val ppl"].startswith("∞")
    assert dict(zip(COLUMNS, _cells(row | {"test_ppl_infinite": False, "test_ppl": 3.5}), strict=True))[
        "test ppl"] == "3.50"


def spelled_by_hand(vocab: list[str], words: list[str]) -> float:
    """Bits to spell ``words`` letter by letter, then an end mark, as README and lab.scoring state it: a
    character unigram of the vocabulary's words (each once, one end mark each), add-one over its characters,
    "any other character" and the end."""
    from collections import Counter

    counts = Counter("".join(vocab))
    total = sum(counts.values()) + len(vocab) + len(counts) + 2
    end = -math.log2((len(vocab) + 1) / total)
    return sum(-sum(math.log2((counts.get(c, 0) + 1) / total) for c in w) + end for w in words)


def test_bits_per_char_across_levels_spells_out_unk(english_file):
    """A capped word model predicts a whole rare word as one <unk>: its bits/char leaves those characters
    out. The share of characters inside <unk> words is said beside it, and bits/char with each scored <unk>
    spelled out is recomputed here from outside (issue 19 item 8)."""
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--max-vocab", 40, "--name",
              "capped", "--json"))
    run = runs.load_run("capped")
    tok = run.tokenizer()
    splits = split_text(load_text(str(english_file))[1])
    data = json_out(invoke("eval", "capped", "--json"))
    words = tok.split(splits.test)
    unknown = [w for w in words if w not in tok.index]
    assert data["unk_char_share"] == pytest.approx(sum(map(len, unknown)) / len(splits.test))
    assert data["unk_char_share"] > 0.05
    scored = unknown[1:] if words[0] not in tok.index else unknown
    nll_bits = -run.load_model().token_log_probs(tok.encode(splits.test)).sum() / math.log(2)
    spelled = (nll_bits + spelled_by_hand(tok.vocab[1:], scored)) / len(splits.test)
    assert data["bits_per_char_spelled"] == pytest.approx(spelled, rel=1e-9)
    assert data["bits_per_char_spelled"] > data["bits_per_char"]
    human = ok(invoke("eval", "capped")).stdout
    assert f"<unk> words are {data['unk_char_share']:.1%} of the characters" in human
    assert f"{data['bits_per_char_spelled']:.3f} bits/char (comparable with a char model)" in human
    # the run's own figure, on the validation split, is stored with it
    val_words = [w for w in tok.split(splits.val) if w not in tok.index]
    val_scored = val_words[1:] if tok.split(splits.val)[0] not in tok.index else val_words
    m = run.metrics
    assert m["val_unk_char_share"] == pytest.approx(sum(map(len, val_words)) / len(splits.val))
    assert m["bits_per_char_spelled"] == pytest.approx(
        m["bits_per_char"] + spelled_by_hand(tok.vocab[1:], val_scored) / len(splits.val), rel=1e-9)


def test_nothing_is_added_without_unk_or_at_char_level(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--name", "open", "--json"))
    data = json_out(invoke("eval", "open", "--json"))
    if data["unk_rate"] == 0:
        assert data["unk_char_share"] == 0 and data["bits_per_char_spelled"] == data["bits_per_char"]
    ok(invoke("train", english_file, "--model", "ngram", "--level", "char", "--name", "chars", "--json"))
    data = json_out(invoke("eval", "chars", "--json"))
    assert data["bits_per_char_spelled"] == data["bits_per_char"] and data["unk_char_share"] == 0
    assert "bits_per_char_spelled" not in runs.load_run("chars").metrics  # a char run's figure is whole
