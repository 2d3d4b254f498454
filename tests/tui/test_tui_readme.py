"""README's "Two minutes with lmtui", done literally in a real terminal of 120x36: the keys as README gives
them, what README says should be seen. A change to the app or to README that parts the two fails here.
Trains the quick char LSTM on the bundled Shakespeare, for 300 steps rather than README's 15 seconds (the one
departure from README: a timed run's outcome, full evaluation or pending, would depend on the machine's speed
and load)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_tui_tmux import Tmux, pytestmark  # noqa: F401  (skipped where tmux is missing)

README = Path(__file__).parents[2] / "README.md"
STEPS = 300  # about 5 s of training on a quiet 2-core machine; then a full evaluation, never pending


def env(home: Path) -> dict[str, str]:
    return {"LMTUI_HOME": str(home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""),
            "COLORTERM": "truecolor"}


def test_readme_walkthrough_literally_at_120x36(lmtui_home: Path) -> None:
    walkthrough = README.read_text(encoding="utf-8").split("### Two minutes with lmtui")[1]
    # the keys this test presses are the ones README tells a reader to press
    for words in ("with ↓", "Press Enter", "press Tab twice (to *Preset*), ↑ and Enter",
                  "Tab four times to *dropout* and type 1.5", "Ctrl+U clears the field; type 0",
                  "Press Ctrl+T",
                  "press G", "opens with `HAMLET:\\n` as the prime", "Press Enter to generate",
                  "Ctrl+S saves",
                  "Ctrl+O writes", "Ctrl+Y copies", "F5 lists"):
        assert words in " ".join(walkthrough.split()), words
    tmux = Tmux(f"{shlex.quote(sys.executable)} -m lmtui", env(lmtui_home), size=(120, 36))
    try:
        # 1. move to Shakespeare's plays with ↓
        tmux.wait_for("Choose a text to train on")
        tmux.keys("Down")
        tmux.wait_for("All 37 plays")
        tmux.wait_for("suggested level: char")  # "read its size, word and character counts"
        # 2. Enter; Tab twice to Preset, ↑, Enter chooses quick; the size line is there before training
        tmux.keys("Enter")
        tmux.wait_for("Model family")
        screen = tmux.wait_for("parameters (")
        assert "Budget: 60 s" in screen
        tmux.keys("Tab", "Tab", "Up", "Enter")
        screen = tmux.wait_for("Budget: 15 s")
        assert re.search(r"time budget \(s\)\s+15\b", screen)
        # a bad value is named in red above Train; fixed, it goes
        tmux.keys("Tab", "Tab", "Tab", "Tab")
        time.sleep(0.3)
        tmux.type("1.5")
        screen = tmux.wait_for("Dropout must be in [0, 1)")
        assert screen.index("Dropout must be") < screen.index("Train ▸")
        tmux.keys("C-u")
        tmux.wait_for("Dropout: enter a value")  # a person sees the field emptied before typing on
        tmux.type("0")
        tmux.wait_gone("✗")
        # not in README: bounded by steps, not seconds (the next two fields: time budget, max steps). Each
        # field is seen emptied before the next key, as a person would: Textual hands a key typed in the same
        # burst as a Tab to the field the Tab leaves when the Tab has not yet bubbled up to the screen.
        tmux.keys("Tab", "C-u")
        tmux.wait_for("or max steps: set one of them")
        tmux.keys("Tab", "C-u")
        time.sleep(0.3)  # as after the Tabs to dropout above: the focus moves before the digits come
        tmux.type(str(STEPS))
        tmux.wait_for(f"Budget: {STEPS} steps, whichever ends first")
        tmux.wait_gone("✗")
        # 3. Ctrl+T: the dashboard
        tmux.keys("C-t")
        screen = tmux.wait_for("Loss (nats/token)")
        assert "Validation perplexity" in screen and "Gradient norm" in screen
        screen = tmux.wait_for(f"finished (step budget reached after {STEPS} steps", 300)
        assert "ETA" not in screen  # nothing left to estimate once finished
        run = re.search(r"(scripts-lstm-char\S*) finished", screen).group(1)
        # 4. G opens the playground with HAMLET:\n as the prime; the panel shows what will be sampled
        tmux.keys("g")
        screen = tmux.wait_for("as sampled after temperature")
        assert "HAMLET:\\n" in screen
        tmux.keys("Enter")
        tmux.wait_for("Ctrl+S saves it")
        # 5. Ctrl+S saves (the path is shown), Ctrl+O writes an SVG card
        tmux.keys("C-s")
        tmux.wait_for("sample-001")
        tmux.keys("C-o")
        tmux.wait_for(".svg")
        samples = lmtui_home / "runs" / run / "samples"
        assert {p.suffix for p in samples.iterdir()} >= {".txt", ".md", ".svg"}
        tmux.keys("C-y")
        # 6. F5 lists the run with its validation and test perplexity
        tmux.keys("F5")
        screen = tmux.wait_for("val ppl")
        row = next(line for line in screen.splitlines() if run in line)
        assert len(re.findall(r"\b\d+\.\d\d\b", row)) >= 2, row
        tmux.keys("C-q")
        tmux.wait_for("LMTUI-EXITED-0")
    finally:
        tmux.close()


def descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:  # gone meanwhile, or no /proc here
        return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_killing_the_terminal_mid_training_leaves_nothing_running(english_file: Path, lmtui_home: Path,
                                                                    child_env: dict[str, str]) -> None:
    tmux = Tmux(f"{shlex.quote(sys.executable)} -m lmtui", env(lmtui_home), size=(120, 36))
    pids: set[int] = set()
    try:
        tmux.wait_for("Choose a text to train on")
        tmux.keys("C-o")
        tmux.wait_for("Type a path")
        time.sleep(0.3)
        tmux.type(str(english_file))
        tmux.keys("Enter")
        tmux.wait_for(f"{len(english_file.read_text(encoding='utf-8')):,} characters")
        tmux.keys("Enter")
        tmux.wait_for("Model family")
        tmux.keys("C-t")  # the small LSTM: a minute, far longer than this test waits
        tmux.wait_for("tokens/s")
        pids = descendants(tmux.pane_pid())
        assert any("train" in cmdline(p) for p in pids), "a training child runs under the app"
    finally:
        tmux.close()  # the window goes away: SIGHUP to the app
    deadline = time.monotonic() + 60  # a bound with room for a busy machine: they end within seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"still running after the terminal went away: {left}"
    listed = subprocess.run([sys.executable, "-m", "lmtui", "runs", "--json"], capture_output=True, text=True,
                            env=child_env, check=True).stdout
    assert '"english-lstm-char"' in listed and '"training"' not in listed
    resumed = subprocess.run([sys.executable, "-m", "lmtui", "train", "--resume", "english-lstm-char",
                              "--max-seconds", "1"], capture_output=True, text=True, env=child_env)
    assert resumed.returncode == 0, resumed.stderr
