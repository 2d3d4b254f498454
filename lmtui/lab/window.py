"""The fixed-window model's problem, in numbers: its parameters grow with its window, and no weight is
shared across positions (Bengio et al. 2003's model; a recurrent net reads any length with one set).

The hidden layer reads the window's n embeddings concatenated, so it holds an embed x hidden block of its
own for every position: the word two back and the word five back are learned apart, and widening the window
adds a block each time. A recurrent net's weights are the same at every step, whatever the context length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lmtui.models import ModelConfig, estimate_parameters, output_parameters

WINDOWS = (2, 4, 8, 16, 32, 64)


@dataclass
class WindowParts:
    context: int
    embedding: int  # (V + 1) x E: the token table, plus the "before the text" row
    per_position: int  # E x H: one position's own block of the hidden layer
    hidden: int  # n x E x H + H: the blocks of every position, and the bias
    output: int  # H x V + V (full softmax; the adaptive one's head and clusters are fewer)
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "position_share": self.per_position * self.context / max(self.total, 1)}


def window_parts(config: ModelConfig, vocab: int) -> WindowParts:
    e, h, n = config.embed, config.hidden, config.context
    parts = WindowParts(n, (vocab + 1) * e, e * h, n * e * h + h, output_parameters(config, h, vocab), 0)
    parts.total = parts.embedding + parts.hidden + parts.output
    assert parts.total == estimate_parameters(config, vocab)  # the closed form the form and the run use
    return parts


def by_window(config: ModelConfig, vocab: int, windows: tuple[int, ...] = WINDOWS) -> list[tuple[int, int]]:
    """(window, parameters) for this model at other windows, its own included."""
    sizes = sorted({*windows, config.context}) if config.model == "window" else sorted(windows)
    return [(n, estimate_parameters(replace(config, context=n), vocab)) for n in sizes]


def window_line(config: ModelConfig, vocab: int) -> str:
    """A clause for the model form: each position's own weights, and the size at twice the window."""
    p = window_parts(config, vocab)
    wider = estimate_parameters(replace(config, context=2 * p.context), vocab)
    return f"{p.context} positions × {p.per_position:,} unshared weights; window {2 * p.context}: {wider:,}"
