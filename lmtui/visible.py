"""Showing text that came from a file, a bundle or a model: what a terminal would act on is shown, not sent.

A run.json, a shared bundle or a corpus can hold any character, and so can a sample or a vocabulary token
(a char model of a text with form feeds has a form feed token). Written raw to a terminal, ESC starts
commands (retitle the window, clear the screen, fake a prompt), BEL rings, CR overwrites a line, and
U+202E reverses what follows ("Trojan source"). So every such string is passed through one of these
functions where it is shown, in the CLI and in the app alike:

- ``visible_line``: one-line fields (run and corpus names, tokens, error reasons, messages): every
  character below is escaped, newline and tab included;
- ``visible_text``: text whose lines are content (samples, a corpus preview): the same, but newline and
  tab stay as they are;
- ``visible_cells``: for a widget that maps characters to cells one to one (an input field's cursor): each
  character below becomes one visible character instead, C0 its control picture (``␛`` for ESC), DEL ``␡``,
  any other ``�``.

What is made visible:

- every control character (Unicode category Cc): C0 U+0000–U+001F (ESC, BEL, CR, backspace…), DEL U+007F
  and C1 U+0080–U+009F (U+009B is CSI, and U+009D OSC, to some terminals);
- every format character (Cf), which is invisible or reorders text: the bidi embeddings, overrides and
  isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width space U+200B,
  word joiner U+2060, the byte order mark U+FEFF, soft hyphen U+00AD, tag characters U+E0000–U+E007F (they
  can hide text in plain sight)… except ZWNJ and ZWJ (U+200C, U+200D), which join emoji and shape Persian
  and Indic words and move no cursor;
- the line and paragraph separators U+2028 and U+2029 (Zl, Zp), which some terminals and editors break at;
- lone surrogates U+D800–U+DFFF (Cs), which cannot even be written as UTF-8.

How: as Python writes them in a ``repr``, so they read as what they are: ``\\n``, ``\\t``, ``\\r``, then
``\\x1b`` below U+0100, ``\\u202e``, ``\\U000e0041``. A backslash already in the text is left alone, so the
text stays readable; shown text is for people (``--json`` gives every string exactly).

Rich markup is a separate matter, handled where markup is parsed: ``rich.markup.escape`` for a string that
is markup (``visible_markup`` does both), or a ``rich.text.Text`` (never a markup string) in Textual widgets,
tables and notifications.
``json_text`` is JSON for output: exact strings, with the characters above written as ``\\u`` escapes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

JOINERS = "\u200c\u200d"  # ZWNJ and ZWJ: part of words and emoji, harmless
SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Where the characters escaped here lie (a superset: ``risky`` decides each one), so a text is one regex scan
# whatever its script (a callback per non-ASCII character cost 70 ms per 200,000 of them). Above C0: DEL and
# C1, soft hyphen, the Arabic and Syriac format marks, Mongolian vowel separator, zero-width and bidi marks,
# separators, embeddings, word joiner to nominal digit shapes, surrogates, BOM, interlinear annotation,
# Kaithi, Egyptian hieroglyph and shorthand format controls, musical symbol beams, tags.
# test_escape_injection checks it covers every such character of this Python's Unicode.
ABOVE_C0 = (
    "\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001345f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
_CANDIDATE = re.compile(f"[\\x00-\\x1f{ABOVE_C0}]")
_JSON_CANDIDATE = re.compile(f"[{ABOVE_C0}]")  # json.dumps escapes C0 itself (and indents with newlines)


@lru_cache(maxsize=4096)
def risky(ch: str) -> bool:
    """Is ``ch`` a character these functions escape (see the module docstring)?"""
    category = unicodedata.category(ch)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and ch not in JOINERS)


@lru_cache(maxsize=4096)
def spelled(ch: str) -> str:
    """``ch`` as Python's ``repr`` would escape it."""
    if ch in SHORT:
        return SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escaper(keep: str) -> Any:
    def one(match: re.Match[str]) -> str:
        ch = match.group()
        return ch if ch in keep or not risky(ch) else spelled(ch)

    return one


_LINE, _TEXT = _escaper(""), _escaper("\n\t")


def visible_line(text: str) -> str:
    """``text`` for one line of a terminal or a widget: every risky character escaped, newline included."""
    return _CANDIDATE.sub(_LINE, text)


def visible_text(text: str) -> str:
    """``text`` whose lines are content (a sample): like ``visible_line``, but newlines and tabs stay."""
    return _CANDIDATE.sub(_TEXT, text)


def visible_markup(text: str) -> str:
    """``text`` as rich markup that prints it as it is: control characters visible, ``[tags]`` literal."""
    from rich.markup import escape

    return escape(visible_line(text))


def _cell(match: re.Match[str]) -> str:
    ch = match.group()
    if not risky(ch):
        return ch
    code = ord(ch)
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def visible_cells(text: str) -> str:
    """``text`` with each risky character replaced by one visible character: same length, same offsets."""
    return _CANDIDATE.sub(_cell, text)


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if not risky(ch):
        return ch
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as its UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(data: Any, indent: int | None = None) -> str:
    """JSON of ``data`` that is safe on a terminal and reads back exactly: non-ASCII text stays readable, but
    DEL, C1 controls, format characters and lone surrogates are ``\\u`` escapes (``json.dumps`` escapes
    only C0 when ``ensure_ascii`` is off, and cannot write a lone surrogate as UTF-8 at all)."""
    return _JSON_CANDIDATE.sub(_json_escape, json.dumps(data, ensure_ascii=False, indent=indent, default=str))
