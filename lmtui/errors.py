"""The exceptions that reach the user as a one-line message instead of a traceback."""

from __future__ import annotations


class LmtuiError(Exception):
    """A problem with the user's input or files: the message says what went wrong and what to do."""


class OptionError(LmtuiError):
    """A setting no training or sampling can use.

    ``field`` is the config field (``dropout``, ``seq_len``…), ``problem`` what is wrong with its value
    ("must be in [0, 1)"). The command line names the option (``--dropout must be in [0, 1)``); the app names
    the field as its form labels it (``labelled("Dropout")``), so both faces share one check and one wording.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"--{field.replace('_', '-')} {problem}")

    def labelled(self, label: str) -> str:
        return f"{label} {self.problem}"
