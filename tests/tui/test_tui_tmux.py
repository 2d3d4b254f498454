"""The real app in a real terminal: launch ``python -m lmtui`` in tmux, drive it with keys, read the screen.

Trains an n-gram model on a small text through the UI (no torch in the child: seconds), samples from it,
saves the sample, looks at the runs table and quits.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

WAIT = 120.0  # seconds a wait for the screen may take: generous, only a hang should reach it

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (apt-get install tmux)")


class Tmux:
    def __init__(self, command: str, env: dict[str, str], size: tuple[int, int] = (120, 40)) -> None:
        self.session = f"lmtui-test-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        width, height = map(str, size)
        # a tmux server this test starts inherits its environment: COLUMNS/LINES there (a test may set
        # them) would fix the app's size, whatever the window's
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", width, "-y", height,
                        f"env -u COLUMNS -u LINES {exports} {command}; echo LMTUI-EXITED-$?; sleep 30"],
                       check=True)

    def pane_pid(self) -> int:
        out = subprocess.run(["tmux", "list-panes", "-t", self.session, "-F", "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[0])

    def screen(self) -> str:
        cmd = ["tmux", "capture-pane", "-p", "-t", self.session]
        return subprocess.run(cmd, capture_output=True, text=True).stdout.replace("\xa0", " ")

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", text], check=True)

    def wait_for(self, text: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")

    def wait_gone(self, text: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text not in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} is still shown; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def test_lmtui_in_tmux(english_file: Path, lmtui_home: Path) -> None:
    env = {"LMTUI_HOME": str(lmtui_home), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""),
           "COLORTERM": "truecolor"}
    tmux = Tmux(f"{shlex.quote(sys.executable)} -m lmtui", env)
    try:
        tmux.wait_for("Choose a text to train on")
        tmux.keys("C-o")
        tmux.wait_for("Type a path")  # the path input has focus: typing before it would lose keys
        time.sleep(0.3)
        tmux.type(str(english_file))
        tmux.keys("Enter")
        chars = len(english_file.read_text(encoding="utf-8"))
        tmux.wait_for(f"{chars:,} characters")  # this text's stats, not the bundled corpus shown first
        tmux.keys("Enter")  # the same path again: on to the model form
        tmux.wait_for("Model family")
        tmux.keys("Home", "Enter")  # the first family: n-gram (the cursor starts on LSTM, the chosen one)
        tmux.wait_for("order (n)")
        tmux.keys("C-t")
        screen = tmux.wait_for("finished")
        assert "distinct n-grams" in screen and "english-ngram-char" in screen
        tmux.keys("g")
        tmux.wait_for("Prime: text")  # the playground itself, not the dashboard
        time.sleep(0.3)  # mounted: its prime input has focus
        tmux.type("The ")
        tmux.keys("Enter")
        tmux.wait_for("Ctrl+S saves it")
        tmux.keys("C-s")
        tmux.wait_for("saved")
        assert (lmtui_home / "runs" / "english-ngram-char" / "samples" / "sample-001.md").is_file()
        tmux.keys("F5")
        screen = tmux.wait_for("runs folder")
        row = next(line for line in screen.splitlines() if "english-ngram-char" in line)
        assert "ngram" in row and "char" in row and "done" in row
        tmux.keys("C-q")
        tmux.wait_for("LMTUI-EXITED-0")
    finally:
        tmux.close()
