"""Strangers' folders (issue 18 items 1, 2, 7 and 12): lmtui deletes only what it can prove it wrote, never
follows a link out of the runs folder to write, lock or delete, leaves nothing behind when an import fails,
and reading a run's status never makes a writer fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.numpy import save_file
from test_cli import clean_error, invoke, json_out, ok
from test_run_lock import killed_when_it_says

from lmtui import lock, runs
from lmtui.errors import LmtuiError

REPO = Path(__file__).resolve().parent.parent
PAINT = ["train", "paint-colours", "--model", "ngram", "--level", "char"]


def snapshot(folder: Path) -> dict[str, bytes | str | None]:
    """Every path under ``folder`` (hidden ones and links too, never followed): bytes, link target, None."""
    out: dict[str, bytes | str | None] = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        out[key] = f"-> {os.readlink(p)}" if p.is_symlink() else (p.read_bytes() if p.is_file() else None)
    return out


def elsewhere(tmp_path: Path) -> Path:
    """A folder of the user's outside the runs folder, with files lmtui must never touch."""
    folder = tmp_path / "elsewhere"
    (folder / "samples").mkdir(parents=True)
    (folder / "samples" / "keep.txt").write_text("my own words\n", encoding="utf-8")
    (folder / "events.jsonl").write_text('{"mine": true}\n', encoding="utf-8")
    return folder


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


# -- item 1: a folder without run.json is not lmtui's to empty


def test_samples_are_kept_when_run_json_is_moved_away(lmtui_home, tmp_path):
    """The issue's example, as it words it."""
    ok(invoke(*PAINT, "--name", "mine"))
    folder = runs.run_path("mine")
    (folder / "samples").mkdir()
    (folder / "samples" / "sample-001.txt").write_text("Deep Sea Mist 12 40 90\n", encoding="utf-8")
    (folder / "run.json").rename(tmp_path / "run.json")
    before = snapshot(folder)
    line = clean_error(invoke(*PAINT, "--name", "mine"), "holds files")
    assert f"{folder} has no run.json" in line and "samples" in line and "another name" in line
    assert snapshot(folder) == before  # the samples and the old model, untouched
    assert not (folder / runs.CLAIM_MARK).exists()


@pytest.mark.parametrize(
    "contents",
    [
        {"run.json": "{not json", "samples/sample-001.txt": "mine"},  # a damaged run: refused, never deleted
        {"model.safetensors": "an old model", "events.jsonl": "{}"},  # a run from before, run.json gone
        {"model.safetensors": "x", ".lmtui-claim": "1-2-ab", "samples/s.txt": "mine"},  # a stale claim + more
        {".lmtui-claim": "1-2-ab", "notes": "mine"},
        {"last.safetensors": "x"},
    ],
)
def test_folders_lmtui_cannot_prove_it_wrote_are_refused_untouched(contents, english_file):
    folder = runs.run_path("taken")
    for rel, text in contents.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    before = snapshot(folder)
    line = clean_error(invoke("train", english_file, "--model", "ngram", "--name", "taken"))
    assert ("already exists" if "run.json" in contents else "holds files") in line
    assert snapshot(folder) == before
    with pytest.raises(runs.RunExists):
        runs.claim("taken")
    assert snapshot(folder) == before


def test_names_of_foreign_files_are_shown_with_escape_codes_made_visible(english_file):
    folder = runs.run_path("mine")
    folder.mkdir(parents=True)
    (folder / "\x1b]0;pwned\x07\x1b[2J").write_text("x", encoding="utf-8")
    line = clean_error(invoke("train", english_file, "--model", "ngram", "--name", "mine"), "holds files")
    assert "\x1b" not in line and "\x07" not in line and "\\x1b]0;pwned\\x07" in line


def test_a_killed_import_leaves_a_reusable_name(trained_runs, tmp_path, child_env):
    """Killed while writing the weights: lmtui's marker, its lock, the weights or their temporary file."""
    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    code = (
        "from lmtui import runs, storage; import time\n"
        "def stop(path, write): print('writing', flush=True); time.sleep(600)\n"
        "storage.atomic_write = stop\n"
        f"runs.import_bundle({str(bundle)!r}, 'copy')"
    )
    killed_when_it_says("writing", code, child_env)
    folder = runs.run_path("copy")
    assert sorted(p.name for p in folder.iterdir()) == [".lmtui-claim", ".lock"]
    (folder / ".model.safetensors.abc123.tmp").write_bytes(b"half")  # as atomic_write leaves it
    (folder / "model.safetensors").write_bytes(b"half")
    ok(invoke("import", bundle, "--name", "copy"))
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "model.safetensors", "run.json"]
    assert runs.load_run("copy").load_model() is not None


