"""The one list of options: the CLI's `train` options come from it, validate() checks every range in it, and
extreme values (issue 9 item 11) are one-line errors, exit 2, before anything is created."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from test_cli import clean_error, invoke

from lmtui import options, runs
from lmtui.cli import train as train_command
from lmtui.errors import LmtuiError, OptionError
from lmtui.models import ModelConfig
from lmtui.options import OPTIONS
from lmtui.presets import preset_configs
from lmtui.sampling import SampleSettings
from lmtui.training import TrainConfig, validate

NGRAM = ["--model", "ngram", "--order", "2"]


def test_every_option_is_a_train_flag_with_its_help_and_preset_default():
    params = {p.name: p for p in train_command.params}
    for opt in OPTIONS:
        assert opt.name in params, opt.name
        assert opt.flag in params[opt.name].opts
    result = invoke("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "[small preset: window 0.002, rnn 0.003, lstm 0.01, gru 0.008]" in text  # per family
    assert "[small preset: 1337]" in text  # --seed
    for opt in OPTIONS:
        assert opt.help.split()[0] in text


def test_every_field_of_the_configs_in_the_list_is_checked():
    model, train = preset_configs("lstm", "char")
    assert validate(model, train) is None
    for opt in OPTIONS:
        bad = {"choice": "nonsense", "bool": 3}.get(opt.kind)
        if bad is None:
            bad = (opt.low - 1) if opt.low is not None else math.inf
        cfg_model, cfg_train = model, train
        if opt.group == "model":
            cfg_model = replace(model, **{opt.name: bad})
        else:
            cfg_train = replace(train, **{opt.name: bad})
        with pytest.raises(OptionError) as exc:
            validate(cfg_model, cfg_train)
        assert exc.value.field == opt.name
        assert str(exc.value).startswith(opt.flag + " ")
        assert exc.value.labelled(options.label(opt.name)).startswith(opt.label + " ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "--seed must be"),
        (["--seed", str(2**70)], "--seed must be"),
        (["--seed", str(10**400)], "--seed must be"),  # too large even to be a float
        (["--lr", "1e308"], "--lr must be"),
        (["--steps", str(10**400)], "--steps must be"),  # once an OverflowError in the time estimate
        (["--lr", "inf"], "--lr must be"),
        (["--lr", "nan"], "--lr must be"),
        (["--max-seconds", "inf"], "--max-seconds must be"),
        (["--clip", "nan"], "--clip must be"),
        (["--dropout", "nan"], "--dropout must be"),
        (["--encoding", "punycode"], "not a text encoding"),
        (["--encoding", "base64"], "not a text encoding"),
        (["--encoding", "rot13"], "not a text encoding"),
    ],
)
def test_extreme_values_are_refused_before_a_run_exists(english_file, args, fragment):
    result = invoke("train", english_file, "--model", "lstm", "--steps", 2, *args, "--name", "x")
    assert result.stdout == ""  # nothing before the error line, not even an empty progress line
    clean_error(
        invoke("train", english_file, "--model", "lstm", "--steps", 2, *args, "--name", "x"), fragment, 2
    )
    assert not runs.exists("x")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--k", "inf"], "--k must be a finite number"),
        (["--k", "-0.5"], "--k must be in (0, 1000]"),
        (["--seed", "-1"], "--seed"),
        (["--encoding", "idna"], "not a text encoding"),
    ],
)
def test_extreme_ngram_values(english_file, args, fragment):
    line = clean_error(
        invoke("train", english_file, *NGRAM, "--smoothing", "add-k", *args, "--name", "x"), "", 2
    )
    assert fragment in line
    assert not runs.exists("x")


def test_in_range_seeds_train(english_file):
    for seed in (0, options.SEED_MAX):
        result = invoke("train", english_file, *NGRAM, "--seed", seed, "--name", f"s{seed}")
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70])
def test_sample_seed_range(trained_runs, seed):
    clean_error(invoke("sample", "ngram-run", "--seed", seed, "--length", 5), "--seed", 2)
    with pytest.raises(OptionError) as exc:  # the playground validates the same settings
        SampleSettings(seed=seed).validate()
    assert exc.value.field == "seed"


def test_sample_last_seed_with_several_samples(trained_runs):
    result = invoke("sample", "ngram-run", "--seed", options.SEED_MAX, "--count", 2, "--length", 5)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "UTF8"])
def test_text_encodings_pass(encoding):
    options.check_encoding(encoding)


def test_validate_checks_types_not_just_ranges():
    with pytest.raises(OptionError, match="whole number"):
        validate(ModelConfig(hidden=2.5), TrainConfig())  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="--seed"):
        validate(ModelConfig(), TrainConfig(seed=True))  # type: ignore[arg-type]


def test_sample_allow_unk_flag(trained_runs):
    from test_cli import json_out

    assert json_out(invoke("sample", "ngram-run", "--length", 5, "--json"))["settings"]["allow_unk"] is False
    data = json_out(invoke("sample", "ngram-run", "--length", 5, "--allow-unk", "--json"))
    assert data["settings"]["allow_unk"] is True


# -- own text with --model ngram: word level by default (issue 10 item 14)


def test_own_text_ngram_defaults_to_word_level_and_says_so(english_file, colours_file):
    result = invoke("train", english_file, *NGRAM, "--name", "own")
    assert result.exit_code == 0, result.output
    assert "level: word (n-gram default for your own text; --level char to change)" in result.stderr
    assert runs.load_run("own").meta["model"]["level"] == "word"
    chosen = invoke("train", english_file, *NGRAM, "--level", "char", "--name", "own-char")
    assert chosen.exit_code == 0 and "level: word" not in chosen.stderr
    assert runs.load_run("own-char").meta["model"]["level"] == "char"
    neural = invoke(
        "train",
        english_file,
        "--model",
        "gru",
        "--steps",
        1,
        "--embed",
        8,
        "--hidden",
        8,
        "--seq-len",
        8,
        "--batch-size",
        2,
        "--device",
        "cpu",
        "--name",
        "own-gru",
    )
    assert neural.exit_code == 0, neural.output
    assert runs.load_run("own-gru").meta["model"]["level"] == "char" and "level:" not in neural.stderr


def test_bundled_corpus_keeps_its_suggested_level():
    result = invoke("train", "paint-colours", "--model", "ngram", "--name", "pc")
    assert result.exit_code == 0, result.output
    assert runs.load_run("pc").meta["model"]["level"] == "char" and "level:" not in result.stderr


def test_errors_as_the_app_words_them():
    with pytest.raises(OptionError) as exc:
        validate(ModelConfig(dropout=1.5), TrainConfig())
    assert str(exc.value) == "--dropout must be in [0, 1)"
    assert options.in_app(exc.value) == "Dropout must be in [0, 1)"
    with pytest.raises(OptionError) as exc:
        SampleSettings(top_k=0).validate()
    assert options.in_app(exc.value).startswith("Top-k must be at least 1")
    assert options.in_app(LmtuiError("no run named x")) == "no run named x"


def test_default_level_rule_for_both_faces():
    assert options.default_level("ngram", "char", bundled=False) == "word"
    assert options.default_level("lstm", "char", bundled=False) == "char"
    assert options.default_level("ngram", "char", bundled=True) == "char"  # paint-colours suggests char
    assert options.default_level("gru", "word", bundled=True) == "word"


def test_app_words_puts_flags_as_the_form_labels_them():
    from lmtui.options import app_words, option

    said = app_words("the loss became nan at step 3; try a lower --lr or --clip (see --nonsense)")
    assert option("lr").label in said and option("clip").label in said
    assert "--lr" not in said and "--clip" not in said
    assert "--nonsense" in said  # not an option of ours: left as it is
