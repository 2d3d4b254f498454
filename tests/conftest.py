"""Shared fixtures: an isolated LMTUI_HOME for every test, small deterministic texts, tiny configs."""

from __future__ import annotations

import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tiny models run fastest on one thread: with one per core, OpenMP's spinning threads compete with every
# other process for the two cores and the neural tests get several times slower. Set before torch is
# first imported (child `python -m lmtui` processes inherit it); the user's own setting wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

from hypothesis import HealthCheck, settings

from lmtui.models import ModelConfig
from lmtui.training import TrainConfig

# Property tests are about values, not speed: on a busy machine neither an example's time (deadline) nor the
# time to generate examples (too_slow) may fail one. A test's own @settings keeps these unless it says so.
settings.register_profile("lmtui", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lmtui")

_SUBJECTS = [
    "the old sailor",
    "a young queen",
    "my brother",
    "the quiet farmer",
    "our teacher",
    "the little dog",
    "her father",
    "the king",
    "a tired soldier",
    "the baker",
    "his mother",
    "the children",
    "every student",
]
_VERBS = [
    "walked to",
    "looked at",
    "spoke with",
    "carried",
    "found",
    "remembered",
    "painted",
    "opened",
    "watched",
    "waited for",
    "followed",
    "loved",
    "feared",
]
_OBJECTS = [
    "the river",
    "a green door",
    "the market",
    "an empty house",
    "the long road",
    "a silver coin",
    "the bright window",
    "the garden",
    "a broken chair",
    "the dark forest",
    "the morning train",
    "the sea",
]
_TAILS = [
    "before the rain came",
    "in the evening",
    "without a word",
    "because it was late",
    "with great care",
    "after the storm",
    "near the old bridge",
    "as the sun rose",
    "and then went home",
    "for a long time",
]
_SAYINGS = [
    "Don't go there alone",
    "Where is the bread",
    "It's a fine day",
    "We shall see",
    "I can't remember",
    "Who opened the door",
    "Come back soon",
    "That is enough",
]


def make_english(min_chars: int = 20_000, seed: int = 7) -> str:
    """A deterministic English-ish text of a few hundred sentences, wrapped into ~70-char lines."""
    rng = random.Random(seed)
    sentences: list[str] = []
    total = 0
    while total < min_chars:
        roll = rng.random()
        if roll < 0.15:
            s = f'"{rng.choice(_SAYINGS)}{rng.choice("?!.")}" said {rng.choice(_SUBJECTS)}.'
        else:
            who, did, what = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)
            joiner = ", and" if roll < 0.3 else ""
            s = f"{who} {did} {what}{joiner} {rng.choice(_TAILS)}."
        s = s[0].upper() + s[1:] if s[0] != '"' else s
        sentences.append(s)
        total += len(s) + 1
    lines: list[str] = []
    line = ""
    for i, s in enumerate(sentences):
        if line and len(line) + 1 + len(s) > 70:
            lines.append(line)
            line = ""
        line = f"{line} {s}" if line else s
        if i % 9 == 8:  # paragraphs
            lines.append(line)
            lines.append("")
            line = ""
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n"


def make_colours(count: int = 300, seed: int = 3) -> str:
    """A "Name R G B" list, one colour per line."""
    rng = random.Random(seed)
    adjectives = ["Pale", "Deep", "Bright", "Soft", "Dusty", "Warm", "Cool", "Misty", "Royal", "Wild"]
    nouns = ["Rose", "Sky", "Moss", "Sand", "Plum", "Ocean", "Ember", "Fern", "Stone", "Honey", "Slate"]
    out = []
    for _ in range(count):
        name = f"{rng.choice(adjectives)} {rng.choice(nouns)}"
        out.append(f"{name} {rng.randrange(256)} {rng.randrange(256)} {rng.randrange(256)}")
    return "\n".join(out) + "\n"


ENGLISH = make_english()
COLOURS = make_colours()


@pytest.fixture
def long_english() -> str:
    """200,000 characters of the English-ish text (a test module cannot import conftest: tests/tui has one
    of the same name)."""
    return make_english(200_000)


@pytest.fixture(autouse=True)
def lmtui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own runs folder, never the user's."""
    home = tmp_path / "lmtui-home"
    home.mkdir()
    monkeypatch.setenv("LMTUI_HOME", str(home))
    return home


@pytest.fixture
def english_text() -> str:
    return ENGLISH


@pytest.fixture
def english_file(tmp_path: Path) -> Path:
    path = tmp_path / "english.txt"
    path.write_text(ENGLISH, encoding="utf-8")
    return path


@pytest.fixture
def colours_file(tmp_path: Path) -> Path:
    path = tmp_path / "colours.txt"
    path.write_text(COLOURS, encoding="utf-8")
    return path


@pytest.fixture
def short_file(tmp_path: Path) -> Path:
    """About 1,200 characters in short lines: enough to train on, too short for a big batch."""
    path = tmp_path / "short.txt"
    path.write_text("".join(f"the cat sat on mat {i % 7}\n" for i in range(60)), encoding="utf-8")
    return path


def tiny_model(kind: str = "lstm", **overrides) -> ModelConfig:
    base = dict(model=kind, level="char", embed=12, hidden=24, context=4, layers=1)
    base.update(overrides)
    return ModelConfig(**base)


def tiny_train(**overrides) -> TrainConfig:
    base = dict(
        steps=40,
        max_seconds=None,
        batch_size=8,
        seq_len=16,
        lr=1e-2,
        warmup=5,
        eval_every=20,
        sample_length=20,
        device="cpu",
        precision="fp32",  # exact and fast for tiny nets; bfloat16 has its own tests (test_precision.py)
        seed=1,
    )
    base.update(overrides)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A runs folder, built once, holding a tiny char LSTM ``lstm-run`` and a char trigram ``ngram-run``."""
    from lmtui.training import Job, train

    root = tmp_path_factory.mktemp("trained")
    text = root / "english.txt"
    text.write_text(ENGLISH, encoding="utf-8")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMTUI_HOME", str(home))
        list(train(Job(str(text), tiny_model("lstm"), tiny_train(steps=30, eval_every=15), name="lstm-run")))
        list(
            train(
                Job(
                    str(text),
                    ModelConfig(model="ngram", level="char", order=3),
                    tiny_train(),
                    name="ngram-run",
                )
            )
        )
    yield home


@pytest.fixture
def trained_runs(trained_home: Path, lmtui_home: Path) -> Path:
    """Copies of the session's trained runs in this test's own LMTUI_HOME."""
    shutil.copytree(trained_home / "runs", lmtui_home / "runs")
    return lmtui_home / "runs"


@pytest.fixture
def model_cfg():
    """``model_cfg(kind, **overrides)``: a tiny ModelConfig."""
    return tiny_model


@pytest.fixture
def train_cfg():
    """``train_cfg(**overrides)``: a short, CPU-only TrainConfig with a step budget."""
    return tiny_train


@pytest.fixture
def child_env(lmtui_home: Path) -> dict[str, str]:
    """The environment for a child ``python -m lmtui`` (with this test's LMTUI_HOME)."""
    env = dict(os.environ)
    env["LMTUI_HOME"] = str(lmtui_home)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
