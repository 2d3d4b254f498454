"""Memory before allocation: a model that cannot fit is refused with its size, before torch tries (and dies
with a RuntimeError, or the OOM killer ends the process and leaves a run that says "training")."""

from __future__ import annotations

import contextlib
import os

from lmtui.errors import LmtuiError
from lmtui.models import ModelConfig, estimate_parameters, estimate_training_bytes

HEADROOM = 0.6  # plan no training that would take more than this share of the free memory


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation (Linux's MemAvailable, else free pages), or None."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def device_memory(device: str) -> int | None:
    """Free bytes where the model will live: the GPU's own memory for cuda, else the machine's."""
    if device == "cuda":
        import torch

        with contextlib.suppress(RuntimeError, AttributeError):
            return int(torch.cuda.mem_get_info()[0])
        return None
    return available_memory()


def size_text(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.1f} kB"


def fitting_batch(model: ModelConfig, vocab_size: int, batch: int, seq_len: int, device: str = "cpu") -> int:
    """The largest batch up to ``batch`` whose training fits in the free memory; a model that does not fit
    even with one stream is refused, saying how large it would be. Called before anything is built: the
    estimate is an upper bound of what training adds (lmtui.models.estimate_training_bytes)."""
    free = device_memory(device)
    if free is None:
        return batch
    allowed = HEADROOM * free

    def fits(streams: int) -> bool:
        return estimate_training_bytes(model, vocab_size, streams, seq_len) <= allowed

    if fits(batch):
        return batch
    if not fits(1):
        need = estimate_training_bytes(model, vocab_size, batch, seq_len)
        where = "GPU memory" if device == "cuda" else "memory"
        raise LmtuiError(
            f"this {model.model} model would need about {size_text(need)} of {where} to train "
            f"({estimate_parameters(model, vocab_size):,} parameters, vocabulary {vocab_size:,}); "
            f"{size_text(free)} is free: choose a smaller --hidden, --embed, --context, --batch-size "
            "or --seq-len"
        )
    low, high = 1, batch  # the estimate grows with the batch: fits(low), not fits(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low
