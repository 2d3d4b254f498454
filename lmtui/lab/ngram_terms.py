"""The numbers an n-gram probability is made of, order by order, so that a student can recompute it by hand.

Raw counts at the order used say what the text held; the smoothed probability is built from other numbers:

* ``kn`` (interpolated modified Kneser-Ney): from the unigram up, P_k = max(a − D, 0) / a(h) + γ(h) P_(k-1),
  starting from P_0 = 1/V. a is the count c(h w) at the model's top order and the continuation count
  N1+(• h w) (how many distinct tokens came before h w) below it; a(h) sums a over the words seen after h;
  D is this order's D1, D2 or D3+ for a = 1, 2, ≥ 3 (0 for a = 0); γ(h) = (D1 N1 + D2 N2 + D3 N3+) / a(h),
  with Nj the number of words seen after h with a = j (N3+: a ≥ 3).
* ``backoff`` (absolute discounting): the unigram is (c − D) / N + γ / V with γ = D N1+ / N; above it a word
  seen after h gets (c(h w) − D) / c(h) and an unseen one γ(h) P_(k-1), γ(h) = (D N1+(h •) / c(h)) /
  (1 − Σ P_(k-1) of the words seen after h). D is 0 after a context followed by every vocabulary token.
* ``add-k`` and ``mle``: (c(h w) + k) / (c(h) + k V) at the longest context seen in training (mle: k = 0).

A context never seen (not stored) passes the order below through unchanged: P_k = P_(k-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmtui.sampling import order_name


@dataclass
class Term:
    """One order's share of a token's probability: P = (a − D) / a(h) + γ × lower (see the module's text)."""

    order: int
    context: list[str]  # h, display forms (empty at the unigram)
    context_seen: bool  # False: h never seen, so P at this order is the lower order's, unchanged
    count: float  # a(h w): c(h w), or the continuation count N1+(• h w) (kn below the top order)
    count_kind: str  # "count" or "continuation count"
    context_count: float  # a(h): a summed over the words seen after h (add-k, mle: c(h))
    discount: float = 0.0  # D subtracted from a(h w) (0 where a(h w) = 0)
    discounts: list[float] = field(default_factory=list)  # kn: D1, D2, D3+ of this order; backoff: [D]
    followers: list[int] = field(default_factory=list)  # kn: N1, N2, N3+ after h; backoff: [N1+(h •)]
    seen_lower_mass: float | None = None  # backoff: Σ P_(k-1) over the words seen after h
    weight: float = 1.0  # γ(h): kn's interpolation weight, backoff's backoff weight
    lower: float = 0.0  # P from the order below (1/V below the unigram)
    prob: float = 0.0  # P(w | h) at this order
    k: float | None = None  # add-k's k (0 for mle)
    vocab_size: int | None = None  # V, where the formula uses it
    formula: str = ""  # the arithmetic, written out


def ngram_terms(model: Any, seq: np.ndarray, i: int, show: Any, sep: str = " ") -> list[Term]:
    """The terms P(seq[i] | what precedes it) is made of, lowest order first; ``show(id)`` gives a token's
    display form, ``sep`` goes between the tokens of a context ("" at char level)."""
    if model.config.smoothing in ("add-k", "mle"):
        return [_counting_term(model, seq, i, show, sep)]
    tok, v = int(seq[i]), model.vocab_size
    kn = model.config.smoothing == "kn"
    adjusted = continuation_counts(model) if kn else None
    out, p = [], 1.0 / v
    for k in range(1, min(model.order, i + 1) + 1):
        h = tuple(int(t) for t in seq[i - k + 1 : i])
        t = Term(k, [show(x) for x in h], True, 0.0, "count", 0.0, lower=p, vocab_size=v)
        row = model._row(h) if h else 0
        if row < 0:
            t.context_seen, t.prob = False, p
            t.formula = f"{order_name(k)}: context “{sep.join(t.context)}” never seen, P stays {p:.6g}"
            out.append(t)
            continue
        children = model._children(k - 1, row) if h else slice(0, v)
        ids = model.keys[k - 1][children] % v if h else np.arange(v)
        top = adjusted is None or k == model.order
        a = (model.counts[k - 1] if top or adjusted is None else adjusted[k - 1])[children].astype(np.float64)
        t.count_kind = "count" if top else "continuation count"
        hit = np.flatnonzero(ids == tok)
        t.count = float(a[hit[0]]) if len(hit) else 0.0
        t.context_count = float(a.sum())
        d3 = [float(x) for x in model.discounts[k - 1]]
        positive = a[a > 0]
        if kn:
            t.discounts = d3
            t.followers = [int(np.sum(positive == 1)), int(np.sum(positive == 2)), int(np.sum(positive >= 3))]
            t.discount = d3[min(int(t.count), 3) - 1] if t.count > 0 else 0.0
            freed = sum(d * n for d, n in zip(d3, t.followers, strict=True))
            t.weight = freed / t.context_count if t.context_count > 0 else 1.0
            direct = max(t.count - t.discount, 0.0) / t.context_count if t.context_count > 0 else 0.0
            t.prob = direct + t.weight * p
        else:
            d = d3[0] if not (h and len(positive) == v) else 0.0  # no unseen word to give mass to: D = 0
            t.discounts, t.followers = [d], [len(positive)]
            t.discount = d if t.count > 0 else 0.0
            share = d * len(positive) / t.context_count if t.context_count > 0 else 0.0
            if not h:  # the unigram mixes with uniform 1/V, like KN's
                t.weight = share if t.context_count > 0 else 1.0
                t.prob = (t.count - t.discount) / t.context_count + t.weight * p if t.context_count else p
            else:
                lower_all = np.exp(model._log_probs(h[1:]))  # P_(k-1) of every word, after h minus its first
                t.seen_lower_mass = float(lower_all[ids[a > 0]].sum())
                t.weight = share / (1.0 - t.seen_lower_mass) if share > 0 else 1.0
                t.prob = (t.count - t.discount) / t.context_count if t.count > 0 else t.weight * p
        t.formula = _formula(t, kn, sep)
        out.append(t)
        p = t.prob
    return out


def continuation_counts(model: Any) -> list[np.ndarray]:
    """N1+(• g) for every stored k-gram g below the top order: how many distinct tokens came before it.

    Rebuilt from the stored keys (each (k+1)-gram's suffix is a stored k-gram) as training computed them,
    once per model."""
    cached = getattr(model, "_continuation_counts", None)
    if cached is not None:
        return cached
    v, keys = model.vocab_size, model.keys
    suffix: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]  # suffix[m]: rows of the (m+1)-grams' suffixes
    for m in range(1, model.order):
        if m == 1:
            suffix.append(keys[1] % v)
        else:
            query = suffix[m - 1][keys[m] // v] * v + keys[m] % v
            suffix.append(np.searchsorted(keys[m - 1], query))
    sizes = [v] + [len(keys[m]) for m in range(1, model.order)]
    out = [np.bincount(suffix[m], minlength=sizes[m - 1]) for m in range(1, model.order)]
    model._continuation_counts = out
    return out


def _counting_term(model: Any, seq: np.ndarray, i: int, show: Any, sep: str) -> Term:
    """add-k and mle: one term, the longest context seen in training."""
    v, tok = model.vocab_size, int(seq[i])
    state = tuple(int(t) for t in seq[max(0, i - model.order + 1) : i])
    m, row = model._seen_context(state)
    h = state[len(state) - m :]
    if m:
        s = model._children(m, row)
        hit = np.flatnonzero(model.keys[m][s] % v == tok)
        count = float(model.counts[m][s][hit[0]]) if len(hit) else 0.0
    else:
        count = float(model.counts[0][tok])
    total, k = float(model.context_total[m][row]), float(model._k)
    prob = (count + k) / (total + k * v)
    t = Term(m + 1, [show(x) for x in h], True, count, "count", total, k=k, vocab_size=v, prob=prob)
    name = order_name(m + 1) + (f" “{sep.join(t.context)} ·”" if h else "")
    t.formula = (f"{name}: ({count:,.0f} + {k:g}) / ({total:,.0f} + {k:g} × {v:,}) = {prob:.6g}"
                 if k else f"{name}: {count:,.0f} / {total:,.0f} = {prob:.6g}")
    return t


def _formula(t: Term, kn: bool, sep: str) -> str:
    """One order's arithmetic in the order a student does it."""
    name = order_name(t.order) + (f" “{sep.join(t.context)} ·”" if t.context else "")
    a = f"{t.count:,.0f}" if t.count_kind == "count" else f"N1+ {t.count:,.0f}"
    lower = f"1/{t.vocab_size:,}" if t.order == 1 else f"{t.lower:.6g}"
    if kn:
        gamma = " + ".join(f"{d:.4g}·{n:,}" for d, n in zip(t.discounts, t.followers, strict=True))
        return (f"{name}: ({a} − {t.discount:.4g}) / {t.context_count:,.0f} + {t.weight:.4g} × {lower} "
                f"= {t.prob:.6g}   [γ = ({gamma}) / {t.context_count:,.0f}]")
    if t.order == 1:
        return (f"{name}: ({a} − {t.discount:.4g}) / {t.context_count:,.0f} + {t.weight:.4g} × {lower} "
                f"= {t.prob:.6g}   [γ = {t.discounts[0]:.4g}·{t.followers[0]:,} / {t.context_count:,.0f}]")
    if t.count > 0:
        return f"{name}: ({a} − {t.discount:.4g}) / {t.context_count:,.0f} = {t.prob:.6g}"
    return (f"{name}: never seen after it, γ × lower = {t.weight:.4g} × {lower} = {t.prob:.6g}   "
            f"[γ = ({t.discounts[0]:.4g}·{t.followers[0]:,} / {t.context_count:,.0f}) / "
            f"(1 − {t.seen_lower_mass:.6g})]")


LEGENDS = {
    "kn": "Kneser-Ney, from the unigram up: P = (a − D) / a(h) + γ × P(order below), P(order 0) = 1/V; "
    "a = count at the top order, N1+ (distinct tokens before it) below; γ = (D1·N1 + D2·N2 + D3·N3+) / a(h)",
    "backoff": "absolute-discounting backoff: a word seen after h gets (c − D) / c(h); an unseen one "
    "γ × P(order below), γ = (D·N1+(h •) / c(h)) / (1 − Σ P(order below) of the words seen after h)",
    "add-k": "add-k at the longest context seen: (c(h w) + k) / (c(h) + k V)",
    "mle": "unsmoothed, at the longest context seen: c(h w) / c(h)",
}


def how_text(token: dict[str, Any], smoothing: str | None) -> str:
    """The explain table's "how" cell for one token of ``explain --json``: the counts' path (the unsmoothed
    estimate), then, line by line from the unigram up, the arithmetic of the smoothed P."""
    lines = [token.get("why", "")]
    if smoothing != "mle":  # mle's P is the counts' path itself
        lines += [t.get("formula", "") for t in token.get("terms", [])]
    return "\n".join(line for line in lines if line)
