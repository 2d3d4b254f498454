"""Corpora: bundled texts, the user's files and folders, encodings, errors, deterministic splits, stats."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lmtui.corpus import (
    Stats,
    bundled_corpora,
    corpora_dir,
    find_corpus,
    load_text,
    split_text,
    text_stats,
)
from lmtui.errors import LmtuiError

HAS_MANIFEST = (corpora_dir() / "manifest.json").is_file()
needs_manifest = pytest.mark.skipif(not HAS_MANIFEST, reason="corpora/manifest.json is not built yet")


def one_line_error(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


# -- bundled corpora


@needs_manifest
def test_bundled_corpora_listed_with_existing_files():
    infos = bundled_corpora()
    names = {c.name for c in infos}
    assert {"speeches", "scripts", "paint-colours"} <= names
    for c in infos:
        assert c.bundled
        assert c.unit in ("text", "lines")
        assert c.level in ("char", "word")
        assert c.path.is_file() and c.path.stat().st_size > 100_000
        assert c.title and c.description


@needs_manifest
def test_find_bundled_corpus_by_name_and_read_a_little():
    info = find_corpus("paint-colours")
    assert info.bundled and info.unit == "lines"
    _, text = load_text("paint-colours")
    assert "\r" not in text
    first = text.split("\n", 1)[0].split()
    assert len(first) >= 4 and all(p.isdigit() for p in first[-3:])


# -- the user's files


def test_user_file_is_found_and_read(english_file: Path, english_text: str):
    info, text = load_text(str(english_file))
    assert not info.bundled
    assert info.name == "english" and info.unit == "text" and info.level == "char"
    assert info.path == english_file
    assert text == english_text


def test_folder_of_txt_files_read_in_name_order(tmp_path: Path):
    folder = tmp_path / "books"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("second", encoding="utf-8")
    (folder / "a.txt").write_text("first", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("third", encoding="utf-8")
    (folder / "notes.md").write_text("ignored", encoding="utf-8")
    info, text = load_text(str(folder))
    assert info.name == "books"
    assert text == "first\n\nsecond\n\nthird"


def test_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(LmtuiError) as exc:
        load_text(str(tmp_path / "nope.txt"))
    assert "no such file" in one_line_error(exc)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "], ids=["empty", "whitespace"])
def test_empty_or_whitespace_file_is_an_error(tmp_path: Path, content: bytes):
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path))
    assert "no text" in one_line_error(exc)


def test_binary_file_is_an_error(tmp_path: Path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"PK\x03\x04\x00\x00binary\x00stuff" * 10)
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path))
    assert "binary" in one_line_error(exc)


def test_nul_after_first_block_is_still_refused(tmp_path: Path):
    path = tmp_path / "late.txt"
    path.write_bytes(b"a" * 70_000 + b"\x00tail")
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path))
    assert "binary" in one_line_error(exc)


def test_non_utf8_file_names_the_encoding_option(tmp_path: Path):
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n".encode("latin-1"))
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path))
    assert "--encoding" in one_line_error(exc)
    _, text = load_text(str(path), encoding="latin-1")
    assert text == "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n"


def test_wrong_or_unknown_explicit_encoding_is_an_error(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path), encoding="ascii")
    assert "ascii" in one_line_error(exc)
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path), encoding="no-such-codec")
    assert "unknown encoding" in one_line_error(exc)


def test_folder_without_txt_files_is_an_error(tmp_path: Path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "x.md").write_text("not a txt", encoding="utf-8")
    with pytest.raises(LmtuiError) as exc:
        load_text(str(folder))
    assert ".txt" in one_line_error(exc)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_read(tmp_path: Path, codec: str):
    path = tmp_path / "wide.txt"
    data = "Größe\r\nnaïve\n".encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    _, text = load_text(str(path))
    assert text == "Größe\nnaïve\n"


@pytest.mark.parametrize(
    "data", [b"\xff\xfeA\x00B", b"\xff\xfe\x00\xd8A\x00"], ids=["odd-length", "surrogate"]
)
def test_damaged_utf16_is_an_error(tmp_path: Path, data: bytes):
    """Bytes after a UTF-16 BOM that do not decode are an LmtuiError, not a UnicodeDecodeError."""
    path = tmp_path / "damaged.txt"
    path.write_bytes(data)
    with pytest.raises(LmtuiError) as exc:
        load_text(str(path))
    one_line_error(exc)


def test_utf8_bom_is_dropped(tmp_path: Path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfhello\n")
    assert load_text(str(path))[1] == "hello\n"


def test_crlf_and_cr_are_normalised(tmp_path: Path):
    path = tmp_path / "ends.txt"
    path.write_bytes(b"one\r\ntwo\rthree\nfour\r\n")
    assert load_text(str(path))[1] == "one\ntwo\nthree\nfour\n"


# -- splits


def test_running_text_split_is_contiguous_and_about_90_5_5(english_text: str):
    s = split_text(english_text, "text")
    assert s.train + s.val + s.test == english_text
    n = len(english_text)
    assert 0.88 * n <= len(s.train) <= 0.93 * n
    assert 0.03 * n <= len(s.val) <= 0.07 * n
    assert len(s.test) > 0.02 * n
    # cuts land just after a newline, so no split starts mid-word
    assert s.train.endswith("\n") and s.val.endswith("\n")
    assert split_text(english_text, "text") == s


def test_running_text_without_newlines_is_cut_exactly():
    text = "x" * 1000
    s = split_text(text, "text")
    assert (len(s.train), len(s.val), len(s.test)) == (900, 50, 50)


def test_lines_split_is_shuffled_deterministically_and_partitions_lines():
    lines = [f"colour number {i} {i * 7 % 256}" for i in range(400)]
    text = "\n".join(lines) + "\n\n   \n"
    s1, s2 = split_text(text, "lines"), split_text(text, "lines")
    assert s1 == s2
    parts = [p.rstrip("\n").split("\n") for p in (s1.train, s1.val, s1.test)]
    assert [len(p) for p in parts] == [360, 20, 20]
    assert Counter(parts[0] + parts[1] + parts[2]) == Counter(lines)
    assert parts[0] != lines[:360]  # shuffled, not the file's order


def test_colour_list_split_by_lines(colours_file: Path):
    _, text = load_text(str(colours_file))
    lines = text.rstrip("\n").split("\n")
    s = split_text(text, "lines")
    assert s == split_text(text, "lines")
    parts = [p.rstrip("\n").split("\n") for p in (s.train, s.val, s.test)]
    assert [len(p) for p in parts] == [270, 15, 15]
    assert Counter(parts[0] + parts[1] + parts[2]) == Counter(lines)
    for line in parts[1]:  # whole "Name R G B" items, never cut
        *name, r, g, b = line.split()
        assert name and all(0 <= int(v) <= 255 for v in (r, g, b))


def test_text_stats_on_a_hand_example():
    text = "Hello, world!\nHello again.\nbye"
    # 18 distinct characters: newline, space, ! , . H a b d e g i l n o r w y
    assert text_stats(text) == Stats(chars=30, words=5, lines=3, distinct_chars=18, distinct_words=4)
    assert text_stats("one two\n") == Stats(chars=8, words=2, lines=1, distinct_chars=7, distinct_words=2)
