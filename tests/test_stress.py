"""Stress (issue 9 item 1): trains, resumes and deletes on one name at once. Exactly one process writes the
run at a time, every other one ends with one clean line, and what is left afterwards is a run that loads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from test_cli import TINY

from lmtui import runs

REPO = Path(__file__).resolve().parent.parent
REFUSALS = (
    "is being trained by another process",
    "already exists",
    "no run named",
    "no checkpoint to resume from",
)


def _start(commands: list[list[str]], env: dict[str, str]) -> list[tuple[list[str], subprocess.Popen]]:
    pipe = subprocess.PIPE
    return [
        (cmd, subprocess.Popen([sys.executable, "-m", "lmtui", *cmd], stdout=pipe, stderr=pipe, text=True,
                               env=env, cwd=REPO))  # fmt: skip
        for cmd in commands
    ]


def _finish(started: list[tuple[list[str], subprocess.Popen]]) -> list[tuple[str, int, str]]:
    outcomes = []
    try:
        for cmd, proc in started:
            _, err = proc.communicate(timeout=400)
            what = "delete" if cmd[0] == "delete" else ("resume" if "--resume" in cmd else "train")
            outcomes.append((what, proc.returncode, err))
    finally:
        for _, proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outcomes


def test_concurrent_trains_resumes_and_deletes_on_one_name(english_file, child_env):
    fresh = ["train", str(english_file), "--model", "rnn", *map(str, TINY), "--steps", "60"]
    fresh += ["--eval-every", "4", "--name", "same"]
    resume, delete = ["train", "--resume", "same", "--steps", "80"], ["delete", "same", "--yes"]
    folder = runs.run_path("same")
    first = _start([fresh, fresh], child_env)
    deadline = time.monotonic() + 120  # a bound, not a speed claim: the run appears once torch has loaded
    while not (folder / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = _start([resume, delete, fresh, resume, delete], child_env)
    outcomes = _finish(first) + _finish(second)
    outcomes += _finish(_start([resume, delete, resume, fresh], child_env))
    print(*outcomes, sep="\n")
    for what, code, err in outcomes:
        assert "Traceback" not in err, err
        assert code in (0, 1), (what, code, err)
        if code == 1:
            lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note:")]
            assert len(lines) == 1 and lines[0].startswith("Error: "), err
            assert any(r in lines[0] for r in REFUSALS), lines[0]
    assert sum(what == "train" and code == 0 for what, code, _ in outcomes[:2]) == 1  # one of two at once

    assert not runs.is_locked(folder)
    if (folder / "run.json").exists():
        run = runs.load_run("same")
        assert run.status in ("done", "stopped"), run.meta.get("error")
        model = run.load_model()
        ids = run.tokenizer().encode("the old sailor")
        assert model.cross_entropy(ids) > 0
        # one writer at a time: the curve never steps back (a resume trims what it redoes first)
        steps = [e["step"] for e in map(json.loads, (folder / "events.jsonl").read_text().splitlines())]
        assert steps == sorted(steps)
    leftovers = [p.name for p in runs.runs_dir().iterdir() if p.name != "same"]
    assert all(name.startswith(".trash-") for name in leftovers), leftovers
