"""The default pattern list: text signatures of a failed call, each tied to one reason.

Patterns run, in order, on *message-like* text only: plain-text feedback, a JSON ``error``/``message``
field, never the body of a structured result (a search result that mentions "error" is a result).  A
pattern marked ``anywhere`` also runs on the raw text of structured feedback: only page-level markers
that a successful result cannot contain belong there.  Users extend or replace this list in YAML.

Speed: each pattern also yields its *anchors* (``literal_anchors``), literal substrings one of which any
match must contain; the classifier skips a pattern whose anchors are all absent from the lowercased text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as sre_constants, _parser as sre_parse  # the stdlib's own regex parser

MIN_ANCHOR_CHARS = 3  # shorter literals occur in almost every text: no use as a filter


@dataclass(frozen=True)
class Pattern:
    reason: str
    regex: str
    anywhere: bool = False

    def compile(self) -> "re.Pattern[str]":
        return re.compile(self.regex, re.IGNORECASE)

    def anchors(self) -> frozenset[str] | None:
        return literal_anchors(self.regex)


def literal_anchors(regex: str) -> frozenset[str] | None:
    """Lowercase ASCII literals such that every match of ``regex`` (case-insensitive) contains one of them;
    None when the regex has no such set (the pattern then always runs).  Derived from the parse tree, so a
    pattern edited or added in YAML gets its anchors without anyone keeping a keyword list in step."""
    try:
        tree = sre_parse.parse(regex, re.IGNORECASE)
    except Exception:  # an invalid regex is reported by compile(); no anchors here
        return None
    return _sequence_anchors(list(tree))


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _sequence_anchors(items: list) -> frozenset[str] | None:
    """Every item of a sequence must match, so any item's anchors will do: pick the most selective set."""
    choices: list[frozenset[str]] = []
    run: list[str] = []  # consecutive ASCII literals form one anchor
    for op, value in items:
        if op == sre_constants.LITERAL and value < 128:
            run.append(chr(value).lower())
            continue
        if run:
            choices.append(frozenset(["".join(run)]))
            run = []
        if op == sre_constants.SUBPATTERN:                           # (group, add_flags, del_flags, body)
            inner = _sequence_anchors(list(value[3]))
        elif op in _REPEATS and value[0] >= 1:                       # (min, max, body): present at least once
            inner = _sequence_anchors(list(value[2]))
        elif op == sre_constants.ATOMIC_GROUP:
            inner = _sequence_anchors(list(value))
        elif op == sre_constants.BRANCH:                             # (None, [alternative, ...]): one of each
            alternatives = [_sequence_anchors(list(branch)) for branch in value[1]]
            inner = None if None in alternatives else frozenset().union(*alternatives)
        else:  # classes, optional parts, assertions, back-references: no literal is certain
            inner = None
        if inner is not None:
            choices.append(inner)
    if run:
        choices.append(frozenset(["".join(run)]))
    choices = [c for c in choices if min(map(len, c)) >= MIN_ANCHOR_CHARS]
    return max(choices, key=lambda c: (min(map(len, c)), -len(c))) if choices else None


DEFAULT_PATTERNS: tuple[Pattern, ...] = (
    # Python's own signatures of a wrong call (the tool is a Python function called with **arguments).
    Pattern("unknown_tool", r"name '[\w.]+' is not defined"),
    Pattern("unknown_tool", r"\b(?:no such|unknown|invalid) (?:tool|function|action)\b"),
    Pattern("missing_argument", r"missing \d+ required (?:positional |keyword-only )?arguments?"),
    Pattern("missing_argument", r"\b(?:field|parameter|argument)s? (?:'[^']*' )?(?:is|are) (?:required|missing)\b"),
    Pattern("missing_argument", r"\bthe \w+ field is required\b|\bmissing (?:required )?(?:parameter|argument|field)"),
    Pattern("missing_argument", r"^\W*please (?:specify|provide|enter) "),
    Pattern("unexpected_argument", r"got an unexpected keyword argument|takes \d+ positional arguments? but \d+"),
    Pattern("unexpected_argument", r"\b(?:unexpected|unknown|unrecognized) (?:parameter|argument|keyword|field)\b"),
    # A value of the wrong type or outside what the tool accepts.
    Pattern("invalid_argument", r"not supported between instances of|can't multiply sequence by non-int"),
    Pattern("invalid_argument", r"indices must be integers|unsupported (?:operand )?types? for"),
    Pattern("invalid_argument", r"invalid literal for \w+\(\)|could not convert string to"),
    Pattern("invalid_argument", r"\bmust be (?:an? )?(?:str|int|float|integer|string|number|bool|boolean|list|dict)\b"),
    Pattern("invalid_argument", r"\binvalid (?:value|parameter|argument|input|date|format|url|id|domain|symbol|type|request)\b"),
    Pattern("invalid_argument", r"\bunrecognized \w+|\bunknown (?:service|value|type|option|symbol)\b|\bnot a valid\b"),
    Pattern("invalid_argument", r"\berror in (?:the )?(?:arguments?|parameters?)\b|\bcould not parse\b"),
    Pattern("invalid_argument", r"\bthe input\b[^.]{0,40}\bis not\b"),
    # The environment failed: not the call's fault (reported apart; masking is a setting).
    Pattern("environment_error", r"\btimed? ?out\b|\btimeout\b|connection (?:error|refused|reset|aborted)|max retries exceeded"),
    Pattern("environment_error", r"exceeded \d+ redirects|name or service not known|temporary failure"),
    Pattern("environment_error", r"rate limit|too many requests|\bquota\b|try again"),
    Pattern("environment_error", r"\b5\d\d server error\b|internal server error|service unavailable|bad gateway"),
    Pattern("environment_error", r"\b(?:401|403|407|429) client error\b|\bunauthori[sz]ed\b|not authori[sz]ed|\bforbidden\b"),
    Pattern("environment_error", r"endpoint [^ ]{0,80} does not exist"),
    Pattern("environment_error", r"\berror[-_](?:container|page)\b|<title>[^<]{0,60}\b(?:error|forbidden)\b", anywhere=True),
    # The service refused the request (HTTP 4xx in words).
    Pattern("client_error", r"\b4\d\d client error\b|\bbad request\b"),
    Pattern("client_error", r"^[\w\s'.,:-]{0,40}\bnot found\W*$|\bno http resource was found\b"),
    # The tool raised while handling the call: the call cannot be cleared.
    Pattern("tool_error", r"\bis not json serializable|referenced before assignment|object has no attribute"),
    Pattern("tool_error", r"object is not (?:subscriptable|iterable|callable)|index out of range|division by zero"),
    Pattern("tool_error", r"traceback \(most recent call last\)|^\w*(?:error|exception): |^/bin/\w*sh: "),
)
