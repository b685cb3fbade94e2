"""Errors that carry a message meant for the user (one line, naming the file and the problem)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or environment the user can fix. The CLI prints it as one line, exit 2."""


class DataError(UserError):
    """A data file is missing, truncated or corrupt."""


class InputImageError(UserError):
    """An input image or PDF cannot be read or is outside the accepted limits."""
