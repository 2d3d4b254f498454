"""Helpers shared by the benchmark scripts: timing, medians, peak memory in a child process, JSON output.

Benchmarks are never part of the test suite; nltk, kenlm and psutil are optional (skipped when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
sys.path.insert(0, str(ROOT))


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes (a smoke run)")
    return p


def machine() -> dict[str, Any]:
    import numpy as np

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_avg": os.getloadavg(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(fn, repeat: int = 3) -> tuple[float, list[float], Any]:
    """Median wall time of ``fn()`` over ``repeat`` calls, all the times, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return median(times), times, result


def seconds_per_step(step, seconds: float, warmup: int = 3) -> float:
    """Mean seconds of one call of ``step`` (a training step), timed for about ``seconds`` after ``warmup``
    untimed calls (the first ones pay for allocation and kernel selection)."""
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return (time.perf_counter() - t0) / n


def child(code: str, timeout: float | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh Python; it prints one JSON object last. Adds the child's peak RSS (MiB).

    A fresh process per tool keeps one tool's memory from hiding in another's peak. The peak is VmHWM from
    /proc/self/status (Linux), the high-water mark of this process's own address space: ``ru_maxrss`` is not
    used because Linux carries the parent's peak over a fork+exec, so a child of a big parent reads big.
    """
    wrapper = (
        "import json, sys\n"
        "def peak_rss_mib():\n"
        "    with open('/proc/self/status') as f:\n"
        "        return next(int(x.split()[1]) for x in f if x.startswith('VmHWM:')) / 1024\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"{code}\n"
        "out['maxrss_mib'] = peak_rss_mib()\n"
        "print(json.dumps(out))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def write_json(path: Path | None, name: str, results: dict[str, Any]) -> None:
    data = {"benchmark": name, "machine": machine(), "results": results}
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, default=float) + "\n")
        print(f"wrote {path}")


def repeated_text(source: Path, target_bytes: int, out: Path, seed: int = 0) -> Path:
    """About ``target_bytes`` of ``source``'s paragraphs (blank-line separated), shuffled, repeated."""
    return _shuffled_paragraphs(source.read_text(encoding="utf-8").split("\n\n"), target_bytes, out, seed)


def mixed_text(target_bytes: int, out: Path, seed: int = 0) -> Path:
    """All bundled corpora's paragraphs, shuffled together and repeated to about ``target_bytes``."""
    paras: list[str] = []
    for name in ("speeches.txt", "scripts.txt", "paint-colours.txt"):
        paras += (CORPORA / name).read_text(encoding="utf-8").split("\n\n")
    return _shuffled_paragraphs(paras, target_bytes, out, seed)


def _shuffled_paragraphs(paras: list[str], target_bytes: int, out: Path, seed: int) -> Path:
    """Write ``paras`` shuffled, again and again, until ``out`` holds about ``target_bytes``."""
    if out.is_file() and abs(out.stat().st_size - target_bytes) < target_bytes * 0.05:
        return out
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(out, "w", encoding="utf-8") as f:
        while written < target_bytes:
            rng.shuffle(paras)
            for p in paras:
                chunk = p + "\n\n"
                f.write(chunk)
                written += len(chunk.encode("utf-8"))
                if written >= target_bytes:
                    break
    return out


def fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def parse_value(v: str):
    """A ``--set key=value`` value as int, float, bool, None or the string itself."""
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(v.lower(), v)
