"""The wheel carries the bundled corpora (so `pip install lmtui` can train on them), its licence notices
and the console script; installed into a fresh virtual environment it trains, samples and lists runs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
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
        assert len(files) == 4 and all(f.endswith(".txt") for f in files)
        for name in files:
            info = zf.getinfo(f"lmtui/corpora/{name}")
            assert info.file_size == (REPO / "corpora" / name).stat().st_size
        for module in ("cli.py", "corpus.py", "training.py", "models/neural.py", "__main__.py"):
            assert f"lmtui/{module}" in names
        assert "lmtui/corpora/README.md" in names  # the texts' notices travel beside them
        assert not [n for n in names if n.startswith("lmtui/corpora/") and n.endswith(".py")]  # no build.py
        assert not any(n.startswith(("tests/", ".venv/")) or "/tests/" in n for n in names)
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "lmtui = lmtui.cli:main" in zf.read(entry_points).decode()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        assert "License-Expression: MIT AND CC-BY-2.5" in metadata
        assert "License-File: corpora/README.md" in metadata and "License-File: LICENSE" in metadata
        requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: torch")]
        assert requires and "==" not in requires[0], requires  # a range, not a pin
        assert "Classifier: Environment :: Console" in metadata and "Keywords: " in metadata
        assert "Provides-Extra" not in metadata  # the test tools are a dependency group, not a public extra


def relative_links(markdown: Path) -> set[str]:
    """The files a Markdown document links to or shows by a relative path (no URLs, no #anchors)."""
    targets = re.findall(r"\]\(([^)\s]+)", markdown.read_text(encoding="utf-8"))
    return {t.split("#")[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)}


def test_the_documents_link_to_files_that_exist() -> None:
    links = {name: relative_links(REPO / name) for name in ("README.md", "BENCHMARKS.md")}
    assert "docs/screenshot.svg" in links["README.md"]  # the parse finds links at all
    assert "docs/time-to-quality-char.png" in links["BENCHMARKS.md"]
    assert not [t for ts in links.values() for t in ts if not (REPO / t).is_file()]


def test_sdist_has_every_file_the_documents_link_and_the_notices(tmp_path):
    import tarfile

    with tarfile.open(build_wheel(tmp_path, "sdist")) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"README.md", "BENCHMARKS.md", "LICENSE", "corpora/README.md", "constraints.txt"} <= names
    linked = relative_links(REPO / "README.md") | relative_links(REPO / "BENCHMARKS.md")
    assert linked and not linked - names, sorted(linked - names)


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


def local_find_links() -> list[Path]:
    """The folders pip's configuration (files or PIP_FIND_LINKS) points find-links at."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
    ).stdout
    values = re.findall(r"find-links='([^']*)'", listed)
    return [Path(v) for value in values for v in value.split() if Path(v).is_dir()]


def test_torch_resolves_to_the_cpu_build_here():
    """This project's machines: constraints.txt (as `make` installs torch) resolves to the local 2.13.0+cpu
    wheel, which requires no CUDA packages. True here only: elsewhere `make` takes that build from PyTorch's
    CPU index (tests/test_packaging.py checks the recipe and the pins), and a test may not use the network."""
    if not any(d.glob("torch-2.13.0+cpu-*.whl") for d in local_find_links()):
        pytest.skip("no local torch 2.13.0+cpu wheel in pip's find-links: a check of this project's machines")
    report = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps"),
            *("--no-index", "-q", "--report", "-", "-c", str(REPO / "constraints.txt"), "torch"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    (torch,) = json.loads(report.stdout)["install"]
    assert torch["metadata"]["version"] == "2.13.0+cpu"
    requires = torch["metadata"].get("requires_dist", [])
    assert requires and not [r for r in requires if r.startswith(("nvidia", "triton"))], requires