def test_an_empty_folder_or_one_holding_only_a_lock_is_reused(english_file):
    """Nothing in it to lose: an empty folder, or an older lmtui's failed import (only its .lock)."""
    runs.run_path("empty").mkdir(parents=True)
    (runs.run_path("only-lock")).mkdir()
    (runs.run_path("only-lock") / ".lock").write_text("12345\n", encoding="ascii")
    for name in ("empty", "only-lock"):
        ok(invoke("train", english_file, "--model", "ngram", "--name", name))
        assert runs.load_run(name).status == "done"


def test_a_new_run_carries_the_claim_marker_only_until_its_run_json(english_file, model_cfg, train_cfg):
    held = runs.claim("fresh")
    folder = runs.run_path("fresh")
    assert runs._read_mark(folder, runs.CLAIM_MARK) == held.claim
    runs.Run("fresh", folder, {"format": "x"}).save_meta()
    assert not (folder / runs.CLAIM_MARK).exists()
    held.release()
    ok(invoke("train", english_file, "--model", "ngram", "--name", "trained"))
    assert not (runs.run_path("trained") / runs.CLAIM_MARK).exists()


# -- item 2: links


def test_train_never_writes_through_a_linked_run_name(tmp_path, lmtui_home):
    """The issue's example: ln -s ~/elsewhere $LMTUI_HOME/runs/vic, then train … --name vic."""
    target = elsewhere(tmp_path)
    before = snapshot(target)
    runs.ensure_runs_dir()
    runs.run_path("vic").symlink_to(target)
    line = clean_error(invoke(*PAINT, "--name", "vic"), "is a link")
    assert "another name" in line
    assert snapshot(target) == before  # no .lock, no marker, nothing deleted
    assert runs.run_path("vic").is_symlink()


def test_import_and_lock_never_write_through_a_linked_run_name(trained_runs, tmp_path):
    target = elsewhere(tmp_path)
    before = snapshot(target)
    runs.run_path("vic").symlink_to(target)
    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    clean_error(invoke("import", bundle, "--name", "vic"), "is a link")
    with pytest.raises(LmtuiError, match="link"):
        lock.acquire(runs.run_path("vic"))
    assert not lock.is_locked(runs.run_path("vic")) and lock.holder(runs.run_path("vic")) is None
    assert snapshot(target) == before


def test_a_linked_run_is_never_opened_and_delete_removes_only_the_link(trained_runs, tmp_path):
    target = tmp_path / "elsewhere-run"
    (trained_runs / "ngram-run").rename(target)  # a whole run of the user's, outside the runs folder
    (target / ".lock").unlink()
    (target / "samples").mkdir()
    (target / "samples" / "keep.txt").write_text("my own words\n", encoding="utf-8")
    before = snapshot(target)
    runs.run_path("vic").symlink_to(target)

    result = ok(invoke("runs"))
    assert "run 'vic' is unreadable" in result.stderr and "is a link" in result.stderr
    assert "lstm-run" in result.stdout  # one linked run hides no other
    damaged = json_out(invoke("runs", "--json"))["damaged"]
    assert [d["name"] for d in damaged] == ["vic"]
    for args in (
        ["sample", "vic", "--length", 10],
        ["train", "--resume", "vic", "--steps", 40],
        ["export", "vic", tmp_path / "out.safetensors"],
    ):
        clean_error(invoke(*args), "is a link")
    assert not runs.load_run("lstm-run").busy

    ok(invoke("delete", "vic", "--yes"))
    assert not os.path.lexists(runs.run_path("vic"))
    assert [p.name for p in trained_runs.iterdir() if p.name.startswith(".")] == []  # no dangling .trash link
    assert snapshot(target) == before  # no .lock, no trash marker, nothing deleted


