"""A training child started before its job: ``lmtui trainer`` (hidden), how the app starts training at once.

The app starts it while the user is still choosing a text and a model. It loads what training needs (torch,
the engine) and runs one tiny training step, so that the libraries' own first-use costs (torch's lazy imports,
the math libraries' first calls, the engine's own modules) are paid ahead. Then it prints one line,
``{"event": "ready"}``, and waits for ONE line on stdin: its job, the arguments of ``lmtui train`` as a JSON
list of strings. It runs them as that command, in this process, so everything after (the event lines,
``pause``/``resume``/``stop`` lines on stdin, end of stdin stopping and saving) is the command's own. End of
stdin before a job ends it, once its warm-up is done (exit 0, nothing said); the app also tells a child it no
longer needs to terminate (it holds nothing yet).

A child given its job at once (the app had none waiting) finds it there when it starts and skips the warm-up.
The protocol's two lines are defined here, for the app (which must not import torch: nothing here does at
import time) and the child.
"""

from __future__ import annotations

import contextlib
import json
from typing import IO

from lmtui.errors import LmtuiError

READY = {"event": "ready"}


class BadJob(LmtuiError):
    """A job line that is not a JSON list of strings."""


def job_line(args: list[str]) -> bytes:
    """The line that gives a waiting child its job: ``lmtui train``'s arguments."""
    return (json.dumps(list(args)) + "\n").encode("utf-8")


def is_ready_line(line: bytes | str) -> bool:
    try:
        return json.loads(line) == READY
    except (ValueError, UnicodeDecodeError):
        return False


def read_job(stream: IO[str]) -> list[str] | None:
    """The job line's arguments; None at end of input (the app is gone or did not need this child)."""
    try:
        line = stream.readline()
    except UnicodeDecodeError:
        raise BadJob("the job line is not UTF-8") from None
    if not line:
        return None
    try:
        args = json.loads(line)
    except ValueError:
        raise BadJob(f"the job line is not JSON: {line.strip()[:60]!r}") from None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadJob("the job line must be a JSON list of strings (the arguments of `lmtui train`)")
    return args


def job_waiting(stream: IO[str]) -> bool:
    """Is its job (or the end of input) already there to read? A child started for a job given at once (a
    cold start) then skips the warm-up, which would only delay it."""
    try:
        import select

        return bool(select.select([stream], [], [], 0)[0])
    except (OSError, ValueError, TypeError):  # no file descriptor, or Windows (select takes sockets only)
        return False


def warm_up() -> None:
    """Import what training needs and run one tiny training step (a 2-unit LSTM) and one evaluation.

    Only speed depends on it: any failure here is left for the job itself to meet and report.
    """
    with contextlib.suppress(Exception):  # torch missing or broken: the job says so in its own words
        _warm_up()


def _warm_up() -> None:
    import numpy as np
    import torch

    import lmtui.lab.gradients
    import lmtui.lab.metrics
    import lmtui.sampling
    import lmtui.training
    import lmtui.training_state  # noqa: F401 (imported for its cost, paid now)
    from lmtui.models import ModelConfig, model_class
    from lmtui.neural_training import make_optimizer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the job sets its own; a 2-unit model gains nothing from more
    state = torch.random.get_rng_state()  # training seeds itself; leave the global generator as it was
    try:
        config = ModelConfig(model="lstm", level="char", embed=2, hidden=2)
        model = model_class("lstm")(config, 4, "cpu")  # type: ignore[call-arg]
        net = model.net  # type: ignore[attr-defined]
        opt = make_optimizer(net, 1e-3, 0.0)
        x = torch.tensor([[0, 1, 2, 3]])
        logits, _ = net(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        model.cross_entropy(np.array([0, 1, 2, 3, 0, 1]))  # the evaluation path (no grad)
    finally:
        torch.random.set_rng_state(state)
        torch.set_num_threads(threads)
