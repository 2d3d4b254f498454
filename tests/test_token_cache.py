"""The token cache of bundled corpora (lmtui/token_cache.py): the same data as without it, damage ignored and
repaired, safe when two processes fill it at once, never used for a user's own text."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lmtui import token_cache, training
from lmtui.corpus import load_text, split_text
from lmtui.tokens import WordTokenizer
from lmtui.training import TrainConfig, prepare_data

CORPUS = "paint-colours"  # the smallest bundled corpus: a fraction of a second to tokenize
WORD = TrainConfig(max_vocab=500, min_count=2)  # a vocabulary cut: prepare_data adds a note


def _key(level: str = "word", cfg: TrainConfig = WORD) -> str:
    info, text = load_text(CORPUS)
    return token_cache.cache_key(text, info.unit, level, cfg.max_vocab, cfg.min_count)


def _uncached(monkeypatch: pytest.MonkeyPatch, level: str = "word", cfg: TrainConfig = WORD):
    with monkeypatch.context() as m:
        m.setattr(token_cache, "load", lambda key: None)
        m.setattr(token_cache, "store", lambda key, entry: None)
        return prepare_data(CORPUS, level, cfg)


def _no_tokenizing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on a prepare_data that tokenizes fails: what it returns came from the cache."""

    def refuse(*args, **kwargs):
        raise AssertionError("tokenized although the cache holds the entry")

    monkeypatch.setattr(training, "build_and_encode", refuse)


def _same(a: training.Data, b: training.Data) -> None:
    for name in ("train", "val", "test"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == np.int32 and np.array_equal(x, y), name
    assert a.tokenizer.to_dict() == b.tokenizer.to_dict() and type(a.tokenizer) is type(b.tokenizer)
    assert (a.val_chars, a.test_chars, a.notes) == (b.val_chars, b.test_chars, b.notes)
    assert a.info == b.info


@pytest.mark.parametrize("level", ["char", "word"])
def test_cached_data_is_the_uncached_data(monkeypatch, lmtui_home, level):
    reference = _uncached(monkeypatch, level)
    assert not token_cache.cache_dir().exists()
    cold = prepare_data(CORPUS, level, WORD)  # fills the cache
    assert token_cache.cache_dir() == lmtui_home / "cache" / "tokens"
    assert token_cache.entry_path(_key(level)).is_file()
    _no_tokenizing(monkeypatch)
    warm = prepare_data(CORPUS, level, WORD)
    _same(cold, reference)
    _same(warm, reference)
    assert (level == "word") == bool(warm.notes)  # the --max-vocab note comes back from the cache too


def test_the_key_covers_what_the_tokens_depend_on():
    _, text = load_text(CORPUS)
    base = token_cache.cache_key(text, "lines", "word", 500, 2)
    others = {
        token_cache.cache_key(text + "x", "lines", "word", 500, 2),
        token_cache.cache_key(text, "text", "word", 500, 2),
        token_cache.cache_key(text, "lines", "char", 500, 2),
        token_cache.cache_key(text, "lines", "word", 501, 2),
        token_cache.cache_key(text, "lines", "word", 500, 1),
    }
    assert base not in others and len(others) == 5
    # a character vocabulary takes every character, whatever the word settings say
    key = token_cache.cache_key
    assert key(text, "lines", "char", 1, 1) == key(text, "lines", "char", 9, 9)


def _rewrite(path: Path, change) -> None:
    """Rewrite an entry's arrays and meta, changed by ``change(arrays, meta)``, as a valid zip."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    change(arrays, meta)
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path.write_bytes(buf.getvalue())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    """A byte inside the stored train array changed: the zip's CRC catches it."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("train.npy")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0x55
    path.write_bytes(bytes(data))


def _pickled(path: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"format": 1}], dtype=object), train=np.zeros(3, np.int32))
    path.write_bytes(buf.getvalue())


def _out_of_range(arrays, meta):
    arrays["train"] = arrays["train"].copy()
    arrays["train"][7] = len(meta["tokenizer"]["vocab"])


