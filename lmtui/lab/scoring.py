"""Per-token scores and the perplexities they give: the usual one, one excluding ``<unk>``, zero-prob counts.

Perplexity is exp(mean surprise). Two things can make it mislead a learner, and both are reported beside it:
an unsmoothed model gives some test tokens probability 0 (perplexity is then infinite, and we say how
many tokens did it), and a capped vocabulary turns rare words into one easy ``<unk>`` token (so perplexity
excluding ``<unk>`` targets, as KenLM reports it, is given too, with the ``<unk>`` share).

Bits per character is meant to compare models across levels, but a word model's ``<unk>`` stands for a
whole rare word, predicted as one cheap token: its bits/char leaves those characters out (7.7 % of the
speeches' test text with a 10,000-word cap). So beside it come the share of characters inside ``<unk>``
words and ``bits_per_char_spelled``, which charges every scored ``<unk>`` word the cost of spelling it out
with a character unigram of the vocabulary (``unk_spelling``): with it the word model is a model of the
whole text, like a char model, and the two figures compare. A char model's ``<unk>`` is exactly one
character, already charged as one: nothing is added.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmtui.models import LanguageModel

UNK_ID = 0


@dataclass
class UnkSpelling:
    """What a word model's ``<unk>`` tokens hide in a text."""

    chars: int = 0  # characters inside <unk> words (all of the text's)
    bits: float = 0.0  # bits to spell out the scored ones (all but a first word, which is only context)
    words: int = 0  # scored <unk> words


def spelling_model(vocab: list[str]) -> tuple[dict[str, float], float, float]:
    """(-log2 p per character, -log2 p of any other character, -log2 p of the end of a word): a character
    unigram over the vocabulary's words, each counted once, plus one end mark per word, add-one smoothed
    over those characters, "any other" and the end. Rare words are spelled like words in general, not like
    frequent ones ("the" counts once)."""
    counts = Counter("".join(vocab))
    total = sum(counts.values()) + len(vocab) + len(counts) + 2  # characters, end marks, add-one for all
    cost = {c: -math.log2((n + 1) / total) for c, n in counts.items()}
    return cost, -math.log2(1 / total), -math.log2((len(vocab) + 1) / total)


def unk_spelling(tokenizer: Any, text: str) -> UnkSpelling:
    """Word level: each scored <unk> word costs the bits of spelling it, letter by letter and then its end,
    with ``spelling_model`` of the vocabulary (words 1.. of it: <unk> is no word).

    The simplest spelling model anyone can recompute from the vocabulary alone; a better one (of longer
    contexts) would charge less, so this is an upper bound on what the rare words cost. Char level: nothing
    (see the module's text)."""
    if tokenizer.level != "word" or not text:
        return UnkSpelling()
    words = tokenizer.split(text)
    index = tokenizer.index
    unknown = [w for w in words if w not in index]
    scored = unknown[1:] if words and words[0] not in index else unknown  # the first token is only context
    cost, other, end = spelling_model(tokenizer.vocab[1:])
    bits = sum(sum(cost.get(c, other) for c in w) + end for w in scored)
    return UnkSpelling(sum(len(w) for w in unknown), bits, len(scored))


def token_log_probs(model: LanguageModel, tokens: np.ndarray) -> np.ndarray:
    """Natural log P(tokens[i] | what precedes it) for i = 1..len-1, the same reading ``model.nll`` does."""
    tokens = np.asarray(tokens, dtype=np.int64)
    if len(tokens) < 2:
        return np.zeros(0)
    direct = getattr(model, "token_log_probs", None)
    if direct is not None:
        return np.asarray(direct(tokens), dtype=np.float64)
    out, (state, logp) = [], model.start(tokens[:1])  # any other model: one token at a time
    for token in tokens[1:].tolist():
        out.append(float(logp[token]))
        state, logp = model.advance(state, token)
    return np.array(out)


def perplexity(loss: float) -> float:
    """exp(loss); infinite when the loss is, never capped to a huge number that looks like a result."""
    return math.exp(loss) if loss < 700 else math.inf


@dataclass
class Score:
    """What one text's per-token scores add up to."""

    tokens: int  # tokens in the text (the first one is only context)
    predicted: int  # tokens scored: tokens - 1
    nll: float  # total surprise in nats (inf when some token got probability 0)
    zero_prob_tokens: int  # tokens the model gave probability exactly 0 (only unsmoothed models do)
    unk_tokens: int  # tokens of the text that are <unk>
    nll_known: float  # total surprise over scored tokens that are not <unk>
    known: int  # how many scored tokens are not <unk>
    chars: int = 0
    spelling: UnkSpelling | None = None  # what <unk> hides (word level: characters, bits to spell them)

    @property
    def loss(self) -> float:
        return self.nll / max(self.predicted, 1)

    @property
    def ppl(self) -> float:
        return perplexity(self.loss)

    @property
    def ppl_excl_oov(self) -> float:
        return perplexity(self.nll_known / max(self.known, 1))

    @property
    def unk_rate(self) -> float:
        return self.unk_tokens / max(self.tokens, 1)

    @property
    def bits_per_char(self) -> float:
        return self.nll / max(self.chars, 1) / math.log(2)

    @property
    def unk_char_share(self) -> float:
        """Share of the text's characters inside <unk> words (0 at char level: see the module's text)."""
        return (self.spelling.chars if self.spelling else 0) / max(self.chars, 1)

    @property
    def bits_per_char_spelled(self) -> float:
        """Bits per character with every scored <unk> word spelled out: comparable across levels."""
        return self.bits_per_char + (self.spelling.bits if self.spelling else 0.0) / max(self.chars, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON fields. JSON has no infinity: an infinite perplexity is null, ``perplexity_infinite`` true."""

        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "tokens": self.tokens,
            "loss": finite(self.loss),
            "perplexity": finite(self.ppl),
            "perplexity_infinite": not math.isfinite(self.ppl),
            "zero_prob_tokens": self.zero_prob_tokens,
            "bits_per_char": finite(self.bits_per_char) if self.chars else None,
            "unk_char_share": self.unk_char_share if self.chars else None,
            "bits_per_char_spelled": finite(self.bits_per_char_spelled) if self.chars else None,
            "unk_rate": self.unk_rate,
            "perplexity_excl_oov": finite(self.ppl_excl_oov),
            "oov_excluded_tokens": self.predicted - self.known,
        }


def score(model: LanguageModel, tokens: np.ndarray, chars: int = 0, spelling: UnkSpelling | None = None
          ) -> Score:
    """Score a text once and keep what every honest perplexity needs (``spelling``: ``unk_spelling``'s
    reading of the same text, for bits per character across levels)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    logp = token_log_probs(model, tokens)
    known = tokens[1:] != UNK_ID
    return Score(
        tokens=len(tokens),
        predicted=len(logp),
        nll=float(-logp.sum()),
        zero_prob_tokens=int(np.count_nonzero(np.isneginf(logp))),
        unk_tokens=int(np.count_nonzero(tokens == UNK_ID)),
        nll_known=float(-logp[known].sum()),
        known=int(known.sum()),
        chars=chars,
        spelling=spelling,
    )
