"""What a neuron tracks: hidden-unit activations of a char-level recurrent run over a text, and units ranked
by how well they follow simple features of that text (Karpathy, Johnson & Fei-Fei 2015 found units for
quotes, brackets and line position in char LSTMs; here a learner can look for them in their own runs).

The activation at position i is the last layer's hidden state after reading character i, so every feature at
position i is one of characters 0..i, what that state has read: "after a newline" is 1 where character i
is the newline (the state that will write the next line's first character), "position in line" counts the
characters of the line read so far (0 right after a newline). Ranking is by absolute Pearson correlation
over the text, so a unit that is strongly negative inside quotes counts as much as a positive one. Two
features that go together in the text (uppercase and after-a-newline do in a play's speaker names) cannot
be told apart by correlation: pairs at |r| >= ``CONFOUNDED`` are flagged with their r. The correlations
depend on the text given: they are a reading of this text, not a property of the unit alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmtui.models import RECURRENT_KINDS

# a number of an RGB triple, read so far: after a space (or line start), at most three of them on the line
RGB_SO_FAR = re.compile(r"(?:^|\s)\d{1,3}(?:[ \t,]+\d{1,3}){0,2}$")
CONFOUNDED = 0.5  # features correlated at least this much are flagged: a unit following one follows both


def features(text: str) -> dict[str, np.ndarray]:
    """Per character of ``text``: simple features a unit might track, as float arrays (0/1 or a count).

    Feature i depends only on characters 0..i (what the state after reading character i has seen)."""
    n = len(text)
    quote = np.zeros(n)
    bracket = np.zeros(n)
    column = np.zeros(n)
    after_nl = np.zeros(n)
    upper = np.array([c.isupper() for c in text], dtype=float)
    rgb = np.zeros(n)
    inside, depth, col, line_start = False, 0, 0, 0
    for i, c in enumerate(text):
        if c == '"':
            inside = not inside
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        quote[i] = inside or c == '"'  # the quote marks count as inside (the closing one was just read)
        bracket[i] = depth > 0 or c in ")]}"
        col = 0 if c == "\n" else col + 1
        column[i] = col  # characters of this line read so far
        after_nl[i] = c == "\n"
        if c == "\n":
            line_start = i + 1
        elif c.isdigit() and RGB_SO_FAR.search(text, line_start, i + 1):
            rgb[i] = 1
    return {
        "inside quotes": quote,
        "inside brackets": bracket,
        "position in line": column,
        "after a newline": after_nl,
        "uppercase": upper,
        "inside RGB numbers": rgb,
    }


def confounded(feats: dict[str, np.ndarray], threshold: float = CONFOUNDED) -> list[tuple[str, str, float]]:
    """Pairs of features that vary along the text and go together at |r| >= ``threshold``, with their r."""
    names = [k for k, f in feats.items() if f.std() > 0]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            r = float(np.corrcoef(feats[a], feats[b])[0, 1])
            if abs(r) >= threshold:
                out.append((a, b, r))
    return out


# What an LSTM unit can show besides h: its cell state and its gates (the last layer's), each after reading
# character i. Gates are sigmoids in [0, 1]: the forget gate near 1 keeps the cell, near 0 clears it.
STATES = {
    "h": "hidden state h (what the unit passes on)",
    "c": "cell state c (what the LSTM carries)",
    "input": "input gate (how much of the new candidate is written to c)",
    "forget": "forget gate (1 keeps c, 0 clears it)",
    "output": "output gate (how much of tanh(c) becomes h)",
    "candidate": "candidate g (the value the input gate writes)",
}
GATES = ("input", "forget", "output")


def state_range(state: str) -> tuple[float, float] | None:
    """The values a state takes: [0, 1] for gates, [-1, 1] for h and the candidate (tanh); None for the
    cell state, which has no bound (the view scales it by the largest value in the text)."""
    return (0.0, 1.0) if state in GATES else None if state == "c" else (-1.0, 1.0)


def activations(model: Any, ids: np.ndarray, state: str = "h") -> np.ndarray:
    """[len(ids), hidden]: the last layer's ``state`` after each token, from a fresh state (h for every
    recurrent model; c and the gates for an LSTM)."""
    import torch

    if model.config.model not in RECURRENT_KINDS:
        raise ValueError(f"a {model.config.model} model has no hidden state that runs along the text")
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; choose one of {', '.join(STATES)}")
    if state != "h" and model.config.model != "lstm":
        raise ValueError(f"only an LSTM has a cell state and gates; a {model.config.model} shows h")
    net = model.net
    net.eval()
    x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=model.device).view(1, -1)
    with torch.no_grad():
        if state == "h":
            h, _ = net.rnn(net.emb(x), None)
            return h[0].float().cpu().numpy()
        return lstm_parts(net, net.emb(x)[0])[state].float().cpu().numpy()


def lstm_parts(net: Any, x: Any) -> dict[str, Any]:
    """The last layer's gates, candidate, c and h at each step of ``x`` ([T, embed]), computed from the
    LSTM's own weights step by step (torch's gate order: input, forget, candidate, output)."""
    import torch

    rnn = net.rnn
    hs = rnn.hidden_size
    out: dict[str, list[Any]] = {}
    for layer in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
        bias = getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
        pre = x @ w_ih.T + bias  # the inputs' part of every step at once
        h = torch.zeros(hs, dtype=x.dtype, device=x.device)
        c = torch.zeros_like(h)
        out = {k: [] for k in ("input", "forget", "candidate", "output", "c", "h")}
        for t in range(x.shape[0]):
            z = pre[t] + w_hh @ h
            i, f, o = (torch.sigmoid(z[k * hs : (k + 1) * hs]) for k in (0, 1, 3))
            g = torch.tanh(z[2 * hs : 3 * hs])
            c = f * c + i * g
            h = o * torch.tanh(c)
            for name, value in zip(out, (i, f, g, o, c, h), strict=True):
                out[name].append(value)
        x = torch.stack(out["h"])  # the next layer reads this one's h (no dropout: evaluation)
    return {k: torch.stack(v) for k, v in out.items()}


@dataclass
class UnitMatch:
    unit: int
    correlation: float  # Pearson r between the unit's activation and the feature


def correlations(acts: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Pearson r of every unit (column of ``acts``) with ``feature``; 0 where either is constant."""
    a = acts - acts.mean(axis=0)
    f = feature - feature.mean()
    denom = np.sqrt((a * a).sum(axis=0) * (f * f).sum())
    return np.divide(a.T @ f, denom, out=np.zeros(acts.shape[1]), where=denom > 0)