DAMAGE = {
    "truncated": _truncate,
    "empty": lambda p: p.write_bytes(b""),
    "not a zip": lambda p: p.write_bytes(b"PK\x03\x04 not really" * 100),
    "a byte flipped": _flip_a_byte,
    "pickled objects": _pickled,
    "wrong dtype": lambda p: _rewrite(p, lambda a, m: a.update(train=a["train"].astype(np.int64))),
    "big-endian ids": lambda p: _rewrite(p, lambda a, m: a.update(val=a["val"].astype(">i4"))),
    "ids out of range": lambda p: _rewrite(p, _out_of_range),
    "negative ids": lambda p: _rewrite(p, lambda a, m: a["test"].__setitem__(0, -1)),
    "edited key": lambda p: _rewrite(p, lambda a, m: m.update(key="0" * 64)),
    "another format": lambda p: _rewrite(p, lambda a, m: m.update(format=token_cache.FORMAT + 1)),
    "wrong length": lambda p: _rewrite(p, lambda a, m: m["lengths"].__setitem__(0, m["lengths"][0] + 1)),
    "an array missing": lambda p: _rewrite(p, lambda a, m: a.pop("test")),
    "bad tokenizer": lambda p: _rewrite(p, lambda a, m: m.update(tokenizer={"level": "byte", "vocab": []})),
    "bad notes": lambda p: _rewrite(p, lambda a, m: m.update(notes=[1, 2])),
    "a folder": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_entry_is_ignored_and_written_again(monkeypatch, damage):
    reference = _uncached(monkeypatch)
    prepare_data(CORPUS, "word", WORD)
    path = token_cache.entry_path(_key())
    DAMAGE[damage](path)
    assert token_cache.load(_key()) is None
    _same(prepare_data(CORPUS, "word", WORD), reference)  # never an error: tokenized again
    if damage != "a folder":  # a folder in the way is left alone (no cache), never an error
        assert token_cache.load(_key()) is not None  # and the entry rewritten whole
        _no_tokenizing(monkeypatch)
        _same(prepare_data(CORPUS, "word", WORD), reference)


def test_an_unwritable_cache_is_only_no_cache(monkeypatch, lmtui_home):
    (lmtui_home / "cache").write_text("a file where the folder should be")
    reference = _uncached(monkeypatch)
    _same(prepare_data(CORPUS, "word", WORD), reference)
    _same(prepare_data(CORPUS, "word", WORD), reference)


def test_two_processes_filling_the_cache_at_once_both_get_the_data(monkeypatch, child_env):
    reference = _uncached(monkeypatch)
    code = (
        "import hashlib, json, sys\n"
        "from lmtui.training import TrainConfig, prepare_data\n"
        "sys.stdin.readline()\n"  # both start tokenizing when the test says so
        "d = prepare_data('paint-colours', 'word', TrainConfig(max_vocab=500, min_count=2))\n"
        "h = hashlib.sha256(b''.join(a.tobytes() for a in (d.train, d.val, d.test)))\n"
        "print(json.dumps([h.hexdigest(), d.tokenizer.to_dict(), d.val_chars, d.test_chars, d.notes]))\n"
    )
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for kid in kids:
        kid.stdin.write("go\n")
        kid.stdin.flush()
    digest = b"".join(a.tobytes() for a in (reference.train, reference.val, reference.test))
    want = [
        hashlib.sha256(digest).hexdigest(),
        reference.tokenizer.to_dict(),
        reference.val_chars,
        reference.test_chars,
        reference.notes,
    ]
    for kid in kids:
        out, err = kid.communicate(timeout=120)
        assert kid.returncode == 0, err
        assert json.loads(out) == want
    assert token_cache.load(_key()) is not None
    assert [p.name for p in token_cache.cache_dir().iterdir()] == [f"{_key()}.npz"]  # no temporary left


def test_a_users_own_text_is_never_cached(english_file, lmtui_home):
    prepare_data(str(english_file), "word", TrainConfig())
    prepare_data(str(english_file), "char", TrainConfig())
    assert not (lmtui_home / "cache").exists()


def test_a_resumed_runs_tokenizer_uses_the_entry_only_when_it_is_the_same(monkeypatch):
    reference = _uncached(monkeypatch)
    prepare_data(CORPUS, "word", WORD)
    with monkeypatch.context() as m:
        _no_tokenizing(m)
        resumed = prepare_data(CORPUS, "word", WORD, tokenizer=reference.tokenizer)
    assert resumed.tokenizer is reference.tokenizer and resumed.notes == []
    assert np.array_equal(resumed.train, reference.train)
    other = WordTokenizer(reference.tokenizer.vocab[:100])  # another vocabulary: encoded with it
    mine = prepare_data(CORPUS, "word", WORD, tokenizer=other)
    info, text = load_text(CORPUS)
    assert mine.tokenizer is other
    assert np.array_equal(mine.train, other.encode(split_text(text, info.unit).train))
    assert token_cache.load(_key()).tokenizer.to_dict() == reference.tokenizer.to_dict()  # the entry stays
