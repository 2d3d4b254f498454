"""What vanishing gradients cost, measured: how well a run recalls the letter at the end of each line of the
bundled ``recall`` corpus (``q40916=q``), by how far back that letter is.

Each line's last letter can only be predicted by remembering its first across the digits, so its loss
against the gap is the reach a model actually learned: an RNN's gradient fades geometrically with the
distance and it learns short gaps only; an LSTM's cell carries it. A gradient that was cut (truncated BPTT,
``--seq-len``) never taught the model a gap longer than the cut. The test split is read as one stream, the
state carried from line to line, as in training.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

LINE = re.compile(r"^([a-z])([0-9]+)=([a-z])$")
BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 30), (31, 40))  # gaps (digits between the two letters)
CHANCE = math.log(26)  # nats: a uniform guess among 26 letters


@dataclass
class GapRow:
    low: int
    high: int
    lines: int
    loss: float  # mean nats on the recalled letter (chance: ln 26 = 3.26)
    accuracy: float  # share of lines whose most likely letter is the right one (chance: 1/26)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recall_positions(text: str) -> list[tuple[int, int]]:
    """(index of the recalled letter in ``text``, gap) for each well-formed line whose letters agree."""
    out, start = [], 0
    for line in text.split("\n"):
        m = LINE.match(line)
        if m and m.group(1) == m.group(3):
            out.append((start + len(line) - 1, len(m.group(2))))
        start += len(line) + 1
    return out


def target_log_probs(model: Any, ids: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """[len(ids), V]: the log-probabilities of every token after ``ids[:i + 1]`` (a row per position), the
    text read as one stream; n-gram models token by token."""
    if model.config.model == "ngram":
        state, logp = model.start(ids[:1])
        rows = [logp]
        for token in ids[1:]:
            state, logp = model.advance(state, int(token))
            rows.append(logp)
        return np.asarray(rows)
    import torch
    from torch.nn import functional as F

    net = model.net
    net.eval()
    x = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=model.device).view(1, -1)
    rows, state = [], None
    with torch.no_grad():
        for i in range(0, x.shape[1], chunk):
            logits, state = net(x[:, i : i + chunk], state)
            rows.append(F.log_softmax(logits[0].double(), dim=-1).cpu().numpy())
    return np.concatenate(rows)


def recall_by_gap(model: Any, tokenizer: Any, text: str) -> list[GapRow]:
    """Loss and accuracy on each line's recalled letter, by gap bucket (empty buckets left out)."""
    if tokenizer.level != "char":
        raise ValueError("recall is read character by character: train a char-level run on the recall corpus")
    where = recall_positions(text)
    if not where:
        raise ValueError(
            "its text has no recall lines (a letter, digits, = and the letter again): train on the bundled "
            "recall corpus (lmtui train recall --model rnn)"
        )
    ids = tokenizer.encode(text)
    logp = target_log_probs(model, ids)
    letters = np.array([tokenizer.encode(c)[0] for c in "abcdefghijklmnopqrstuvwxyz"])
    rows = []
    for low, high in BUCKETS:
        picked = [(i, g) for i, g in where if low <= g <= high and i >= 1]
        if not picked:
            continue
        losses, hits = [], 0
        for i, _ in picked:
            row = logp[i - 1]  # predicted after reading the "=" before it
            losses.append(-row[ids[i]])
            hits += int(letters[np.argmax(row[letters])] == ids[i])
        rows.append(GapRow(low, high, len(picked), float(np.mean(losses)), hits / len(picked)))
    return rows
