"""`export-arpa` writes lines as sentences (<s> … </s>), so KenLM scoring a sentence-per-line file gives the
perplexity lmtui reports (issue 10 item 12)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_cli import invoke, json_out, ok

from lmtui import runs
from lmtui.corpus import split_text
from lmtui.tokens import WORD_RE


def sentence_file(text: str) -> list[str]:
    """The test split as KenLM reads a text: one sentence per line, tokens separated by spaces."""
    return [" ".join(WORD_RE.findall(line)) for line in text.split("\n") if line.strip()]


@pytest.mark.parametrize(("order", "smoothing"), [(2, "kn"), (3, "kn"), (3, "backoff")])
def test_kenlm_sentence_per_line_matches_lmtui(tmp_path, english_file, order, smoothing):
    kenlm = pytest.importorskip("kenlm")
    ok(
        invoke(
            "train",
            english_file,
            "--model",
            "ngram",
            "--level",
            "word",
            "--order",
            order,
            "--smoothing",
            smoothing,
            "--name",
            "w",
        )
    )
    ok(invoke("export-arpa", "w", tmp_path / "w.arpa"))
    arpa = (tmp_path / "w.arpa").read_text(encoding="utf-8")
    assert "<nl>" not in arpa and "\t<s> " in arpa and " </s>" in arpa
    reader = kenlm.Model(str(tmp_path / "w.arpa"))
    sentences = sentence_file(split_text(english_file.read_text(encoding="utf-8")).test)
    log10 = sum(reader.score(s, bos=True, eos=True) for s in sentences)
    kenlm_ppl = 10 ** (-log10 / sum(len(s.split()) + 1 for s in sentences))  # words and </s>

    run = runs.load_run("w")
    ids = run.tokenizer().encode("\n" + "\n".join(sentences) + "\n")  # every word and newline predicted
    ours = math.exp(-float(np.mean(run.load_model().token_log_probs(ids))))
    reported = json_out(invoke("eval", "w", "--json"))["perplexity"]
    if order == 2:  # a bigram's context never crosses a line: the same numbers
        assert kenlm_ppl == pytest.approx(ours, rel=1e-4)
    else:  # lmtui's trigram also sees the end of the previous line (5% here; before: 100x off)
        assert kenlm_ppl == pytest.approx(ours, rel=0.1)
    assert kenlm_ppl == pytest.approx(reported, rel=0.1)


def test_arpa_without_newlines_keeps_markers(tmp_path, english_file):
    """A model whose vocabulary has no newline (one long line) still gets the <s>/</s> KenLM needs."""
    flat = tmp_path / "flat.txt"
    flat.write_text(english_file.read_text(encoding="utf-8").replace("\n", " "), encoding="utf-8")
    ok(invoke("train", flat, "--model", "ngram", "--level", "word", "--order", 2, "--name", "flat"))
    out = json.loads(ok(invoke("export-arpa", "flat", tmp_path / "f.arpa", "--json")).stdout)
    text = (tmp_path / "f.arpa").read_text(encoding="utf-8")
    assert out["bytes"] == len(text.encode()) and "-99\t<s>" in text and "-99\t</s>" in text


@pytest.mark.parametrize(("order", "smoothing"), [(2, "kn"), (3, "kn"), (4, "backoff")])
def test_sentence_arpa_reproduces_lmtui_inside_lines(tmp_path, order, smoothing):
    """Without KenLM: a plain backoff reader of the file, asked for P(w | <s> …) as a sentence-per-line
    reader would, gives lmtui's probability for the same context after a newline; the header counts match."""
    from test_ngram import arpa_log10_prob, fit, markov_text, read_arpa

    vocab, nl = 60, 7  # token 7 plays the newline
    names = ["<unk>"] + [f"w{i}" for i in range(1, vocab)]
    model = fit(markov_text(6000, vocab, seed=3), vocab, order, smoothing)
    model.write_arpa(tmp_path / "s.arpa", names, newline=nl)
    read_order, entries = read_arpa(tmp_path / "s.arpa")
    assert read_order == order and entries[("<s>",)][0] == -99 and ("</s>",) in entries
    assert not any("w7" in g for g in entries) and not any(
        "<s>" in g[1:] or "</s>" in g[:-1] for g in entries
    )

    def arpa_name(t: int, first: bool) -> str:
        return ("<s>" if first else "</s>") if t == nl else names[t]

    rng = np.random.default_rng(1)
    for _ in range(40):  # a line's first order-2 words at most: the context still starts at the newline
        line = [int(t) for t in rng.integers(1, vocab, size=int(rng.integers(0, order - 1))) if t != nl]
        context = [nl, *line]
        words = [arpa_name(t, i == 0 and t == nl) for i, t in enumerate(context)]
        ours = model.start(np.array(context))[1] / math.log(10)
        for w in range(1, vocab):
            got = arpa_log10_prob(entries, order, words, arpa_name(w, False))
            assert got == pytest.approx(ours[w], abs=1e-6)
