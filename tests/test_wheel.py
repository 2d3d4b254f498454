"""The wheel carries the bundled corpora (so `pip install lmtui` can train on them) and the console script."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "corpora" / "manifest.json"


def build_wheel(outdir: Path) -> Path:
    """``python -m build --wheel``; isolated first (that works here: pip reaches the local wheel index),
    without isolation only when the isolated environment cannot get its build backend."""
    cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(REPO)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    log = result.stdout + result.stderr
    if (
        result.returncode != 0
        and "Installing packages in isolated environment" in log
        and ("No matching distribution" in log or "Could not find a version" in log)
    ):
        if importlib.util.find_spec("hatchling") is None:
            pytest.skip("offline: the isolated build cannot install hatchling and it is not installed here")
        result = subprocess.run(
            [*cmd[:4], "--no-isolation", *cmd[4:]], capture_output=True, text=True, timeout=180
        )
        log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    wheels = list(outdir.glob("lmtui-*.whl"))
    assert len(wheels) == 1, log[-2000:]
    return wheels[0]


@pytest.mark.skipif(not MANIFEST.is_file(), reason="corpora/manifest.json is absent from the source tree")
def test_wheel_contains_corpora_and_entry_point(tmp_path):
    wheel = build_wheel(tmp_path)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "lmtui/corpora/manifest.json" in names
        assert json.loads(zf.read("lmtui/corpora/manifest.json")) == manifest
        files = [entry["file"] for entry in manifest]
        assert len(files) == 3 and all(f.endswith(".txt") for f in files)
        for name in files:
            info = zf.getinfo(f"lmtui/corpora/{name}")
            assert info.file_size == (REPO / "corpora" / name).stat().st_size
        for module in ("cli.py", "corpus.py", "training.py", "models/neural.py", "__main__.py"):
            assert f"lmtui/{module}" in names
        assert not any(n.startswith(("tests/", ".venv/")) or "/tests/" in n for n in names)
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "lmtui = lmtui.cli:main" in zf.read(entry_points).decode()
