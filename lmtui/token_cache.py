"""A cache of a bundled corpus's token ids, so a training start does not split and tokenize it again.

Each entry is one ``.npz`` file (numpy's zip of ``.npy`` arrays, stored uncompressed) in the user's cache
folder (``$LMTUI_HOME/cache/tokens``, else platformdirs' ``user_cache_dir``), named by a hash of everything
the tokens depend on: the text itself, its split, the level, the vocabulary settings, a format version and
the source of the code that splits and tokenizes. It holds the train/val/test ids (int32), the tokenizer (its
``to_dict`` JSON), the val/test character counts and the notes ``prepare_data`` shows.

Nothing here can fail a training start: an entry that is missing, partial, corrupt or from another version
reads as a miss (and is written again), and a write that fails (a full or read-only disk) is skipped. Reads
never unpickle (``allow_pickle=False``) and check the format, the key, dtypes, shapes and that every id is
in the vocabulary. Writes go to a temporary file in the same folder, renamed over the entry with
``os.replace``, so two processes filling the same entry at once each leave a whole file and a reader sees
the old entry, the new one or none. Only bundled corpora are cached: a user's own text is never copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmtui.tokens import Tokenizer

FORMAT = 1  # bump when an entry's layout or what the tokens mean changes
MAX_ENTRIES = 24  # least recently used entries beyond this are removed after a write
STALE_TMP_SECONDS = 3600.0  # a temporary file this old was left by a killed writer
ARRAYS = ("train", "val", "test")
_MODULES = ("tokens.py", "wordruns.py", "corpus.py")  # the code that splits and tokenizes a text


@dataclass
class Entry:
    tokenizer: Tokenizer
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    val_chars: int
    test_chars: int
    notes: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    """Where entries live: ``$LMTUI_HOME/cache/tokens`` (each test has its own), else the user cache."""
    home = os.environ.get("LMTUI_HOME")
    if home:
        return Path(home).expanduser() / "cache" / "tokens"
    import platformdirs

    return Path(platformdirs.user_cache_dir("lmtui", appauthor=False)) / "tokens"


def cache_key(text: str, unit: str, level: str, max_vocab: int, min_count: int) -> str:
    """A hex digest of everything an entry's ids depend on."""
    from lmtui.corpus import SPLIT_SEED, split_text

    fractions = inspect.signature(split_text).parameters["fractions"].default
    if level == "char":  # a character vocabulary takes every character: the word settings do not matter
        max_vocab = min_count = 0
    settings = {
        "format": FORMAT,
        "code": _code_fingerprint(),
        "unit": unit,
        "fractions": list(fractions),
        "split_seed": SPLIT_SEED,
        "level": level,
        "max_vocab": max_vocab,
        "min_count": min_count,
    }
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


_fingerprint: str | None = None


def _code_fingerprint() -> str:
    """A hash of the tokenizing code, so an upgrade that changes it never reads an old entry."""
    global _fingerprint
    if _fingerprint is None:
        import lmtui

        h = hashlib.sha256(lmtui.__version__.encode())
        folder = Path(__file__).parent
        for name in _MODULES:
            with contextlib.suppress(OSError):
                h.update((folder / name).read_bytes())
        _fingerprint = h.hexdigest()[:16]
    return _fingerprint


def entry_path(key: str) -> Path:
    return cache_dir() / f"{key}.npz"


def load(key: str) -> Entry | None:
    """The entry for ``key`` if there is a whole, valid one; None otherwise (never an error)."""
    path = entry_path(key)
    try:
        if not path.is_file():
            return None
        entry = _read(path, key)
    except Exception:  # damaged in any way (zip, JSON, numpy, tokenizer): a miss, written again
        return None
    if entry is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruning keeps it
    return entry


def _read(path: Path, key: str) -> Entry | None:
    with np.load(path, allow_pickle=False) as z:
        if sorted(z.files) != sorted(("meta", *ARRAYS)):
            return None
        raw = z["meta"]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            return None
        meta = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("key") != key:
            return None
        tokenizer = Tokenizer.from_dict(meta.get("tokenizer"))
        lengths, notes = meta.get("lengths"), meta.get("notes")
        val_chars, test_chars = meta["val_chars"], meta["test_chars"]  # a KeyError: a miss
        if not (isinstance(lengths, list) and len(lengths) == len(ARRAYS)):
            return None
        if not (isinstance(notes, list) and all(isinstance(n, str) for n in notes)):
            return None
        if not all(_count(n) for n in (val_chars, test_chars, *lengths)):
            return None
        arrays = {}
        for name, length in zip(ARRAYS, lengths, strict=True):
            ids = z[name]
            if ids.dtype != np.dtype(np.int32) or ids.shape != (length,):  # "=i4": native order only
                return None
            if length and (int(ids.min()) < 0 or int(ids.max()) >= len(tokenizer)):
                return None
            arrays[name] = ids
    return Entry(tokenizer, arrays["train"], arrays["val"], arrays["test"], val_chars, test_chars, notes)


def _count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def store(key: str, entry: Entry) -> None:
    """Write the entry for ``key`` atomically; a failure (full or read-only disk) only means no cache."""
    meta = {
        "format": FORMAT,
        "key": key,
        "tokenizer": entry.tokenizer.to_dict(),
        "lengths": [len(entry.train), len(entry.val), len(entry.test)],
        "val_chars": entry.val_chars,
        "test_chars": entry.test_chars,
        "notes": list(entry.notes),
        "written": time.time(),
    }
    folder = cache_dir()
    tmp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=folder)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:  # a file object: given a name, numpy would add ".npz" to it
            np.savez(
                f,
                meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                **{n: np.ascontiguousarray(getattr(entry, n), dtype=np.int32) for n in ARRAYS},  # type: ignore[arg-type]  # numpy's stub types **kwds by allow_pickle
            )
        # No fsync: a file cut short by a crash fails its zip checks on read and is written again.
        os.replace(tmp, folder / f"{key}.npz")
        tmp = None
        _prune(folder)
    except (OSError, ValueError):
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _prune(folder: Path) -> None:
    """Remove the least recently used entries beyond MAX_ENTRIES and temporary files killed writers left."""
    now = time.time()
    entries = []
    for path in folder.iterdir():
        with contextlib.suppress(OSError):
            mtime = path.stat().st_mtime
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                if now - mtime > STALE_TMP_SECONDS:
                    path.unlink()
            elif path.suffix == ".npz":
                entries.append((mtime, path))
    for _, path in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            path.unlink()
