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


# -- an LSTM's cell state and gates (issue 19, "still not touchable")


def test_lstm_parts_rebuild_torch_s_own_h_and_c() -> None:
    """The step-by-step gates come from the LSTM's own weights: with them, h (and the last c) are torch's,
    for the last of two layers too; gates lie in [0, 1] and c = f c' + i g at every step."""
    from lmtui.lab.neurons import lstm_parts

    tok = CharTokenizer.build(TEXT)
    torch.manual_seed(1)
    model = RecurrentModel(ModelConfig(model="lstm", embed=6, hidden=10, layers=2), len(tok))
    x = model.net.emb(torch.as_tensor(tok.encode(TEXT[:60]).astype(np.int64)).view(1, -1))
    with torch.no_grad():
        h, (_, c_last) = model.net.rnn(x, None)
        parts = lstm_parts(model.net, x[0])
    torch.testing.assert_close(parts["h"], h[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(parts["c"][-1], c_last[-1, 0], rtol=1e-5, atol=1e-5)
    for gate in ("input", "forget", "output"):
        assert parts[gate].min() >= 0 and parts[gate].max() <= 1
    f, i, g, c = parts["forget"], parts["input"], parts["candidate"], parts["c"]
    torch.testing.assert_close(c[1:], f[1:] * c[:-1] + i[1:] * g[1:])


def test_neurons_reads_an_lstm_s_gates_and_refuses_them_elsewhere() -> None:
    from lmtui.lab.neurons import STATES

    tok = CharTokenizer.build(TEXT)
    torch.manual_seed(2)
    lstm = RecurrentModel(ModelConfig(model="lstm", embed=4, hidden=8), len(tok))
    data = neurons(lstm, tok, TEXT, top=1, state="forget")
    assert data["state"] == "forget" and data["range"] == (0.0, 1.0) and data["states"] == list(STATES)
    assert "1 keeps c" in data["state_name"]
    assert all(0 <= v <= 1 for row in data["activations"] for v in row)
    assert neurons(lstm, tok, TEXT, state="c")["range"] is None  # no bound: the view scales it
    rnn, _ = planted()
    assert neurons(rnn, tok, TEXT)["states"] == ["h"]
    with pytest.raises(ValueError, match="only an LSTM has a cell state"):
        neurons(rnn, tok, TEXT, state="c")


def test_the_view_puts_each_state_on_the_colour_scale() -> None:
    from lmtui.tui.widgets.neuron_view import NeuronData

    base = {"text": "abc", "units": 1, "ranking": {}}
    gate = NeuronData({**base, "activations": [[0.0, 0.5, 1.0]], "state": "forget", "range": [0, 1]})
    assert gate.scaled() == [-1.0, 0.0, 1.0]  # closed: blue, half: white, open: red
    cell = NeuronData({**base, "activations": [[-4.0, 2.0, 1.0]], "state": "c", "range": None,
                       "state_name": "cell state c (what the LSTM carries)"})
    assert cell.scaled() == [-1.0, 0.5, 0.25] and "cell state c" in cell.caption()
    h = NeuronData({**base, "activations": [[-0.5, 0.0, 0.9]]})
    assert h.scaled() == [-0.5, 0.0, 0.9] and h.state == "h"


def test_cli_neurons_state(english_file):
    ok(invoke("train", english_file, "--model", "lstm", "--embed", 8, "--hidden", 16, "--steps", 3,
              "--batch-size", 4, "--seq-len", 16, "--device", "cpu", "--name", "l", "--json"))
    out = ok(invoke("neurons", "l", 'The "old" sailor (said)\nno', "--state", "forget")).stdout
    assert out.startswith("reading the forget gate (1 keeps c, 0 clears it)")
    data = json_out(invoke("neurons", "l", "The old sailor", "--state", "c", "--json"))
    assert data["state"] == "c" and data["units"] == 16
    ok(invoke("train", english_file, "--model", "gru", "--embed", 8, "--hidden", 16, "--steps", 3,
              "--batch-size", 4, "--seq-len", 16, "--device", "cpu", "--name", "g", "--json"))
    one_line_error(invoke("neurons", "g", "text", "--state", "forget"), "only an LSTM has a cell state")
