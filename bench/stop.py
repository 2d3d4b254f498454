"""How long a stop takes: SIGTERM (what S and Ctrl+Q in the app send, as a ``stop`` line) to the training
child's exit, with its checkpoint saved and the full evaluation left pending.

Starts ``lmtui train CORPUS --events jsonl`` for each case, waits for its first evaluation (so a stop lands
mid-training, as a user's would), stops it, and times the rest. Uses a throw-away LMTUI_HOME.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from common import ROOT, median, parser, write_json

CASES = {"char lstm small (scripts)": ["scripts"], "word lstm small (speeches)": ["speeches"]}


def one(args: list[str], home: str) -> dict[str, float]:
    cmd = [sys.executable, "-m", "lmtui", "train", *args, "--events", "jsonl"]
    env = {**os.environ, "LMTUI_HOME": home, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["event"] == "sample":  # an evaluation is done: mid-training from here
            break
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    finished = {}
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "finished":
            finished = event
    proc.wait()
    return {"stop_s": time.perf_counter() - t0, "eval_pending": finished.get("eval_pending")}


def main() -> None:
    args = parser(__doc__).parse_args()
    repeat = 1 if args.quick else 3
    results = {}
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as home:
            runs = [one([*case, "--name", f"stop{i}"], home) for i in range(repeat)]
        times = [r["stop_s"] for r in runs]
        pending = [r["eval_pending"] for r in runs]
        results[name] = {"stop_s": median(times), "max_s": max(times), "pending": pending}
        print(f"{name}: stop to exit {median(times):.2f} s (max {max(times):.2f} s over {repeat}), "
              f"evaluation pending: {results[name]['pending']}")
    write_json(args.json, "stop", results)


if __name__ == "__main__":
    main()
