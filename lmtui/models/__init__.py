"""The one interface every language model answers, and a registry of them by name.

A language model here is anything that gives log P(next token | context). From that one ability come
perplexity (exp of the mean cross-entropy in nats), sampling and the next-token panel, so n-gram and
neural models plug in beside each other (makemore's idea).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

MODEL_KINDS = ("ngram", "window", "rnn", "lstm", "gru")
RECURRENT_KINDS = ("rnn", "lstm", "gru")
SMOOTHINGS = ("kn", "add-k", "backoff", "mle")

# What a model may be, in closed form, before anything is built: the options (lmtui.options) and the run
# schema (lmtui.schema) both check these, so a flag, a run.json and a stranger's bundle meet one limit.
# MAX_PARAMETERS is 16 GiB of float32 weights and 64 GiB with their gradients and AdamW's two moments: past
# what lmtui trains anywhere (whether a model fits this machine is lmtui.memory's question, asked with the
# vocabulary). Each size alone is bounded too, far above any preset, so that no estimate's arithmetic (or
# a loop somewhere over layers) can be handed a 20-digit number.
MAX_PARAMETERS = 2**32
MAX_WIDTH = 2**16  # embed and hidden: one 65,536-wide LSTM layer alone is 34 G parameters
MAX_LAYERS = 1024
MAX_CONTEXT = 4096  # the window model's tokens
MAX_VOCAB = 2**31 - 1  # token ids are int32 in the token cache and the tokenizers
MAX_K = 1000.0  # add-k's k: at 1000 an unseen word weighs as much as one seen 1000 times (uniform, in effect)


class JsonConfig:
    """A dataclass config that goes to and from JSON; unknown keys (from other versions) are ignored."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ModelConfig(JsonConfig):
    """Everything needed to rebuild a model's shape; saved as JSON next to the weights."""

    model: str = "lstm"
    level: str = "char"
    # n-gram
    order: int = 3
    smoothing: str = "kn"
    k: float = 1.0  # add-k: 1 is Laplace, other values Lidstone
    # fixed-window
    context: int = 8
    # neural
    embed: int = 64
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = False
    softmax: str = "full"  # "adaptive": frequency clusters (lmtui.models.neural.output_layer)


