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


class EncodingError(LmtuiError):
    """A text that is not UTF-8 (and no encoding was given): ``where`` is the file, ``offset`` the first bad
    byte. The message names the command line's fix; the app offers its encoding field instead."""

    def __init__(self, where: str, offset: int) -> None:
        self.where = where
        self.offset = offset
        super().__init__(
            f"{where} is not UTF-8 (bad byte at offset {offset}); "
            "convert it (iconv -f latin1 -t utf-8) or pass --encoding latin-1"
        )
