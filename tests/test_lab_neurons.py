"""What a neuron tracks: features by hand, and the ranking finding a unit planted to follow one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lab_util import invoke, json_out, ok, one_line_error

from lmtui.lab.neurons import activations, confounded, correlations, features, neurons, rank_units
from lmtui.models import ModelConfig
from lmtui.models.neural import RecurrentModel
from lmtui.tokens import CharTokenizer

TEXT = 'HAMLET: (aside) "To be, or not to be"\nOPHELIA: Good my lord.\nRose Red 200 40 60\n' * 4


def test_features_by_hand():
    f = features('a "b" (c)\nD 1 2 3')
    assert f["inside quotes"].tolist()[:6] == [0, 0, 1, 1, 1, 0]
    assert f["inside brackets"].tolist()[5:10] == [0, 1, 1, 1, 0]
    assert f["position in line"].tolist()[7:12] == [8, 9, 0, 1, 2]  # characters of the line read so far
    assert f["after a newline"].nonzero()[0].tolist() == [9]  # the state that has just read the newline
    assert f["uppercase"].nonzero()[0].tolist() == [10]
    assert f["inside RGB numbers"].nonzero()[0].tolist() == [12, 14, 16]  # digits read so far in the triple


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='ab C"()[]{}\n0123 ,', max_size=40))
def test_every_feature_is_of_what_the_state_has_read(text):
    """Feature i depends on characters 0..i only: the state after reading character i is compared with
    what it has seen, never with what comes next (issue 19 item 7)."""
    whole = features(text)
    for i in range(len(text)):
        prefix = features(text[: i + 1])
        for name, values in whole.items():
            assert values[i] == prefix[name][i], (name, i)


def test_confounded_features_are_flagged_with_their_r():
    text = '"ABC" def "GHI" jkl "MN" op\n' * 3  # uppercase only inside quotes here
    pairs = {(a, b): r for a, b, r in confounded(features(text))}
    f = features(text)
    r = float(np.corrcoef(f["inside quotes"], f["uppercase"])[0, 1])
    assert pairs[("inside quotes", "uppercase")] == pytest.approx(r) and r > 0.5
    assert all(abs(r) >= 0.5 for r in pairs.values())
    assert ("inside quotes", "uppercase") not in {(a, b) for a, b, _ in confounded(features(TEXT))}


def planted(kind: str = "rnn", unit: int = 5, marks=str.isupper) -> tuple[RecurrentModel, CharTokenizer]:
    """A net whose unit ``unit`` is tanh(2 + 2 * (±1: ``marks`` the character read)), by construction."""
    tok = CharTokenizer.build(TEXT)
    torch.manual_seed(0)
    model = RecurrentModel(ModelConfig(model=kind, embed=4, hidden=12), len(tok))
    rnn = model.net.rnn
    with torch.no_grad():
        upper = torch.tensor([1.0 if marks(t) else 0.0 for t in tok.vocab])
        model.net.emb.weight[:, 0] = upper * 2 - 1
        model.net.emb.weight[:, 1:] *= 0.1
        rnn.weight_ih_l0[:, 0] = 0  # only the planted unit reads the "uppercase" embedding dimension
        rnn.weight_ih_l0[unit] = 0
        rnn.weight_ih_l0[unit, 0] = 2.0
        rnn.weight_hh_l0[unit] = 0
        rnn.bias_ih_l0[unit] = 2.0
        rnn.bias_hh_l0[unit] = 0
    return model, tok


def test_ranking_finds_the_planted_unit():
    model, tok = planted(unit=5)
    acts = activations(model, tok.encode(TEXT))
    assert acts.shape == (len(TEXT), 12)
    ranking = rank_units(acts, features(TEXT), top=3)
    best = ranking["uppercase"][0]
    assert best.unit == 5 and best.correlation > 0.99
    assert abs(ranking["uppercase"][1].correlation) < 0.9
    assert set(ranking) == set(features(TEXT))  # every feature varies along this text


def test_a_unit_that_reads_the_newline_follows_after_a_newline():
    """A unit set by reading "\n" is the state "after a newline": r = 1, not the 0.x a feature placed one
    character late (on the line's first character) would give it."""
    model, tok = planted(unit=3, marks=lambda c: c == "\n")
    ranking = rank_units(activations(model, tok.encode(TEXT)), features(TEXT), top=1)
    assert ranking["after a newline"][0].unit == 3 and ranking["after a newline"][0].correlation > 0.999


def test_correlations_exact():
    acts = np.array([[1.0, 0.0, 5.0], [2.0, 1.0, 5.0], [3.0, 0.0, 5.0]])
    r = correlations(acts, np.array([1.0, 2.0, 3.0]))
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(0.0) and r[2] == 0.0


def test_neurons_json_and_refusals():
    model, tok = planted()
    data = neurons(model, tok, TEXT, top=2)
    assert data["units"] == 12 and len(data["activations"]) == 12 and len(data["activations"][0]) == len(TEXT)
    assert data["ranking"]["uppercase"][0]["unit"] == 5
    with pytest.raises(ValueError, match="char-level"):
        neurons(model, type("W", (), {"level": "word"})(), TEXT)
    with pytest.raises(ValueError, match="no hidden state"):
        activations(type("M", (), {"config": ModelConfig(model="window")})(), np.zeros(3))


def test_cli_neurons(english_file):
    ok(invoke("train", english_file, "--model", "gru", "--embed", 8, "--hidden", 16, "--steps", 3,
              "--batch-size", 4, "--seq-len", 16, "--device", "cpu", "--name", "g", "--json"))
    data = json_out(invoke("neurons", "g", 'The "old" sailor (said)\nno', "--top", 2, "--json"))
    assert data["units"] == 16 and len(data["ranking"]["inside quotes"]) == 2
    assert "inside quotes: unit" in ok(invoke("neurons", "g", 'The "old" sailor')).stdout
    quoted = '"ABC" def "GHI" jkl "MN" op'
    data = json_out(invoke("neurons", "g", quoted, "--json"))
    pairs = {tuple(c["features"]): c["r"] for c in data["confounded"]}
    assert pairs[("inside quotes", "uppercase")] > 0.5
    human = ok(invoke("neurons", "g", quoted))  # the ranking on stdout; the note and the caption aside
    assert "note: 'inside quotes' and 'uppercase' go together in this text (r = +0." in human.stderr
    assert f"r over this text's {len(quoted)} characters" in human.stderr
    ok(invoke("train", english_file, "--model", "ngram", "--level", "char", "--name", "n", "--json"))
    one_line_error(invoke("neurons", "n", "text"), "no hidden state")