@pytest.mark.parametrize(
    "linked", ["run.json", "model.safetensors", "last.safetensors", "events.jsonl", "samples"]
)
def test_a_run_holding_a_link_is_refused_and_its_target_untouched(trained_runs, tmp_path, linked):
    folder = trained_runs / "lstm-run"
    target = tmp_path / f"outside-{linked}"
    (folder / linked).rename(target) if (folder / linked).exists() else target.mkdir()
    (folder / linked).symlink_to(target)
    before = snapshot(tmp_path)
    clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "is a link")
    clean_error(invoke("sample", "lstm-run", "--length", 10), "is a link")
    assert snapshot(tmp_path) == before
    ok(invoke("delete", "lstm-run", "--yes"))  # the folder goes; what its link points to stays
    assert target.exists() and not folder.exists()


def test_a_planted_lock_link_is_never_created_or_locked(trained_runs, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    folder = trained_runs / "lstm-run"
    (folder / ".lock").unlink()
    (folder / ".lock").symlink_to(victim)
    clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), "is a link")
    clean_error(invoke("delete", "lstm-run", "--yes"), "is a link")
    assert not lock.is_locked(folder) and runs.load_run("lstm-run").status == "done"
    dangling = trained_runs / "ngram-run" / ".lock"
    dangling.unlink()
    dangling.symlink_to(tmp_path / "created-by-lmtui")
    clean_error(invoke("delete", "ngram-run", "--yes"), "is a link")
    assert victim.read_text(encoding="utf-8") == "precious\n" and not (tmp_path / "created-by-lmtui").exists()
    assert folder.exists() and (trained_runs / "ngram-run").exists()


def test_events_are_never_appended_through_a_link(trained_runs, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    run = runs.load_run("lstm-run")
    (run.path / "events.jsonl").unlink()
    (run.path / "events.jsonl").symlink_to(victim)
    with pytest.raises(LmtuiError, match="could not write"):
        runs.append_event(run, {"step": 1})
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_a_runs_folder_that_is_itself_a_link_is_the_users_choice(tmp_path, lmtui_home, english_file):
    real = tmp_path / "real-runs"
    real.mkdir()
    (lmtui_home / "runs").symlink_to(real)
    ok(invoke("train", english_file, "--model", "ngram", "--name", "mine"))
    assert (real / "mine" / "run.json").is_file() and runs.load_run("mine").status == "done"
    ok(invoke("delete", "mine", "--yes"))
    assert list(real.iterdir()) == []


def test_a_dangling_link_takes_its_name_from_automatic_naming(lmtui_home, tmp_path):
    runs.ensure_runs_dir()
    runs.run_path("base").symlink_to(tmp_path / "nowhere")
    assert runs.unique_name("base") == "base-2"


# -- staging: only what lmtui provably made is cleaned


def test_clean_staging_removes_only_proven_staging_folders(lmtui_home, tmp_path):
    folder = runs.ensure_runs_dir()
    target = elsewhere(tmp_path)
    before = snapshot(target)
    trash = folder / ".trash-old-1-2"  # a delete killed after its rename: the marker names the folder
    (trash / "samples").mkdir(parents=True)
    (trash / runs.TRASH_MARK).write_text(trash.name, encoding="ascii")
    token = f"{_dead_pid()}-1-ab"  # a creator killed before renaming its folder into place
    claim = folder / f".claim-{token}"
    claim.mkdir()
    (claim / runs.CLAIM_MARK).write_text(token, encoding="ascii")
    kept = {
        ".trash-link": target,  # a link: neither it nor its target
        ".trash-unmarked": None,  # no proof
        ".trash-misnamed": ".trash-other",  # a marker naming another folder
        f".claim-{os.getpid()}-1-ab": f"{os.getpid()}-1-ab",  # a live creator's
        ".import-old-abc": None,  # an older lmtui's staging: no proof
    }
    for name, what in kept.items():
        if isinstance(what, Path):
            (folder / name).symlink_to(what, target_is_directory=True)
            continue
        (folder / name).mkdir()
        (folder / name / "keep.txt").write_text("mine", encoding="utf-8")
        if what:
            mark = runs.TRASH_MARK if name.startswith(".trash") else runs.CLAIM_MARK
            (folder / name / mark).write_text(what, encoding="ascii")
    runs.clean_staging()
    assert not trash.exists() and not claim.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)
    assert snapshot(target) == before


