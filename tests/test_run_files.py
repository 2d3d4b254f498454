"""Files from others and files lmtui writes (issue 9 items 4-8, 10, 12-14; issue 10 item 15): bundles checked
field by field, imported runs that never read the importer's files, atomic writes with one-line errors,
write targets, strange folders, bounded memory, the stored encoding, and names that look like Rich markup."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from test_cli import TINY, clean_error, invoke, json_out, ok

from lmtui import corpus, runs
from lmtui.errors import LmtuiError

# -- bundles: every field checked before anything is written


def _bundle(tmp_path: Path, run: str = "lstm-run") -> tuple[dict, dict]:
    path = tmp_path / f"{run}.safetensors"
    ok(invoke("export", run, path))
    tensors, metadata = runs.read_tensors(path)
    return tensors, json.loads(metadata[runs.BUNDLE_KEY])


def _write_bundle(path: Path, tensors: dict, meta: dict) -> Path:
    save_file(tensors, str(path), metadata={runs.BUNDLE_KEY: json.dumps(meta)})
    return path


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("created", "x", "created"),
        ("metrics", [], "metrics"),
        ("status", 7, "status"),
        ("status", "exploded", "status"),
        ("metrics", {"val_ppl": "high"}, "metrics.val_ppl"),
        ("metrics", {"val_ppl": float("nan")}, "metrics.val_ppl"),
        ("corpus", {"name": 3}, "corpus"),
        ("corpus", {"name": "x", "unit": "pages"}, "corpus.unit"),
        ("train", {"lr": "x"}, "train.lr"),
        ("train", {"checkpoint_every": "x"}, "train.checkpoint_every"),
        ("train", {"seed": 2**40}, "train.seed"),
        ("metrics", {"sparsity_by_order": [{"order": "3"}]}, "metrics.sparsity_by_order[0].order"),
        ("metrics", {"val_ppl_infinite": "yes"}, "metrics.val_ppl_infinite"),
        ("tokenizer", {"level": "char", "vocab": ["<unk>", "a"]}, "tokenizer"),
        ("name", ["x"], "name"),
    ],
)
def test_bundle_fields_are_checked_before_anything_is_written(trained_runs, tmp_path, field, value, fragment):
    tensors, meta = _bundle(tmp_path)
    meta[field] = value
    bad = _write_bundle(tmp_path / "bad.safetensors", tensors, meta)
    before = sorted(p.name for p in trained_runs.iterdir())
    clean_error(invoke("import", bad, "--name", "got-in"), fragment)
    assert sorted(p.name for p in trained_runs.iterdir()) == before
    ok(invoke("runs"))  # and the table still lists what there is


def test_bundle_model_without_layers_and_nan_weights_are_refused(trained_runs, tmp_path):
    tensors, meta = _bundle(tmp_path)
    no_layers = {**meta, "model": {k: v for k, v in meta["model"].items() if k != "layers"}}
    clean_error(invoke("import", _write_bundle(tmp_path / "a.safetensors", tensors, no_layers)), "layers")
    nan = dict(tensors)
    nan["out.bias"] = np.full_like(tensors["out.bias"], np.nan)
    clean_error(invoke("import", _write_bundle(tmp_path / "b.safetensors", nan, meta), "--name", "n"), "NaN")
    assert not runs.run_path("n").exists()


def test_nan_weights_and_ngram_log_probs_in_a_run_are_refused(trained_runs):
    for run, key in (("lstm-run", "out.bias"), ("ngram-run", "logp_2")):
        path = trained_runs / run / "model.safetensors"
        tensors, _ = runs.read_tensors(path)
        tensors[key] = tensors[key].copy()
        tensors[key][0] = np.inf if run == "ngram-run" else np.nan
        save_file(tensors, str(path))
        clean_error(invoke("sample", run, "--length", 5), key)
        clean_error(invoke("predict", run, "the"), "NaN or infinite")


def test_corpus_name_with_markup_is_shown_literally(trained_runs, tmp_path):
    tensors, meta = _bundle(tmp_path)
    meta["corpus"] = {"name": "[/]", "unit": "text"}
    ok(invoke("import", _write_bundle(tmp_path / "m.safetensors", tensors, meta), "--name", "marked"))
    assert "[/]" in ok(invoke("runs")).output


def test_imported_run_never_reads_the_importers_files(trained_runs, tmp_path, english_file):
    tensors, meta = _bundle(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("the importer's private notes " * 200, encoding="utf-8")
    meta["corpus"] = {"name": "english", "spec": str(secret), "unit": "text"}
    ok(invoke("import", _write_bundle(tmp_path / "s.safetensors", tensors, meta), "--name", "stranger"))
    run = runs.load_run("stranger")
    assert run.meta["corpus"] == {"name": "english", "imported": True, "unit": "text"}
    clean_error(invoke("eval", "stranger"), "--text")
    scored = json_out(invoke("eval", "stranger", "--text", english_file, "--json"))
    assert scored["tokens"] > 100
    meta["corpus"] = {"name": "/usr", "spec": "/usr", "bundled": True, "unit": "text"}  # not one of ours
    ok(invoke("import", _write_bundle(tmp_path / "u.safetensors", tensors, meta), "--name", "usr"))
    assert runs.load_run("usr").meta["corpus"].get("imported") is True


def test_bundled_corpus_survives_import(trained_runs, tmp_path):
    tensors, meta = _bundle(tmp_path)
    name = corpus.bundled_corpora()[0].name
    meta["corpus"] = {"name": name, "spec": name, "bundled": True, "unit": corpus.bundled_corpora()[0].unit}
    ok(invoke("import", _write_bundle(tmp_path / "c.safetensors", tensors, meta), "--name", "ours"))
    assert runs.load_run("ours").corpus_spec() == name


def test_stale_staging_is_removed_and_never_blocks_an_import(trained_runs, tmp_path):
    trash = trained_runs / ".trash-old-1-2"  # a delete killed after its rename: its marker names it
    (trash / "deep").mkdir(parents=True)
    (trash / "deep" / "model.safetensors").write_bytes(b"x" * 1000)
    (trash / runs.TRASH_MARK).write_text(trash.name, encoding="ascii")
    half = trained_runs / "lstm-copy"  # a killed import's folder: lmtui's claim marker, no run.json
    half.mkdir()
    (half / runs.CLAIM_MARK).write_text("1-2-ab", encoding="ascii")
    (half / "model.safetensors").write_bytes(b"half")
    tensors, meta = _bundle(tmp_path)
    ok(invoke("import", _write_bundle(tmp_path / "i.safetensors", tensors, meta), "--name", "lstm-copy"))
    assert not trash.exists() and not (half / runs.CLAIM_MARK).exists()
    assert runs.load_run("lstm-copy").load_model() is not None


# -- checkpoint metadata and run files


def _edit_checkpoint(path: Path, edit) -> None:
    tensors, metadata = runs.read_tensors(path)
    meta = json.loads(metadata["lmtui"])
    meta = edit(meta, tensors)
    save_file(tensors, str(path), metadata={"lmtui": json.dumps(meta)})


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda m, t: [m], "checkpoint metadata"),
        (lambda m, t: {**m, "param_groups": [{**m["param_groups"][0], "lr": "x"}]}, "lr"),
        (lambda m, t: {**m, "step": -3}, "step"),
        (lambda m, t: {**m, "elapsed": None}, "elapsed"),
        (lambda m, t: t.update({"hidden.0": np.zeros((1, 2, 3), np.float32)}) or m, "hidden state"),
        (lambda m, t: t.update({"opt.0.exp_avg": np.full(3, np.nan, np.float32)}) or m, "NaN"),
        (lambda m, t: t.update({"hidden.0": t["hidden.0"].astype(np.float64)}) or m, "hidden state"),
        (lambda m, t: t.update({"opt.0.exp_avg": t["opt.0.exp_avg"].astype(np.float64)}) or m, "number type"),
        (lambda m, t: t.update({"opt.0.step": np.zeros(1, np.int64)}) or m, "number type"),
    ],
)
def test_edited_checkpoint_metadata_gives_one_line(trained_runs, edit, fragment):
    path = trained_runs / "lstm-run" / "last.safetensors"
    _edit_checkpoint(path, edit)
    line = clean_error(invoke("train", "--resume", "lstm-run", "--steps", 40), fragment)
    assert "last.safetensors" in line


def test_a_fifo_instead_of_the_weights_is_refused_not_waited_on(trained_runs, child_env):
    path = trained_runs / "lstm-run" / "model.safetensors"
    path.unlink()
    os.mkfifo(path)
    try:  # a child process: an open() blocked inside safetensors would not even see a signal
        done = subprocess.run(
            [sys.executable, "-m", "lmtui", "sample", "lstm-run", "--length", "5"],
            capture_output=True, text=True, env=child_env, timeout=120,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("sample waited on the FIFO")
    assert done.returncode == 1 and "not a regular file" in done.stderr and "Traceback" not in done.stderr


# -- writes: targets, atomicity, full disks, permissions


def test_export_refuses_to_overwrite_without_force(trained_runs, tmp_path):
    target = tmp_path / "out.safetensors"
    target.write_text("precious", encoding="utf-8")
    clean_error(invoke("export", "lstm-run", target), "--force")
    assert target.read_text(encoding="utf-8") == "precious"
    ok(invoke("export", "lstm-run", target, "--force"))
    assert runs.read_tensors(target)[1][runs.BUNDLE_KEY]
    arpa = tmp_path / "m.arpa"
    arpa.write_text("mine", encoding="utf-8")
    clean_error(invoke("export-arpa", "ngram-run", arpa), "--force")
    assert arpa.read_text(encoding="utf-8") == "mine"
    ok(invoke("export-arpa", "ngram-run", arpa, "--force"))
    assert arpa.read_text(encoding="utf-8").startswith("\\data\\")


def test_targets_that_are_not_regular_files_or_inside_the_runs_folder(trained_runs, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for target in (fifo, folder):
        for command in ("export", "export-arpa"):
            run = "ngram-run"
            clean_error(invoke(command, run, target, "--force"), "not a regular file")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and folder.is_dir()
    weights = trained_runs / "ngram-run" / "model.safetensors"
    before = weights.read_bytes()
    clean_error(invoke("export-arpa", "ngram-run", weights, "--force"), "runs folder")
    clean_error(invoke("export", "ngram-run", trained_runs / "new.safetensors"), "runs folder")
    assert weights.read_bytes() == before and runs.load_run("ngram-run").load_model() is not None


def test_export_arpa_on_a_full_disk_keeps_the_earlier_file(trained_runs, tmp_path, monkeypatch):
    from lmtui.models.ngram import NgramModel

    arpa = tmp_path / "m.arpa"
    ok(invoke("export-arpa", "ngram-run", arpa))
    before = arpa.read_bytes()

    def full_disk(self, path, names, newline=None):
        Path(path).write_text("\\data\\\nngram 1=", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(NgramModel, "write_arpa", full_disk)
    clean_error(invoke("export-arpa", "ngram-run", arpa, "--force"), "No space left on device")
    assert arpa.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_safetensors_own_error_on_a_full_disk_is_one_line(trained_runs, tmp_path, monkeypatch):
    import safetensors.numpy
    from safetensors import SafetensorError

    def full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half")
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")

    target = tmp_path / "b.safetensors"
    ok(invoke("export", "ngram-run", target))
    before = target.read_bytes()
    monkeypatch.setattr(safetensors.numpy, "save_file", full_disk)
    clean_error(invoke("export", "ngram-run", target, "--force"), "No space left")
    assert target.read_bytes() == before
    clean_error(invoke("import", target, "--name", "copy"), "No space left")
    assert not runs.run_path("copy").exists() or not (runs.run_path("copy") / "run.json").exists()


def test_shared_files_respect_the_umask(trained_runs, tmp_path):
    old = os.umask(0o022)
    try:
        ok(invoke("export", "ngram-run", tmp_path / "b.safetensors"))
        ok(invoke("export-arpa", "ngram-run", tmp_path / "m.arpa"))
        ok(invoke("import", tmp_path / "b.safetensors", "--name", "shared"))
    finally:
        os.umask(old)
    for path in (tmp_path / "b.safetensors", tmp_path / "m.arpa", runs.run_path("shared") / "run.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# -- folders that are not corpora


def test_strange_folders_give_one_line(tmp_path, monkeypatch):
    too_long = "/" + "/".join(["a" * 250] * 20)
    with pytest.raises(LmtuiError, match="too long"):
        corpus.load_text(too_long)
    clean_error(invoke("train", too_long, "--model", "ngram"), "too long")
    if Path("/proc/1").is_dir():
        with pytest.raises(LmtuiError):
            corpus.load_text("/proc/1")
    many = tmp_path / "many"
    many.mkdir()
    for i in range(30):
        (many / f"{i}.dat").write_bytes(b"")
    monkeypatch.setattr(corpus, "MAX_SCAN_ENTRIES", 20)
    with pytest.raises(LmtuiError, match="too many files"):
        corpus.load_text(str(many))


def test_deep_folder_beyond_the_path_limit(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    (root / "a.txt").write_text("some text here\n" * 50, encoding="utf-8")
    fd = os.open(root, os.O_RDONLY)
    depth = 0
    try:  # build it with paths relative to an open folder: no single path we pass is too long
        current = fd
        while depth < 40:
            os.mkdir("d" * 200, dir_fd=current)
            nxt = os.open("d" * 200, os.O_RDONLY, dir_fd=current)
            if current != fd:
                os.close(current)
            current, depth = nxt, depth + 1
        if current != fd:
            os.close(current)
    finally:
        os.close(fd)
    try:
        corpus.load_text(str(root))  # either it reads what it can reach, or says why not in one line
    except LmtuiError as exc:
        assert "\n" not in str(exc)


# -- memory: evaluation in bounded chunks


def test_neural_evaluation_holds_a_bounded_number_of_logits(monkeypatch, model_cfg):
    import torch

    from lmtui.models import neural

    model = neural.RecurrentModel(model_cfg("gru"), 50)
    tokens = np.random.default_rng(0).integers(0, 50, 5000)
    full = model.cross_entropy(tokens)
    sizes: list[int] = []
    model.net.out.register_forward_hook(lambda mod, inp, out: sizes.append(out.numel()))  # the logits
    monkeypatch.setattr(neural, "EVAL_LOGITS", 50 * 40)
    with torch.no_grad():
        chunked = model.cross_entropy(tokens)
    assert max(sizes) <= 50 * 40 and len(sizes) > 1
    assert chunked == pytest.approx(full, rel=1e-4)


# -- the encoding is stored with the run


def test_encoding_is_stored_and_used_by_resume_and_eval(tmp_path):
    text = tmp_path / "latin.txt"
    text.write_bytes(("Café déjà vu, naïve façade. " * 120 + "\n").encode("latin-1"))
    ok(invoke("train", text, "--model", "rnn", *TINY, "--steps", 4, "--eval-every", 2,
              "--encoding", "latin-1", "--name", "lat"))  # fmt: skip
    assert runs.load_run("lat").encoding == "latin-1"
    ok(invoke("train", "--resume", "lat", "--steps", 6))
    assert runs.load_run("lat").metrics["step"] == 6
    assert json_out(invoke("eval", "lat", "--json"))["tokens"] > 10


# -- names that look like Rich markup


def test_file_names_with_brackets_are_shown_as_they_are(tmp_path, english_text):
    notes = tmp_path / "notes [draft].txt"
    notes.write_text(english_text, encoding="utf-8")
    out = ok(invoke("train", notes, "--model", "ngram", "--name", "draft")).output
    assert "notes [draft]" in out
    assert "notes [draft]" in ok(invoke("runs")).output
