"""One writer per run (issue 9 items 1-2): creating a run is atomic, a writer holds an OS lock that dies
with it, resume/delete/import/train --name respect it, and the status shown is derived from the lock."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import TINY, clean_error, invoke, json_out, ok

from lmtui import memory, runs
from lmtui.errors import LmtuiError
from lmtui.lock import RunBusy
from lmtui.training import Job, train

REPO = Path(__file__).resolve().parent.parent


def test_runs_schema_and_storage_never_import_training():
    """The runs folder reads through lmtui.schema; today's runs -> training import circle is gone."""
    for module in ("runs.py", "schema.py", "storage.py", "lock.py"):
        tree = ast.parse((REPO / "lmtui" / module).read_text(encoding="utf-8"))
        imported = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not any(str(m).startswith("lmtui.training") for m in imported), module


def test_a_locked_run_refuses_every_other_writer(trained_runs, english_file, tmp_path):
    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    folder = runs.run_path("lstm-run")
    with runs.run_lock(folder):
        assert runs.is_locked(folder) and runs.load_run("lstm-run").busy
        for args in (
            ["delete", "lstm-run", "--yes"],
            ["train", "--resume", "lstm-run", "--steps", 40],
            ["train", english_file, "--model", "lstm", *TINY, "--steps", 2, "--name", "lstm-run"],
            ["import", bundle, "--name", "lstm-run"],
        ):
            line = clean_error(invoke(*args), "is being trained by another process")
            assert f"(pid {os.getpid()})" in line
        with pytest.raises(RunBusy):
            runs.delete_run("lstm-run")
    assert not runs.is_locked(folder)
    assert runs.load_run("lstm-run").meta["metrics"]["step"] == 30  # nobody touched it
    ok(invoke("delete", "lstm-run", "--yes"))
    assert not folder.exists()


def test_claim_is_atomic_and_then_the_name_is_taken():
    lock = runs.claim("fresh")
    with pytest.raises(RunBusy):
        runs.claim("fresh")  # the folder exists but its creator has not written run.json yet
    runs.write_json(runs.run_path("fresh") / "run.json", {"format": "x"})
    lock.release()
    with pytest.raises(runs.RunExists, match="already exists"):
        runs.claim("fresh")


def killed_when_it_says(word: str, code: str, env: dict[str, str]) -> None:
    """Run Python ``code`` in a child and SIGKILL it once it prints ``word`` (the moment a test kills at)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == word
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_a_creator_killed_before_run_json_leaves_a_reusable_name(english_file, child_env):
    code = (
        "from lmtui import runs; import time; runs.claim('half'); "
        "(runs.run_path('half') / 'model.safetensors').write_bytes(b'junk of a dead creator'); "
        "print('claimed', flush=True); time.sleep(600)"
    )
    killed_when_it_says("claimed", code, child_env)
    ok(invoke("train", english_file, "--model", "ngram", "--name", "half"))
    assert runs.load_run("half").load_model() is not None
    assert sorted(p.name for p in runs.run_path("half").iterdir()) == [
        ".lock",
        "model.safetensors",
        "run.json",
    ]


def _holder(folder: Path, env: dict[str, str]) -> subprocess.Popen:
    code = (
        "import sys, time; from lmtui.runs import acquire; lock = acquire(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(600)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_the_os_drops_the_lock_of_a_killed_writer(trained_runs, child_env):
    folder = runs.run_path("lstm-run")
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    meta["status"] = "training"
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    proc = _holder(folder, child_env)
    try:
        assert runs.is_locked(folder)
        assert runs.load_run("lstm-run").status == "training"
        assert runs.holder(folder) == proc.pid
        clean_error(invoke("delete", "lstm-run", "--yes"), f"(pid {proc.pid})")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert not runs.is_locked(folder)
    run = runs.load_run("lstm-run")
    assert run.meta["status"] == "training" and run.status == "interrupted" and run.resumable
    rows = {r["name"]: r for r in json_out(invoke("runs", "--json"))["runs"]}
    assert rows["lstm-run"]["status"] == "interrupted" and rows["lstm-run"]["resumable"] is True
    assert "interrupted" in ok(invoke("runs")).output


def test_interrupted_run_without_checkpoint_is_not_resumable_but_deletable(trained_runs):
    folder = runs.run_path("lstm-run")
    (folder / "last.safetensors").unlink()
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    meta["status"] = "paused"
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    row = runs.load_run("lstm-run").summary()
    assert row["status"] == "interrupted" and row["resumable"] is False
    clean_error(invoke("train", "--resume", "lstm-run"), "no checkpoint")
    ok(invoke("delete", "lstm-run", "--yes"))


def test_lock_works_without_fcntl(tmp_path):
    """Windows has no fcntl: the module still imports, and a pid file stands in (best effort)."""
    code = f"""
