"""Helpers shared by the lab tests: invoking the CLI and checking its one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from lmtui.cli import main


def invoke(*args) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(main, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result


def json_out(result: Result) -> dict:
    return json.loads(ok(result).stdout)


def one_line_error(result: Result, fragment: str) -> str:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.stderr
    return lines[0]
