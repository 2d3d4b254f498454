"""Neural language models in torch: the fixed-window LM and the recurrent LM (rnn / lstm / gru).

Both nets share one forward signature, ``net(x, state) -> (logits, state)``, so one truncated-BPTT training
loop drives them all: a recurrent net's state is its hidden state; the window net's "state" is just the last
few tokens it saw, which is all the context a fixed-window model ever has.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lmtui.models import LanguageModel, ModelConfig

State = Any  # a tensor, an (h, c) pair, or None


class WindowNet(nn.Module):
    """Bengio et al. (2003): embeddings of the last n tokens, concatenated -> tanh hidden layer -> softmax."""

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        self.n = config.context
        self.pad = vocab_size  # an extra embedding row stands for "before the start of the text"
        self.emb = nn.Embedding(vocab_size + 1, config.embed)
        self.hidden = nn.Linear(self.n * config.embed, config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.hidden, vocab_size)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        batch, steps = x.shape
        if state is None:
            state = torch.full((batch, self.n), self.pad, dtype=x.dtype, device=x.device)
        full = torch.cat([state, x], dim=1)
        windows = full.unfold(1, self.n, 1)[:, 1:]  # [B, T, n]: the n tokens up to and including x[t]
        h = torch.tanh(self.hidden(self.emb(windows).flatten(2)))
        return self.out(self.drop(h)), full[:, -self.n :]


class RecurrentNet(nn.Module):
    """Embedding -> stacked rnn/lstm/gru -> linear; the output layer may share the embedding's weights."""

    CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, config: ModelConfig, vocab_size: int):
        super().__init__()
        if config.tie_weights and config.embed != config.hidden:
            raise ValueError("weight tying needs the embedding size to equal the hidden size")
        self.emb = nn.Embedding(vocab_size, config.embed)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = self.CELLS[config.model](
            config.embed,
            config.hidden,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.out = nn.Linear(config.hidden, vocab_size)
        if config.tie_weights:
            self.out.weight = self.emb.weight

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.rnn(self.drop(self.emb(x)), state)
        return self.out(self.drop(h)), state


def detach_state(state: State) -> State:
    """Cut the graph at a truncation point: gradients stop here, the values carry on (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class NeuralModel(LanguageModel):
    """A torch net behind the LanguageModel interface."""

    net_class: type[nn.Module] = nn.Module

    def __init__(self, config: ModelConfig, vocab_size: int, device: str = "cpu"):
        self.config = config
        self.vocab_size = vocab_size
        self.device = torch.device(device)
        self.net = self.net_class(config, vocab_size).to(self.device)

    # -- incremental use: sampling and the next-token panel
    @torch.no_grad()
    def _run(self, ids: np.ndarray | list[int], state: State) -> tuple[State, np.ndarray]:
        self.net.eval()
        x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=self.device).view(1, -1)
        logits, state = self.net(x, state)
        logp = F.log_softmax(logits[0, -1].double(), dim=-1)
        return state, logp.cpu().numpy()

    def start(self, context: np.ndarray) -> tuple[State, np.ndarray]:
        return self._run(context, None)

    def advance(self, state: State, token: int) -> tuple[State, np.ndarray]:
        return self._run([token], state)

    # -- scoring
    @torch.no_grad()
    def nll(self, tokens: np.ndarray, chunk: int = 256) -> tuple[float, int]:
        """Score a long stream as parallel streams carried chunk by chunk (state flows between chunks)."""
        self.net.eval()
        n = len(tokens) - 1
        if n <= 0:
            return 0.0, 0
        streams = max(1, min(64, n // chunk))
        length = n // streams
        data = torch.as_tensor(np.asarray(tokens, dtype=np.int64), device=self.device)
        body = data[: streams * length + 1]
        x_all = body[:-1].view(streams, length)
        y_all = body[1:].view(streams, length)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        state: State = None
        for i in range(0, length, chunk):
            logits, state = self.net(x_all[:, i : i + chunk].contiguous(), state)
            total += F.cross_entropy(
                logits.flatten(0, 1).float(), y_all[:, i : i + chunk].flatten(), reduction="sum"
            )
        rest = n - streams * length
        if rest:  # the few tokens left over continue the last stream
            last = _select_stream(state, streams - 1)
            logits, _ = self.net(data[streams * length : n].view(1, -1), last)
            total += F.cross_entropy(logits[0].float(), data[streams * length + 1 : n + 1], reduction="sum")
        return float(total), n

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


class WindowModel(NeuralModel):
    net_class = WindowNet


class RecurrentModel(NeuralModel):
    net_class = RecurrentNet
