"""Training on a busy machine (issue 17): the presets quiet and beside busy processes, and two budget checks.

For each preset and load (0, 1, 2 processes spinning ``while 1: pass`` beside it, killed after), runs
``lmtui train CORPUS --preset P --events jsonl`` and reports: steps done, the final validation perplexity
(or "pending"), whether a sample was written, the session's seconds against its budget, and the start-up
time: seconds from launching the command to its first ``step`` event (each line timestamped as it arrives).
``import torch`` is timed in a separate process under the same load just before.

Two budget checks, under each load: SIGINT sent ``--sigint-after`` seconds after launch (in start-up when the
machine is busy; `timeout -s INT`), timed to the process's exit; and ``--batch-size 100000 --max-seconds 5``,
timed whole (wall).

``--python PATH`` runs the lmtui of another interpreter (an older checkout installed in its own venv) for
"before" figures; children run in a temporary folder, so this checkout is not on their path. Runs go to a
throw-away LMTUI_HOME shared by all cases: the first run fills the token cache, later ones read it (the
"cache" column says which; ``--cold-cache`` empties it before every run).

    python bench/busy.py [--python PATH] [--presets quick,small] [--loads 0,1,2] [--repeat N]
                         [--corpus scripts] [--sigint-after S] [--no-checks] [--cold-cache] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import machine

BUDGET = {"quick": 15.0, "small": 60.0, "large": 600.0}
TORCH_IMPORT = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"


@contextmanager
def busy(n: int):
    """``n`` processes spinning a core each, killed (by their own ids) when the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)  # let them take their cores
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OMP_NUM_THREADS")}
    env["LMTUI_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def torch_import(python: str, home: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", TORCH_IMPORT], capture_output=True, text=True, cwd=home, env=child_env(home)
    )
    wall = time.perf_counter() - t0
    try:
        return {"import_torch_s": float(proc.stdout.strip().splitlines()[-1]), "process_s": wall}
    except (ValueError, IndexError):
        return {"error": proc.stderr.strip()[-300:], "process_s": wall}


def launch(python: str, home: Path, args: list[str]) -> tuple[subprocess.Popen, Path, float]:
    """Start ``lmtui train ARGS --events jsonl``; its stderr goes to a file beside the runs."""
    err = home / f"stderr-{time.monotonic_ns()}.txt"
    with open(err, "w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "lmtui", "train", *args, "--events", "jsonl"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=fh,
            text=True,
            cwd=home,  # not this checkout: `python -m` puts the working folder first on the path
            env=child_env(home),
        )
    return proc, err, t0


def follow(proc: subprocess.Popen, err: Path, t0: float, timeout: float, on_line=None) -> dict[str, Any]:
    """Read the event lines as they come (each timestamped from launch) until the process ends."""
    out: dict[str, Any] = {"first_step_s": None, "samples": 0, "steps": 0, "finished": None, "failed": None}
    killer = None
    if timeout:
        import threading

        killer = threading.Timer(timeout, proc.kill)
        killer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter() - t0
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = event.get("event")
            if kind == "step":
                out["steps"] = event.get("step", out["steps"])
                if out["first_step_s"] is None:
                    out["first_step_s"] = now
            elif kind == "sample":
                out["samples"] += 1
            elif kind == "finished":
                out["finished"] = event
            elif kind == "failed":
                out["failed"] = event.get("message")
            if on_line:
                on_line(event, now)
        proc.wait()
    finally:
        if killer:
            killer.cancel()
    out["wall_s"] = time.perf_counter() - t0
    out["rc"] = proc.returncode
    lines = [x for x in err.read_text(errors="replace").splitlines() if x.strip()]
    out["stderr_last"] = lines[-1] if lines else ""
    return out


def cache_entries(home: Path) -> int:
    folder = home / "cache" / "tokens"
    return len(list(folder.glob("*.npz"))) if folder.is_dir() else 0


def train_case(python: str, home: Path, corpus: str, preset: str, load: int, i: int, cold: bool) -> dict:
    if cold:
        shutil.rmtree(home / "cache", ignore_errors=True)
    with busy(load):
        imp = torch_import(python, home)
        cached = cache_entries(home) > 0
        name = f"busy-{preset}-{load}-{i}"
        proc, err, t0 = launch(python, home, [corpus, "--preset", preset, "--name", name])
        res = follow(proc, err, t0, timeout=3 * BUDGET[preset] + 120)
    fin = res["finished"] or {}
    ppl = "pending" if fin.get("eval_pending") else fin.get("val_ppl")
    return {
        "preset": preset,
        "load": load,
        "repeat": i,
        "budget_s": BUDGET[preset],
        "steps": fin.get("step", res["steps"]),
        "val_ppl": ppl if fin else None,
        "sample": res["samples"] > 0,
        "session_s": fin.get("session_seconds"),
        "startup_s": res["first_step_s"],
        "engine_startup_s": fin.get("startup_seconds"),
        "wall_s": res["wall_s"],
        "rc": res["rc"],
        "cache_before": cached,
        "error": res["failed"] or (res["stderr_last"] if res["rc"] else None),
        **imp,
    }


