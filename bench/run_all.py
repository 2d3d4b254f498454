"""Run every benchmark (``make bench``) and write their JSON to bench/results/ (not committed).

Benchmarks never fail on timing: each prints its figures; BENCHMARKS.md has the goals and the results.
``--quick`` is a smoke run (smaller sizes, fewer repeats, 15 s neural budgets) that takes a few minutes.

    python bench/run_all.py [--quick] [--only NAME,NAME...]   (names: the keys of ``plans`` below)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"


def main() -> None:
    p = argparse.ArgumentParser(description="run every lmtui benchmark")
    p.add_argument("--quick", action="store_true")
    everything = "sampling,ngram,ngram_pipeline,neural,scale,tui,tui_tmux,checkpoint,stop,busy,train_memory"
    p.add_argument("--only", default=everything)
    args = p.parse_args()
    quick = ["--quick"] if args.quick else []
    plans = {
        "sampling": ["sampling.py", *quick],
        "ngram": ["ngram.py", *quick],
        "ngram_pipeline": ["ngram_pipeline.py", *quick],
        "neural": ["neural.py", *(["--budgets", "15", "--kinds", "lstm"] if args.quick else [])],
        "scale": ["scale.py", *(["--sizes", "1,10"] if args.quick else [])],
        "tui": ["tui.py", *(["--presses", "12"] if args.quick else [])],
        "tui_tmux": ["tui_tmux.py", *(["--presses", "12"] if args.quick else [])],
        "checkpoint": ["checkpoint.py", *quick],
        "stop": ["stop.py", *quick],
        "busy": ["busy.py", *(["--presets", "quick", "--loads", "0,1"] if args.quick else [])],
        "train_memory": ["train_memory.py", *quick],
    }
    OUT.mkdir(exist_ok=True)
    failed = []
    for name in args.only.split(","):
        cmd = [
            sys.executable,
            str(HERE / plans[name][0]),
            *plans[name][1:],
            "--json",
            str(OUT / f"{name}.json"),
        ]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        if subprocess.run(cmd, cwd=HERE).returncode != 0:
            failed.append(name)
        print(f"== {name} took {time.perf_counter() - t0:.0f} s\n", flush=True)
    if failed:
        print(f"benchmarks that crashed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
