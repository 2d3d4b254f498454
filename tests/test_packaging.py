"""How lmtui installs, without the network: constraints.txt pins torch's CPU build where PyPI's would be a
CUDA build, `make` installs torch first from PyTorch's CPU index, `make run` after `make test` installs
nothing more, the project's metadata says what it is, and `python -m lmtui` runs only as a script."""

from __future__ import annotations

import importlib
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

# marker environments: (sys_platform, platform_machine) -> whether PyPI's torch wheel there is a CUDA build
PLATFORMS = {
    ("linux", "x86_64"): True,
    ("linux", "aarch64"): False,  # where PyTorch's CPU index has a +cpu build, pip prefers it (sorts higher)
    ("darwin", "arm64"): False,
    ("win32", "AMD64"): False,
}


def torch_pins(platform: str, machine: str) -> list[str]:
    env = {"sys_platform": platform, "platform_machine": machine}
    pins = []
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            if req.name == "torch" and (req.marker is None or req.marker.evaluate(env)):
                pins.append(str(req.specifier))
    return pins


@pytest.mark.parametrize(("platform", "machine"), PLATFORMS)
def test_constraints_pin_the_cpu_build_where_pypi_would_give_cuda(platform: str, machine: str) -> None:
    pins = torch_pins(platform, machine)
    assert len(pins) == 1, pins  # exactly one line applies on every platform
    if PLATFORMS[platform, machine]:
        assert pins == ["==2.13.0+cpu"]  # PyPI has no +cpu: never a silent CUDA download
    else:
        assert pins == ["==2.13.0"]  # the tested version; its +cpu build where the CPU index has one


def make_dry_run(*args: str, venv: Path) -> list[str]:
    result = subprocess.run(
        ["make", "-C", str(REPO), "--no-print-directory", f"VENV={venv}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@needs_make
def test_make_installs_torch_first_and_alone_from_the_cpu_index(tmp_path: Path) -> None:
    lines = make_dry_run("-n", "-B", f"{tmp_path}/.test", venv=tmp_path)
    installs = [line for line in lines if " -m pip install" in line]
    pip, torch, lmtui = installs
    assert "pip>=25.1" in pip  # dependency groups need pip 25.1
    assert f"--extra-index-url {CPU_INDEX}" in torch and torch.endswith(" -c constraints.txt torch"), torch
    assert "--no-deps" in torch  # only torch is looked up on that index; its dependencies come with lmtui's
    assert CPU_INDEX not in lmtui and "-e . --group test" in lmtui


@needs_make
def test_make_installs_a_cuda_build_when_asked(tmp_path: Path) -> None:
    """README's GPU recipe: the build named, from its index, without the CPU pin."""
    cuda = "https://download.pytorch.org/whl/cu128"
    lines = make_dry_run(
        "-n", "-B", "TORCH=torch==2.13.0+cu128", f"TORCH_INDEX={cuda}", f"{tmp_path}/.app", venv=tmp_path
    )
    (torch,) = [line for line in lines if " torch" in line and " -m pip install" in line]
    assert f"--extra-index-url {cuda}" in torch and torch.endswith(" torch==2.13.0+cu128"), torch
    assert "constraints.txt" not in torch and CPU_INDEX not in "\n".join(lines)


@needs_make
def test_make_run_after_make_test_installs_nothing(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()  # a venv already made: the recipes below run `true` for pip
    ran = make_dry_run("PIP=true", f"{tmp_path}/.test", venv=tmp_path)
    assert any(line.startswith("true install") and "--group test" in line for line in ran), ran
    assert make_dry_run("-n", "PIP=true", "run", venv=tmp_path) == [f"{tmp_path}/bin/lmtui"]


def test_the_metadata_says_what_lmtui_is_and_keeps_the_test_tools_private() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    meta = project["project"]
    assert "Environment :: Console" in meta["classifiers"] and "language model" in meta["keywords"]
    assert "optional-dependencies" not in meta  # no public "test" extra
    tools = {Requirement(r).name for r in project["dependency-groups"]["test"]}
    assert {"pytest", "ruff", "mypy", "build", "kenlm"} <= tools
    textual = next(Requirement(r) for r in meta["dependencies"] if r.startswith("textual>"))
    import textual as installed

    assert installed.__version__ in textual.specifier  # the range includes the Textual tested here …
    assert "8.3.0" not in textual.specifier  # … and no minor not tested (modes.py uses its private parts)
    assert project["tool"]["mypy"]["files"] == ["lmtui"]


def test_python_m_lmtui_runs_main_only_as_a_script(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("lmtui.cli.main", lambda: calls.append("main"))
    monkeypatch.delitem(sys.modules, "lmtui.__main__", raising=False)
    importlib.import_module("lmtui.__main__")
    assert calls == []
    del sys.modules["lmtui.__main__"]  # runpy runs it afresh, as `python -m lmtui` does
    runpy.run_module("lmtui", run_name="__main__")
    assert calls == ["main"]