def sigint_check(python: str, home: Path, corpus: str, load: int, after: float) -> dict:
    with busy(load):
        proc, err, t0 = launch(python, home, [corpus, "--preset", "quick", "--name", f"sigint-{load}"])
        import threading

        sent: dict[str, float] = {}

        def interrupt() -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                sent["at"] = time.perf_counter() - t0

        timer = threading.Timer(after, interrupt)
        timer.start()
        res = follow(proc, err, t0, timeout=after + 120)
        timer.cancel()
    fin = res["finished"] or {}
    return {
        "check": f"SIGINT {after:g} s after launch",
        "load": load,
        "sent_s": sent.get("at"),
        "exit_after_signal_s": res["wall_s"] - sent["at"] if "at" in sent else None,
        "wall_s": res["wall_s"],
        "rc": res["rc"],
        "in_startup": res["first_step_s"] is None or ("at" in sent and res["first_step_s"] > sent["at"]),
        "reason": fin.get("reason"),
        "eval_pending": fin.get("eval_pending"),
        "error": res["failed"] or (res["stderr_last"] if res["rc"] not in (0, 130) else None),
    }


def batch_check(python: str, home: Path, corpus: str, load: int) -> dict:
    args = [corpus, "--batch-size", "100000", "--max-seconds", "5", "--name", f"batch-{load}"]
    with busy(load):
        proc, err, t0 = launch(python, home, args)
        res = follow(proc, err, t0, timeout=300)
    fin = res["finished"] or {}
    return {
        "check": "--batch-size 100000 --max-seconds 5",
        "load": load,
        "wall_s": res["wall_s"],
        "session_s": fin.get("session_seconds"),
        "rc": res["rc"],
        "steps": fin.get("step", res["steps"]),
        "reason": fin.get("reason"),
        "error": res["failed"] or (res["stderr_last"] if res["rc"] else None),
    }


def f(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def table(rows: list[dict], checks: list[dict]) -> str:
    out = [] if not rows else [
        "| preset | load | # | steps | val ppl | sample | session s / budget | start-up s (to 1st step) "
        "| import torch s | cache | exit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ppl = r["val_ppl"] if isinstance(r["val_ppl"], str) else f(r["val_ppl"], 2)
        cells = [
            r["preset"], r["load"], r["repeat"], f(r["steps"]), ppl, f(r["sample"]),
            f"{f(r['session_s'])} / {r['budget_s']:g}", f(r["startup_s"], 2), f(r.get("import_torch_s"), 2),
            "warm" if r["cache_before"] else "cold", r["rc"],
        ]  # fmt: skip
        out.append("| " + " | ".join(map(str, cells)) + " |")
    if checks:
        if out:
            out.append("")
        out.append("| check | load | wall s | signal sent at s | exit after signal s | exit | outcome |")
        out.append("|---|---|---|---|---|---|---|")
        for c in checks:
            parts = [
                f"reason {c['reason']}" if c.get("reason") else "",
                "in start-up" if c.get("in_startup") else "",
                "eval pending" if c.get("eval_pending") else "",
                f"{c['steps']} steps" if c.get("steps") is not None else "",
            ]
            outcome = c.get("error") or ", ".join(x for x in parts if x)
            out.append(
                f"| {c['check']} | {c['load']} | {f(c['wall_s'])} | {f(c.get('sent_s'))} "
                f"| {f(c.get('exit_after_signal_s'), 2)} | {c['rc']} | {outcome} |"
            )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description="lmtui training on a busy machine (issue 17)")
    p.add_argument("--python", default=sys.executable, help="the interpreter whose lmtui to run")
    p.add_argument("--presets", default="quick,small")
    p.add_argument("--loads", default="0,1,2", help="busy processes beside each run")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--corpus", default="scripts")
    p.add_argument("--sigint-after", type=float, default=3.0, help="seconds from launch to SIGINT")
    p.add_argument("--no-checks", action="store_true", help="skip the SIGINT and batch-size checks")
    p.add_argument("--cold-cache", action="store_true", help="empty the token cache before every run")
    p.add_argument("--out", "--json", dest="out", type=Path, help="write every figure to this JSON file")
    args = p.parse_args()
    presets = [x for x in args.presets.split(",") if x]
    loads = [int(x) for x in args.loads.split(",") if x]
    unknown = [x for x in presets if x not in BUDGET]
    if unknown:
        p.error(f"unknown preset {unknown[0]!r}")
    rows: list[dict] = []
    checks: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="lmtui-busy-") as tmp:
        home = Path(tmp)
        for preset in presets:
            for load in loads:
                for i in range(args.repeat):
                    row = train_case(args.python, home, args.corpus, preset, load, i, args.cold_cache)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
        if not args.no_checks:
            for load in loads:
                for check in (
                    sigint_check(args.python, home, args.corpus, load, args.sigint_after),
                    batch_check(args.python, home, args.corpus, load),
                ):
                    checks.append(check)
                    print(json.dumps(check), file=sys.stderr, flush=True)
    print(table(rows, checks))
    if args.out:
        data = {
            "benchmark": "busy",
            "python": args.python,
            "machine": machine(),
            "runs": rows,
            "checks": checks,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
