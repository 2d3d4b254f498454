"""Start-up of `lmtui train`, broken down: what comes before the first training step, and how long it takes.

For each interpreter (``--python``, repeatable: this checkout's and an older one's for before/after), runs
``lmtui train CORPUS --preset quick --events jsonl`` ``--repeat`` times on a warm token cache and times, from
launch, the ``started`` event and the first ``step`` event (stopped with SIGTERM right after it). Beside them,
in separate processes: the interpreter with lmtui's command line imported, and ``import torch`` alone. The
goal of issue 17: first step <= torch's import time + 1 s.

    python bench/startup.py [--python PATH ...] [--repeat N] [--corpus scripts] [--load N] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from busy import busy, child_env, follow, launch, torch_import
from common import machine

CLI_IMPORT = "import time; t = time.perf_counter(); import lmtui.cli; print(time.perf_counter() - t)"


def timed(python: str, home: Path, code: str) -> float:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=home, env=child_env(home))
    return float(out.stdout.strip().splitlines()[-1])


def one_start(python: str, home: Path, corpus: str, i: int) -> dict[str, float | None]:
    """Launch a quick run, note when ``started`` and the first ``step`` arrive, stop it at the first step."""
    proc, err, t0 = launch(python, home, [corpus, "--preset", "quick", "--name", f"start-{i}"])
    seen: dict[str, float] = {}

    def on_line(event: dict, now: float) -> None:
        kind = event.get("event")
        if kind in ("started", "step") and kind not in seen:
            seen[kind] = now
        if kind == "step" and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    follow(proc, err, t0, timeout=120, on_line=on_line)
    return {"started_s": seen.get("started"), "first_step_s": seen.get("step")}


def measure(python: str, corpus: str, repeat: int, load: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, busy(load):
        home = Path(tmp)
        one_start(python, home, corpus, -1)  # fills the token cache (where there is one) and the OS caches
        starts = [one_start(python, home, corpus, i) for i in range(repeat)]
        torch_s = [torch_import(python, home)["import_torch_s"] for _ in range(repeat)]
        cli_s = [timed(python, home, CLI_IMPORT) for _ in range(repeat)]

    def med(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    first = med([s["first_step_s"] for s in starts])
    torch_med = med(torch_s)
    return {
        "python": python,
        "load": load,
        "import_cli_s": med(cli_s),
        "import_torch_s": torch_med,
        "started_s": med([s["started_s"] for s in starts]),
        "first_step_s": first,
        "beyond_torch_s": None if first is None or torch_med is None else first - torch_med,
        "runs": starts,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--python", action="append", help="interpreter whose lmtui to start (default: this one)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--corpus", default="scripts")
    p.add_argument("--load", type=int, default=0, help="busy processes beside it")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = [measure(py, args.corpus, args.repeat, args.load) for py in args.python or [sys.executable]]
    print("| python | load | import lmtui.cli | import torch | started | first step | first step - torch |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        names = ("import_cli_s", "import_torch_s", "started_s", "first_step_s", "beyond_torch_s")
        cells = [r[n] for n in names]
        shown = " | ".join("–" if c is None else f"{c:.2f} s" for c in cells)
        print(f"| {r['python']} | {r['load']} | {shown} |")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "time": time.time(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
