"""Turning next-token distributions into text: temperature, top-k, top-p, a prime, streaming.

Generation is incremental: the model's state (hidden vector, or last n-1 tokens) is carried token by
token, so the cost per token does not grow with the length of the text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lmtui.errors import OptionError
from lmtui.models import LanguageModel
from lmtui.options import check_seed
from lmtui.tokens import Tokenizer, detokenize

UNK_ID = 0  # the tokenizers' <unk>


@dataclass
class SampleSettings:
    temperature: float = 0.8  # 0 means greedy: always the most likely token
    top_k: int | None = None
    top_p: float | None = None
    length: int = 300  # tokens
    prime: str = ""
    stop_lines: int | None = None  # stop after this many newlines
    seed: int | None = None
    allow_unk: bool = False  # <unk> stands for every rare word: printing it is never what a reader wants

    def validate(self) -> SampleSettings:
        """Raise OptionError (the field, what is wrong) for a setting no sampling can use."""
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise OptionError("temperature", f"must be a finite number >= 0 (0 is greedy), not {t}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or self.top_k < 1):
            raise OptionError("top_k", f"must be at least 1, not {self.top_k}")
        if self.top_p is not None and not (0 < self.top_p <= 1):
            raise OptionError("top_p", f"must be in (0, 1], not {self.top_p}")
        if self.length < 1:
            raise OptionError("length", f"must be at least 1 token, not {self.length}")
        if self.stop_lines is not None and self.stop_lines < 1:
            raise OptionError("stop_lines", f"must be at least 1, not {self.stop_lines}")
        check_seed(self.seed)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def distribution(logp: np.ndarray, temperature: float, top_k: int | None, top_p: float | None) -> np.ndarray:
    """The probabilities sampling draws from: log-probs / T, then keep the top k and the top-p nucleus."""
    if temperature == 0:
        probs = np.zeros_like(logp)
        probs[int(np.argmax(logp))] = 1.0
        return probs
    z = logp - logp.max()  # shift first: dividing by a tiny temperature then cannot overflow
    if temperature != 1:
        with np.errstate(over="ignore"):  # a tiny temperature sends all but the best towards -inf: fine
            z /= temperature
    probs = np.exp(z, out=z)
    if top_k is not None and top_k < len(probs):
        keep = np.argpartition(probs, -top_k)[-top_k:]  # exactly k tokens, even when several tie
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept
    probs /= probs.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs)
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]  # the smallest set reaching top_p
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return probs


def drawable(logp: np.ndarray, allow_unk: bool = False) -> np.ndarray:
    """The log-probs sampling draws from: <unk> (id 0, "some rare word") left out unless allowed, and any
    value that is no probability (NaN or +inf, from a broken model) never drawn."""
    bad = ~(logp < np.inf)  # NaN and +inf
    if allow_unk and not bad.any():
        return logp
    out = np.where(bad, -np.inf, logp)
    if not allow_unk:
        out[UNK_ID] = -np.inf
    return out


def anything_left(logp: np.ndarray) -> bool:
    """Whether some token can still be drawn (has a finite log-probability)."""
    return bool(np.isfinite(logp).any())


def why_nothing(logp: np.ndarray, allow_unk: bool) -> str:
    """Why a context left nothing to draw, in words."""
    if np.isnan(logp).any() or (logp == np.inf).any():
        return "the model's probabilities are not numbers (NaN): its weights have diverged"
    if not allow_unk and np.isfinite(logp[UNK_ID]):
        return "its context was only ever followed by <unk>, which samples leave out (--allow-unk lets it in)"
    return "the model gives no token any probability after its context"


def usable_log_probs(model: LanguageModel, state: Any, logp: np.ndarray, allow_unk: bool
                     ) -> tuple[np.ndarray | None, str]:
    """The log-probs the next draw uses, and a note when they are not the model's own for this context.

    <unk> is left out unless allowed. Where that, or a broken model's NaN, leaves nothing to draw, an n-gram
    model backs off to its next shorter context that has something (``shorter_contexts``), and the note
    says so; where none has (or the model has no shorter context), None and why: the sample ends there.
    Never a draw from NaN, never id 0 by default.
    """
    out = drawable(logp, allow_unk)
    if anything_left(out):
        return out, ""
    why = why_nothing(logp, allow_unk)
    for order, lower in getattr(model, "shorter_contexts", lambda _: ())(state):
        out = drawable(lower, allow_unk)
        if anything_left(out):
            return out, f"backed off to the {order_name(order)}: {why}"
        why = why_nothing(lower, allow_unk)
    return None, f"stopped early: {why}"


def order_name(k: int) -> str:
    return {1: "unigram", 2: "bigram", 3: "trigram"}.get(k, f"{k}-gram")


def next_token(model: LanguageModel, state: Any, logp: np.ndarray, settings: SampleSettings,
               rng: np.random.Generator, notes: Counter[str]) -> int | None:
    """One token drawn with ``settings`` (the most likely one at temperature 0), or None where nothing can
    be drawn; a back-off or a stop is counted in ``notes``."""
    usable, note = usable_log_probs(model, state, logp, settings.allow_unk)
    if note:
        notes[note] += 1
    if usable is None:
        return None
    if settings.temperature > 0:
        return _draw(rng, distribution(usable, settings.temperature, settings.top_k, settings.top_p))
    return int(np.argmax(usable))  # greedy: what distribution()'s one-hot would give


def notes_text(notes: Counter[str]) -> list[str]:
    """One line per note, with how many draws it concerned."""
    return [f"{note} ({n:,} draw{'s' * (n != 1)})" if note.startswith("backed") else note
            for note, n in notes.items()]


def _draw(rng: np.random.Generator, probs: np.ndarray) -> int:
    """``rng.choice(len(probs), p=probs)`` without its argument checks: the same draw from the same stream."""
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def prime_ids(tokenizer: Tokenizer, prime: str) -> np.ndarray:
    """The context generation starts from: the prime's tokens, or a newline (start of a line) if empty."""
    ids = tokenizer.encode(prime) if prime else np.zeros(0, dtype=np.int32)
    if len(ids) == 0:
        nl = tokenizer.newline_id()
        ids = np.array([nl if nl is not None else 0], dtype=np.int32)
    return ids


