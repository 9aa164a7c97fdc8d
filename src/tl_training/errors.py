"""The project's errors: one family, each naming the file, line, record or field it is about.

``TLTrainingError`` is the base a script catches to handle every mistake the library reports.  The
command line prints a ``UserError`` as one line and exits 2; ``RecordError`` and ``ConfigError`` keep
``ValueError`` (and ``ModelNotFound`` ``RuntimeError``) as a base too, so code written against those
built-in types still catches them.
"""

from __future__ import annotations


class TLTrainingError(Exception):
    """Anything tl-training reports about its input, configuration or environment."""


class UserError(TLTrainingError):
    """Bad input or configuration: printed as one clear line, exit code 2, no traceback."""


class ConfigError(TLTrainingError, ValueError):
    """A bad config (a stage's or the pipeline's); the message names the file and the field, and ``field``
    holds the field's name where one field is at fault (a caller may name it its own way: an option)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class ModelNotFound(TLTrainingError, RuntimeError):
    """The named model cannot be found locally; the message says how to get it."""


class RecordError(TLTrainingError, ValueError):
    """A record that breaks the contract; ``where`` names the file and line, ``field`` the bad field."""

    def __init__(self, message: str, field: str = "", where: str = ""):
        self.message, self.field, self.where = message, field, where
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [p for p in (self.where, self.field and f"field {self.field}") if p]
        return f"{': '.join(parts)}: {self.message}" if parts else self.message

    def located(self, where: str) -> "RecordError":
        """The same error, placed at ``where`` (for example ``data.jsonl:17``)."""
        return RecordError(self.message, self.field, where)