def test_delete_leaves_no_staging_and_marks_it_while_it_lasts(trained_runs):
    """A delete killed between its rename and its removal leaves a folder the next clean_staging removes."""
    import shutil

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shutil, "rmtree", lambda *a, **k: None)  # the delete "dies" before removing
        ok(invoke("delete", "lstm-run", "--yes"))
    (trash,) = [p for p in trained_runs.iterdir() if p.name.startswith(".trash-lstm-run-")]
    assert (trash / runs.TRASH_MARK).read_text(encoding="ascii") == trash.name
    runs.clean_staging()
    assert not trash.exists() and not runs.run_path("lstm-run").exists()


# -- item 7 (the run folder's half): a failed import leaves nothing behind


def test_a_failed_import_leaves_no_folder_behind(trained_runs, tmp_path, monkeypatch):
    bundle = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", bundle))
    before = snapshot(trained_runs)

    def full(path, data):
        raise LmtuiError(f"could not write {path}: No space left on device; the previous version is kept")

    monkeypatch.setattr(runs, "write_json", full)
    for _ in range(3):
        clean_error(invoke("import", bundle, "--name", "copy"), "No space left")
    assert snapshot(trained_runs) == before


def test_an_import_failing_on_a_lone_surrogate_leaves_no_folder_behind(trained_runs, tmp_path):
    good = tmp_path / "good.safetensors"
    ok(invoke("export", "ngram-run", good))
    tensors, metadata = runs.read_tensors(good)
    meta = json.loads(metadata[runs.BUNDLE_KEY])
    meta["corpus"]["name"] = "bad \ud800 name"
    meta["tokenizer"]["vocab"][-1] = "\ud800"
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={runs.BUNDLE_KEY: json.dumps(meta)})
    before = snapshot(trained_runs)
    for _ in range(3):
        assert invoke("import", bad, "--name", "copy").exit_code != 0
    assert snapshot(trained_runs) == before


# -- item 12: status reads never disturb a writer


READER = """
import sys
from pathlib import Path
from lmtui import lock
lock._OFD = lock._OFD and sys.argv[2] == "ofd"
folder = Path(sys.argv[1])
print("reading", flush=True)
while True:
    lock.is_locked(folder)
"""


@pytest.mark.parametrize("mode", ["ofd", "flock"])
def test_status_reads_never_make_a_writer_fail(tmp_path, mode, monkeypatch):
    """A reader polling the status in a loop while this process locks and unlocks a few thousand times:
    not one spurious "being trained by another process" (the shared-flock test failed ~3% of tries)."""
    if mode == "ofd" and not lock._OFD:
        pytest.skip("no open-file-description locks here")
    monkeypatch.setattr(lock, "_OFD", lock._OFD and mode == "ofd")
    folder = tmp_path / "run"
    folder.mkdir()
    lock.acquire(folder).release()  # the lock file exists before the reader starts
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(folder), mode], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    busy = 0
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        for _ in range(3000 if mode == "ofd" else 1000):
            try:
                lock.acquire(folder, "run").release()
            except lock.RunBusy:
                busy += 1
        assert reader.poll() is None  # it read all along
    finally:
        reader.kill()
        reader.wait(timeout=30)
    assert busy == 0


def test_reading_the_status_in_the_writers_process_keeps_its_lock(tmp_path, child_env):
    """The writer's own status reads open and close the lock file: its lock survives them (a classic POSIX
    lock would not), and another process still finds the run busy."""
    folder = tmp_path / "run"
    folder.mkdir()
    held = lock.acquire(folder, "run")
    try:
        for _ in range(3):
            assert lock.is_locked(folder) and lock.holder(folder) == os.getpid()
        code = "import sys; from lmtui import lock; print(lock.is_locked(sys.argv[1])); "
        code += "lock.acquire(sys.argv[1])"
        out = subprocess.run(
            [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, cwd=REPO
        )
        assert (
            out.stdout.strip() == "True" and "RunBusy" in out.stderr and f"(pid {os.getpid()})" in out.stderr
        )
    finally:
        held.release()
    assert not lock.is_locked(folder)
