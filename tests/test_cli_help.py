"""`--help` of every reimpl command line names itself as it is run (`python -m reimpl.X`, not
`train.py`) and gives each option a description, its default and its choices; bad input is
one line. reimpl.train's help had no descriptions, defaults or choices."""

from __future__ import annotations

import argparse

import pytest

from reimpl.train import __main__ as train_main
from reimpl.train import evaluate, ratio, train_config

PARSERS = {"train": train_config.build_parser, "evaluate": evaluate.build_parser,
           "ratio": ratio.build_parser}


@pytest.mark.parametrize("name", PARSERS)
def test_help_describes_every_option_with_its_default_and_choices(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside a default
    parser = PARSERS[name]()
    assert parser.prog == f"python -m reimpl.{name}"
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.dest} has no description"
        assert " ".join(action.help.split()) in text
        if action.required:
            assert f"{' '.join(action.help.split())} (required)" in text
        elif action.default not in (None, ""):
            assert f"(default: {action.default})" in text, action.dest
        for choice in action.choices or ():
            assert choice in text, (action.dest, choice)


@pytest.mark.parametrize("name, argv, message", [
    ("train", ["--seed", "x"], "argument --seed: 'x' is not a number"),
    ("evaluate", ["--random", "--env", "Craftax-Classic-Symbolic-v1", "--episodes", "0"],
     "--episodes and --envs must be positive"),
    ("evaluate", ["--random", "--env", "Craftax-Classic-Symbolic-v1", "--max-episode-steps",
                  "-1"], "--max-episode-steps must be 0 (craftax's limit) or positive"),
    ("ratio", ["--envs", "0", "--steps-per-collect", "8", "--target", "32"],
     "these must be positive: {'envs': 0}"),
    # A negative or NaN value printed a report of negative or nan updates; inf a traceback.
    ("ratio", ["--envs", "8", "--steps-per-collect", "8", "--target", "-1"],
     "the target train ratio must be a finite number >= 0, got -1.0"),
    ("ratio", ["--envs", "8", "--steps-per-collect", "8", "--target", "inf"],
     "the target train ratio must be a finite number >= 0, got inf"),
    ("ratio", ["--envs", "8", "--steps-per-collect", "8", "--grad-steps", "nan"],
     "grad_steps must be a finite number >= 0, got nan"),
], ids=["train-word", "evaluate-episodes", "evaluate-time-limit", "ratio-zero-envs",
        "ratio-negative-target", "ratio-infinite-target", "ratio-nan-grad-steps"])
def test_bad_input_is_one_line(name, argv, message, capsys):
    main = {"train": train_main.main, "evaluate": evaluate.main, "ratio": ratio.main}[name]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (f"python -m reimpl.{name}: error: {message} "
                                       "(see --help)\n")