def rank_units(acts: np.ndarray, feats: dict[str, np.ndarray], top: int = 5) -> dict[str, list[UnitMatch]]:
    """For each feature present in the text, the ``top`` units that follow it best (by |r|)."""
    out = {}
    for name, f in feats.items():
        if f.std() == 0:
            continue  # the feature never changes in this text: nothing to correlate with
        r = correlations(acts, f)
        best = np.argsort(-np.abs(r), kind="stable")[:top]
        out[name] = [UnitMatch(int(u), float(r[u])) for u in best]
    return out


def neurons(model: Any, tokenizer: Any, text: str, top: int = 5, state: str = "h") -> dict[str, Any]:
    """Everything the playground's neuron view needs, as JSON: activations per character (of ``state``: h,
    or an LSTM's c or gates) and the ranking."""
    if tokenizer.level != "char":
        raise ValueError("neurons are shown for char-level runs (one activation per character)")
    if not text:
        raise ValueError("give some text to read")
    acts = activations(model, tokenizer.encode(text), state)
    feats = features(text)
    ranking = rank_units(acts, feats, top)
    return {
        "text": text,
        "state": state,
        "state_name": STATES[state],
        "range": state_range(state),
        "states": list(STATES) if model.config.model == "lstm" else ["h"],
        "units": int(acts.shape[1]),
        "activations": np.round(acts.T, 4).tolist(),  # [unit][position]
        "ranking": {k: [{"unit": m.unit, "r": m.correlation} for m in v] for k, v in ranking.items()},
        "confounded": [{"features": [a, b], "r": r} for a, b, r in confounded(feats)],
        "aligned": "feature i is of characters 0..i: what the state after reading character i has seen",
    }
