"""Teacher forcing against free running, measured on the validation text.

Training and ``lmtui eval`` are teacher-forced: every token is predicted from the true text before it. When
a model writes, it is free-running: every token is predicted from the tokens it wrote itself. Here, k tokens
after a true prefix, the loss on the true token is taken both ways: with the k - 1 tokens before it true
(teacher forcing) and with them the model's own samples (free running). At k = 1 the two are one number;
as k grows the free-running context drifts from the true text and the loss on the true text rises: what a
model learned only from true contexts says little about how its own text goes on, and its errors compound.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmtui.sampling import SampleSettings, next_token

SHOWN_K = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class Forcing:
    prefixes: int
    prefix_tokens: int
    temperature: float
    teacher: list[float] = field(default_factory=list)  # mean nats on the true token at k = 1..K
    free: list[float] = field(default_factory=list)
    stopped: int = 0  # free runs that ended early (nothing drawable): scored with what they had

    def to_dict(self) -> dict[str, Any]:
        """As JSON: an infinite loss (a probability of 0, from unsmoothed counts) is null."""
        return {
            "prefixes": self.prefixes,
            "prefix_tokens": self.prefix_tokens,
            "temperature": self.temperature,
            "stopped": self.stopped,
            "k": list(range(1, len(self.teacher) + 1)),
            "teacher_forced": [_finite(x) for x in self.teacher],
            "free_running": [_finite(x) for x in self.free],
            "teacher_forced_mean": _finite(mean(self.teacher)),
            "free_running_mean": _finite(mean(self.free)),
        }


def mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def starts(length: int, prefix: int, steps: int, count: int) -> list[int]:
    """Where the prefixes begin: ``count`` evenly spaced places with room for the prefix and the k steps."""
    room = length - prefix - steps
    if room < 1:
        raise ValueError(
            f"the validation split has {length:,} tokens, too few for a {prefix}-token prefix and {steps} "
            "more; give fewer with --prefix or --steps"
        )
    count = min(count, room)
    return [round(i * (room - 1) / max(count - 1, 1)) for i in range(count)]


def _nats(logp: np.ndarray, token: int) -> float:
    z = float(logp[token])
    return -z if math.isfinite(z) else math.inf


def teacher_vs_free(model: Any, ids: np.ndarray, prefix: int = 64, steps: int = 32, count: int = 100,
                    temperature: float = 1.0, seed: int = 0) -> Forcing:
    """Mean loss on the true token k = 1..``steps`` after ``count`` true prefixes of ``prefix`` tokens, with
    the tokens in between true (teacher-forced) or the model's own draws at ``temperature`` (free-running).
    A free run whose context leaves nothing to draw keeps its last state (``stopped`` counts them)."""
    settings = SampleSettings(temperature=temperature, length=steps).validate()
    rng = np.random.default_rng(seed)
    teacher = np.zeros(steps)
    free = np.zeros(steps)
    result = Forcing(0, prefix, temperature)
    for s in starts(len(ids), prefix, steps, count):
        state, logp = model.start(ids[s : s + prefix])
        t_state, t_logp, f_state, f_logp = state, logp, state, logp
        ended = False
        for k in range(steps):
            true = int(ids[s + prefix + k])
            teacher[k] += _nats(t_logp, true)
            free[k] += _nats(f_logp, true)
            if k + 1 == steps:
                break
            t_state, t_logp = model.advance(t_state, true)
            if not ended:
                drawn = next_token(model, f_state, f_logp, settings, rng, Counter())
                if drawn is None:
                    ended = True
                    result.stopped += 1
                else:
                    f_state, f_logp = model.advance(f_state, drawn)
        result.prefixes += 1
    result.teacher = (teacher / max(result.prefixes, 1)).tolist()
    result.free = (free / max(result.prefixes, 1)).tolist()
    return result