import sys
sys.modules["fcntl"] = None
sys.modules["msvcrt"] = None
from pathlib import Path
from lmtui import lock
from lmtui.errors import LmtuiError
assert lock.fcntl is None and lock.msvcrt is None
folder = Path({str(tmp_path)!r})
held = lock.acquire(folder, "x")
assert lock.is_locked(folder) and lock.holder(folder) is not None
try:
    lock.acquire(folder, "x")
    raise SystemExit("a second writer got in")
except lock.RunBusy as exc:
    assert "being trained by another process" in str(exc)
held.release()
assert not lock.is_locked(folder)
lock.acquire(folder, "x").release()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_training_holds_the_lock_until_it_ends(english_file, model_cfg, train_cfg):
    events = train(Job(str(english_file), model_cfg("rnn"), train_cfg(steps=4, eval_every=2), name="held"))
    next(events)
    folder = runs.run_path("held")
    assert runs.is_locked(folder) and runs.load_run("held").status == "training"
    with pytest.raises(RunBusy):
        runs.delete_run("held")
    list(events)
    assert not runs.is_locked(folder) and runs.load_run("held").status == "done"


# -- failures after the folder exists leave a true status


def test_options_that_cannot_fit_in_memory_are_refused_before_a_folder(english_file, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2 * 10**9)  # sizes within the options' ranges
    line = clean_error(
        invoke("train", english_file, "--model", "lstm", "--hidden", 20000, "--steps", 1, "--name", "huge"),
        "of memory to train",
    )
    assert "GB" in line and "2.0 GB is free" in line
    clean_error(
        invoke("train", english_file, "--model", "window", "--context", 4000, "--embed", 1024, "--steps", 1,
               "--name", "w"),
        "of memory to train",
    )
    assert not runs.run_path("huge").exists() and not runs.run_path("w").exists()


def test_torch_allocation_failure_is_out_of_memory_with_a_true_status(english_file, monkeypatch):
    from lmtui.models import neural

    def alloc_fails(self, *args, **kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not enough memory: "
            "you tried to allocate 6553600000 bytes."
        )

    monkeypatch.setattr(neural.RecurrentNet, "features", alloc_fails)
    result = invoke("train", english_file, "--model", "lstm", *TINY, "--steps", 4, "--name", "oom")
    clean_error(result, "out of memory")
    run = runs.load_run("oom")
    assert run.status == "failed" and "out of memory" in run.meta["error"]


def test_an_unexpected_error_still_leaves_status_failed(english_file, model_cfg, train_cfg, monkeypatch):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("a bug")
        yield  # pragma: no cover

    from lmtui.neural_training import NeuralTraining

    monkeypatch.setattr(NeuralTraining, "events", boom)
    with pytest.raises(ZeroDivisionError):
        list(train(Job(str(english_file), model_cfg("rnn"), train_cfg(), name="bug")))
    run = runs.load_run("bug")
    assert run.status == "failed" and run.meta["error"] == "a bug" and not run.busy


def test_full_disk_at_the_first_run_json_leaves_no_folder(english_file, monkeypatch):
    from lmtui import storage

    def full(path, data):
        raise LmtuiError(f"could not write {path}: No space left on device; the previous version is kept")

    monkeypatch.setattr(runs, "write_json", full)
    monkeypatch.setattr(storage, "write_json", full)
    clean_error(invoke("train", english_file, "--model", "ngram", "--name", "nospace"), "No space left")
    assert not runs.run_path("nospace").exists()


def test_lmtui_home_that_is_a_file(tmp_path, monkeypatch, english_file, trained_home):
    not_a_folder = tmp_path / "home-file"
    not_a_folder.write_text("x", encoding="utf-8")
    monkeypatch.setenv("LMTUI_HOME", str(not_a_folder))
    clean_error(invoke("train", english_file, "--model", "ngram", "--name", "x"), "not a folder")
    bundle = tmp_path / "b.safetensors"
    monkeypatch.setenv("LMTUI_HOME", str(trained_home))
    ok(invoke("export", "ngram-run", bundle))
    monkeypatch.setenv("LMTUI_HOME", str(not_a_folder))
    clean_error(invoke("import", bundle), "not a folder")
    clean_error(invoke("delete", "x", "--yes"), "no run named")
    clean_error(invoke("train", "--resume", "x"), "no run named")
    assert ok(invoke("runs")).output.startswith("no runs yet")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_runs_folder(trained_runs, english_file):
    mode = trained_runs.stat().st_mode
    os.chmod(trained_runs, 0o555)
    os.chmod(trained_runs / "lstm-run", 0o555)
    try:
        clean_error(invoke("train", english_file, "--model", "ngram", "--name", "x"), "cannot create")
        clean_error(invoke("delete", "ngram-run", "--yes"), "cannot delete")
        clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "lstm-run")
    finally:
        os.chmod(trained_runs / "lstm-run", mode)
        os.chmod(trained_runs, mode)


