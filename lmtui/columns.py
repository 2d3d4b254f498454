"""Which columns of a runs table give way when it is wider than the terminal: one order for the app's Runs
screen and ``lmtui runs``, so both faces keep the same columns at a width and a reader finds the same
figures in both. A kept column is shown whole; a run's name and its validation perplexity are never dropped
(the name is what `lmtui sample NAME` needs, the perplexity what the table is for).

A face drops the labels it has, in this order, until its table fits, and skips the ones it does not have
(the app shows no ``level`` or ``group`` column; the command line no ``size`` or ``unseen``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Dropped first, in this order, while a table does not fit.
LESSER = ("unseen", "size", "group", "parameters", "corpus", "bits/char", "time", "<unk>", "level")
# Then, where a long name on a narrow terminal leaves room for little else: what the name itself says
# (its model, as in speeches-ngram-word) before the scores.
LAST = ("status", "model", "test ppl")


def fitting_columns(
    labels: Iterable[str], fits: Callable[[list[str]], bool], order: Iterable[str] = LESSER + LAST
) -> list[str]:
    """The labels to show: ``labels`` less the first ones of ``order`` until ``fits(kept)`` (all of
    ``order`` dropped and still too wide: what is left, to be shown whole all the same)."""
    kept = list(labels)
    for label in order:
        if fits(kept):
            break
        if label in kept:
            kept.remove(label)
    return kept
