"""Errors the user can fix. The CLI prints their message as one line and exits 2; anything else is a bug."""


class InputError(Exception):
    """Bad input from the user: a config, a question bank, an argument, a database file."""
