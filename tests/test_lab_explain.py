"""`explain`: the lecture's count / count computation with exact numbers, backoff reasons, the chain rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from lab_util import invoke, json_out, ok, one_line_error

from lmtui import runs
from lmtui.corpus import load_text, split_text
from lmtui.lab.explain import explain
from lmtui.models import ModelConfig
from lmtui.models.ngram import NgramModel
from lmtui.tokens import CharTokenizer, WordTokenizer

# "opened their" is followed 5 times: books twice, minds, exams, doors -> P_mle(books | opened their) = 2/5
LECTURE = (
    "students opened their books\nstudents opened their books\nstudents opened their minds\n"
    "children opened their exams\nchildren opened their doors\n"
)


def fit(text: str, order: int, smoothing: str) -> tuple[NgramModel, WordTokenizer]:
    tok = WordTokenizer.build(text)
    cfg = ModelConfig(model="ngram", level="word", order=order, smoothing=smoothing)
    return NgramModel.fit(tok.encode(text).astype(np.int64), len(tok), cfg), tok


@pytest.mark.parametrize("smoothing", ["mle", "kn", "backoff", "add-k"])
def test_count_over_count_is_point_four(smoothing):
    model, tok = fit(LECTURE, 3, smoothing)
    books = explain(model, tok, "students opened their books").tokens[-1]
    assert books.token == "books" and books.context == ["opened", "their"]
    assert (books.order, books.count, books.context_count) == (3, 2, 5)
    assert books.estimate == 0.4 and books.skipped == []
    assert "trigram: 2 / 5 = 0.4" in books.why
    assert books.prob == pytest.approx(math.exp(model.token_log_probs(tok.encode("opened their books"))[-1]))
    if smoothing == "mle":
        assert books.prob == pytest.approx(0.4) and books.bits == pytest.approx(-math.log2(0.4))
    else:
        assert books.prob < 0.4  # smoothing gave some of the mass to words never seen after the context


def test_backoff_order_and_reason():
    model, tok = fit(LECTURE, 3, "kn")
    # "teachers" is not in the vocabulary -> <unk>; "<unk> their" was never seen -> bigram "their books"
    ex = explain(model, tok, "teachers their books")
    assert ex.unknown == ["teachers"]
    books = ex.tokens[-1]
    assert books.order == 2 and (books.count, books.context_count) == (2, 5)
    assert [(s.order, s.reason) for s in books.skipped] == [(3, "context unseen")]
    assert "trigram context “<unk> their” never seen → bigram: 2 / 5 = 0.4" in books.why
    # a seen context followed by an unseen word: "their students" never happened
    student = explain(model, tok, "opened their students").tokens[-1]
    assert [(s.order, s.reason, s.context_count) for s in student.skipped] == [
        (3, "never seen after this context", 5),
        (2, "never seen after this context", 5),
    ]
    assert student.order == 1 and student.count == 3 and student.context_count == len(tok.encode(LECTURE))


def test_chain_rule_and_perplexity_match_the_model():
    model, tok = fit(LECTURE, 2, "kn")
    ex = explain(model, tok, "children opened their minds")
    seq = np.concatenate([[tok.newline_id()], tok.encode("children opened their minds")])
    total, count = model.nll(seq)
    assert count == len(ex.tokens) == 4
    assert ex.log2_prob * math.log(2) == pytest.approx(-total)
    assert ex.perplexity == pytest.approx(math.exp(total / count))
    assert ex.to_dict()["log_prob"] == pytest.approx(-total)


def test_mle_zero_probability_is_infinite_surprise():
    model, tok = fit(LECTURE, 2, "mle")
    ex = explain(model, tok, "their students")
    assert ex.tokens[-1].prob == 0 and math.isinf(ex.tokens[-1].bits)
    d = ex.to_dict()
    assert d["perplexity"] is None and d["perplexity_infinite"] and d["tokens"][-1]["bits"] is None


def test_neural_explanation_matches_its_nll():
    from lmtui.models.neural import RecurrentModel, WindowModel

    tok = CharTokenizer.build(LECTURE)
    torch.manual_seed(0)
    for model in (
        RecurrentModel(ModelConfig(model="gru", embed=8, hidden=16), len(tok)),
        WindowModel(ModelConfig(model="window", embed=8, hidden=16, context=3), len(tok)),
    ):
        ex = explain(model, tok, "their books")
        seq = np.concatenate([[tok.newline_id()], tok.encode("their books")])
        total, _ = model.nll(seq)
        assert ex.log2_prob * math.log(2) == pytest.approx(-total, rel=1e-5)
        assert ex.tokens[0].context == ["⏎"]
        assert len(ex.tokens[-1].context) == (11 if model.config.model == "gru" else 3)
        assert ex.tokens[-1].order is None


def test_cli_explain_counts_match_the_training_split(tmp_path):
    path = tmp_path / "lecture.txt"
    path.write_text(LECTURE * 8, encoding="utf-8")
    ok(invoke("train", path, "--model", "ngram", "--level", "word", "--order", 3, "--name", "lec", "--json"))
    data = json_out(invoke("explain", "lec", "students opened their books", "--json"))
    train = runs.load_run("lec").tokenizer().split(split_text(load_text(str(path))[1]).train)
    grams = [tuple(train[i : i + 3]) for i in range(len(train) - 2)]
    books = data["tokens"][-1]
    assert books["count"] == grams.count(("opened", "their", "books"))
    assert books["context_count"] == sum(g[:2] == ("opened", "their") for g in grams)
    assert books["estimate"] == pytest.approx(books["count"] / books["context_count"])
    assert data["log2_prob"] == pytest.approx(-sum(t["bits"] for t in data["tokens"]))
    human = ok(invoke("explain", "lec", "students opened their books")).stdout
    assert f"trigram: {books['count']} / {books['context_count']}" in human and "chain rule" in human


def test_cli_explain_errors(tmp_path):
    path = tmp_path / "lecture.txt"
    path.write_text(LECTURE * 8, encoding="utf-8")
    ok(invoke("train", path, "--model", "ngram", "--level", "word", "--name", "lec", "--json"))
    one_line_error(invoke("explain", "lec", ""), "empty")
    one_line_error(invoke("explain", "nope", "text"), "nope")
