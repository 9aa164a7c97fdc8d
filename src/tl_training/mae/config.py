"""MAEConfig: which checks run, whether environment errors are masked, and the pattern list (YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import check_known, read_mapping
from ..errors import ConfigError
from .feedback import REASONS, FeedbackClassifier
from .patterns import DEFAULT_PATTERNS, Pattern


@dataclass
class MAEConfig:
    check_feedback: bool = True          # classify the tool message that answers each call
    check_unknown_tool: bool = True      # a called name missing from the record's tool list is adverse
    check_schema: bool = True            # an undeclared argument or a missing required one is adverse
    mask_environment_errors: bool = True  # the authors mask them; False trains on calls the environment failed
    patterns: list[dict[str, Any]] = field(default_factory=list)  # [{reason, regex, anywhere?}, ...]
    replace_patterns: bool = False       # True: ``patterns`` replace the defaults instead of extending them

    def __post_init__(self) -> None:
        for name in ("check_feedback", "check_unknown_tool", "check_schema", "mask_environment_errors",
                     "replace_patterns"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"field {name}: must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.patterns, list):
            raise ConfigError("field patterns: must be a list of {reason, regex} entries")
        self._compiled = self._build_classifier()

    def pattern_list(self) -> list[Pattern]:
        extra = [self._pattern(i, entry) for i, entry in enumerate(self.patterns)]
        # user patterns come first: they are the more specific knowledge of the user's own tools
        return extra if self.replace_patterns else extra + list(DEFAULT_PATTERNS)

    @staticmethod
    def _pattern(index: int, entry: Any) -> Pattern:
        where = f"field patterns[{index}]"
        if not isinstance(entry, dict) or set(entry) - {"reason", "regex", "anywhere"} or "regex" not in entry:
            raise ConfigError(f"{where}: expected {{reason, regex, anywhere?}}, got {entry!r}")
        if entry.get("reason") not in REASONS:
            raise ConfigError(f"{where}.reason: {entry.get('reason')!r} is not one of {', '.join(REASONS)}")
        pattern = Pattern(entry["reason"], str(entry["regex"]), bool(entry.get("anywhere", False)))
        try:
            pattern.compile()
        except Exception as exc:  # re.error: report it with its place
            raise ConfigError(f"{where}.regex: not a valid regular expression ({exc})") from None
        return pattern

    def _build_classifier(self) -> FeedbackClassifier:
        return FeedbackClassifier(self.pattern_list())

    @property
    def classifier(self) -> FeedbackClassifier:
        return self._compiled


def load_config(path: str | Path | None = None, **overrides: Any) -> MAEConfig:
    """Read a YAML file whose keys are MAEConfig's fields (unknown keys are an error, not ignored)."""
    values = {**(read_mapping(path, "MAE config") if path is not None else {}), **overrides}
    try:
        check_known(values, MAEConfig)
        return MAEConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None
