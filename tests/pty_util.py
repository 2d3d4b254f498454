"""Running lmtui on a real pseudo-terminal: what a person's terminal would receive, byte for byte."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path


def run_on_pty(args: list[str], env: dict[str, str], size: tuple[int, int] | None = None,
               cwd: Path | None = None) -> tuple[int, str]:
    """(exit status, everything written to the terminal) of ``python -m lmtui ARGS`` on a pty of ``size``
    (columns, rows), read until the child closes its end (EOF, or EIO on Linux)."""
    leader, follower = pty.openpty()
    if size is not None:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    with subprocess.Popen([sys.executable, "-m", "lmtui", *args], stdin=follower, stdout=follower,
                          stderr=follower, env=env, cwd=cwd, close_fds=True) as child:
        os.close(follower)
        chunks = []
        while True:
            select.select([leader], [], [], 60)
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = child.wait(timeout=60)
    os.close(leader)
    return code, b"".join(chunks).decode("utf-8")
