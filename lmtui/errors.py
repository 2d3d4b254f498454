"""The one exception type that reaches the user as a one-line message instead of a traceback."""


class LmtuiError(Exception):
    """A problem with the user's input or files: the message says what went wrong and what to do."""
