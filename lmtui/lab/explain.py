"""Why this word? Each token of a text with the context the model used, its probability and its surprise.

For n-gram models the explanation shows the lecture's computation with real numbers: the counts
c(context + w) and c(context) at the order actually used, the unsmoothed estimate c(context + w) / c(context),
which longer orders were passed over and why ("trigram never seen → bigram"), and then the numbers the
smoothed probability is really made of, order by order (``lab.ngram_terms``: discounted counts,
continuation counts, interpolation or backoff weights, the lower order's P), from which P can be recomputed
by hand. Below the tokens, the chain rule: log P(text) = Σ log P(w_i | context), and the perplexity
2^(bits / tokens). c(context) is the number of times the context was followed by anything (the sum of its
continuations), so the estimates of one context sum to one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lmtui.lab.ngram_terms import Term, ngram_terms
from lmtui.lab.scoring import token_log_probs
from lmtui.models import RECURRENT_KINDS, LanguageModel
from lmtui.sampling import order_name
from lmtui.tokens import Tokenizer


@dataclass
class Skipped:
    """A longer order the n-gram model could not use for this token, and why."""

    order: int
    reason: str  # "context unseen" or "never seen after this context"
    context_count: int
    ngram: list[str] = field(default_factory=list)  # the context and the token at this order


@dataclass
class TokenExplanation:
    position: int  # index of the token in the explained text
    token: str  # display form (newline as ⏎, space as ␣)
    token_id: int
    context: list[str]  # the tokens the model conditioned on (n-gram: at the order used)
    prob: float
    bits: float  # surprise: -log2 prob (inf when prob is 0)
    order: int | None = None  # n-gram: the order whose counts gave the probability
    count: int | None = None  # c(context + w) at that order
    context_count: int | None = None  # c(context) at that order
    estimate: float | None = None  # count / context_count: the unsmoothed (maximum-likelihood) estimate
    skipped: list[Skipped] = field(default_factory=list)
    why: str = ""  # n-gram: the counts' path, "trigram … never seen → bigram: 148 / 5,907 = 0.02506"
    terms: list[Term] = field(default_factory=list)  # n-gram: what P is made of, lowest order first


@dataclass
class Explanation:
    model: str
    level: str
    tokens: list[TokenExplanation]
    unknown: list[str]  # tokens of the text outside the vocabulary (read as <unk>)
    start: str | None  # the token put before the text as its context (a newline: "start of a line")
    smoothing: str | None = None  # n-gram: kn, backoff, add-k or mle (how ``terms`` combine)
    vocab_size: int = 0

    @property
    def log2_prob(self) -> float:
        """log2 P(text) by the chain rule: the sum of every token's log2 probability."""
        return -sum(t.bits for t in self.tokens)

    @property
    def perplexity(self) -> float:
        bits = -self.log2_prob
        return 2 ** (bits / len(self.tokens)) if self.tokens and math.isfinite(bits) else math.inf

    def to_dict(self) -> dict[str, Any]:
        def clean(x: Any) -> Any:
            return None if isinstance(x, float) and not math.isfinite(x) else x

        tokens = [{k: clean(v) for k, v in asdict(t).items()} for t in self.tokens]
        finite = math.isfinite(self.log2_prob)
        return {
            "model": self.model,
            "level": self.level,
            "smoothing": self.smoothing,
            "vocab_size": self.vocab_size,
            "start": self.start,
            "unknown": self.unknown,
            "tokens": tokens,
            "log2_prob": self.log2_prob if finite else None,
            "log_prob": self.log2_prob * math.log(2) if finite else None,
            "perplexity": clean(self.perplexity),
            "perplexity_infinite": not math.isfinite(self.perplexity),
        }