def test_lock_is_released_promptly_after_a_failed_resume(trained_runs):
    (runs.run_path("lstm-run") / "last.safetensors").write_bytes(b"broken")
    clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "safetensors")
    run = runs.load_run("lstm-run")
    assert not run.busy and run.status == "failed" and "last.safetensors" in run.meta["error"]


def test_a_successful_resume_clears_the_earlier_error(trained_runs):
    folder = runs.run_path("lstm-run")
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    meta.update(status="failed", error="could not write x: No space left on device")
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    ok(invoke("train", "--resume", "lstm-run", "--steps", 32))
    run = runs.load_run("lstm-run")
    assert run.status == "done" and "error" not in run.meta


def test_read_only_file_system_gives_one_line_everywhere(trained_runs, english_file, tmp_path):
    """EROFS simulated at the calls that create, rename and write files (root ignores chmod)."""
    import errno
    import tempfile

    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    before = {p: p.read_bytes() for p in trained_runs.rglob("*") if p.is_file()}

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "mkdir", read_only)
        mp.setattr(os, "rename", read_only)
        mp.setattr(tempfile, "mkstemp", read_only)
        for args in (
            ["train", english_file, "--model", "ngram", "--name", "new"],
            ["import", bundle, "--name", "imp"],
            ["delete", "ngram-run", "--yes"],
            ["train", "--resume", "lstm-run", "--steps", 40],
        ):
            clean_error(invoke(*args), "Read-only file system")
    assert {p: p.read_bytes() for p in before} == before
    assert runs.load_run("lstm-run").status == "done" and runs.load_run("ngram-run").load_model() is not None


def test_gpu_training_is_sized_against_the_gpus_own_memory(monkeypatch, model_cfg):
    import torch

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (3 * 10**9, 80 * 10**9))
    monkeypatch.setattr(memory, "available_memory", lambda: 10**15)  # plenty on the host: not what counts
    with pytest.raises(LmtuiError, match="GPU memory") as exc:
        memory.fitting_batch(model_cfg("lstm", hidden=20000), 100, 32, 64, "cuda")
    assert "3.0 GB is free" in str(exc.value)
    assert memory.fitting_batch(model_cfg("lstm"), 100, 32, 64, "cuda") == 32  # a tiny model fits


def test_a_file_system_without_locks_still_trains(monkeypatch, english_file):
    import errno

    from lmtui import lock

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock.fcntl, "flock", no_locks)
    ok(invoke("train", english_file, "--model", "ngram", "--name", "nfs"))
    assert runs.load_run("nfs").status == "done" and not runs.is_locked(runs.run_path("nfs"))


def test_a_models_value_error_after_the_folder_is_one_line_and_failed(monkeypatch, english_file):
    from lmtui.models.ngram import NgramModel

    def too_large(*args, **kwargs):
        raise ValueError("corpus too large for int64 n-gram keys")

    monkeypatch.setattr(NgramModel, "fit", too_large)
    clean_error(invoke("train", english_file, "--model", "ngram", "--name", "big"), "too large")
    run = runs.load_run("big")
    assert run.status == "failed" and "too large" in run.meta["error"]


def test_a_folder_of_someone_elses_files_is_never_cleared(english_file):
    folder = runs.run_path("mine")
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work", encoding="utf-8")
    clean_error(invoke("train", english_file, "--model", "ngram", "--name", "mine"), "thesis.tex")
    assert (folder / "thesis.tex").read_text(encoding="utf-8") == "years of work"


def test_run_json_without_train_or_metrics_still_resumes(trained_runs):
    folder = runs.run_path("lstm-run")
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    del meta["train"], meta["metrics"]
    (folder / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    assert runs.load_run("lstm-run").summary()["val_ppl"] is None
    ok(invoke("train", "--resume", "lstm-run", "--steps", 32, "--device", "cpu"))
    assert runs.load_run("lstm-run").metrics["step"] == 32


def test_runs_says_which_runs_it_leaves_out_and_why(trained_runs):
    (trained_runs / "lstm-run" / "run.json").write_text('{"format": "lmtui-run", "version": 1}', "utf-8")
    result = ok(invoke("runs"))
    rows = {line.split("\t")[0]: line.split("\t")[-1] for line in result.stdout.splitlines()[1:]}
    assert rows == {"ngram-run": "done", "lstm-run": "unreadable"}  # listed, and what it is
    assert "run 'lstm-run' is unreadable" in result.stderr and "lmtui delete lstm-run" in result.stderr
    data = json_out(invoke("runs", "--json"))
    assert [d["name"] for d in data["damaged"]] == ["lstm-run"] and "model" in data["damaged"][0]["error"]
