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


# -- what the smoothed probability is made of (issue 19 item 5): recomputed by hand from the JSON


def recompute(data: dict, token: dict) -> float:
    """P of one token from the numbers ``explain --json`` shows, by the formulas its legend states."""
    v, smoothing, terms = data["vocab_size"], data["smoothing"], token["terms"]
    if smoothing in ("add-k", "mle"):
        (t,) = terms
        return (t["count"] + t["k"]) / (t["context_count"] + t["k"] * v)
    p = 1.0 / v  # order 0: uniform
    for t in terms:
        assert t["lower"] == pytest.approx(p, rel=1e-12)  # each order starts from the one below
        if not t["context_seen"]:
            continue  # a context never seen passes the lower order through
        a, total, d = t["count"], t["context_count"], t["discount"]
        if smoothing == "kn":
            d1, d2, d3 = t["discounts"]
            assert d == (0 if a == 0 else (d1, d2, d3)[min(int(a), 3) - 1])
            gamma = (d1 * t["followers"][0] + d2 * t["followers"][1] + d3 * t["followers"][2]) / total
            assert t["weight"] == pytest.approx(gamma, rel=1e-12)
            p = max(a - d, 0) / total + gamma * p
        elif t["order"] == 1:
            gamma = t["discounts"][0] * t["followers"][0] / total
            p = (a - d) / total + gamma * p
        elif a > 0:
            p = (a - d) / total
        else:
            share = t["discounts"][0] * t["followers"][0] / total
            p = share / (1 - t["seen_lower_mass"]) * p if share > 0 else p
    return p


@pytest.mark.parametrize("smoothing", ["kn", "backoff", "add-k", "mle"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probability_recomputed_from_the_shown_numbers(english_file, smoothing, order):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--order", order, "--smoothing",
              smoothing, "--max-vocab", 80, "--name", "m", "--json"))
    sentence = 'The old sailor walked to the river, and then went home quietly.\n"Where is the dog?" said he'
    data = json_out(invoke("explain", "m", sentence, "--json"))
    assert data["smoothing"] == smoothing and data["unknown"]  # some words are <unk> (a capped vocabulary)
    for token in data["tokens"]:
        assert recompute(data, token) == pytest.approx(token["prob"], rel=1e-9, abs=1e-300), token["token"]
        assert all(t["formula"] for t in token["terms"])
    model = runs.load_run("m").load_model()
    tok = runs.load_run("m").tokenizer()
    seq = np.concatenate([[tok.newline_id()], tok.encode(sentence)])
    np.testing.assert_allclose([t["prob"] for t in data["tokens"]], np.exp(model.token_log_probs(seq)),
                               rtol=1e-12)


def test_kn_terms_are_the_lecture_numbers():
    """"books" after "opened their": a = c = 2 at the top order, D2 off it, the bigram below from
    continuation counts (how many different words came before "their books")."""
    model, tok = fit(LECTURE, 3, "kn")
    books = explain(model, tok, "students opened their books").tokens[-1]
    uni, bi, tri = books.terms
    assert (tri.order, tri.count_kind, tri.count, tri.context_count) == (3, "count", 2, 5)
    assert tri.discount == model.discounts[2][1] and tri.followers == [3, 1, 0]  # minds, exams, doors; books
    assert (bi.count_kind, bi.count, bi.context_count) == ("continuation count", 1, 4)  # only "opened"
    assert bi.context == ["their"] and tri.context == ["opened", "their"]
    assert tri.lower == bi.prob and bi.lower == uni.prob and tri.prob == pytest.approx(books.prob, rel=1e-12)
    assert "(2 − " in tri.formula and "/ 5 + " in tri.formula


def test_explain_table_shows_the_arithmetic(english_file):
    ok(invoke("train", english_file, "--model", "ngram", "--level", "word", "--name", "m", "--json"))
    human = ok(invoke("explain", "m", "the old sailor")).output  # the table's legend goes to stderr
    assert "Kneser-Ney, from the unigram up" in human and "unigram: (N1+ " in human and "γ = (" in human
    from lmtui.tui.widgets.explain_table import explain_renderable

    data = json_out(invoke("explain", "m", "the old sailor", "--json"))
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(explain_renderable(data))
    shown = console.export_text()
    assert "Kneser-Ney" in shown and data["tokens"][-1]["terms"][-1]["formula"][:40] in shown
