"""Sparsity and size by order: exact unseen shares (against Python sets), in eval, metrics and events."""

from __future__ import annotations

import numpy as np
import pytest
from lab_util import invoke, json_out, ok

from lmtui import runs
from lmtui.corpus import load_text, split_text
from lmtui.events import NgramCounts, parse_event
from lmtui.lab.sparsity import sparsity_by_order
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel


@pytest.mark.parametrize("smoothing", ["kn", "mle"])
def test_unseen_shares_match_python_sets(smoothing):
    rng = np.random.default_rng(3)
    train, held = rng.integers(0, 9, 3000), rng.integers(0, 9, 400)
    train[train == 8] = 7  # token 8 never occurs in training: unseen unigrams
    model = NgramModel.fit(train, 9, ModelConfig(model="ngram", order=4, smoothing=smoothing))
    got = sparsity_by_order(model, held)
    for o in got:
        k = o.order
        seen = {tuple(train[i : i + k]) for i in range(len(train) - k + 1)}
        contexts = {tuple(train[i : i + k - 1]) for i in range(len(train) - k + 1)}  # followed by something
        grams = [tuple(held[i : i + k]) for i in range(len(held) - k + 1)]
        assert o.held_out == len(grams) and o.stored == len(seen)
        assert o.unseen == pytest.approx(sum(g not in seen for g in grams) / len(grams))
        if k > 1:
            assert o.context_unseen == pytest.approx(sum(g[:-1] not in contexts for g in grams) / len(grams))
    assert got[0].unseen == pytest.approx(np.mean(held == 8)) and got[0].unseen > 0
    assert [o.unseen for o in got] == sorted(o.unseen for o in got)  # longer n-grams: more never seen
    assert sum(o.bytes for o in got) <= model.size_bytes()


def test_sparsity_in_eval_metrics_and_event(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", 4, "--name", "ng",
              "--json"))
    run = runs.load_run("ng")
    model = run.load_model()
    splits = split_text(load_text(str(english_file))[1])
    val = run.tokenizer().encode(splits.val).astype(np.int64)
    stored = run.metrics["sparsity_by_order"]
    assert run.summary()["unseen_at_order"] == stored[-1]["unseen"] and len(stored) == 4
    assert stored == [o.to_dict() for o in sparsity_by_order(model, val)]
    data = json_out(invoke("eval", "ng", "--json"))
    assert [o["order"] for o in data["sparsity"]] == [1, 2, 3, 4]
    assert data["sparsity"][3]["unseen"] > data["sparsity"][1]["unseen"]
    assert "never seen in training" in ok(invoke("eval", "ng")).stdout
    events = ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", 3,
                       "--name", "ng3", "--events", "jsonl")).stdout.splitlines()
    counts = [e for e in map(parse_event, events) if isinstance(e, NgramCounts)]
    assert len(counts) == 1 and len(counts[0].unseen) == 3 and len(counts[0].bytes) == 3
    assert counts[0].unseen == [o["unseen"] for o in runs.load_run("ng3").metrics["sparsity_by_order"]]