def generate(model: LanguageModel, tokenizer: Tokenizer, settings: SampleSettings,
             notes: Counter[str] | None = None) -> Iterator[str]:
    """Yield the text of one sample piece by piece, as it is produced (the prime itself is not repeated).

    ``notes`` (if given) counts what the reader should know: draws that backed off to a shorter context,
    or why the sample ended before ``length`` tokens (``usable_log_probs``)."""
    settings.validate()
    notes = Counter() if notes is None else notes
    rng = np.random.default_rng(settings.seed)
    context = prime_ids(tokenizer, settings.prime)
    state, logp = model.start(context)
    prev = tokenizer.vocab[int(context[-1])]
    lines = 0
    for _ in range(settings.length):
        token = next_token(model, state, logp, settings, rng, notes)
        if token is None:
            return
        yield piece(tokenizer, prev, token)
        prev = tokenizer.vocab[token]
        if prev == "\n":
            lines += 1
            if settings.stop_lines and lines >= settings.stop_lines:
                return
        state, logp = model.advance(state, token)


def piece(tokenizer: Tokenizer, prev: str, token: int) -> str:
    """The text one token adds after ``prev`` (word level decides the space in between)."""
    if tokenizer.level == "char":
        return tokenizer.decode([token])
    return detokenize([prev, tokenizer.vocab[token]])[len(prev) :]


def sample_text(model: LanguageModel, tokenizer: Tokenizer, settings: SampleSettings) -> str:
    return "".join(generate(model, tokenizer, settings))


@dataclass
class Prediction:
    token: str  # display form (newline shown as ⏎)
    prob: float  # the probability sampling draws it with (after temperature, top-k, top-p)
    model_prob: float | None = None  # the model's own probability (temperature 1, nothing cut)
    # the model's log-probability: the softmax's input ("logit") up to one constant per context, which the
    # softmax cancels; an n-gram model has no logits, its log-probabilities play their part
    log_prob: float | None = None


def predict_next(model: LanguageModel, tokenizer: Tokenizer, context: str, top: int = 10,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 allow_unk: bool = True) -> list[Prediction]:
    """The most likely next tokens after ``context`` ("the students opened their ___").

    Ranked by the model; ``prob`` is what sampling with these settings would draw each with (0 for a token
    top-k or top-p cuts, 1 for the only token greedy decoding takes), so temperature visibly reshapes it.
    With ``allow_unk`` False, as in sampling by default, <unk> gets 0 there (its model probability stays);
    where that leaves nothing, ``prob`` comes from the shorter context sampling backs off to.
    """
    state, logp = model.start(prime_ids(tokenizer, context))
    logp = np.asarray(logp, dtype=np.float64)
    top = max(1, min(top, len(logp)))
    usable, _ = usable_log_probs(model, state, logp, allow_unk)
    sampled = np.zeros(len(logp))  # nothing drawable at all: no token has a share of the draw
    if usable is not None:
        sampled = distribution(usable.copy(), temperature, top_k, top_p)
    best = np.lexsort((-sampled, -np.nan_to_num(logp, nan=-np.inf)))[:top]  # by the model, then by the draw
    return [Prediction(tokenizer.display(int(i)), float(sampled[i]), float(np.exp(logp[i])), float(logp[i]))
            for i in best]
