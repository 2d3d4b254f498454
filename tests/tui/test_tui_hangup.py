"""The terminal goes away while a model trains (tmux kill-session, a closed window): the app and its training
child end within seconds, the checkpoint is saved, run.json says what is true, and the run resumes. A child
waiting for its job (started ahead, torch loading) ends with the app too."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lmtui import runs

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

AUTO_APP = Path(__file__).with_name("auto_app.py")
REPO = Path(__file__).resolve().parents[2]
TINY = "--embed 8 --hidden 16 --seq-len 16 --batch-size 4 --device cpu"


def _cmdline(pid: int) -> str:
    """A process's command line; "" once it is gone (or a zombie: its parent has yet to reap it)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _family(pid: int) -> set[int]:
    """``pid`` and every process under it (the app's training child, one waiting for its job)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(errors="replace")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _left(pids: set[int]) -> list[int]:
    return sorted(p for p in pids if _cmdline(p))


def _start_app(lmtui_home: Path, env: dict[str, str], child: str = "") -> tuple[str, int]:
    """The real app (auto_app.py) in a tmux session, training ``child`` if given; its session and pid."""
    py = shlex.quote(sys.executable)
    pidfile = lmtui_home / "app.pid"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    session = f"lmtui-hup-{uuid.uuid4().hex[:8]}"
    app = f"{py} {shlex.quote(str(AUTO_APP))} {shlex.quote(str(pidfile))}"
    command = f"env -u COLUMNS -u LINES {exports} {app} -- {child}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "36", command], check=True)
    _wait(lambda: pidfile.is_file() and pidfile.read_text(encoding="utf-8").strip().isdigit(), 60, "the app")
    return session, int(pidfile.read_text(encoding="utf-8"))


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not in {timeout} s: {what}")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the processes")
def test_killing_the_terminal_ends_app_and_child_and_saves(english_file: Path, lmtui_home: Path) -> None:
    name = f"hup-{uuid.uuid4().hex[:8]}"
    py = shlex.quote(sys.executable)
    child = (f"{py} -m lmtui train {shlex.quote(str(english_file))} --model lstm --steps 1000000 {TINY} "
             f"--name {name} --events jsonl --control stdin --checkpoint-every 1")
    env = _env(lmtui_home)
    session, app_pid = _start_app(lmtui_home, env, child)
    try:
        run_dir = lmtui_home / "runs" / name
        _wait(lambda: (run_dir / "last.safetensors").is_file(), 120, "a first checkpoint")
        time.sleep(1.5)  # training, mid-step
        family = _family(app_pid)
        trainers = [p for p in family if "-m lmtui trainer" in _cmdline(p)]
        assert len(trainers) == 1, [_cmdline(p) for p in family]  # the app's training child
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    # gone within seconds (not minutes with parent PID 1, as the app once was, stuck in Textual's driver
    # waiting for a writer thread that died on the dead terminal); auto_app keeps the watchdog out of it
    _wait(lambda: not _left(family), 60, f"lmtui processes left: {_left(family)}")

    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["status"] == "stopped" and meta["eval_pending"] is True  # true: nothing trains it any more
    _, ckpt = runs.read_tensors(run_dir / "last.safetensors")
    step = json.loads(ckpt["lmtui"])["step"]
    assert step > 0
    resumed = subprocess.run(
        [sys.executable, "-m", "lmtui", "train", "--resume", name, "--steps", str(step + 2),
         "--events", "jsonl"],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=REPO, timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    finished = json.loads(resumed.stdout.splitlines()[-1])
    assert finished["event"] == "finished" and finished["step"] == step + 2 and not finished["eval_pending"]
    assert runs.load_run(name).meta["status"] == "done"


def _env(lmtui_home: Path) -> dict[str, str]:
    return {"LMTUI_HOME": str(lmtui_home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the processes")
def test_killing_the_terminal_ends_a_child_waiting_for_its_job(lmtui_home: Path) -> None:
    """The real app keeps a training child waiting (loading torch, then ready): it ends with the app."""
    session, app_pid = _start_app(lmtui_home, _env(lmtui_home))
    try:
        def waiting() -> list[int]:
            return [p for p in _family(app_pid) if "-m lmtui trainer" in _cmdline(p)]

        _wait(waiting, 60, "a training child started ahead")
        family = _family(app_pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    _wait(lambda: not _left(family), 60, f"lmtui processes left: {_left(family)}")
