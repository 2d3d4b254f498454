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
