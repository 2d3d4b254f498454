"""Metrics a finished run stores beside its perplexities, so that screens can say what those hide."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lmtui.lab.scoring import score, unk_spelling
from lmtui.models import LanguageModel

RESCORE_UNK_RATE = 0.001  # below this <unk> share, perplexity excluding <unk> is not worth another pass


def finish_metrics(model: LanguageModel, val: np.ndarray, test: np.ndarray) -> dict[str, Any]:
    """Honest extras for a run's metrics: <unk> shares, perplexity excluding <unk>, zero-probability counts.

    The splits are scored again only when the loss alone cannot tell (an n-gram model, which costs
    milliseconds, or at least 0.1 % ``<unk>`` tokens); a non-finite loss or perplexity becomes None (JSON
    has no infinity) with ``val_ppl_infinite`` / ``test_ppl_infinite`` saying why it is missing.
    """
    out: dict[str, Any] = {
        "val_unk_rate": float(np.mean(val == 0)) if len(val) else 0.0,
        "test_unk_rate": float(np.mean(test == 0)) if len(test) else 0.0,
    }
    counting = getattr(model, "token_log_probs", None) is not None
    for split, tokens in (("val", val), ("test", test)):
        # a neural model is scored again only when <unk> matters (a capped word vocabulary): one more pass
        if len(tokens) < 2 or not (counting or out[f"{split}_unk_rate"] >= RESCORE_UNK_RATE):
            continue
        s = score(model, tokens)
        out[f"{split}_zero_prob_tokens"] = s.zero_prob_tokens
        out[f"{split}_ppl_excl_oov"] = s.ppl_excl_oov if math.isfinite(s.ppl_excl_oov) else None
        if s.zero_prob_tokens:
            out[f"{split}_loss"] = out[f"{split}_ppl"] = None
            out[f"{split}_ppl_infinite"] = True
            if split == "val":
                out["bits_per_char"] = None
    return out


def spelled_metrics(tokenizer: Any, val_text: str, bits_per_char: float | None) -> dict[str, Any]:
    """A word run's ``val_unk_char_share`` and ``bits_per_char_spelled`` (validation bits per character
    with each <unk> word spelled out, ``lab.scoring.unk_spelling``): what makes its bits/char comparable with
    a char run's. Nothing for char runs or without the text."""
    if tokenizer.level != "word" or not val_text:
        return {}
    s = unk_spelling(tokenizer, val_text)
    spelled = bits_per_char + s.bits / len(val_text) if bits_per_char is not None else None
    return {"val_unk_char_share": s.chars / len(val_text), "bits_per_char_spelled": spelled}