class LanguageModel(ABC):
    """Next-token log-probabilities over a fixed vocabulary of ``vocab_size`` token ids.

    ``start``/``advance`` carry a model-specific state so that generation is incremental: an RNN keeps its
    hidden state, an n-gram model its last n-1 tokens; nobody re-reads the whole prefix per token.
    """

    config: ModelConfig
    vocab_size: int

    @abstractmethod
    def start(self, context: np.ndarray) -> tuple[Any, np.ndarray]:
        """Read a context (non-empty int array) and return (state, log-probs of the next token, shape [V])."""

    @abstractmethod
    def advance(self, state: Any, token: int) -> tuple[Any, np.ndarray]:
        """Append one token to the state; return the new state and the next token's log-probs."""

    @abstractmethod
    def nll(self, tokens: np.ndarray) -> tuple[float, int]:
        """Total negative log-likelihood in nats of tokens[1:] each given what precedes it, and that count."""

    @abstractmethod
    def num_parameters(self) -> int:
        """Trainable parameters, or stored n-gram entries for count models."""

    @abstractmethod
    def size_bytes(self) -> int:
        """Bytes the model's tensors take."""

    @abstractmethod
    def tensors(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays (written with safetensors, never pickle)."""

    @classmethod
    @abstractmethod
    def from_tensors(
        cls, config: ModelConfig, vocab_size: int, tensors: dict[str, np.ndarray]
    ) -> LanguageModel:
        """Rebuild a model saved by ``tensors``; raise ValueError when the tensors don't fit the config."""

    def next_log_probs(self, context: np.ndarray) -> np.ndarray:
        return self.start(context)[1]

    def cross_entropy(self, tokens: np.ndarray) -> float:
        """Mean negative log-likelihood per predicted token, in nats."""
        total, count = self.nll(tokens)
        return total / max(count, 1)

    def perplexity(self, tokens: np.ndarray) -> float:
        return math.exp(min(self.cross_entropy(tokens), 700.0))


def estimate_parameters(config: ModelConfig, vocab_size: int) -> int:
    """The size a model will have, without building it (shown before training starts). Closed form: the
    sizes may come from a stranger's file, so nothing here loops over them."""
    e, h, v, L = config.embed, config.hidden, vocab_size, config.layers
    if config.model == "window":
        return (v + 1) * e + config.context * e * h + h + output_parameters(config, h, v)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[config.model]
    # per layer: input and hidden weights plus two biases; the first layer reads the embedding, the rest h
    rnn = gates * (h * (e + h) + 2 * h + (L - 1) * (2 * h * h + 2 * h))
    return v * e + rnn + output_parameters(config, h, v)


def adaptive_cutoffs(vocab_size: int, width: int) -> list[int]:
    """Where the adaptive softmax's frequency clusters begin (token ids are in order of frequency, most
    frequent first): a head of the 1,000 most frequent tokens, then clusters four times larger each, each
    read through a projection a quarter as wide as the one before (so no more clusters than ``width``
    affords one unit for). A vocabulary of 1,001 tokens or fewer splits in two halves (correct, if no
    faster than the full softmax)."""
    cuts = [c for c in (1000, 4000, 16_000, 64_000, 256_000) if c < vocab_size]
    while len(cuts) > 1 and width // 4 ** len(cuts) < 1:
        cuts.pop()
    return cuts or [max(1, vocab_size // 2)]


def output_parameters(config: ModelConfig, h: int, v: int) -> int:
    """The output layer's size: a full [h x v] layer and bias, or the adaptive softmax's head (the frequent
    words and one entry per cluster, with a bias) and each cluster's projection to h / 4**(i+1) units."""
    if config.softmax != "adaptive":
        return (0 if config.tie_weights else h * v) + v
    cuts = [*adaptive_cutoffs(v, h), v]
    size = (h + 1) * (cuts[0] + len(cuts) - 1)
    for i in range(len(cuts) - 1):
        width = int(h // 4 ** (i + 1))
        size += width * (h + cuts[i + 1] - cuts[i])
    return size


def size_problem(config: ModelConfig, vocab_size: int = 1) -> str | None:
    """Why a neural model of this config is too large for lmtui to build, or None. With the default
    ``vocab_size`` of 1 it is the model's own size before the vocabulary is known (the options' check)."""
    if config.model == "ngram":
        return None
    params = estimate_parameters(config, vocab_size)
    if params <= MAX_PARAMETERS:
        return None
    return f"would have {params:,} parameters; lmtui builds at most {MAX_PARAMETERS:,}"


def estimate_training_bytes(config: ModelConfig, vocab_size: int, batch: int, seq_len: int) -> int:
    """An upper bound of the memory training a neural model adds, for the check made before anything is
    built (lmtui.memory). Each term is bytes measured on CPU training in float32 and bfloat16 (peak RSS,
    bench/train_memory.py; BENCHMARKS.md), taken a little above the largest seen, and the sum has a margin:

    * per parameter, 40: weights, gradients and AdamW's two moments (16), and a checkpoint's copies of
      weights and moments as arrays and as the bytes safetensors writes (24), more than a step's bfloat16
      copies and AdamW's temporaries;
    * per token of a step, what autograd keeps for the backward pass: 18 per vocabulary entry (logits,
      log-softmax and two gradients: four float32 rows), per hidden unit and layer what the cell keeps
      (measured per kind), per embedding input, and the token ids;
    * or, when larger, a scoring pass (validation between steps, the splits at the end): at most 64 x 256
      tokens, with no graph kept but a peak that varies by half from run to run (the allocator's reuse),
      and at most 2**24 logits (lmtui.models.neural.EVAL_LOGITS) three times.
    """
    params = estimate_parameters(config, vocab_size)
    e, h = config.embed, config.hidden
    if config.model == "window":  # concatenated window embeddings, then one tanh hidden layer
        step_body, score_body = 12 * config.context * e + 20 * h, 12 * config.context * e + 12 * h
    else:
        step_unit, score_unit = {"rnn": (18, 20), "gru": (40, 30), "lstm": (72, 12)}[config.model]
        step_body = 24 * e + step_unit * h * config.layers
        score_body = 12 * e + score_unit * h * config.layers
    tokens, score_tokens = batch * seq_len, 64 * 256
    step = tokens * (step_body + 64 + 18 * vocab_size)
    scoring = score_tokens * (score_body + 256) + 12 * min(score_tokens * vocab_size, 1 << 24)
    return int(1.25 * (40 * params + max(step, scoring))) + (128 << 20)  # + allocator and threads' slack


def model_class(kind: str) -> type[LanguageModel]:
    """The class for a model kind; imported lazily so the n-gram path never waits for torch."""
    if kind == "ngram":
        from lmtui.models.ngram import NgramModel

        return NgramModel
    if kind == "window":
        from lmtui.models.neural import WindowModel

        return WindowModel
    if kind in RECURRENT_KINDS:
        from lmtui.models.neural import RecurrentModel

        return RecurrentModel
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
