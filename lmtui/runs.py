"""The runs folder: every trained model is a run, a folder of plain JSON and safetensors files.

    <LMTUI_HOME or the platform's user data dir>/runs/<name>/
        run.json            config, corpus, tokenizer vocabulary, metrics (JSON)
        model.safetensors   the best weights by validation loss: what sample/eval/predict use
        last.safetensors    the last weights + optimizer state + data position, for --resume
        events.jsonl        the training curve, so a resumed run carries it on
        samples/            samples saved from the playground
        .lock               locked by the one process writing the run; see lmtui.lock
        .lmtui-claim        only until run.json is first written: proof that lmtui made the folder

Every file is read through lmtui.schema (checked field by field) and written atomically (lmtui.storage).
Nothing here is ever unpickled: a run can be shared and opened safely.

lmtui deletes only what it can prove it wrote: a folder it made carries its claim marker until its run.json
exists, and the staging folders of a delete carry a marker naming them. A run folder (or one of its files)
that is a link is never opened: nothing is read, written, locked or deleted through it.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import math
import os
import re
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from lmtui import schema
from lmtui.errors import LmtuiError
from lmtui.lock import LOCK_NAME, RunBusy, RunGone, RunLock, acquire, holder, is_locked, pid_alive, run_lock
from lmtui.models import LanguageModel, ModelConfig, estimate_parameters, model_class
from lmtui.schema import RUN_FORMAT, RUN_VERSION
from lmtui.storage import (
    MAX_JSON_BYTES,
    atomic_write,
    check_unicode,
    json_line,
    not_unicode,
    parse_json,
    read_json,
    read_tensors,
    regular_file,
    shown,
    write_json,
    write_tensors,
)
from lmtui.tokens import Tokenizer
from lmtui.visible import visible_line

__all__ = [
    "LOCK_NAME", "RUN_FORMAT", "RUN_VERSION", "Run", "RunBusy", "RunGone", "RunLock", "acquire",
    "atomic_write", "claim", "delete_run", "holder", "is_locked", "list_runs", "load_run", "read_tensors",
    "regular_file", "run_lock", "write_json", "write_tensors",
]  # fmt: skip
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLAIM_MARK = ".lmtui-claim"  # in a folder claim() made, until its run.json is written; holds a token
TRASH_MARK = ".lmtui-trash"  # in a run delete_run() renames aside; holds the name it is renamed to
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def home() -> Path:
    env = os.environ.get("LMTUI_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("lmtui", appauthor=False))


def runs_dir() -> Path:
    return home() / "runs"


def validate_name(name: str) -> str:
    if not NAME_RE.fullmatch(name or "") or ".." in name:
        raise LmtuiError(
            f"invalid run name {name!r}: use letters, digits, '.', '_' and '-' (at most 64), "
            "starting with a letter or digit, no '/' or '..'"
        )
    return name


def run_path(name: str) -> Path:
    return runs_dir() / validate_name(name)


def exists(name: str) -> bool:
    return (run_path(name) / "run.json").is_file()


def name_base(text: str) -> str:
    """A valid run name made of ``text`` (a corpus's name may hold any character)."""
    return re.sub(r"\.{2,}", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", text)).strip("-._")[:56] or "run"


def unique_name(base: str) -> str:
    """``base`` (as ``name_base`` makes it a name), or ``base-2``, ``base-3``… whichever is free."""
    base = name_base(base)
    name, n = base, 1
    while os.path.lexists(run_path(name)):  # a dangling link takes its name too
        n += 1
        name = f"{base}-{n}"
    return name


# -- runs


@dataclass
class Run:
    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.meta["model"])

    @property
    def metrics(self) -> dict[str, Any]:
        return self.meta.get("metrics", {})

    @property
    def status(self) -> str:
        """The status as it truly is: a stored "training" or "paused" that no live process holds (the
        trainer was killed, the disk filled, the power went) is "interrupted"."""
        stored = self.meta.get("status", "done")
        if stored in schema.LIVE_STATUSES and not is_locked(self.path):
            return "interrupted"
        return stored

    @property
    def busy(self) -> bool:
        """Is a process writing this run right now (training it, resuming it)?"""
        return is_locked(self.path)

    @property
    def resumable(self) -> bool:
        return self.meta["model"]["model"] != "ngram" and (self.path / "last.safetensors").is_file()

    @property
    def encoding(self) -> str | None:
        """The text encoding of the run's corpus (None: UTF-8 or a BOM), used again by resume and eval."""
        return self.meta["corpus"].get("encoding")

    def corpus_spec(self) -> str:
        """What to read the run's corpus from; an imported run has none on this machine (its author's files
        are never read here)."""
        spec = self.meta["corpus"].get("spec")
        if not spec or self.meta["corpus"].get("imported"):
            raise LmtuiError(
                f"run {self.name!r} was imported: its corpus {self.meta['corpus']['name']!r} is not on this "
                "machine; score a text of your own with --text FILE"
            )
        return spec

    def tokenizer(self) -> Tokenizer:
        return schema.check_tokenizer(
            self.meta["tokenizer"], self.meta["vocab_size"], self.meta["model"]["level"], str(self.path)
        )

    def load_model(self, device: str = "cpu", which: str = "model") -> LanguageModel:
        path = self.path / f"{which}.safetensors"
        tensors, _ = read_tensors(path)
        schema.check_tensors(tensors, str(path))
        return build_model(self.model_config, int(self.meta["vocab_size"]), tensors, device, str(path))

    def summary(self) -> dict[str, Any]:
        """One row of the runs table (also ``lmtui runs --json``)."""
        m, cfg = self.metrics, self.meta["model"]
        return {
            "name": self.name,
            "corpus": self.meta["corpus"]["name"],
            "model": cfg["model"],
            "level": cfg["level"],
            "status": self.status,
            "created": self.meta.get("created"),
            "parameters": m.get("parameters"),
            "size_bytes": m.get("size_bytes"),
            "val_ppl": m.get("val_ppl"),
            "test_ppl": m.get("test_ppl"),
            "bits_per_char": m.get("bits_per_char"),
            # what a perplexity hides (lmtui.lab.metrics): the <unk> share, and probability-0 tokens
            "val_unk_rate": m.get("val_unk_rate"),
            "val_ppl_excl_oov": m.get("val_ppl_excl_oov"),
            "val_ppl_infinite": bool(m.get("val_ppl_infinite")),
            "test_ppl_infinite": bool(m.get("test_ppl_infinite")),
            # n-gram runs: share of validation n-grams of the model's order never seen in training
            "unseen_at_order": (m.get("sparsity_by_order") or [{}])[-1].get("unseen"),
            "train_seconds": m.get("train_seconds"),
            "step": m.get("step"),
            "eval_pending": bool(self.meta.get("eval_pending")),  # stopped before its full evaluation
            # meanwhile: the kept weights' perplexity on the validation slice (None once fully evaluated)
            "slice_val_ppl": self._slice_val_ppl(),
            "resumable": self.resumable,
            "group": self.meta.get("group"),  # the comparison it was trained in (lmtui compare), if any
        }

    def _slice_val_ppl(self) -> float | None:
        best = self.metrics.get("best_val_loss")
        if not self.meta.get("eval_pending") or not isinstance(best, float) or not math.isfinite(best):
            return None
        return math.exp(min(best, 700))

    def save_meta(self) -> None:
        self.meta["updated"] = time.time()
        write_json(self.path / "run.json", self.meta)
        settle(self.path)

    def history(self) -> list[dict[str, Any]]:
        """The training curve so far; damaged lines are skipped, and a file past any real size is read only
        as far as that (a curve, never a reason to fail or to fill the memory)."""
        path = self.path / "events.jsonl"
        try:
            regular_file(path)
            with open(path, "rb") as fh:
                lines = fh.read(MAX_JSON_BYTES).decode("utf-8", errors="replace").splitlines()
        except (LmtuiError, OSError, MemoryError):
            return []
        out = []
        for line in lines:
            with contextlib.suppress(ValueError, RecursionError):
                data = json.loads(line)
                if isinstance(data, dict):
                    out.append(data)
        return out


def build_model(
    config: ModelConfig,
    vocab_size: int,
    tensors: dict[str, np.ndarray],
    device: str = "cpu",
    where: str = "the weights",
) -> LanguageModel:
    """The model ``tensors`` hold, checked against its config first; errors name ``where`` (the file)."""
    schema.check_model(config.to_dict(), where)
    cls = model_class(config.model)
    if config.model != "ngram":  # a config from a stranger must not make us allocate more than the file holds
        needed = estimate_parameters(config, vocab_size)
        stored = sum(int(np.asarray(t).size) for t in tensors.values())
        if needed > stored:
            raise LmtuiError(
                f"{where}: the weights do not fit the model's config "
                f"({stored:,} numbers stored, {needed:,} needed)"
            )
    try:
        if config.model == "ngram":
            return cls.from_tensors(config, vocab_size, tensors)
        return cls.from_tensors(config, vocab_size, tensors, device=device)  # type: ignore[call-arg]
    except (ValueError, TypeError, RuntimeError) as exc:
        raise LmtuiError(f"{where}: {str(exc).strip().splitlines()[0]}") from None


def ensure_runs_dir() -> Path:
    """The runs folder, created if need be; a read-only disk or an LMTUI_HOME that is a file: one line."""
    folder = runs_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise NotADirectoryError(20, "Not a directory")
    except OSError as exc:
        hint = f" (LMTUI_HOME={home()} is not a folder)" if home().exists() and not home().is_dir() else ""
        raise LmtuiError(f"cannot use the runs folder {folder}: {exc.strerror or exc}{hint}") from None
    return folder


LINKABLE = ("", "run.json", "model.safetensors", "last.safetensors", "events.jsonl", "samples")


def refuse_links(path: Path) -> None:
    """A run whose folder or one of whose files is a link is not opened: its writers would write (and a
    delete would delete) outside the runs folder. One line naming the link."""
    for part in LINKABLE:
        if (path / part).is_symlink():
            raise LmtuiError(
                f"{path / part} is a link; lmtui opens no run through a link, so that nothing it writes or "
                "deletes lands outside the runs folder (copy the real files in instead)"
            )


def _has_run_file(path: Path) -> bool:
    """Does run folder ``path`` have a run.json of any kind? One that is a folder or a link is a damaged
    run, not no run; a folder that cannot be looked into is one line saying so."""
    meta_path = path / "run.json"
    try:
        os.lstat(meta_path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise LmtuiError(f"cannot read {meta_path}: {exc.strerror or exc}") from None
    return True


def load_run(name: str) -> Run:
    path = run_path(name)
    meta_path = path / "run.json"
    if not _has_run_file(path):
        raise LmtuiError(f"no run named {name!r} ({_nearest(name)})")
    refuse_links(path)
    try:
        return Run(name, path, schema.check_run(read_json(meta_path), str(meta_path)))
    except LmtuiError:
        raise
    except Exception as exc:  # a value the checks did not foresee still names the file, in one line
        raise LmtuiError(f"{meta_path} is damaged ({damage(exc)})") from None


def damage(exc: BaseException) -> str:
    """An unforeseen error as a short, printable reason."""
    lines = str(exc).strip().splitlines()
    return shown(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)


def _nearest(name: str, most: int = 5) -> str:
    """The run names nearest to a mistyped one: names that differ by a few letters (difflib), then names
    that contain it ("scripts" for scripts-lstm-char)."""
    try:
        names = sorted(p.name for p in runs_dir().iterdir() if (p / "run.json").is_file())
    except OSError:
        names = []
    if not names:
        return "none yet; train one with `lmtui train`"
    near = difflib.get_close_matches(name, names, most, 0.6)
    near += [n for n in names if name.lower() in n.lower() and n not in near]
    if not near and len(names) <= most:  # a few runs: all of them
        return f"runs: {', '.join(names)}"
    every = f"`lmtui runs` lists all {len(names)}"
    return f"closest: {', '.join(near[:most])}; {every}" if near else f"none is close; {every}"


def list_runs(damaged: dict[str, str] | None = None) -> list[Run]:
    """Every readable run, oldest first (``lmtui runs`` and the app). Damaged ones are left out; pass a dict
    as ``damaged`` to learn which and why (name -> the one-line error): one bad file never hides the rest."""
    folder = runs_dir()
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return []
    clean_staging()
    found = []
    for path in entries:
        if not NAME_RE.fullmatch(path.name):
            continue
        try:
            if _has_run_file(path):
                found.append(load_run(path.name))
        except LmtuiError as exc:
            if damaged is not None:
                damaged[path.name] = shown(str(exc), 400)
    found.sort(key=lambda r: _created(r.meta))
    return found


def _read_mark(folder: Path, mark: str) -> str | None:
    """The token in ``folder``'s marker file, if it is a regular file (never through a link)."""
    try:
        fd = os.open(folder / mark, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        return os.read(fd, 256).decode("ascii") if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def _write_mark(folder: Path, mark: str, token: str) -> None:
    fd = os.open(folder / mark, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o666)
    try:
        os.write(fd, token.encode("ascii"))
    finally:
        os.close(fd)


def _token() -> str:
    return f"{os.getpid()}-{time.time_ns()}-{secrets.token_hex(4)}"


def _created(meta: dict[str, Any]) -> float:
    created = meta.get("created", 0)
    return float(created) if isinstance(created, int | float) and math.isfinite(created) else 0.0


def run_rows(damaged: dict[str, str]) -> list[dict[str, Any]]:
    """The runs table of ``lmtui runs`` and the app: a summary per readable run, oldest first; each run
    that cannot be read or shown goes into ``damaged`` (name -> why, one printable line) instead."""
    rows = []
    for run in list_runs(damaged):
        where = run.path / "run.json"
        try:
            row = run.summary()
        except Exception as exc:  # a value the checks let through but the table cannot show
            damaged[run.name] = f"{where} is damaged ({damage(exc)})"
            continue
        bad = not_unicode(row)  # no terminal or JSON output could print it
        if bad is None:
            rows.append(row)
        else:
            damaged[run.name] = f"{where} is damaged ({shown(bad)} holds a lone surrogate, not Unicode text)"
    return rows


def clean_staging() -> None:
    """Remove what killed deletes and claims left behind: hidden ``.trash-*`` folders that carry the marker
    delete_run wrote (naming them) and nobody holds, and ``.claim-*`` folders of a dead creator that carry
    its token. Only real folders: a link or a folder without lmtui's proof is left alone."""
    with contextlib.suppress(OSError), os.scandir(runs_dir()) as entries:
        for entry in list(entries):
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if entry.name.startswith(".trash-"):
                ours = _read_mark(path, TRASH_MARK) == entry.name and not is_locked(path)
            elif entry.name.startswith(".claim-"):
                token = entry.name.removeprefix(".claim-")
                pid = token.split("-")[0]
                ours = _read_mark(path, CLAIM_MARK) == token and pid.isdigit() and not pid_alive(int(pid))
            else:
                continue
            if ours:
                shutil.rmtree(path, ignore_errors=True)


class RunExists(LmtuiError):
    """The name is taken: by a run, or by something lmtui will not clear."""


def _ours_before_run_json(entry: os.DirEntry) -> bool:
    """A file a claim's creator writes before run.json (what a killed train or import leaves)."""
    ours = entry.name in (CLAIM_MARK, LOCK_NAME, "model.safetensors") or (
        entry.name.startswith(".") and entry.name.endswith(".tmp")
    )
    return ours and entry.is_file(follow_symlinks=False)


def _not_ours(path: Path, names: list[str]) -> RunExists:
    shown = ", ".join(visible_line(n) for n in sorted(names)[:3]) + (", …" if len(names) > 3 else "")
    return RunExists(
        f"{path} has no run.json but holds files ({shown}); lmtui deletes only what it wrote: "
        "move them, or pick another name"
    )


def _judge(path: Path, name: str, exists_hint: str, locked: bool) -> list[os.DirEntry]:
    """The folder's entries if lmtui may take the folder over; else the refusal. A run (run.json, even a
    damaged one) is never taken; a folder without run.json only with lmtui's claim marker and nothing but
    what a creator writes before run.json, or when it holds nothing (bar a lock) to lose."""
    with os.scandir(path) as scan:
        entries = list(scan)
    names = [e.name for e in entries]
    if "run.json" in names:
        if not locked and is_locked(path):
            raise RunBusy(name, holder(path))
        raise RunExists(f"a run named {name!r} already exists{exists_hint}")
    if CLAIM_MARK in names:
        foreign = [e.name for e in entries if not _ours_before_run_json(e)]
    else:
        foreign = [n for n in names if n != LOCK_NAME]
    if foreign:
        raise _not_ours(path, foreign)
    return entries


def _refuse_foreign(path: Path, name: str, exists_hint: str) -> None:
    """Refuse, before locking (so creating nothing in it), a name lmtui may not take: a link, a file, a run,
    a folder of files lmtui cannot prove it wrote. Taken folders are judged again under the lock."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISDIR(mode):
            _judge(path, name, exists_hint, locked=False)
    except FileNotFoundError:
        return  # deleted meanwhile: the lock says so (RunGone)
    except OSError as exc:
        raise LmtuiError(f"cannot use run folder {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        msg = "is a link; lmtui writes no run through a link: remove it, or pick another name"
        raise RunExists(f"{path} {msg}")
    if not stat.S_ISDIR(mode):
        raise RunExists(f"{path} is not a run folder; move it, or pick another name")


def _stage(path: Path) -> None:
    """Make the run folder with lmtui's marker already in it: made aside, then renamed into place, so the
    folder never exists without its proof. If something takes the name first, that one stays."""
    token = _token()
    staging = path.parent / f".claim-{token}"
    try:
        os.mkdir(staging)
        try:
            _write_mark(staging, CLAIM_MARK, token)
            os.rename(staging, path)  # a non-empty folder, a file or a link at ``path``: refused by the OS
            return
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(staging / CLAIM_MARK)
                os.rmdir(staging)
            raise
    except OSError as exc:
        taken = exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR)
        if taken and os.path.lexists(path):
            return  # another creator (or anything else) took the name first: inspected next
        raise LmtuiError(f"cannot create run folder {path}: {exc.strerror or exc}") from None


def _take_over(path: Path, name: str, exists_hint: str) -> str:
    """Under the lock: judge the folder again; one lmtui may take (its creator died before run.json) is
    cleared of what that creator wrote and marked as this claim's. Returns the claim's token."""
    for entry in _judge(path, name, exists_hint, locked=True):
        if entry.name not in (CLAIM_MARK, LOCK_NAME):
            os.unlink(entry.path)
    token = _token()
    _write_mark(path, CLAIM_MARK, token)
    return token


def claim(name: str, exists_hint: str = "") -> RunLock:
    """Make run folder ``name`` (atomically: one process wins) and lock it; the caller writes run.json
    (Run.save_meta, then, drops the claim marker) or gives the claim up with ``abandon``.

    A folder without run.json is reused only with proof that lmtui made it and its creator died before
    writing run.json: lmtui's claim marker (or nothing at all) in it, and only the files a creator writes
    before run.json. Anything else keeps the name refused, untouched, and is never deleted."""
    path = run_path(name)
    ensure_runs_dir()
    for _ in range(5):
        if not os.path.lexists(path):
            _stage(path)
        _refuse_foreign(path, name, exists_hint)
        try:
            lock = acquire(path, name)
        except RunGone:
            continue  # deleted between our look and our lock: make it again
        try:
            lock.claim = _take_over(path, name, exists_hint)
        except FileNotFoundError:
            lock.release()
            continue
        except OSError as exc:
            lock.release()
            raise LmtuiError(f"cannot clear run folder {path}: {exc.strerror or exc}") from None
        except BaseException:
            lock.release()
            raise
        return lock
    raise RunBusy(name, None)


def settle(path: Path) -> None:
    """The run's run.json exists: the folder is a run now, no longer a claim that may be cleared."""
    with contextlib.suppress(OSError):
        os.unlink(path / CLAIM_MARK)


def abandon(lock: RunLock) -> None:
    """Undo this process's claim that never got its run.json: remove the files it wrote and the folder,
    then release the lock. Only while the folder still carries this claim's marker."""
    path = lock.folder
    try:
        if lock.held and lock.claim and _read_mark(path, CLAIM_MARK) == lock.claim:
            with os.scandir(path) as scan:
                entries = [e for e in scan if e.name not in (CLAIM_MARK, LOCK_NAME)]
            if not os.path.lexists(path / "run.json") and all(map(_ours_before_run_json, entries)):
                for entry in entries:
                    os.unlink(entry.path)
                os.unlink(path / CLAIM_MARK)
                os.unlink(path / LOCK_NAME)  # a waiting locker then finds the folder gone (RunGone)
                os.rmdir(path)
    except OSError:
        pass  # what is left is a marked folder: the next claim of the name reuses it
    finally:
        lock.release()


def delete_run(name: str) -> None:
    """Delete a run that nobody is writing: it vanishes at once (renamed aside), then its files go.

    A run name that is a link: the link alone goes, and nothing of its target is read, locked or deleted."""
    path = run_path(name)
    if path.is_symlink():
        try:
            os.unlink(path)
        except OSError as exc:
            raise LmtuiError(f"cannot delete run {name!r}: {exc.strerror or exc}") from None
        return
    if not (path / "run.json").is_file():
        raise LmtuiError(f"no run named {name!r}")
    with run_lock(path, name) as lock:
        trash = runs_dir() / f".trash-{name}-{os.getpid()}-{time.time_ns()}"
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path / TRASH_MARK)
            _write_mark(path, TRASH_MARK, trash.name)  # clean_staging's proof, if we die before rmtree
            if os.name == "nt":  # Windows renames no folder holding an open file: a moment without the lock
                lock.release()
            os.rename(path, trash)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path / TRASH_MARK)
            raise LmtuiError(f"cannot delete run {name!r}: {exc.strerror or exc}") from None
        shutil.rmtree(trash, ignore_errors=True)  # anything left goes at the next clean_staging


# -- comparisons: `lmtui compare` trains its models as one group (run.json's "group", like "cmp3"); their
# names (cmp3-scripts-lstm) come from a number no run name and no group uses yet, so they never take a name
# of the user's, and the group is listed and deleted together.

GROUP_PREFIX = "cmp"


def new_group() -> str:
    """The next free comparison name: cmpN, with N past every group and every run name cmpN or cmpN-…"""
    pattern = re.compile(rf"^{GROUP_PREFIX}(\d+)(?:-|$)")
    used = [0]
    with contextlib.suppress(OSError), os.scandir(runs_dir()) as entries:
        used += [int(m.group(1)) for e in entries if (m := pattern.match(e.name))]
    used += [int(m.group(1)) for r in list_runs() if (m := pattern.match(r.meta.get("group") or ""))]
    return f"{GROUP_PREFIX}{max(used) + 1}"


def group_runs(group: str) -> list[Run]:
    """The runs of one comparison, oldest first."""
    return [r for r in list_runs() if r.meta.get("group") == group]


def delete_group(group: str) -> list[str]:
    """Delete every run of a comparison (refused, deleting none, while any of them is being written)."""
    members = group_runs(group)
    if not members:
        raise LmtuiError(f"no comparison named {group!r}")
    for run in members:
        if run.busy:
            raise RunBusy(run.name, holder(run.path))
    for run in members:
        delete_run(run.name)
    return [r.name for r in members]


def grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run summaries with each group's runs together, where the group's first run is."""
    order: dict[Any, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        order.setdefault(row.get("group") or ("", i), []).append(row)
    return [row for members in order.values() for row in members]


def trim_history(run: Run, step: int) -> None:
    """Drop the curve past ``step``: after a crash, the steps logged since the last checkpoint are redone."""
    keep = []
    for data in run.history():
        if not (isinstance(data.get("step"), int) and data["step"] > step):
            keep.append(json_line(data))
    if keep or (run.path / "events.jsonl").exists():
        atomic_write(
            run.path / "events.jsonl",
            lambda p: p.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8"),
        )


def remove_leftovers(run: Run) -> None:
    """Remove temporary files a killed writer left behind (``.NAME.XXXX.tmp``, see storage.atomic_write):
    regular files only, never a link or a folder of that shape."""
    with contextlib.suppress(OSError), os.scandir(run.path) as entries:
        for entry in list(entries):
            tmp = entry.name.startswith(".") and entry.name.endswith(".tmp")
            if tmp and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def append_event(run: Run, data: dict[str, Any]) -> None:
    path = run.path / "events.jsonl"
    try:  # never appended through a link (it could point at any file of the user's)
        line = json_line(data) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
        with open(fd, "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError as exc:
        raise LmtuiError(f"could not write {path}: {exc.strerror or exc}") from None
    except (TypeError, ValueError, RecursionError) as exc:  # a value JSON has no form for: still one line
        raise LmtuiError(f"could not write {path}: {damage(exc)}") from None


# -- sharing a run as one file: weights + run.json in a safetensors file (its metadata holds the JSON)

BUNDLE_KEY = "lmtui-run"
BUNDLE_DROPS = ("error", "imported_from", "updated", "group")  # a comparison's group is this machine's


def export_bundle(name: str, path: Path, force: bool = False) -> Path:
    """Write run ``name`` (config, vocabulary, metrics, best weights) as one safetensors file.

    Only a bundled corpus keeps its name as a spec: paths on the author's machine never travel."""
    from lmtui.storage import check_target

    run = load_run(name)
    target = check_target(Path(path), force, protected=runs_dir())
    weights = run.path / "model.safetensors"
    tensors, _ = read_tensors(weights)
    schema.check_tensors(tensors, str(weights))
    meta = {k: v for k, v in run.meta.items() if k not in ("corpus", *BUNDLE_DROPS)}
    corpus = run.meta["corpus"]
    meta["corpus"] = {k: corpus[k] for k in ("name", "unit") if k in corpus}
    if corpus.get("bundled"):
        meta["corpus"].update(bundled=True, spec=corpus["name"])
    meta["status"] = run.status if run.status not in schema.LIVE_STATUSES else "stopped"
    check_unicode(target, meta)  # names the field; safetensors' own error would not
    write_tensors(target, tensors, {BUNDLE_KEY: json.dumps(meta, ensure_ascii=False, allow_nan=False)})
    return target


def _imported_corpus(corpus: dict[str, Any]) -> dict[str, Any]:
    """An imported run reads no file of the importer's: only a corpus lmtui itself ships keeps its spec."""
    from lmtui.corpus import bundled_corpora

    unit = corpus.get("unit", "text")
    if corpus.get("bundled") and corpus["name"] in {c.name for c in bundled_corpora()}:
        return {"name": corpus["name"], "spec": corpus["name"], "bundled": True, "unit": unit}
    return {"name": corpus["name"], "imported": True, "unit": unit}


def import_bundle(path: Path, name: str | None = None) -> Run:
    """Check all of a shared bundle (every field, the weights' shapes and values) before writing anything."""
    path = Path(path)
    if not path.exists():
        raise LmtuiError(f"no such file: {path}")
    tensors, metadata = read_tensors(path)
    if BUNDLE_KEY not in metadata:
        raise LmtuiError(f"{path} is a safetensors file but not an lmtui run bundle")
    meta = parse_json(metadata[BUNDLE_KEY], path, "is a damaged lmtui run bundle")
    meta = schema.check_run(meta, str(path))
    schema.check_tensors(tensors, str(path))
    build_model(ModelConfig.from_dict(meta["model"]), meta["vocab_size"], tensors, "cpu", str(path))
    given = name or meta.get("name") or path.stem
    try:
        name = validate_name(given)
    except LmtuiError as exc:
        raise LmtuiError(f"{exc}; choose one with --name") from None
    status = meta.get("status", "done")
    meta = {k: v for k, v in meta.items() if k not in BUNDLE_DROPS}
    meta.update(
        name=name,
        corpus=_imported_corpus(meta["corpus"]),
        status="stopped" if status in schema.LIVE_STATUSES else status,
        imported_from=path.name,
    )
    clean_staging()
    lock = claim(name, "; import it under another name with --name")
    folder = run_path(name)
    try:  # run.json last: until it exists, the folder is no run (list_runs skips it, claim reuses it)
        write_tensors(folder / "model.safetensors", tensors)
        write_json(folder / "run.json", meta)
        settle(folder)
    except BaseException:
        abandon(lock)  # no empty folder left behind, one per failed attempt
        raise
    finally:
        lock.release()
    return load_run(name)
