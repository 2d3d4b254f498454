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


def activations(model: Any, ids: np.ndarray) -> np.ndarray:
    """[len(ids), hidden]: the last layer's hidden state after each token, from a fresh state."""
    import torch

    if model.config.model not in RECURRENT_KINDS:
        raise ValueError(f"a {model.config.model} model has no hidden state that runs along the text")
    net = model.net
    net.eval()
    x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=model.device).view(1, -1)
    with torch.no_grad():
        h, _ = net.rnn(net.emb(x), None)
    return h[0].float().cpu().numpy()


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


def neurons(model: Any, tokenizer: Any, text: str, top: int = 5) -> dict[str, Any]:
    """Everything the playground's neuron view needs, as JSON: activations per character and the ranking."""
    if tokenizer.level != "char":
        raise ValueError("neurons are shown for char-level runs (one activation per character)")
    if not text:
        raise ValueError("give some text to read")
    acts = activations(model, tokenizer.encode(text))
    feats = features(text)
    ranking = rank_units(acts, feats, top)
    return {
        "text": text,
        "units": int(acts.shape[1]),
        "activations": np.round(acts.T, 4).tolist(),  # [unit][position]
        "ranking": {k: [{"unit": m.unit, "r": m.correlation} for m in v] for k, v in ranking.items()},
        "confounded": [{"features": [a, b], "r": r} for a, b, r in confounded(feats)],
        "aligned": "feature i is of characters 0..i: what the state after reading character i has seen",
    }
