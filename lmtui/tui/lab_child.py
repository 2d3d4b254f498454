"""Run a lab command (``python -m lmtui explain … --json`` and the like) as a child and read its JSON.

The lab's heavy work (torch, a model's forward and backward passes) stays out of the UI process, as
training does: the app only starts the child and reads what it prints.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from lmtui.errors import LmtuiError


def lab_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "lmtui", *args]


async def run_json(args: list[str], timeout: float = 300.0) -> dict[str, Any]:
    """The JSON object a ``lmtui … --json`` child prints; LmtuiError with its one-line error if it fails."""
    process = await asyncio.create_subprocess_exec(
        *lab_argv(*args), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        process.kill()
        await process.wait()
        if isinstance(exc, TimeoutError):
            raise LmtuiError(f"{args[0]} took longer than {timeout:g} s and was stopped") from None
        raise
    if process.returncode != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        message = lines[-1].removeprefix("Error: ") if lines else f"exit status {process.returncode}"
        raise LmtuiError(message)
    try:
        data = json.loads(out.decode("utf-8"))
    except json.JSONDecodeError:
        raise LmtuiError("the lab command printed something that is not JSON") from None
    if not isinstance(data, dict):
        raise LmtuiError("the lab command printed something that is not a JSON object")
    return data
