"""N-gram language models: counts of k-grams turned into conditional probabilities P(w | last n-1 tokens).

Counting is vectorised. Every k-gram seen in training gets the integer key ``prefix_row * V + last_token``,
where ``prefix_row`` is the row of its (k-1)-gram prefix in the order k-1 table; one sort of all positions'
keys (``_group``) gives the sorted key table of order k, and ``np.searchsorted`` finds any k-gram's row. The
rows of order k-1 are the contexts of order k, and the children of context row ``r`` are the contiguous key
range ``[r * V, r * V + V)``. Every prefix and suffix of a stored k-gram is stored too.

Smoothing moves probability mass from seen to unseen continuations:

* ``kn``: interpolated *modified* Kneser-Ney (Chen & Goodman 1998). Three discounts D1, D2, D3+ per order
  come from count-of-counts; the highest order counts n-grams, lower orders count continuations
  N1+(. h w), the number of distinct tokens seen before ``h w`` (a word seen after many contexts is a likely
  novel continuation; "Francisco" is frequent but only after "San"). The unigram level interpolates with
  uniform 1/V, so a token never seen in training still gets probability.
* ``backoff``: absolute-discounting backoff (Ney, Essen & Kneser 1994), raw counts at every order: a seen
  k-gram gets (c(h w) - D) / c(h); an unseen one gets alpha(h) * P(w | h minus its first token), with
  alpha(h) = (mass freed by discounting) / (lower-order mass of the unseen words), so each distribution
  sums to 1 (unlike "stupid backoff"). Its unigram level is the same discounted unigram mixed with 1/V.
* ``add-k``: (c(h w) + k) / (c(h) + k V) for the longest context h seen in training (k = 1 is Laplace,
  other k Lidstone). A context never seen in training says nothing about what follows it, so its longest
  seen suffix is used instead, down to the unigram add-k distribution (h empty, c(h) = training tokens).
* ``mle``: no smoothing, c(h w) / c(h) (add-k with k = 0) for the longest context seen in training. A word
  never seen after h gets probability zero, so one such test token makes perplexity infinite: the
  lecture's first sparsity problem, kept visible on purpose. Sampling from it only ever writes n-grams it
  has seen.

kn and backoff are stored exactly as an ARPA file stores them: per k-gram its full probability P(w | h)
and per context its backoff weight gamma(h), so that P(w | h) = P(h w) when ``h w`` is stored and
gamma(h) * P(w | h[1:]) otherwise. For interpolated KN, gamma(h) is the interpolation weight of the lower
order, so this is exact. Scoring, generation and ARPA export share this one form.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lmtui.models import MAX_K, SMOOTHINGS, LanguageModel, ModelConfig

MAX_ORDER = 6
# KenLM's --discount_fallback: used when count-of-counts are too thin to estimate discounts (tiny corpora).
KN_FALLBACK = (0.5, 1.0, 1.5)
BACKOFF_FALLBACK = 0.5
LN10 = math.log(10.0)
COUNTING = ("add-k", "mle")  # smoothings stored as plain counts, scored from them at query time
NARROW_KEYS = 2**32  # n-gram keys below this are sorted packed with their positions (see _group)

State = tuple[int, ...]
# What a loaded table may hold (from_tensors): a stored log-probability may pass 0 by rounding, never more;
# each context's probabilities sum to 1 within MASS_TOL, a backoff weight stays below e^LOGBOW_MAX (e^700
# would overflow a float), and counts stay within a float's exact integers.
LOGP_TOL = 1e-9
MASS_TOL = 1e-6
LOGBOW_MAX = 700.0
MAX_TOTAL = 2.0**53
_SUM_EPS = 2.0**-52  # a sum's relative rounding per term added


def kn_discounts(counts: np.ndarray) -> np.ndarray:
    """Modified-KN discounts (D1, D2, D3+) for one order from its count-of-counts n1..n4.

    Y = n1 / (n1 + 2 n2) and Dj = j - (j + 1) Y n_{j+1} / n_j (Chen & Goodman). Each Dj must lie in (0, j) so
    that every seen n-gram keeps some mass and some mass is freed; otherwise the whole order falls back.
    """
    n = np.bincount(counts[(counts >= 1) & (counts <= 4)], minlength=5)[1:5].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n[0] / (n[0] + 2 * n[1])
        d = np.array([j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3)])
    ok = bool(np.all(np.isfinite(d)) and np.all(d > 0) and np.all(d < [1, 2, 3]))
    return d if ok else np.array(KN_FALLBACK)


def absolute_discount(counts: np.ndarray) -> float:
    """One discount D = n1 / (n1 + 2 n2) (Ney et al.'s estimate), or 0.5 when that is not in (0, 1)."""
    n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    d = n1 / (n1 + 2 * n2) if n1 + n2 else 0.0
    return d if 0 < d < 1 else BACKOFF_FALLBACK


def _find(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Row of each query in the sorted key table, -1 where absent (negative queries are always absent).

    The queries are looked up in sorted order: successive binary searches then touch nearby memory, which
    is about 5x faster than random order on millions of queries, sort included.
    """
    out = np.full(len(query), -1, dtype=np.int64)
    if len(keys) == 0:
        return out
    order = np.argsort(query)
    q = query[order]
    row = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
    out[order] = np.where((keys[row] == q) & (q >= 0), row, -1)
    return out


def _check_config(config: ModelConfig, vocab_size: int) -> None:
    if not isinstance(config.order, int) or not 1 <= config.order <= MAX_ORDER:
        raise ValueError(f"n-gram order must be 1..{MAX_ORDER}, got {config.order!r}")
    if config.smoothing not in SMOOTHINGS:
        raise ValueError(f"unknown smoothing {config.smoothing!r}; choose one of {', '.join(SMOOTHINGS)}")
    if config.smoothing == "add-k" and not (math.isfinite(config.k) and 0 < config.k <= MAX_K):
        raise ValueError(f"add-k needs k > 0 and at most {MAX_K:g}, got {config.k!r}")
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")


def _check_counts(arrays: dict[str, np.ndarray], n: int, what: str) -> None:
    """Counts as a text gives them: none negative, every stored k-gram (k >= 2) seen, and each order's total
    within a float's exact integers (scoring sums them as floats; an int64 sum could wrap)."""
    for k in range(1, n + 1):
        count = arrays[f"count_{k}"]
        if count.size and (count.min() < (1 if k > 1 else 0) or count.astype(np.float64).sum() > MAX_TOTAL):
            low = "at least 1 (a stored n-gram was seen)" if k > 1 else "non-negative"
            raise ValueError(f"{what}: count_{k} must be {low}, totalling at most 2**53")


def _check_tables(arrays: dict[str, np.ndarray], n: int, v: int, kn: bool, what: str) -> None:
    """The backoff tables make sense: log-probabilities finite and <= 0, backoff weights finite (KN's are
    interpolation weights, <= 1), discounts in [0, 3], and every context's distribution sums to one.

    A context h's distribution is its stored children's P(w | h) plus gamma(h) times the lower order's mass
    on every other word, 1 - (the lower order's mass on h's children); each child's suffix is stored too, so
    that mass is one lookup per n-gram (vectorised: one ``_find`` per order). The sum ``1 - mass`` loses
    digits when the children hold nearly all of it, so the check allows its rounding (``_SUM_EPS`` per
    child) times gamma: a weight no larger than the rounding allows is caught, however it was made."""
    for k in range(1, n + 1):
        logp = arrays[f"logp_{k}"]
        if logp.size and not (np.isfinite(logp).all() and logp.max() <= LOGP_TOL):
            raise ValueError(f"{what}: logp_{k} must hold finite log-probabilities, at most 0")
    for k in range(1, n):
        logbow, most = arrays[f"logbow_{k}"], LOGP_TOL if kn else LOGBOW_MAX
        if logbow.size and not (np.isfinite(logbow).all() and logbow.max() <= most):
            limit = "at most 0 (KN's are interpolation weights)" if kn else f"at most {LOGBOW_MAX}"
            raise ValueError(f"{what}: logbow_{k} must hold finite log backoff weights, {limit}")
    discounts = arrays["discounts"]
    if not (np.isfinite(discounts).all() and (discounts >= 0).all() and (discounts <= 3).all()):
        raise ValueError(f"{what}: discounts must lie in [0, 3]")
    if abs(math.fsum(np.exp(arrays["logp_1"]).tolist()) - 1) > MASS_TOL:
        raise ValueError(f"{what}: the unigram probabilities (logp_1) must sum to 1")
    suffix = np.zeros(0, dtype=np.int64)
    for k in range(2, n + 1):
        keys = arrays[f"keys_{k}"]
        prefix, last = keys // v, keys % v
        if k == 2:
            suffix = last  # an order-1 row is its token
        else:
            # searched as they come: in key order they are nearly sorted already (_find's sort costs more)
            table, query = arrays[f"keys_{k - 1}"], suffix[prefix] * v + last
            suffix = np.minimum(np.searchsorted(table, query), max(len(table) - 1, 0))
            if len(query) and (not len(table) or (table[suffix] != query).any()):
                raise ValueError(f"{what}: keys_{k} holds an n-gram whose suffix is not stored")
        n_ctx = len(arrays[f"logbow_{k - 1}"])
        stored = np.bincount(prefix, weights=np.exp(arrays[f"logp_{k}"]), minlength=n_ctx)
        lower = np.bincount(prefix, weights=np.exp(arrays[f"logp_{k - 1}"][suffix]), minlength=n_ctx)
        rounding = _SUM_EPS * (np.bincount(prefix, minlength=n_ctx) + 2)
        gamma = np.exp(arrays[f"logbow_{k - 1}"])
        rest = np.maximum(1.0 - lower, 0.0)
        total = stored + gamma * (rest + rounding)  # at least the true sum: no word can get more than this
        wrong = np.abs(total - 1) > MASS_TOL
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            raise ValueError(
                f"{what}: the order-{k} probabilities after context {bad} sum to {total[bad]:.6g}, not 1 "
                f"(logp_{k}, logbow_{k - 1})"
            )


def _group(keys: np.ndarray, inverse: bool = True) -> tuple[np.ndarray, ...]:
    """The distinct keys of non-negative int64 ``keys`` (sorted, int64), how often each occurs, one position
    where each occurs and, with ``inverse``, the row of every position's key: ``np.unique`` with counts and
    inverse, plus the positions. When keys and positions both fit in 32 bits (a 2M-token trigram's do), each
    is packed into one uint64, key high and position low, and sorted with ``np.sort``, several times quicker
    than the argsort inside ``np.unique``; wider keys are argsorted."""
    n = len(keys)
    if n and keys.max() < NARROW_KEYS and n <= NARROW_KEYS:
        packed = keys.astype(np.uint64) << np.uint64(32)
        packed |= np.arange(n, dtype=np.uint64)
        packed.sort()
        order = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
        packed >>= np.uint64(32)
        sorted_keys = packed.view(np.int64)  # the keys, below 2**32
    else:
        order = np.argsort(keys)
        sorted_keys = keys[order]
    starts = np.empty(n, dtype=bool)
    starts[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts[1:])
    firsts = np.flatnonzero(starts)
    found = (sorted_keys[firsts], np.diff(firsts, append=n).astype(np.int64), order[firsts])
    if not inverse:
        return found
    rows = np.empty(n, dtype=np.int64)
    rows[order] = np.cumsum(starts) - 1
    return (*found, rows)


def _check_tokens(tokens: np.ndarray, vocab_size: int) -> np.ndarray:
    tokens = np.asarray(tokens)
    if tokens.ndim != 1 or (tokens.size and tokens.dtype.kind not in "iu"):
        raise ValueError("tokens must be a 1-D integer array")
    tokens = tokens.astype(np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size})")
    return tokens


class NgramModel(LanguageModel):
    """An order-n count model; ``tensors()`` is all of it (keys, counts and, for kn/backoff, log-probs)."""

    def __init__(self, config: ModelConfig, vocab_size: int, tensors: dict[str, np.ndarray]) -> None:
        self.config, self.vocab_size, self.order = config, vocab_size, config.order
        self._tensors = tensors
        n, v = self.order, vocab_size
        self.counts = [tensors[f"count_{k}"] for k in range(1, n + 1)]
        self.keys = [np.arange(v, dtype=np.int64)] + [tensors[f"keys_{k}"] for k in range(2, n + 1)]
        self._counting = config.smoothing in COUNTING
        self._k = 0.0 if config.smoothing == "mle" else float(config.k)
        if not self.counts[0].any():
            self._k = 1.0  # nothing counted at all: uniform is the only estimate (mle would be 0 / 0)
        if self._counting:
            # c(h) of each context = sum of its children's counts (not h's own count: h may end the text).
            self.context_total = [np.array([float(self.counts[0].sum())])] + [
                np.bincount(self.keys[m] // v, weights=self.counts[m], minlength=len(self.keys[m - 1]))
                for m in range(1, n)
            ]
        else:
            self.logp = [tensors[f"logp_{k}"] for k in range(1, n + 1)]
            self.logbow = [tensors[f"logbow_{k}"] for k in range(1, n)]
            self.discounts = tensors["discounts"]

    @classmethod
    def fit(cls, tokens: np.ndarray, vocab_size: int, config: ModelConfig) -> NgramModel:
        """Count every k-gram (k = 1..n) of ``tokens`` and turn the counts into smoothed probabilities."""
        _check_config(config, vocab_size)
        t, n, v = _check_tokens(tokens, vocab_size), config.order, vocab_size
        if len(t) * v >= 2**62:
            raise ValueError("corpus too large for int64 n-gram keys")
        counts = [np.bincount(t, minlength=v).astype(np.int64)]
        keys = [np.arange(v, dtype=np.int64)]
        suffix: list[np.ndarray] = []  # per order >= 2: row of each k-gram's last k-1 tokens
        rows = t  # rows[j] = row of the k-gram that starts at position j
        for k in range(2, n + 1):
            # the top order's rows are never needed: only its keys, counts and suffixes
            key, count, where, *inverse = _group(rows[:-1] * v + t[len(t) - len(rows) + 1 :], k < n)
            keys.append(key)
            counts.append(count)
            suffix.append(rows[1:][where])  # the k-gram's last k-1 tokens: the same for every occurrence
            rows = inverse[0] if inverse else rows
        tensors = {f"count_{k + 1}": c for k, c in enumerate(counts)}
        tensors |= {f"keys_{k + 1}": keys[k] for k in range(1, n)}
        if config.smoothing not in COUNTING:
            tensors |= _discounted(config.smoothing, counts, keys, suffix, v)
        return cls(config, vocab_size, tensors)

    @classmethod
    def from_tensors(cls, config: ModelConfig, vocab_size: int, tensors: dict[str, np.ndarray]) -> NgramModel:
        _check_config(config, vocab_size)
        n, v = config.order, vocab_size
        sizes = [v] + [len(np.asarray(tensors.get(f"keys_{k}", []))) for k in range(2, n + 1)]
        want: dict[str, tuple[str, tuple[int, ...]]] = {
            f"count_{k}": ("int64", (sizes[k - 1],)) for k in range(1, n + 1)
        }
        want |= {f"keys_{k}": ("int64", (sizes[k - 1],)) for k in range(2, n + 1)}
        if config.smoothing not in COUNTING:
            want |= {f"logp_{k}": ("float64", (sizes[k - 1],)) for k in range(1, n + 1)}
            want |= {f"logbow_{k}": ("float64", (sizes[k - 1],)) for k in range(1, n)}
            want["discounts"] = ("float64", (n, 3))
        what = f"order-{n} {config.smoothing} n-gram model"
        if missing := sorted(want.keys() - tensors.keys()):
            raise ValueError(f"{what}: tensors missing: {', '.join(missing)}")
        if extra := sorted(tensors.keys() - want.keys()):
            raise ValueError(f"{what}: unexpected tensors {', '.join(extra)} (another order or smoothing?)")
        arrays = {name: np.ascontiguousarray(tensors[name]) for name in want}
        for name, (dtype, shape) in want.items():
            if arrays[name].dtype != dtype or arrays[name].shape != shape:
                raise ValueError(
                    f"{what}: tensor {name} is {arrays[name].dtype}{list(arrays[name].shape)}, "
                    f"expected {dtype}{list(shape)}"
                )
        for k in range(2, n + 1):
            key = arrays[f"keys_{k}"]
            if len(key) and (np.any(np.diff(key) <= 0) or key[0] < 0 or key[-1] >= sizes[k - 2] * v):
                raise ValueError(f"{what}: keys_{k} must be strictly increasing in [0, {sizes[k - 2] * v})")
        _check_counts(arrays, n, what)
        if config.smoothing not in COUNTING:
            _check_tables(arrays, n, v, config.smoothing == "kn", what)
        return cls(config, vocab_size, arrays)

    # -- scoring ------------------------------------------------------------------------------------------

    def _rows(self, tokens: np.ndarray) -> list[np.ndarray]:
        """rows[k-1][i] = row of the k-gram ending at position i; -1 if not stored or it starts before 0."""
        rows = [tokens]
        for k in range(2, self.order + 1):
            prev, row = rows[-1], np.full(len(tokens), -1, dtype=np.int64)
            row[1:] = _find(
                self.keys[k - 1], np.where(prev[:-1] >= 0, prev[:-1] * self.vocab_size + tokens[1:], -1)
            )
            rows.append(row)
        return rows

    def token_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """Natural log P(tokens[i] | tokens[max(0, i-n+1):i]) for i = 1..len-1, all positions at once."""
        t = _check_tokens(tokens, self.vocab_size)
        if len(t) < 2:
            return np.zeros(0)
        rows, n = self._rows(t), self.order
        if self._counting:
            # Longest seen context wins: later (longer) orders overwrite where their context was seen.
            total = np.full(len(t) - 1, self.context_total[0][0])
            count = self.counts[0][t[1:]].astype(np.float64)
            for m in range(1, n):
                ctx, gram = rows[m - 1][:-1], rows[m][1:]
                seen = ctx >= 0
                seen[seen] = self.context_total[m][ctx[seen]] > 0
                total[seen] = self.context_total[m][ctx[seen]]
                count[seen] = np.where(gram[seen] >= 0, self.counts[m][np.maximum(gram[seen], 0)], 0)
            with np.errstate(divide="ignore"):  # mle: an unseen continuation has log 0 = -inf
                # in logs, so that a tiny k's share of a large total does not underflow to probability 0
                return np.log(count + self._k) - np.log(total + self._k * self.vocab_size)
        # Backoff: take the longest stored k-gram's log P, plus log gamma of every longer context passed over.
        out, done = np.zeros(len(t) - 1), np.zeros(len(t) - 1, dtype=bool)
        for k in range(n, 0, -1):
            gram = rows[k - 1][1:]
            hit = ~done & (gram >= 0)
            out[hit] += self.logp[k - 1][gram[hit]]
            done |= hit
            if k > 1:
                ctx = rows[k - 2][:-1]
                miss = ~done & (ctx >= 0)
                out[miss] += self.logbow[k - 2][ctx[miss]]
        return out

    def nll(self, tokens: np.ndarray) -> tuple[float, int]:
        return float(-self.token_log_probs(tokens).sum()), max(len(tokens) - 1, 0)

    def _row(self, gram: State) -> int:
        """Row of one k-gram in its order's table, -1 when it was never seen."""
        row = gram[0]
        for k, token in enumerate(gram[1:], start=1):
            i = int(np.searchsorted(self.keys[k], row * self.vocab_size + token))
            if i == len(self.keys[k]) or self.keys[k][i] != row * self.vocab_size + token:
                return -1
            row = i
        return row

    def _children(self, m: int, row: int) -> slice:
        """Entries of the order m+1 table whose first m tokens are context ``row`` of order m."""
        lo, hi = np.searchsorted(self.keys[m], [row * self.vocab_size, (row + 1) * self.vocab_size])
        return slice(int(lo), int(hi))

    def _seen_context(self, state: State) -> tuple[int, int]:
        """(m, row): the longest context of ``state``, m tokens, seen followed by something in training."""
        m, row = 0, 0
        for m in range(len(state), -1, -1):
            row = self._row(state[-m:]) if m else 0
            if row >= 0 and self.context_total[m][row] > 0:
                break
        return m, row

    def _log_probs(self, state: State) -> np.ndarray:
        v = self.vocab_size
        if self._counting:
            m, row = self._seen_context(state)  # add-k and mle use the longest context seen in training
            count = np.zeros(v)
            s = self._children(m, row) if m else slice(0, v)
            count[self.keys[m][s] % v] = self.counts[m][s]
            with np.errstate(divide="ignore"):
                return np.log(count + self._k) - math.log(self.context_total[m][row] + self._k * v)
        logp = self.logp[0].copy()
        for m in range(1, len(state) + 1):  # P(.|h) = gamma(h) P(.|h[1:]), overwritten where h w is stored
            row = self._row(state[-m:])
            if row < 0:
                break  # a longer context holds this one as its suffix, so it is absent too
            s = self._children(m, row)
            logp += self.logbow[m - 1][row]
            logp[self.keys[m][s] % v] = self.logp[m][s]
        return logp

    def shorter_contexts(self, state: State) -> Iterator[tuple[int, np.ndarray]]:
        """(order, log-probs) of ever shorter contexts than the one ``state`` uses, down to the unigram.

        Sampling falls back on these where a context leaves nothing to draw: an mle context seen in training
        only before <unk>, once samples leave <unk> out. (kn, backoff and add-k give every token some
        probability, so they never need it.)"""
        used = self._seen_context(state)[0] if self._counting else len(state)
        for m in range(used - 1, -1, -1):
            yield m + 1, self._log_probs(state[len(state) - m :])

    def start(self, context: np.ndarray) -> tuple[State, np.ndarray]:
        t = _check_tokens(context, self.vocab_size)
        if len(t) == 0:
            raise ValueError("context must be non-empty")
        state = tuple(int(x) for x in t[1 - self.order :]) if self.order > 1 else ()
        return state, self._log_probs(state)

    def advance(self, state: State, token: int) -> tuple[State, np.ndarray]:
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"token id {token} outside [0, {self.vocab_size})")
        state = (*state, int(token))[1 - self.order :] if self.order > 1 else ()
        return state, self._log_probs(state)

    # -- size and storage ---------------------------------------------------------------------------------

    def counts_per_order(self) -> list[int]:
        """Distinct n-grams seen in training, per order 1..n."""
        return [int(np.count_nonzero(self.counts[0]))] + [len(k) for k in self.keys[1:]]

    def num_parameters(self) -> int:
        return self.vocab_size + sum(len(k) for k in self.keys[1:])

    def size_bytes(self) -> int:
        return sum(a.nbytes for a in self._tensors.values())

    def tensors(self) -> dict[str, np.ndarray]:
        return dict(self._tensors)

    def write_arpa(self, path: str | Path, token_names: list[str], newline: int | None = None) -> None:
        """Write the model as an ARPA backoff file (log10 probabilities and backoff weights).

        Each stored k-gram gets its smoothed log10 P(w | h) and, below order n, log10 gamma(h w); a backoff
        reader (KenLM, SRILM) then reproduces ``token_log_probs`` (KenLM to ~1e-6, its float32).

        With ``newline`` (the newline token's id), lines are sentences, as KenLM and SRILM read a text: the
        newline is written ``</s>`` where it is predicted (an n-gram's last token) and ``<s>`` where it
        starts a context (its first), and n-grams with a newline inside, which no sentence-per-line query
        can reach, are left out. ``<s>`` gets log10 probability -99 (never predicted) and the newline's
        backoff weight. A bigram model then scores a sentence-per-line file exactly as lmtui scores the text;
        a higher order differs only where lmtui's context reaches back across a line break. Without a
        newline token, ``<s>`` and ``</s>`` are added at -99 (KenLM requires them): score with
        ``bos=False, eos=False`` to match lmtui. KenLM itself reads only order >= 2. add-k has no backoff
        form (an unseen word's k / (c(h) + kV) is not a weight times a lower-order distribution), so it
        raises ValueError; so does mle, whose unseen words have probability 0 (log 0 has no ARPA form).
        """
        if self.config.smoothing == "mle":
            raise ValueError(
                "ARPA cannot hold an unsmoothed (mle) model: words never seen after a context have "
                "probability 0, and log 0 has no ARPA form; train with --smoothing kn or backoff to export"
            )
        if self.config.smoothing == "add-k":
            raise ValueError("ARPA export supports kn and backoff smoothing")
        v = self.vocab_size
        if len(token_names) != v or len(set(token_names)) != v:
            raise ValueError(f"need {v} distinct token names, got {len(set(token_names))} distinct")
        if newline is not None and not 0 <= newline < v:
            raise ValueError(f"newline id {newline} is outside the vocabulary")
        grams = [np.arange(v)[:, None]]  # token ids of each stored k-gram, rebuilt from the keys
        for k in range(1, self.order):
            grams.append(np.column_stack([grams[-1][self.keys[k] // v], self.keys[k] % v]))
        rows = [np.arange(len(g)) for g in grams]  # which of each order's k-grams are written
        words = np.array(token_names, dtype=object)
        if newline is not None:
            rows = [r[~(g[:, 1:-1] == newline).any(axis=1)] for r, g in zip(rows, grams, strict=True)]
        markers = [m for m in ("<s>", "</s>") if m not in set(token_names)] if newline is None else []
        with open(path, "w", encoding="utf-8") as f:
            f.write("\\data\\\n")
            f.write(f"ngram 1={v + len(markers) + (newline is not None)}\n")
            f.writelines(f"ngram {k + 1}={len(rows[k])}\n" for k in range(1, self.order))
            for k in range(self.order):
                f.write(f"\n\\{k + 1}-grams:\n")
                ids = grams[k][rows[k]]
                names = words[ids]
                if newline is not None:
                    names[:, -1] = np.where(ids[:, -1] == newline, "</s>", names[:, -1])
                    if k:
                        names[:, 0] = np.where(ids[:, 0] == newline, "<s>", names[:, 0])
                lines = (" ".join(g) for g in names)
                logp = (self.logp[k][rows[k]] / LN10).tolist()
                if k + 1 < self.order:
                    bow = (self.logbow[k][rows[k]] / LN10).tolist()
                    if newline is not None and k == 0:
                        f.write(f"-99\t<s>\t{bow[newline]:.7f}\n")
                        bow[newline] = 0.0  # </s> is never a context
                    f.writelines(f"{p:.7f}\t{w}\t{b:.7f}\n" for p, w, b in zip(logp, lines, bow, strict=True))
                    f.writelines(f"-99\t{m}\t0\n" for m in markers if k == 0)
                else:
                    if newline is not None and k == 0:
                        f.write("-99\t<s>\n")
                    f.writelines(f"{p:.7f}\t{w}\n" for p, w in zip(logp, lines, strict=True))
                    f.writelines(f"-99\t{m}\n" for m in markers if k == 0)
            f.write("\n\\end\\\n")


def _discounted(
    smoothing: str, counts: list[np.ndarray], keys: list[np.ndarray], suffix: list[np.ndarray], v: int
) -> dict[str, np.ndarray]:
    """Turn counts into backoff-form tables: log P(w | h) per stored k-gram, log gamma(h) per context.

    Order by order from unigrams up, each level is max(a - D(a), 0) / a(h) plus gamma(h) times the level
    below, where a are counts (continuation counts below order n for KN) and a(h) = sum of a over h's
    children. KN interpolates (gamma(h) = freed mass / a(h), applied to all words); backoff only gives the
    freed mass to unseen words, rescaled by the lower order's mass on them. A k-gram seen only at the very
    start of the text has no left extension, so its KN continuation count is 0: it stays stored (prefixes
    and suffixes must be) and simply gets gamma(h) times the lower order.
    """
    n = len(counts)
    kn = smoothing == "kn"
    # KN's adjusted counts: below the top order, N1+(. g) = number of distinct left extensions of g.
    adj = counts
    if kn:
        adj = [np.bincount(suffix[k], minlength=len(keys[k])) for k in range(n - 1)] + [counts[-1]]
    logp, logbow, discounts = [], [], []
    p = lower = np.full(v, 1.0 / v)  # order 0: uniform over the vocabulary
    for k in range(n):
        a = adj[k].astype(np.float64)
        if kn:
            d3 = kn_discounts(adj[k])
            d = np.where(a > 0, d3[np.clip(adj[k], 1, 3) - 1], 0.0)
        else:
            d3 = np.full(3, absolute_discount(adj[k]))
            d = np.where(a > 0, d3[0], 0.0)
        discounts.append(d3)
        if k == 0:
            prefix, n_ctx = np.zeros(v, dtype=np.int64), 1
        else:
            prefix, n_ctx = keys[k] // v, len(keys[k - 1])
            lower = p[suffix[k - 1]]  # P(w | h[1:]) of the same k-gram, already smoothed
        if not kn and k > 0:
            # A context followed by every vocabulary token has no unseen word to give mass to: no discount.
            d[(np.bincount(prefix, minlength=n_ctx) == v)[prefix]] = 0.0
        total = np.bincount(prefix, weights=a, minlength=n_ctx)  # a(h)
        freed = np.bincount(prefix, weights=d, minlength=n_ctx)  # sum of D(a) over h's children
        share = np.divide(freed, total, out=np.zeros(n_ctx), where=total > 0)  # mass left for lower order
        direct = np.divide(a - d, total[prefix], out=np.zeros(len(a)), where=total[prefix] > 0)
        if kn or k == 0:
            gamma = np.where(total > 0, share, 1.0)
            p = direct + gamma[prefix] * lower
        else:
            # Katz-style weight: the freed mass spread over unseen words in proportion to the lower order.
            unseen = 1.0 - np.bincount(prefix, weights=lower, minlength=n_ctx)
            gamma = np.divide(share, unseen, out=np.ones(n_ctx), where=share > 0)
            p = np.where(a > 0, direct, gamma[prefix] * lower)
        logp.append(np.log(p))
        if k > 0:
            logbow.append(np.log(gamma))
    tables = {f"logp_{k + 1}": lp for k, lp in enumerate(logp)}
    tables |= {f"logbow_{k + 1}": lb for k, lb in enumerate(logbow)}
    return tables | {"discounts": np.array(discounts)}