def explain(model: LanguageModel, tokenizer: Tokenizer, text: str) -> Explanation:
    """Explain every token of ``text``; a newline (if the vocabulary has one) stands before it as context."""
    ids = tokenizer.encode(text).astype(np.int64)
    if len(ids) == 0:
        raise ValueError("there is no token to explain in an empty text")
    nl = tokenizer.newline_id()
    start = nl if nl is not None and ids[0] != nl else None
    seq = np.concatenate([[start], ids]) if start is not None else ids
    offset = 1 if start is not None else 0  # seq[offset + j] is the text's token j
    if len(seq) < 2:
        raise ValueError("one token alone has no context to explain it with; give two or more")
    logp = token_log_probs(model, seq)  # logp[i - 1] belongs to seq[i]
    cfg = model.config
    out = []
    for i in range(1, len(seq)):
        tok = int(seq[i])
        p = math.exp(float(logp[i - 1]))
        e = TokenExplanation(
            position=i - offset,
            token=tokenizer.display(tok),
            token_id=tok,
            context=[],
            prob=p,
            bits=max(0.0, -float(logp[i - 1]) / math.log(2)),
        )
        if cfg.model == "ngram":
            _ngram_detail(model, tokenizer, seq, i, e)
        else:
            n = len(seq[:i]) if cfg.model in RECURRENT_KINDS else min(i, cfg.context)
            e.context = [tokenizer.display(int(t)) for t in seq[i - n : i]]
            e.why = (
                f"all {n} tokens before it, through the hidden state"
                if cfg.model in RECURRENT_KINDS
                else f"a fixed window of the last {cfg.context} tokens"
                + (f" ({cfg.context - n} of them before the text)" if n < cfg.context else "")
            )
        out.append(e)
    return Explanation(
        cfg.model,
        tokenizer.level,
        out,
        tokenizer.unknown(text),
        tokenizer.display(start) if start is not None else None,
        cfg.smoothing if cfg.model == "ngram" else None,
        model.vocab_size,
    )


def _ngram_detail(model: Any, tokenizer: Tokenizer, seq: np.ndarray, i: int, e: TokenExplanation) -> None:
    """Counts at each order from the longest context down to the one the model's probability came from."""
    n = model.order
    counting = model.config.smoothing in ("add-k", "mle")
    tok = int(seq[i])
    longest = min(n, i + 1)  # near the start of the text, fewer previous tokens exist
    for k in range(longest, 0, -1):
        ctx = tuple(int(t) for t in seq[i - k + 1 : i])
        if k == 1:
            total, count = int(model.counts[0].sum()), int(model.counts[0][tok])
        else:
            row = model._row(ctx)
            total = int(model.counts[k - 1][model._children(k - 1, row)].sum()) if row >= 0 else 0
            gram = model._row((*ctx, tok)) if row >= 0 else -1
            count = int(model.counts[k - 1][gram]) if gram >= 0 else 0
        # add-k / mle use the longest context seen; kn / backoff take the longest stored n-gram's probability
        used = k == 1 or (total > 0 if counting else count > 0)
        if not used:
            reason = "context unseen" if total == 0 else "never seen after this context"
            e.skipped.append(Skipped(k, reason, total, [tokenizer.display(t) for t in (*ctx, tok)]))
            continue
        e.order, e.count, e.context_count = k, count, total
        e.estimate = count / total if total else 0.0
        e.context = [tokenizer.display(t) for t in ctx]
        break
    sep = "" if tokenizer.level == "char" else " "
    e.why = _why(e, n, sep)
    e.terms = ngram_terms(model, seq, i, tokenizer.display, sep)


def _why(e: TokenExplanation, n: int, sep: str = " ") -> str:
    steps = []
    for s in e.skipped:
        context = sep.join(s.ngram[:-1])
        if s.reason == "context unseen":
            steps.append(f"{order_name(s.order)} context “{context}” never seen")
        else:
            gram = sep.join(s.ngram)
            steps.append(f"{order_name(s.order)} “{gram}” never seen (“{context}” seen {s.context_count:,}×)")
    used = f"{order_name(e.order or 1)}: {e.count:,} / {e.context_count:,} = {e.estimate or 0:.4g}"
    return " → ".join([*steps, used]) if steps else used
