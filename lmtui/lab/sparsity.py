"""Sparsity and size by order: why a longer n-gram context stops helping while the model keeps growing.

For each order k of an n-gram model, on held-out text: the share of its k-grams never seen in training (the
first sparsity problem: a zero count), the share whose (k-1)-token context was never seen either (the second:
nothing to divide by, so the model must back off), how many k-grams the model stores and the bytes they take.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class OrderSparsity:
    order: int
    held_out: int  # k-grams in the held-out text
    unseen: float  # share of them never seen in training
    context_unseen: float  # share whose k-1 context was never seen (always 0 for unigrams)
    stored: int  # distinct k-grams seen in training
    bytes: int  # bytes of this order's tables

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sparsity_by_order(model: Any, tokens: np.ndarray) -> list[OrderSparsity]:
    """Per order 1..n of an NgramModel, measured on ``tokens`` (validation or test ids)."""
    t = np.asarray(tokens, dtype=np.int64)
    rows = model._rows(t) if len(t) else [t] * model.order
    stored = model.counts_per_order()
    tensors = model.tensors()
    out = []
    for k in range(1, model.order + 1):
        if k == 1:
            seen = model.counts[0][t] > 0
            ctx_seen = np.ones(len(t), dtype=bool)
        else:
            seen = rows[k - 1][k - 1 :] >= 0
            ctx = rows[k - 2][k - 2 : -1] if len(t) >= k else np.zeros(0, dtype=np.int64)
            ctx_seen = ctx >= 0
            if k > 2:  # a context is "seen" when it was followed by something, as a context
                ctx_seen[ctx_seen] = _has_children(model, k - 1, ctx[ctx_seen])
            else:
                ctx_seen = model.counts[0][t[: len(seen)]] > 0 if len(seen) else ctx_seen
        names = [f"count_{k}", f"keys_{k}", f"logp_{k}", f"logbow_{k}"]
        size = sum(tensors[name].nbytes for name in names if name in tensors)
        held = len(seen)
        out.append(
            OrderSparsity(
                order=k,
                held_out=held,
                unseen=float(1 - seen.mean()) if held else 0.0,
                context_unseen=float(1 - ctx_seen.mean()) if held else 0.0,
                stored=stored[k - 1],
                bytes=int(size),
            )
        )
    return out


def _has_children(model: Any, m: int, rows: np.ndarray) -> np.ndarray:
    """Whether each order-m row (an m-gram) was followed by some token in training."""
    v = model.vocab_size
    keys = model.keys[m]  # order m+1 keys: prefix_row * V + token
    lo = np.searchsorted(keys, rows * v)
    hi = np.searchsorted(keys, (rows + 1) * v)
    return hi > lo
