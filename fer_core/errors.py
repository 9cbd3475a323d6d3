"""One base for every error whose message is written for the person using the app or the CLI.

The pages and the command line catch `FerError` and show its message as it is; anything else
is a bug and is reported as one (with its traceback in the server log, never as if the user had
done something wrong). Each subclass also derives from the built-in error it refines, so code
that catches `ValueError` or `FileNotFoundError` keeps working.
"""

from __future__ import annotations


class FerError(Exception):
    """A failure the user can act on; str(error) says what happened and what to do."""


class ConfigError(FerError, ValueError):
    """A setting (an environment variable, a command-line value, a secrets entry) is invalid."""


class UnusableImageError(FerError, ValueError):
    """An image was read but cannot be analysed (too small, an odd number of channels)."""


__all__ = ["ConfigError", "FerError", "UnusableImageError"]
