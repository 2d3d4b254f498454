"""Write the synthetic corpus ``recall.txt``: a task where remembering far back is the whole point.

Why: on real text most of what predicts the next character is a few characters back, so a plain RNN and an
LSTM look alike; what vanishing gradients cost shows only where the answer lies far back. Each line here is
a letter, a run of random digits, ``=`` and the same letter again (``q40916=q``): the last letter can only
be predicted by a model that carried the first across the digits, and the gap says how far.

How: from the repository root run

    python corpora/synthetic.py

It needs nothing but Python; a fixed seed makes the same bytes every time (tests/test_corpora_files.py
checks the file against this script). ``lmtui recall RUN`` scores a run on the test split's recalled letters,
by gap.
"""

from __future__ import annotations

import math
import random
import string
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 19
LINES = 12_000
MAX_GAP = 40  # digits between the letter and "=": the letter is predicted MAX_GAP + 1 characters after it
LETTERS = string.ascii_lowercase


def recall_line(rng: random.Random) -> str:
    """One line: a letter, 1..MAX_GAP random digits, "=", the letter again.

    Gaps are log-uniform (half of them 5 or less): the short ones let a model find out that the letter
    comes back at all, which uniform gaps up to 40 hid from an LSTM for 2,000 steps; the long ones show
    how far it can carry it."""
    letter = rng.choice(LETTERS)
    gap = min(MAX_GAP, int(math.exp(rng.uniform(0, math.log(MAX_GAP + 1)))))
    digits = "".join(rng.choice(string.digits) for _ in range(gap))
    return f"{letter}{digits}={letter}"


def recall_text(lines: int = LINES, seed: int = SEED) -> str:
    rng = random.Random(seed)
    return "\n".join(recall_line(rng) for _ in range(lines)) + "\n"


def main() -> None:
    path = HERE / "recall.txt"
    path.write_text(recall_text(), encoding="utf-8", newline="\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
