"""The feedback classifier: does a tool message show that the call it answers failed, and why?

Structure first, then words: a JSON (or Python-literal) feedback is inspected field by field (a non-empty
``error``, ``errors``, an HTTP status of 4xx/5xx, ``success: false``, ``status: "failure"``) and only its
message-like fields meet the pattern list; plain-text feedback meets the pattern list directly.  This is
what keeps ToolBench's ``{"error": "", "response": ...}`` and a search result holding
``related_searches`` out of the adverse set, where the authors' substring rule flags both.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Iterable

import orjson

from .patterns import DEFAULT_PATTERNS, Pattern

REASONS = ("unknown_tool", "missing_argument", "unexpected_argument", "invalid_argument", "client_error",
           "tool_error", "environment_error")
CALL_FAULTS = frozenset(REASONS[:-1])

HEAD_CHARS = 400           # error messages sit at the start; long plain-text results are not scanned whole
LITERAL_MAX_CHARS = 50_000  # Python-literal responses (ToolBench) are parsed with ast only below this size
EVIDENCE_CHARS = 160

ERROR_KEYS = frozenset({"error", "errors", "error_message", "errormessage", "error_msg", "err"})
ERROR_CODE_KEYS = frozenset({"error_code", "errorcode"})
STATUS_KEYS = frozenset({"status", "status_code", "statuscode", "http_status", "httpstatus", "code"})
MESSAGE_KEYS = frozenset({"message", "msg", "detail", "details", "note", "information"})
NESTED_KEYS = frozenset({"response", "data", "result", "results", "status", "meta", "feed"})
FAILED_STATUS = frozenset({"failure", "fail", "failed", "error"})
ENVIRONMENT_STATUS = frozenset({401, 403, 407, 408, 429})
# ToolBench writes this marker when a response was not JSON; the response itself may be a success.
TOOLBENCH_NOT_JSON = "Message error..."
KEY_ERROR = re.compile(r"'([^'\n]{1,200})'")
# Structured feedback can only be adverse through one of these words (in a key or a message); without any,
# skip parsing it (the hot path: most feedback is a large successful result).
STRUCTURE_HINTS = ("error", "status", "success", "code", "message", "msg", "note", "detail", "information", "fail",
                   "err")


@dataclass(frozen=True)
class Finding:
    """Why a call is adverse: ``reason`` from REASONS, ``evidence`` the text that shows it."""

    reason: str
    evidence: str
    source: str = "feedback"  # "feedback" or "call"

    @property
    def call_fault(self) -> bool:
        return self.reason in CALL_FAULTS


class PatternSet:
    """An ordered pattern list; ``first_match`` returns the Finding of the first pattern that matches."""

    def __init__(self, patterns: Iterable[Pattern]):
        self._patterns = [(p.reason, p.compile(), p.anchors()) for p in patterns]
        for reason, _, _ in self._patterns:
            if reason not in REASONS:
                raise ValueError(f"unknown MAE reason {reason!r}; choose one of {', '.join(REASONS)}")
        self._anchors = tuple(sorted({a for _, _, anchors in self._patterns for a in anchors or ()}))

    def first_match(self, text: str, folded: str | None = None) -> Finding | None:
        """``folded``: ``fold_ascii(text)`` when the caller has it already."""
        # A case-insensitive match of an ASCII literal is a plain match in the folded text, so a pattern none
        # of whose anchors is there cannot match: one cheap scan spares most regex searches.
        folded = fold_ascii(text) if folded is None else folded
        present = {a for a in self._anchors if a in folded}
        for reason, regex, anchors in self._patterns:
            if anchors is not None and present.isdisjoint(anchors):
                continue
            found = regex.search(text)
            if found:
                return Finding(reason, _evidence(text, found))
        return None


class FeedbackClassifier:
    """Holds the compiled patterns; ``classify(text, arguments)`` returns a Finding or None."""

    def __init__(self, patterns: Iterable[Pattern] = DEFAULT_PATTERNS):
        patterns = list(patterns)
        self._patterns = PatternSet(patterns)
        self._anywhere = PatternSet(p for p in patterns if p.anywhere)

    def classify(self, text: str | None, arguments: dict[str, Any] | None = None) -> Finding | None:
        text = (text or "").strip()
        if not text:
            return None
        if text[0] in "{[":
            lowered = text.lower()
            if not any(hint in lowered for hint in STRUCTURE_HINTS):  # cannot be adverse by structure: skip parsing
                return self._anywhere.first_match(text, lowered if text.isascii() else None)
        parsed = _parse_structured(text)
        if parsed is _NOT_STRUCTURED:
            return self._classify_text(text, arguments)
        if isinstance(parsed, str):  # a JSON-encoded string: classify what it holds
            return self.classify(parsed, arguments)
        return self._inspect(parsed, arguments, depth=0) or self._anywhere.first_match(text)

    # ------------------------------------------------------------------------------------------- text
    def _classify_text(self, text: str, arguments: dict[str, Any] | None) -> Finding | None:
        key_error = KEY_ERROR.fullmatch(text)
        if key_error:  # str(KeyError('x')) is "'x'": the tool looked up something that was not there
            values = {str(v) for v in (arguments or {}).values()}
            return Finding("invalid_argument" if key_error.group(1) in values else "tool_error", text)
        return self._patterns.first_match(text[:HEAD_CHARS])

    # -------------------------------------------------------------------------------------- structure
    def _inspect(self, obj: Any, arguments: dict[str, Any] | None, depth: int) -> Finding | None:
        if isinstance(obj, list):
            for item in obj[:3]:
                finding = self._inspect(item, arguments, depth + 1) if depth < 3 else None
                if finding:
                    return finding
            return None
        if not isinstance(obj, dict):
            return None
        if depth == 0 and set(obj) <= {"error", "response"} and "response" in obj:
            return self._toolbench(obj, arguments)
        lowered = {str(k).lower(): v for k, v in obj.items()}
        status = _http_status(lowered, small=len(obj) <= 6)
        if status:
            return Finding(_status_reason(status), f"status {status}")
        for key in ERROR_KEYS & lowered.keys():
            value = lowered[key]
            if _non_empty(value):
                return self._refine(value, arguments, f"{key}: ")
        for key in ERROR_CODE_KEYS & lowered.keys():
            if lowered[key] not in (0, "0", None, "", "OK", "ok"):
                return self._refine(_message_of(lowered) or f"{key} {lowered[key]}", arguments, f"{key}: ")
        if lowered.get("success") is False or str(lowered.get("status", "")).lower() in FAILED_STATUS:
            return self._refine(_message_of(lowered) or _dumps(obj), arguments, "failed: ")
        for key in MESSAGE_KEYS & lowered.keys() if depth == 0 else ():  # deeper, a "message" is data
            if isinstance(lowered[key], str):
                finding = self._classify_text(lowered[key].strip(), arguments) if lowered[key].strip() else None
                if finding and finding.reason != "tool_error":  # a message saying "KeyError" is not one
                    return finding
        if depth < 3:
            for key in NESTED_KEYS & lowered.keys():
                if isinstance(lowered[key], (dict, list)):
                    finding = self._inspect(lowered[key], arguments, depth + 1)
                    if finding:
                        return finding
        return None

    def _toolbench(self, obj: dict[str, Any], arguments: dict[str, Any] | None) -> Finding | None:
        error, response = obj.get("error"), obj.get("response")
        if _non_empty(error) and error != TOOLBENCH_NOT_JSON:
            return self._refine(error, arguments, "error: ")
        if isinstance(response, str):
            return self.classify(response, arguments)
        return self._inspect(response, arguments, depth=1) if response else None

    def _refine(self, value: Any, arguments: dict[str, Any] | None, label: str) -> Finding:
        """An error is known; find its reason (nested status, patterns) or call it a tool error."""
        if isinstance(value, (dict, list)):
            nested = self._inspect(value, arguments, depth=2)
            if nested:
                return nested
            text = _dumps(value)
        else:
            text = str(value)
        found = self._classify_text(text, arguments)
        return found if found else Finding("tool_error", label + _clip(text))


# ----------------------------------------------------------------------------------------------- helpers

# The only non-ASCII characters that re's IGNORECASE matches to an ASCII one (tests/test_mae_speed.py checks
# the whole Unicode range): folding them, and A-Z, keeps every case-insensitive ASCII match a plain match.
# str.lower folds A-Z and the Kelvin sign but not these three ("İ" even becomes two characters).
LOWER_MISSES = ("\u0130", "\u0131", "\u017f")
ASCII_FOLD = str.maketrans({**{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)},
                            "\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold_ascii(text: str) -> str:
    """``text`` with every character that matches an ASCII letter case-insensitively turned into it."""
    if text.isascii() or not any(char in text for char in LOWER_MISSES):
        return text.lower()  # much faster than translate, which looks every character up in a dict
    return text.translate(ASCII_FOLD)


_NOT_STRUCTURED = object()


def _parse_structured(text: str) -> Any:
    """JSON, or a Python literal (ToolBench writes responses with repr), or _NOT_STRUCTURED."""
    if text[0] not in "{[\"":
        return _NOT_STRUCTURED
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if text[0] != '"' and text[-1] in "}]" and len(text) <= LITERAL_MAX_CHARS:  # a cut-off text is no literal
        try:
            return ast.literal_eval(text)  # literals only, never eval
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return _NOT_STRUCTURED


def _non_empty(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "none", "null", "ok", "false", "0")
    if isinstance(value, bool):
        return value
    return bool(value) if isinstance(value, (list, dict)) else False


def _http_status(fields: dict[str, Any], small: bool) -> int | None:
    for key in STATUS_KEYS & fields.keys():
        if key == "code" and not small:  # "code" is a status only in a small envelope, not in result data
            continue
        value = fields[key]
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
            return value
    return None


def _status_reason(status: int) -> str:
    return "environment_error" if status >= 500 or status in ENVIRONMENT_STATUS else "client_error"


def _message_of(fields: dict[str, Any]) -> str | None:
    for key in MESSAGE_KEYS & fields.keys():
        if isinstance(fields[key], str) and fields[key].strip():
            return fields[key]
    return None


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _clip(text: str) -> str:
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 3] + "..."


def _evidence(text: str, found: "re.Match[str]") -> str:
    start = max(0, found.start() - 40)
    return _clip(text[start: found.end() + 80])


_DEFAULT = FeedbackClassifier()


def classify_feedback(text: str | None, call: dict[str, Any] | None = None,
                      classifier: FeedbackClassifier | None = None) -> Finding | None:
    """Classify one tool message answering ``call`` (``{"name", "arguments"}``); None when not adverse."""
    return (classifier or _DEFAULT).classify(text, (call or {}).get("arguments"))
