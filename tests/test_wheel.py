"""The wheel carries the bundled corpora (so `pip install lmtui` can train on them), its licence notices
and the console script; installed into a fresh virtual environment it trains, samples and lists runs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "corpora" / "manifest.json"
pytestmark = pytest.mark.wheel  # builds the wheel (~20 s each); deselect with -m "not wheel"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


def build_wheel(outdir: Path, kind: str = "wheel") -> Path:
    """``python -m build --wheel`` (or ``--sdist``); isolated first (that works here: pip reaches the local
    wheel index), without isolation only when the isolated environment cannot get its build backend."""
    cmd = [sys.executable, "-m", "build", f"--{kind}", "--outdir", str(outdir), str(REPO)]
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
    wheels = list(outdir.glob("lmtui-*.whl" if kind == "wheel" else "lmtui-*.tar.gz"))
    assert len(wheels) == 1, log[-2000:]
    return wheels[0]


@pytest.mark.skipif(not MANIFEST.is_file(), reason="corpora/manifest.json is absent from the source tree")
def test_wheel_contains_corpora_and_entry_point(wheel):
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
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert "License-Expression: MIT AND CC-BY-2.5" in metadata
        assert "License-File: corpora/README.md" in metadata and "License-File: LICENSE" in metadata
        requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: torch")]
        assert requires and "==" not in requires[0], requires  # a range, not a pin


def test_sdist_has_the_readme_image_and_notices(tmp_path):
    import tarfile

    with tarfile.open(build_wheel(tmp_path, "sdist")) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"docs/screenshot.svg", "README.md", "LICENSE", "corpora/README.md", "constraints.txt"} <= names


def fresh_venv(where: Path) -> Path:
    """A new virtual environment whose only extra path is this one's site-packages (torch and friends),
    so the test reuses the installed dependencies instead of copying 700 MB of torch. Those directories are
    added by a .pth line, so *their* .pth files (the editable install of lmtui) are not processed: lmtui can
    only come from the wheel installed next."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


def test_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=120)
    lmtui = tmp_path / "venv" / "bin" / "lmtui"
    work = tmp_path / "elsewhere"  # no source tree on the path: not the cwd, not PYTHONPATH
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"LMTUI_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}

    def run(*args: str) -> str:
        result = subprocess.run(
            [str(lmtui), *args], cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result.stdout

    where = subprocess.run(
        [python, "-c", "import lmtui; print(lmtui.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(tmp_path / "venv")), where
    names = [c["name"] for c in json.loads(run("corpora", "--json"))["corpora"]]
    assert "paint-colours" in names
    trained = json.loads(run("train", "paint-colours", "--model", "ngram", "--name", "w", "--json"))
    assert trained["run"] == "w" and trained["val_ppl"] > 1
    samples = json.loads(run("sample", "w", "--length", "20", "--seed", "1", "--json"))["samples"]
    assert len(samples) == 1 and samples[0]
    assert [r["name"] for r in json.loads(run("runs", "--json"))["runs"]] == ["w"]


def test_dependencies_resolve_to_the_cpu_torch_here(wheel):
    """With constraints.txt (as `make` installs), the wheel's dependencies resolve to the tested torch and
    pull no CUDA packages."""
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "-q",
            "--report",
            "-",
            "-c",
            str(REPO / "constraints.txt"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    if report.returncode != 0 and (
        "No matching distribution" in report.stderr or "Could not" in report.stderr
    ):
        pytest.skip("offline: pip cannot reach a package index to plan the install")
    assert report.returncode == 0, report.stderr[-2000:]
    planned = {
        i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.stdout)["install"]
    }
    assert planned["torch"].startswith("2.13.0")
    assert not [n for n in planned if n.startswith(("nvidia", "triton"))], sorted(planned)
