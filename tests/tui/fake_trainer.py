"""A stand-in for ``lmtui train --events jsonl --control stdin`` that starts at once (no torch): it
steps until told to stop (or ``--steps N``), pauses and resumes, and says ``finished`` like the real child.
Like the real one it takes ``pause``/``resume``/``stop`` lines on stdin (its end stops it) and signals;
``--state FILE`` has it write "paused STEP" / "running STEP" there as it pauses and resumes."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

state = {"stop": False, "paused": False, "by": "none"}
signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True, by="signal"))
if hasattr(signal, "SIGUSR1"):
    signal.signal(signal.SIGUSR1, lambda *_: state.update(paused=True))
    signal.signal(signal.SIGUSR2, lambda *_: state.update(paused=False))


def read_stdin() -> None:
    for line in sys.stdin:
        command = line.strip()
        if command in ("pause", "resume"):
            state.update(paused=command == "pause")
        elif command == "stop":
            state.update(stop=True, by=state["by"] if state["stop"] else "stdin")
    state.update(stop=True)


if "--control" in sys.argv:
    threading.Thread(target=read_stdin, daemon=True).start()
steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 10**9
name = sys.argv[sys.argv.index("--name") + 1] if "--name" in sys.argv else "fake-run"


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def tell(what: str) -> None:
    """With ``--state FILE``: say "paused STEP" or "running STEP" there whenever that changes, so a test
    knows the child obeyed (and where it stopped stepping) instead of waiting some time to see."""
    if "--state" in sys.argv:
        path = sys.argv[sys.argv.index("--state") + 1]
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(what)
        os.replace(path + ".tmp", path)


say(event="started", run=name, corpus="fake", model="lstm", level="char", vocab_size=10, parameters=100,
    size_bytes=400, train_tokens=1000, val_tokens=100, max_steps=None, max_seconds=None)
step, reason, told = 0, "steps", ""
while step < steps:
    if state["stop"]:
        reason = "stopped"
        break
    mode = "paused" if state["paused"] else "running"
    if mode != told:
        tell(f"{mode} {step}")
        told = mode
    if state["paused"]:
        time.sleep(0.02)
        continue
    step += 1
    say(event="step", step=step, train_loss=3.0 - step / 1000, grad_norm=1.0, lr=0.001, tokens_per_s=1000.0,
        elapsed=step * 0.02, eta=None, progress=0.1)
    time.sleep(0.02)
if "--report" in sys.argv:  # how it was stopped: "stdin", "signal" or "none"
    with open(sys.argv[sys.argv.index("--report") + 1], "w", encoding="utf-8") as fh:
        fh.write(state["by"])
say(event="eval", step=step, val_loss=2.0, val_ppl=7.39, bits_per_char=2.9, best=True, elapsed=step * 0.02)
say(event="finished", run=name, step=step, reason=reason, val_loss=2.0, val_ppl=7.39, test_loss=2.1,
    test_ppl=8.17, elapsed=step * 0.02, train_tokens=1000, val_tokens=100, test_tokens=100)
