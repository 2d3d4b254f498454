"""Neural language models in torch: the fixed-window LM and the recurrent LM (rnn / lstm / gru).

Both nets share one forward signature, ``net(x, state) -> (logits, state)``, so one truncated-BPTT training
loop drives them all: a recurrent net's state is its hidden state; the window net's "state" is just the last
few tokens it saw, which is all the context a fixed-window model ever has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lmtui.models import LanguageModel, ModelConfig, adaptive_cutoffs

State = Any  # a tensor, an (h, c) pair, or None
EVAL_LOGITS = 1 << 24  # logits held at once while scoring (64 MB of float32), whatever the vocabulary


def output_layer(config: ModelConfig, width: int, vocab_size: int) -> nn.Module:
    """The layer from the net's last hidden vector to next-token scores.

    ``full``: one linear layer and a softmax over the whole vocabulary, paid on every token. ``adaptive``
    (Grave et al. 2017): a softmax over the frequent words and one entry per cluster of rarer words; a
    cluster's own, narrower softmax is computed only for the tokens that fall in it. Both are exact,
    normalised distributions; the adaptive one costs a word-level step about a quarter as much."""
    if config.softmax == "adaptive":
        if vocab_size < 2:
            raise ValueError("the adaptive softmax needs a vocabulary of at least two tokens")
        cutoffs = adaptive_cutoffs(vocab_size, width)
        return nn.AdaptiveLogSoftmaxWithLoss(width, vocab_size, cutoffs, div_value=4.0, head_bias=True)
    return nn.Linear(width, vocab_size)


class OutputNet(nn.Module):
    """What every net shares past its hidden vectors: ``features`` gives them, ``out`` scores them.

    ``forward`` returns scores whose log-softmax is the exact next-token distribution (the adaptive layer's
    are log-probabilities already, which a log-softmax leaves as they are), so sampling with a temperature,
    the next-token panel and explain read every net alike; training and scoring call ``target_log_probs``,
    which for the adaptive layer never builds the whole distribution."""

    out: nn.Module

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def log_probs(self, h: torch.Tensor) -> torch.Tensor:
        """Next-token scores for hidden vectors ``h`` [..., H]: logits, or log-probabilities (adaptive)."""
        if isinstance(self.out, nn.AdaptiveLogSoftmaxWithLoss):
            with _full_precision(h):
                flat = self.out.log_prob(h.reshape(-1, h.shape[-1]).float())
            return flat.view(*h.shape[:-1], -1)
        return self.out(h)

    def target_log_probs(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(y) for each position, exact and float32 ([...] like ``y``)."""
        flat_h, flat_y = h.reshape(-1, h.shape[-1]), y.reshape(-1)
        if isinstance(self.out, nn.AdaptiveLogSoftmaxWithLoss):
            with _full_precision(h):
                logp = self.out(flat_h.float(), flat_y).output
        else:
            logp = -F.cross_entropy(self.out(flat_h).float(), flat_y, reduction="none")
        return logp.view(y.shape)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.features(x, state)
        return self.log_probs(h), state

    @torch.no_grad()
    def start_from_unigram(self, counts: np.ndarray) -> None:
        """Set the output biases to the log unigram frequencies of the training text (add-one): before its
        first update the net predicts as well as counting single tokens does, so its updates go to what the
        context adds rather than to learning which tokens are common (with a 10,000-word vocabulary the
        first hundreds of updates went there)."""
        logp = np.log((np.asarray(counts, dtype=np.float64) + 1.0) / (np.sum(counts) + len(counts)))
        if isinstance(self.out, nn.AdaptiveLogSoftmaxWithLoss):
            cuts = self.out.cutoffs
            shortlist = cuts[0]
            mass = [np.logaddexp.reduce(logp[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            bias = np.concatenate([logp[:shortlist], mass])
            self.out.head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        elif isinstance(self.out, nn.Linear):
            self.out.bias.copy_(torch.as_tensor(logp, dtype=torch.float32))


def _full_precision(h: torch.Tensor) -> Any:
    """The adaptive layer runs outside bfloat16 autocast: torch's module mixes the two dtypes and fails."""
    return torch.autocast(h.device.type, enabled=False)


class WindowNet(OutputNet):
    """Bengio et al. (2003): embeddings of the last n tokens, concatenated -> tanh hidden layer -> softmax."""

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        self.n = config.context
        self.pad = vocab_size  # an extra embedding row stands for "before the start of the text"
        self.emb = nn.Embedding(vocab_size + 1, config.embed)
        self.hidden = nn.Linear(self.n * config.embed, config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.out = output_layer(config, config.hidden, vocab_size)

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        batch, steps = x.shape
        if state is None:
            state = torch.full((batch, self.n), self.pad, dtype=x.dtype, device=x.device)
        full = torch.cat([state, x], dim=1)
        windows = full.unfold(1, self.n, 1)[:, 1:]  # [B, T, n]: the n tokens up to and including x[t]
        h = torch.tanh(self.hidden(self.emb(windows).flatten(2)))
        return self.drop(h), full[:, -self.n :]


class RecurrentNet(OutputNet):
    """Embedding -> stacked rnn/lstm/gru -> linear; the output layer may share the embedding's weights."""

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        if config.tie_weights and config.embed != config.hidden:
            raise ValueError("weight tying needs the embedding size to equal the hidden size")
        if config.tie_weights and config.softmax != "full":
            raise ValueError("weight tying needs the full softmax")
        self.emb = nn.Embedding(vocab_size, config.embed)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = self.CELLS[config.model](
            config.embed,
            config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.out = output_layer(config, config.hidden, vocab_size)
        if config.tie_weights:
            self.out.weight = self.emb.weight

    def features(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.rnn(self.drop(self.emb(x)), state)
        return self.drop(h), state


def as_float32(state: State) -> State:
    """A state computed under bfloat16 autocast, as float32 again: carried and checkpointed like any other."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.float() for s in state)
    return state if not state.is_floating_point() else state.float()


def detach_state(state: State) -> State:
    """Cut the graph at a truncation point: gradients stop here, the values carry on (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class NeuralModel(LanguageModel):
    """A torch net behind the LanguageModel interface."""

    net_class: type[OutputNet] = OutputNet
    net: OutputNet

    def __init__(self, config: ModelConfig, vocab_size: int, device: str = "cpu"):
        self.config = config
        self.vocab_size = vocab_size
        self.device = torch.device(device)
        self.net = self.net_class(config, vocab_size).to(self.device)

    # -- incremental use: sampling and the next-token panel
    # One token through torch costs ~0.5 ms of dispatch overhead, so single steps run in numpy on the net's
    # own weights (float32, like the net; log-softmax in float64, like ``_run``). ``start`` reads a long
    # context through torch in one call and hands its state over; states here are numpy arrays.
    SHORT_CONTEXT = 64  # contexts up to this long are read token by token in numpy (no torch call at all)

    @torch.no_grad()
    def _run(self, ids: np.ndarray | list[int], state: State) -> tuple[State, np.ndarray]:
        self.net.eval()
        x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=self.device).view(1, -1)
        logits, state = self.net(x, state)
        logp = F.log_softmax(logits[0, -1].double(), dim=-1)
        return state, logp.cpu().numpy()

    def _weights(self) -> _StepWeights:
        """numpy copies of the weights, rebuilt only when a parameter changed (training updates in place)."""
        params = getattr(self, "_params", None)
        if params is None:
            params = self._params = list(self.net.parameters())
        key = tuple([(p.data_ptr(), p._version) for p in params])
        cached = getattr(self, "_step_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self._step_weights())
            self._step_cache = cached
        return cached[1]

    def _step_weights(self) -> _StepWeights:
        raise NotImplementedError

    def start(self, context: np.ndarray) -> tuple[State, np.ndarray]:
        return self._run(context, None)

    def advance(self, state: State, token: int) -> tuple[State, np.ndarray]:
        return self._run([token], state)

    # -- scoring
    @torch.no_grad()
    def _stream_log_probs(self, tokens: np.ndarray, chunk: int = 256) -> Iterator[torch.Tensor]:
        """log p of every token after the first, read as parallel streams carried chunk by chunk (state
        flows between chunks): [streams, chunk] pieces in stream order, then the few tokens left over.

        At most EVAL_LOGITS scores exist at once: a 100k-token vocabulary gets fewer, shorter chunks
        instead of a [64 x 256 x vocab] array of many gigabytes."""
        self.net.eval()
        n = len(tokens) - 1
        if n <= 0:
            return
        per_pass = max(1, EVAL_LOGITS // self.vocab_size)  # tokens scored per forward pass
        streams = max(1, min(64, n // chunk, per_pass))
        chunk = max(1, min(chunk, per_pass // streams))
        length = n // streams
        data = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=self.device)
        body = data[: streams * length + 1]
        x_all = body[:-1].view(streams, length)
        y_all = body[1:].view(streams, length)
        state: State = None
        for i in range(0, length, chunk):
            h, state = self.net.features(x_all[:, i : i + chunk].contiguous(), state)
            yield self.net.target_log_probs(h, y_all[:, i : i + chunk])
        if n - streams * length:  # the few tokens left over continue the last stream
            last = _select_stream(state, streams - 1)
            h, _ = self.net.features(data[streams * length : n].view(1, -1), last)
            yield self.net.target_log_probs(h, data[streams * length + 1 : n + 1].view(1, -1))

    def nll(self, tokens: np.ndarray, chunk: int = 256) -> tuple[float, int]:
        pieces = self._stream_log_probs(tokens, chunk)
        total = sum((piece.double().sum() for piece in pieces), torch.zeros((), dtype=torch.float64))
        return -float(total), max(len(tokens) - 1, 0)

    def token_log_probs(self, tokens: np.ndarray) -> np.ndarray:
        """log p of each token after the first, in text order (float64)."""
        pieces = list(self._stream_log_probs(tokens))
        if not pieces:
            return np.zeros(0)
        streams = pieces[0].shape[0]  # the body's pieces are [streams, chunk]; the leftover is [1, rest]
        parts = [torch.cat([p for p in pieces if p.shape[0] == streams], dim=1).flatten()]
        parts += [p.flatten() for p in pieces if p.shape[0] != streams]
        return torch.cat(parts).double().cpu().numpy()

    # -- size and persistence
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def size_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.net.parameters())

    def tensors(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().contiguous().numpy().copy() for k, v in self.net.state_dict().items()}

    @classmethod
    def from_tensors(
        cls, config: ModelConfig, vocab_size: int, tensors: dict[str, np.ndarray], device: str = "cpu"
    ) -> NeuralModel:
        model = cls(config, vocab_size, device)
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()}
        try:
            model.net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            detail = " ".join(line.strip() for line in first[1:3]) or first[0]
            raise ValueError(f"the weights do not fit the model's config: {detail}") from None
        return model


def _select_stream(state: State, index: int) -> State:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(_select_stream(s, index) for s in state)
    # recurrent hidden states are [layers, batch, hidden]; the window state is [batch, n]
    return state[:, index : index + 1].contiguous() if state.dim() == 3 else state[index : index + 1]


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().float().cpu().numpy())


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max()
    return z - np.log(np.exp(z).sum())


class _NumpyOutput:
    """The output layer in numpy, for one hidden vector: log-probabilities over the whole vocabulary.

    The full softmax is one product; the adaptive one is the head's log-softmax for the frequent words,
    and for each cluster its own log-softmax plus the head's log-probability of the cluster (exactly
    ``AdaptiveLogSoftmaxWithLoss.log_prob``). ``transposed`` keeps a matrix as [in, out], the faster
    layout for a row vector's product."""

    def __init__(self, out: nn.Module, transposed: bool = True):
        def lay(weight: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(_np(weight).T) if transposed else _np(weight)

        self.transposed = transposed
        if isinstance(out, nn.AdaptiveLogSoftmaxWithLoss):
            self.head = lay(out.head.weight)
            self.bias = _np(out.head.bias) if out.head.bias is not None else 0.0
            self.cutoffs = out.cutoffs
            self.tails = [(lay(tail[0].weight), lay(tail[1].weight)) for tail in out.tail]  # type: ignore[index]
        else:
            assert isinstance(out, nn.Linear)
            self.head, self.bias, self.cutoffs, self.tails = lay(out.weight), _np(out.bias), [], []

    def _product(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return x @ weight if self.transposed else weight @ x

    def __call__(self, x: np.ndarray) -> np.ndarray:
        head = _log_softmax(self._product(x, self.head) + self.bias)
        if not self.tails:
            return head
        shortlist = self.cutoffs[0]
        out = np.empty(self.cutoffs[-1])
        out[:shortlist] = head[:shortlist]
        for i, (proj, words) in enumerate(self.tails):
            tail = _log_softmax(self._product(self._product(x, proj), words))
            out[self.cutoffs[i] : self.cutoffs[i + 1]] = tail + head[shortlist + i]
        return out


# precompute per-token input projections when the table stays this small (elements): char vocabularies
_TABLE_LIMIT = 1 << 22


class _StepWeights:
    """The weights a single numpy step needs, laid out for it."""

    def __init__(self, **arrays: Any):
        self.__dict__.update(arrays)

    def __getattr__(self, name: str) -> Any:  # tells mypy the fields are the keywords above: any name
        raise AttributeError(name)


class WindowModel(NeuralModel):
    net_class = WindowNet
    net: WindowNet

    def _step_weights(self) -> _StepWeights:
        net = self.net
        n, emb = net.n, _np(net.emb.weight)  # [V+1, E]
        w_h, b_h = _np(net.hidden.weight), _np(net.hidden.bias)  # [H, n*E], [H]
        e = emb.shape[1]
        table = None
        if n * emb.shape[0] * w_h.shape[0] <= _TABLE_LIMIT:
            # table[p, tok] = emb[tok] @ W_h[:, p*E:(p+1)*E].T: a window's hidden input is a sum of n rows
            table = np.stack([emb @ w_h[:, p * e : (p + 1) * e].T for p in range(n)])
        return _StepWeights(
            n=n, emb=emb, w_h=w_h, b_h=b_h, table=table, out=_NumpyOutput(net.out, transposed=False)
        )

    def _step(self, w: _StepWeights, window: np.ndarray) -> np.ndarray:
        if w.table is not None:
            pre = w.table[np.arange(w.n), window].sum(axis=0) + w.b_h
        else:
            pre = w.w_h @ w.emb[window].reshape(-1) + w.b_h
        return w.out(np.tanh(pre))

    def start(self, context: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(context, dtype=np.int64).reshape(-1)
        w = self._weights()
        pad = np.full(w.n, self.vocab_size, dtype=np.int64)  # "before the start of the text"
        window = np.concatenate([pad, ids])[-w.n :]
        return window, self._step(w, window)

    def advance(self, state: State, token: int) -> tuple[State, np.ndarray]:
        w = self._weights()
        if isinstance(state, torch.Tensor):
            state = state.reshape(-1).cpu().numpy().astype(np.int64)
        window = np.empty(w.n, dtype=np.int64)
        window[:-1] = state[1:]
        window[-1] = token
        return window, self._step(w, window)


class RecurrentModel(NeuralModel):
    net_class = RecurrentNet
    net: RecurrentNet

    def _step_weights(self) -> _StepWeights:
        net, rnn = self.net, self.net.rnn
        kind, hs = self.config.model, self.config.hidden
        # A sigmoid is 0.5 tanh(x / 2) + 0.5: the sigmoid gates' rows are halved here (exact: a power of two)
        # so that one tanh over all gates serves them all. LSTM gates are (i, f, g, o), GRU's (r, z, n).
        scale = np.ones({"rnn": 1, "lstm": 4, "gru": 3}[kind] * hs, dtype=np.float32)
        if kind == "lstm":
            scale[: 2 * hs] = scale[3 * hs :] = 0.5
        elif kind == "gru":
            scale[: 2 * hs] = 0.5
        layers = []
        for i in range(rnn.num_layers):
            w_ih, w_hh = _np(getattr(rnn, f"weight_ih_l{i}")), _np(getattr(rnn, f"weight_hh_l{i}"))
            b_ih, b_hh = _np(getattr(rnn, f"bias_ih_l{i}")), _np(getattr(rnn, f"bias_hh_l{i}"))
            if kind != "gru":  # rnn/lstm add both biases; a GRU's candidate gate needs b_hn apart
                b_ih, b_hh = b_ih + b_hh, np.zeros_like(b_hh)
            # transposed ([in, gates]): a row vector times a C-ordered matrix is the faster product here
            layers.append(
                (
                    np.ascontiguousarray(w_ih.T * scale),
                    np.ascontiguousarray(w_hh.T * scale),
                    b_ih * scale,
                    b_hh * scale,
                )
            )
        emb = _np(net.emb.weight)
        w_ih0, _, b_ih0, _ = layers[0]
        # layer 0's input projection per token, when small: one row lookup instead of a matrix product
        table = emb @ w_ih0 + b_ih0 if emb.shape[0] * w_ih0.shape[1] <= _TABLE_LIMIT else None
        return _StepWeights(kind=kind, hs=hs, emb=emb, layers=layers, table=table, out=_NumpyOutput(net.out))

    def _step(self, w: _StepWeights, state: tuple[np.ndarray, ...], token: int) -> tuple[State, np.ndarray]:
        """One token through the stack; ``state`` is (h,) (rnn, gru) or (h, c) (lstm), each [layers, H]."""
        hs, kind = w.hs, w.kind
        new = tuple(np.empty_like(s) for s in state)
        x = None
        for i, (w_ih, w_hh, b_ih, b_hh) in enumerate(w.layers):
            if i == 0:
                gi = w.table[token] if w.table is not None else w.emb[token] @ w_ih + b_ih
            else:
                gi = x @ w_ih + b_ih
            h = state[0][i]
            if kind == "lstm":
                t = np.tanh(gi + h @ w_hh)
                s = t * 0.5 + 0.5  # sigmoid of the i, f and o gates (their rows were halved)
                c = s[hs : 2 * hs] * state[1][i] + s[:hs] * t[2 * hs : 3 * hs]
                x = s[3 * hs :] * np.tanh(c)
                new[1][i] = c
            elif kind == "gru":
                gh = h @ w_hh + b_hh
                rz = np.tanh(gi[: 2 * hs] + gh[: 2 * hs]) * 0.5 + 0.5
                cand = np.tanh(gi[2 * hs :] + rz[:hs] * gh[2 * hs :])
                x = cand + rz[hs:] * (h - cand)  # (1 - z) n + z h
            else:
                x = np.tanh(gi + h @ w_hh)
            new[0][i] = x
        return new, w.out(x)

    def start(self, context: np.ndarray) -> tuple[State, np.ndarray]:
        ids = np.asarray(context, dtype=np.int64).reshape(-1)
        if len(ids) > self.SHORT_CONTEXT:  # a long context: one batched torch pass, then numpy from there
            state, logp = self._run(ids, None)
            return self._numpy_state(state), logp
        w = self._weights()
        shape = (len(w.layers), w.hs)
        state = tuple(np.zeros(shape, dtype=np.float32) for _ in range(2 if w.kind == "lstm" else 1))
        logp = np.zeros(0)
        for token in ids.tolist():
            state, logp = self._step(w, state, token)
        return state, logp

    def advance(self, state: State, token: int) -> tuple[State, np.ndarray]:
        return self._step(self._weights(), self._numpy_state(state), int(token))

    @staticmethod
    def _numpy_state(state: State) -> tuple[np.ndarray, ...]:
        """A torch state ([layers, 1, H] tensors) as the numpy step's; numpy states pass through."""
        parts = tuple(state) if isinstance(state, tuple | list) else (state,)
        if not any(isinstance(p, torch.Tensor) for p in parts):
            return parts
        return tuple(p[:, 0].float().cpu().numpy() if isinstance(p, torch.Tensor) else p for p in parts)
