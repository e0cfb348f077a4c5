"""The one exception type that means "the user's input is wrong" (exit code 2)."""


class InputError(Exception):
    """Bad input: the message names the problem and what is accepted."""


class DesignError(Exception):
    """The design failed a check (for example a bit mismatch): exit code 1."""
