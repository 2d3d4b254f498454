"""Vanishing gradients, measured: how much of the loss's gradient reaches the input k steps back.

On a fixed batch of windows from held-out text, the loss at the last position T is back-propagated to the
input embeddings, and the gradient norm ‖∂loss_T / ∂x_{T-k}‖ is read for k = 1..K (mean over the batch).
In a simple RNN every step back multiplies the gradient by the recurrent Jacobian, so it shrinks
geometrically; an LSTM's or GRU's additive cell path lets it travel much further. A fixed-window model sees
exactly its last n tokens: its gradient beyond n steps is exactly zero, by construction.

A recurrent network first reads ``WARMUP`` tokens before the K measured ones, without gradient, and carries
that state in. ∂loss_T / ∂x_{T-k} depends only on the state before x_{T-k} and what follows, so this is the
gradient a network reading a long text has; measured from a zero state instead, the furthest k would be
the window's first token, read next to an all-zero state, where an LSTM's curve turns up (an edge effect,
not reach).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmtui.models import RECURRENT_KINDS

DEFAULT_K = 100
BATCH = 16
WARMUP = 100  # tokens read before the measured window, so that it starts from a state of real text


@dataclass
class GradientReach:
    model: str
    norms: list[float]  # norms[k - 1] = mean ‖∂loss_T / ∂x_{T-k}‖ for k = 1..K
    current: float  # the same at k = 0 (the token being read as the prediction is made)
    batch: int
    note: str = ""
    ks: list[int] = field(default_factory=list)
    warmup: int = 0  # tokens read (no gradient through them) before the K measured ones

    def window(self) -> str:
        """Over which window it was measured, in words."""
        k = len(self.norms)
        if self.model == "window":
            return f"k = 1..{k} back from the predicted token"
        warm = f"after {self.warmup} tokens read to warm the state" if self.warmup else "from a zero state"
        return f"k = 1..{k} back from the predicted token, {warm}"

    def ratio(self, k: int) -> float:
        """How much smaller the gradient k steps back is than one step back (1 = no loss at all)."""
        first = self.norms[0]
        return self.norms[k - 1] / first if first > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "k": list(range(1, len(self.norms) + 1)), "norms": self.norms,
                "current": self.current, "batch": self.batch, "note": self.note, "warmup": self.warmup,
                "window": self.window()}


def fixed_batch(tokens: np.ndarray, length: int, batch: int = BATCH) -> np.ndarray:
    """``batch`` windows of ``length`` tokens at evenly spaced places (the same every time: comparable)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    if len(tokens) < length:
        raise ValueError(f"the text has {len(tokens)} tokens, fewer than the {length} one window needs")
    starts = np.linspace(0, len(tokens) - length, num=min(batch, len(tokens) - length + 1)).astype(np.int64)
    return tokens[starts[:, None] + np.arange(length)]


def gradient_reach(
    model: Any, tokens: np.ndarray, k_max: int = DEFAULT_K, batch: int = BATCH, warmup: int = WARMUP
) -> GradientReach:
    """Measure ‖∂loss_T / ∂x_{T-k}‖ for k = 1..k_max on a fixed batch of windows from ``tokens``; a
    recurrent network reads ``warmup`` tokens first (fewer if the text is short) and carries that state in."""
    import torch

    kind = model.config.model
    if kind not in (*RECURRENT_KINDS, "window"):
        raise ValueError(f"a {kind} model has no gradients: it is counted, not trained by backpropagation")
    k_max = max(1, min(k_max, len(tokens) - 2))
    warm = 0 if kind == "window" else max(0, min(warmup, len(tokens) - k_max - 2))
    windows = torch.as_tensor(fixed_batch(tokens, warm + k_max + 2, batch), device=model.device)
    x, target = windows[:, warm:-1], windows[:, -1]  # predict the last token from the k_max + 1 before it
    net = model.net
    was_training = net.training
    net.eval()  # no dropout: the same number every time
    try:
        if kind == "window":
            n = net.n
            context = torch.cat([torch.full_like(x[:, :1], net.pad).expand(-1, n), x], dim=1)[:, -n:]
            emb = net.emb(context).detach().requires_grad_(True)  # [B, n, E]: positions T-n+1 .. T
            logits = net.log_probs(torch.tanh(net.hidden(emb.flatten(1))))
            _loss(logits, target).backward()
            per_pos = emb.grad.norm(dim=-1).mean(dim=0).flip(0)  # k = 0 .. n-1
            norms = torch.zeros(k_max + 1)
            norms[: min(n, k_max + 1)] = per_pos[: k_max + 1].cpu()
            note = f"a fixed window of {n} tokens: nothing reaches further back than {n - 1} steps"
        else:
            state = None
            if warm:  # the state after reading the text before the window: no gradient goes back through it
                with torch.no_grad():
                    _, state = net.rnn(net.emb(windows[:, :warm]), None)
            emb = net.emb(x).detach().requires_grad_(True)  # [B, T, E]
            cudnn = torch.backends.cudnn.flags(enabled=False) if emb.is_cuda else contextlib.nullcontext()
            with cudnn:  # cuDNN's RNN backward refuses eval mode
                h, _ = net.rnn(emb, state)
                logits = net.log_probs(h[:, -1])
                _loss(logits, target).backward()
            norms = emb.grad.norm(dim=-1).mean(dim=0).flip(0).cpu()  # k = 0 .. T-1
            note = ""
    finally:
        net.zero_grad(set_to_none=True)
        net.train(was_training)
    values = [float(v) for v in norms.double()]
    return GradientReach(kind, values[1 : k_max + 1], values[0], int(x.shape[0]), note, warmup=warm)


def _loss(logits: Any, target: Any) -> Any:
    """Summed cross-entropy: each window's gradient is its own, not divided by the batch size."""
    return -logits.float().log_softmax(-1).gather(1, target[:, None]).sum()
