"""The root of every error Aftercare raises on purpose. Each one subclasses `AftercareError` (and,
where callers already catch it as such, the built-in it is a kind of: a `SourceError` is still
a `ValueError`), so the CLI turns any of them into one line and exit code 1, and a caller can
tell our failures from a bug."""
from __future__ import annotations


class AftercareError(Exception):
    """A failure Aftercare names on purpose: its message is the one line a person reads."""
