"""What a neuron tracks: features by hand, and the ranking finding a unit planted to follow one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lab_util import invoke, json_out, ok, one_line_error

from lmtui.lab.neurons import activations, correlations, features, neurons, rank_units
from lmtui.models import ModelConfig
from lmtui.models.neural import RecurrentModel
from lmtui.tokens import CharTokenizer

TEXT = 'HAMLET: (aside) "To be, or not to be"\nOPHELIA: Good my lord.\nRose Red 200 40 60\n' * 4


def test_features_by_hand():
    f = features('a "b" (c)\nD 1 2 3')
    assert f["inside quotes"].tolist()[:6] == [0, 0, 1, 1, 1, 0]
    assert f["inside brackets"].tolist()[5:10] == [0, 1, 1, 1, 0]
    assert f["position in line"].tolist()[9:12] == [9, 0, 1]
    assert f["after a newline"].nonzero()[0].tolist() == [10]
    assert f["uppercase"].nonzero()[0].tolist() == [10]
    assert f["inside RGB numbers"].nonzero()[0].tolist() == list(range(12, 17))


def planted(kind: str = "rnn", unit: int = 5) -> tuple[RecurrentModel, CharTokenizer]:
    """A net whose unit ``unit`` is tanh(2 + 2 * (±1: the character read is uppercase)), by construction."""
    tok = CharTokenizer.build(TEXT)
    torch.manual_seed(0)
    model = RecurrentModel(ModelConfig(model=kind, embed=4, hidden=12), len(tok))
    rnn = model.net.rnn
    with torch.no_grad():
        upper = torch.tensor([1.0 if t.isupper() else 0.0 for t in tok.vocab])
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
    ok(invoke("train", english_file, "--model", "ngram", "--level", "char", "--name", "n", "--json"))
    one_line_error(invoke("neurons", "n", "text"), "no hidden state")
