"""Resume checkpoints without pickle: weights, AdamW state, data position and hidden state in one safetensors
file, the small non-tensor parts as JSON in its metadata. One file, written atomically, so the pieces can
never disagree after a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lmtui import schema
from lmtui.errors import LmtuiError
from lmtui.storage import parse_json, read_tensors, write_tensors

FORMAT = schema.CHECKPOINT_FORMAT


@dataclass
class Resumed:
    step: int
    position: int
    batch: int
    state: Any
    elapsed: float


def save_checkpoint(
    path: Path,
    net: nn.Module,
    opt: torch.optim.Optimizer,
    step: int,
    position: int,
    batch: int,
    state: Any,
    elapsed: float,
) -> None:
    tensors = {f"model.{k}": v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
    opt_state = opt.state_dict()
    for index, slots in opt_state["state"].items():
        for key, value in slots.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).detach().cpu().numpy().copy().reshape(-1)
    parts = state if isinstance(state, tuple) else (() if state is None else (state,))
    for i, part in enumerate(parts):
        tensors[f"hidden.{i}"] = part.detach().cpu().numpy().copy()
    tensors["rng.torch"] = torch.get_rng_state().numpy().copy()
    meta = {
        "format": FORMAT,
        "step": step,
        "position": position,
        "batch": batch,
        "elapsed": elapsed,
        "hidden": "tuple" if isinstance(state, tuple) else ("none" if state is None else "tensor"),
        "param_groups": opt_state["param_groups"],
        "opt_shapes": {
            f"{index}.{key}": list(torch.as_tensor(value).shape)
            for index, slots in opt_state["state"].items()
            for key, value in slots.items()
        },
    }
    write_tensors(path, tensors, {"lmtui": json.dumps(meta)})


def load_checkpoint(path: Path, net: nn.Module, opt: torch.optim.Optimizer, device: str) -> Resumed:
    tensors, metadata = read_tensors(path)
    schema.check_tensors(tensors, str(path))
    meta = parse_json(metadata.get("lmtui", ""), path, "is not a usable checkpoint: its metadata is damaged")
    meta = schema.check_checkpoint(meta, str(path))
    try:
        weights = {k[6:]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("model.")}
        want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in weights.items()}
        if got != want:
            diff = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
            name = diff[0]
            raise ValueError(
                f"its weights do not fit this run's model ({name}: {list(got.get(name, ()))} in the file, "
                f"{list(want.get(name, ()))} needed); is it another run's checkpoint?"
            )
        net.load_state_dict(weights, strict=True)
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, shape in meta["opt_shapes"].items():
            index, slot = key.split(".", 1)
            value = torch.from_numpy(np.asarray(tensors[f"opt.{key}"])).reshape(shape)
            state.setdefault(int(index), {})[slot] = value if slot == "step" else value.to(device)
        _check_optimizer_state(opt, state)
        # the groups' settings come from this run's config, as when it started; the file's only say the same
        opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
        hidden = [
            torch.from_numpy(tensors[f"hidden.{i}"]).to(device) for i in range(2) if f"hidden.{i}" in tensors
        ]
        kind = meta["hidden"]
        if len(hidden) != {"tuple": 2, "tensor": 1, "none": 0}[kind]:
            raise ValueError(f"its hidden state does not match its kind {kind!r}")
        _check_hidden(net, hidden, int(meta["batch"]))
        carried = tuple(hidden) if kind == "tuple" else (hidden[0] if kind == "tensor" else None)
        if "rng.torch" in tensors:
            torch.set_rng_state(torch.from_numpy(tensors["rng.torch"]))
        resumed = Resumed(
            int(meta["step"]), int(meta["position"]), int(meta["batch"]), carried, float(meta["elapsed"])
        )
        if min(resumed.step, resumed.position, resumed.batch) < 0 or not resumed.elapsed >= 0:
            raise ValueError("its step, data position or time is negative")
        return resumed
    except (ValueError, KeyError, RuntimeError, TypeError, json.JSONDecodeError) as exc:
        raise LmtuiError(f"{path} is not a usable checkpoint: {str(exc).splitlines()[0]}") from None


def _check_hidden(net: nn.Module, hidden: list[torch.Tensor], batch: int) -> None:
    """The carried state must be what this net carries: [layers, batch, hidden] floats for a recurrent net,
    [batch, n] token ids (pad included) for the window net."""
    rnn = getattr(net, "rnn", None)
    for part in hidden:
        if rnn is not None:
            want = (rnn.num_layers, batch, rnn.hidden_size)
            ok = part.dtype == rnn.weight_hh_l0.dtype and tuple(part.shape) == want
        else:
            n, pad = getattr(net, "n", 0), getattr(net, "pad", 0)
            ok = (
                part.dtype == torch.int64
                and tuple(part.shape) == (batch, n)
                and bool(((part >= 0) & (part <= pad)).all())
            )
        if not ok:
            raise ValueError(f"its hidden state has the wrong shape or type ({list(part.shape)})")


def _check_optimizer_state(opt: torch.optim.Optimizer, state: dict[int, dict[str, torch.Tensor]]) -> None:
    """AdamW's per-parameter state must be complete and shaped like the parameter it belongs to."""
    params = [p for group in opt.param_groups for p in group["params"]]
    for index, slots in state.items():
        if not 0 <= index < len(params) or set(slots) != {"step", "exp_avg", "exp_avg_sq"}:
            raise ValueError(f"its optimizer state for parameter {index} is incomplete or unknown")
        shape = tuple(params[index].shape)
        moments = (slots["exp_avg"], slots["exp_avg_sq"])
        step = slots["step"]
        if step.numel() != 1 or float(step) < 0 or any(tuple(m.shape) != shape for m in moments):
            raise ValueError(f"its optimizer state for parameter {index} does not fit the parameter's shape")
        if any(m.dtype != params[index].dtype for m in moments) or not step.is_floating_point():
            raise ValueError(f"its optimizer state for parameter {index} has the wrong number type")
