"""The speed-ups of the feedback classifier change no result: pattern anchors are necessary literals, the
ASCII fold covers every character re's IGNORECASE pairs with an ASCII one, and the gated pattern list finds
what the plain ordered list finds."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tl_training.mae.feedback import ASCII_FOLD, Finding, PatternSet, _evidence, fold_ascii
from tl_training.mae.patterns import DEFAULT_PATTERNS, Pattern, literal_anchors

LABELS = sorted((Path(__file__).parent / "labels").glob("mae_*.jsonl"))
FEEDBACK = [json.loads(line)["feedback"] for path in LABELS for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _ungated(patterns: list[Pattern], text: str) -> Finding | None:
    """The reference: every pattern, in order, no pre-filter."""
    for pattern in patterns:
        found = pattern.compile().search(text)
        if found:
            return Finding(pattern.reason, _evidence(text, found))
    return None


@pytest.mark.parametrize(("regex", "anchors"), [
    (r"name '[\w.]+' is not defined", {"' is not defined"}),
    (r"rate limit|too many requests|\bquota\b|try again", {"rate limit", "too many requests", "quota", "try again"}),
    (r"Connection (?:Error|Refused)", {"connection "}),             # lowercased
    (r"missing \d+ required (?:positional )?arguments?", {" required "}),
    (r"caf\u00e9 noir", {" noir"}),                                  # ASCII only: "caf" is shorter
    (r"(?:abcd)+ef", {"abcd"}),                                      # a repeat at least once counts
    (r"x(?:foo|bar)y", {"foo", "bar"}),
    (r"(?:foo|\w+)bar", {"bar"}),                                  # one branch without a literal: the other item
])
def test_literal_anchors(regex, anchors):
    assert literal_anchors(regex) == frozenset(anchors)


@pytest.mark.parametrize("regex", [r"\d{3}-\d{4}", r"(?:error)?", r"ab", r"foo|\w+", r"\u00e9t\u00e9", r"[", r"(?:abc){0,3}"])
def test_no_anchors_when_no_literal_is_certain(regex):
    assert literal_anchors(regex) is None


def test_every_default_pattern_has_anchors():
    """Not required for correctness, but a default pattern without anchors would run on every text."""
    assert [p.regex for p in DEFAULT_PATTERNS if p.anchors() is None] == []


def test_ascii_fold_covers_every_character_re_matches_to_ascii():
    everything = "".join(chr(c) for c in range(128, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    paired = set(re.compile(r"[\x00-\x7f]", re.IGNORECASE).findall(everything))
    non_ascii_in_fold = {chr(c) for c in ASCII_FOLD if c >= 128}
    assert paired == non_ascii_in_fold
    for char in paired:
        assert re.fullmatch(re.escape(char.translate(ASCII_FOLD)), char, re.IGNORECASE)


def test_fold_keeps_positions():
    text = "İNVALİD ſymbol, \u212aey: Ünïcode"
    assert len(fold_ascii(text)) == len(text)
    assert "invalid symbol, key:" in fold_ascii(text)
    assert fold_ascii("Bad REQUEST") == "bad request"
    assert fold_ascii("\u212aEY Ünïcode") == "key ünïcode"  # no İ, ı, ſ: the str.lower path


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("aeiksrKIS \u0130\u0131\u017f\u212aÉé"), max_size=12),
       length=st.integers(1, 4))
def test_every_case_insensitive_ascii_match_is_in_the_fold(text, length):
    for found in re.finditer(r"[a-z]{%d}" % length, text, re.IGNORECASE):
        literal = found.group().translate(ASCII_FOLD)
        assert re.search(re.escape(literal), text, re.IGNORECASE)
        assert literal in fold_ascii(text), (text, literal)


def _variants(text: str) -> list[str]:
    return [text, text.upper(), text.swapcase(), text.replace("i", "\u0130").replace("s", "\u017f"),
            text.replace("I", "\u0131").replace("k", "\u212a")]


def test_gated_list_agrees_with_plain_list_on_the_labelled_feedback():
    patterns = list(DEFAULT_PATTERNS)
    gated = PatternSet(patterns)
    checked = matched = 0
    for feedback in FEEDBACK:
        for text in _variants(feedback[:400]):
            expected = _ungated(patterns, text)
            assert gated.first_match(text) == expected, text
            checked += 1
            matched += expected is not None
    assert matched > 100 and checked > 1500  # the comparison covers both outcomes


SIGNATURES = ["Timed out", "connection REFUSED", "missing 1 required positional argument", "bad request",
              "Internal Server Error", "<title>Error 404</title>", "Traceback (most recent call last)",
              "object has no attribute 'x'", "invalid date", "not found", "quota", "name 'foo' is not defined"]


WITH_USER_PATTERNS = list(DEFAULT_PATTERNS) + [Pattern("client_error", r"\d{3}-\d{4}"), Pattern("tool_error", r"Ωmega")]
WITH_USER_SET = PatternSet(WITH_USER_PATTERNS)


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(max_size=30), signature=st.sampled_from(SIGNATURES), suffix=st.text(max_size=30),
       case=st.sampled_from([str.lower, str.upper, str.swapcase, str.title]))
def test_gated_list_agrees_with_plain_list_on_arbitrary_text(prefix, signature, suffix, case):
    text = prefix + case(signature) + suffix
    assert WITH_USER_SET.first_match(text) == _ungated(WITH_USER_PATTERNS, text)


def test_user_pattern_without_anchors_still_runs():
    pattern_set = PatternSet([Pattern("client_error", r"\d{3}-\d{4}")])
    assert pattern_set.first_match("call 555-1234 later").reason == "client_error"
