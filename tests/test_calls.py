"""The call parser and formatters: every syntax, every error reason, and property tests (hypothesis)."""

from __future__ import annotations

import json
import keyword
import re
import math
import struct
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tl_training.calls import SYNTAXES, ParseResult, detect_syntax, format_calls, parse_calls


def short_id(value):
    return repr(value)[:40] if isinstance(value, str) else None


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


# ------------------------------------------------------------------------------------------ successes

READS = [
    # python
    ("python", "name(a='x', b=1, c=[1, 2], d={'k': None})", [call("name", a="x", b=1, c=[1, 2], d={"k": None})]),
    ("python", "[f(a=1), g(b=2)]", [call("f", a=1), call("g", b=2)]),
    ("python", "math.sqrt(x=2)", [call("math.sqrt", x=2)]),
    ("python", "f()", [call("f")]),
    ("python", "f(a=true, b=false, c=null)", [call("f", a=True, b=False, c=None)]),
    ("python", "f(a=True, b=None)", [call("f", a=True, b=None)]),
    ("python", "f(a=-1, b=+2.5, c=-0.5e3)", [call("f", a=-1, b=2.5, c=-500.0)]),
    ("python", "f(a=(1, (2, 3)), b=[{'x': ()}])", [call("f", a=[1, [2, 3]], b=[{"x": []}])]),
    ("python", 'f(a="double", b=\'\'\'tri\nple\'\'\', c=r"\\d")', [call("f", a="double", b="tri\nple", c="\\d")]),
    ("python", "f(a='one' 'two')", [call("f", a="onetwo")]),
    ("python", "f(a=')(', b='[')", [call("f", a=")(", b="[")]),
    ("python", "Thought: look it up.\n```python\nsearch(q='x')\n```\n", [call("search", q="x")]),
    ("python", "  f(a=1)  \n\nHope this helps (really).", [call("f", a=1)]),
    ("python", "f(a=1)\ng(b=2)", [call("f", a=1), call("g", b=2)]),
    ("python", "f(a=1), g(b=2)", [call("f", a=1), call("g", b=2)]),
    ("python", "f(a=1); g(b=2)", [call("f", a=1), call("g", b=2)]),
    ("python", "f(\n    a=1,\n    b='x',\n)", [call("f", a=1, b="x")]),
    # json
    ("json", '{"name": "f", "arguments": {"a": 1}}', [call("f", a=1)]),
    ("json", '{"name": "get-weather", "parameters": {"city": "Paris"}}', [call("get-weather", city="Paris")]),
    ("json", '{"name": "f"}', [call("f")]),
    ("json", '{"name": "f", "arguments": null}', [call("f")]),
    ("json", '{"name": "f", "arguments": "{\\"a\\": [1, 2]}"}', [call("f", a=[1, 2])]),
    ("json", '{"name": "f", "arguments": ""}', [call("f")]),
    ("json", '[{"name": "f", "arguments": {}}, {"name": "g", "arguments": {"b": true}}]', [call("f"), call("g", b=True)]),
    ("json", '[]', []),
    ("json", '{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}', [call("f", a=1)]),
    (
        "json",
        '{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",'
        ' "function": {"name": "f", "arguments": "{\\"a\\": 1}"}}, {"function": {"name": "g", "arguments": "{}"}}]}',
        [call("f", a=1), call("g")],
    ),
    ("json", 'Here is the call:\n```json\n{"name": "f", "arguments": {"a": "x"}}\n```', [call("f", a="x")]),
    ("json", '{"name": "f", "arguments": {}}\n{"name": "g", "arguments": {}}', [call("f"), call("g")]),
    ("json", '{"name": "f", "arguments": {"text": "line one\nline two"}}', [call("f", text="line one\nline two")]),
    # hermes
    ("hermes", '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', [call("f", a=1)]),
    (
        "hermes",
        'Let me check.\n<tool_call>{"name": "f", "arguments": {}}</tool_call>\n<tool_call>\n{"name": "g", "arguments": {"b": 2}}\n</tool_call>',
        [call("f"), call("g", b=2)],
    ),
    ("hermes", '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n', [call("f", a=1)]),  # no closing tag at the end
    ("hermes", '<tool_call>{"name": "f", "arguments": {"a": "</tool_call><tool_call>"}}</tool_call>', [call("f", a="</tool_call><tool_call>")]),
    ("hermes", '<tool_call>{"type": "function", "function": {"name": "f", "arguments": "{\\"a\\": 1}"}}</tool_call>', [call("f", a=1)]),
    # react
    ("react", 'Thought: weather first.\nAction: get_weather\nAction Input: {"city": "Paris"}', [call("get_weather", city="Paris")]),
    ("react", "Action: f\nAction Input: {}", [call("f")]),
    ("react", "Action: f\nAction Input:", [call("f")]),
    ("react", "Action: f\nAction Input:   \nObservation: done", [call("f")]),
    ("react", 'Action: f\nAction Input:\n{\n  "a": 1\n}', [call("f", a=1)]),
    ("react", "Action: f\nAction Input: {'a': True, 'b': null, 'c': (1,)}", [call("f", a=True, b=None, c=[1])]),
    (
        "react",
        'Action: f\nAction Input: {"a": 1}\nObservation: ok\nThought: next\nAction: g\nAction Input: {"b": "x"}',
        [call("f", a=1), call("g", b="x")],
    ),
    ("react", 'Action: f\nAction Input: {"t": "x\nAction: g"}', [call("f", t="x\nAction: g")]),
    ("react", '  Action :  math.sqrt  \n  Action Input : {"x": 2}', [call("math.sqrt", x=2)]),
]


@pytest.mark.parametrize("syntax, text, expected", READS, ids=short_id)
def test_reads_calls(syntax, text, expected):
    result = parse_calls(text, syntax)
    assert result == ParseResult(expected, syntax, None)
    assert result.ok
    assert parse_calls(text).calls == expected  # auto detection reads every example the same way


def test_json_like_names_keep_their_type():
    result = parse_calls("f(a=true, b=1, c=1.0, d=False)", "python")
    assert [type(v) for v in result.calls[0]["arguments"].values()] == [bool, int, float, bool]


# ------------------------------------------------------------------------------------------- errors

ERRORS = [
    ("python", "f(1)", "positional argument in call to f"),
    ("python", "finish('done')", "positional argument in call to finish"),
    ("python", "f(*xs)", "*args in call to f"),
    ("python", "f(**kw)", "**kwargs in call to f: only a dict literal with string keys reads as arguments"),
    ("python", "f(**{1: 2})", "**kwargs in call to f: only a dict literal"),
    ("python", "f(**{**d})", "**kwargs in call to f: only a dict literal"),
    ("python", "f(a=1, **{'a': 2})", "argument 'a' repeated in call to f"),
    ("python", "f(**{'a': 1, 'a': 2})", "argument 'a' repeated in call to f"),
    ("python", "f(**{'from': g()})", "argument 'from' is not a literal: Call"),
    ("python", "f(a=g())", "argument 'a' is not a literal: Call"),
    ("python", "f(a=x)", "argument 'a' is not a literal: Name"),
    ("python", "f(a=1 + 2)", "argument 'a' is not a literal: BinOp"),
    ("python", "f(a=--1)", "argument 'a' is not a literal: UnaryOp"),
    ("python", "f(a=-True)", "argument 'a' is not a literal: UnaryOp"),
    ("python", "f(a=f'{x}')", "argument 'a' is not a literal: JoinedStr"),
    ("python", "f(a=[__import__('os')])", "argument 'a' is not a literal: Call"),
    ("python", "f(a={1, 2})", "argument 'a' is a set: sets are not JSON-like, write a list"),
    ("python", "f(a={1: 'x'})", "argument 'a' has a dict key that is not a string"),
    ("python", "f(a={**d})", "argument 'a' unpacks a dict (**): not a literal"),
    ("python", "f(a={'k': 1, 'k': 2})", "argument 'a' repeats a dict key"),
    ("python", "f(a=b'x')", "argument 'a' is not a JSON-like literal: bytes"),
    ("python", "f(a=1j)", "argument 'a' is not a JSON-like literal: complex"),
    ("python", "f(a=...)", "argument 'a' is not a JSON-like literal: ellipsis"),
    ("python", "f(a=1e999)", "argument 'a' is not a finite number"),
    ("python", "f(a=1", "unbalanced parentheses"),
    ("python", "[f(a=1), g(b=2)", "unbalanced parentheses"),
    ("python", "f(a='x)", "unterminated string literal"),
    ("python", "f(a='''x)", "unterminated string literal"),
    ("python", "f(a=1, a=2)", "argument 'a' repeated in call to f"),
    ("python", "f(a=[1)]", "syntax error:"),
    ("python", "f.(a=1)", "syntax error:"),
    ("python", "f(a=1\x00)", "syntax error:"),
    ("python", "f(a=" + "-" * 5000 + "1)", "syntax error: nested too deeply"),
    ("python", "[f(a=1), 2]", "list element 1 is not a call: Constant"),
    ("python", "[f(a=1)][0]", "expression is not a call: Subscript"),
    ("python", "f(a=1)(b=2)", "call target is not a name: Call"),
    ("python", "f(a=1).g.h(b=2)", "call target is not a name: Call"),
    ("json", "{'name': 'f'}", "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ("json", 'x\n{"name": "f", }', "invalid JSON: Expecting property name enclosed in double quotes at line 2 column 15"),
    ("json", '{"name": "f", "arguments": NaN}', "invalid JSON: NaN is not a finite number"),
    ("json", '{"answer": 42}', 'a JSON call needs a non-empty string "name"'),
    ("json", '{"name": "", "arguments": {}}', 'a JSON call needs a non-empty string "name"'),
    ("json", '{"name": 3}', 'a JSON call needs a non-empty string "name"'),
    ("json", '[{"name": "f"}, 3]', "a JSON call must be an object, got int"),
    ("json", '{"name": "f", "arguments": [1]}', "arguments of call to f are not a JSON object: list"),
    ("json", '{"name": "f", "arguments": "{\\"a\\": }"}', "invalid JSON in the arguments of f: Expecting value"),
    ("json", '{"name": "f", "arguments": "{} x"}', "text after the JSON in the arguments of f"),
    ("json", '{"name": "f", "arguments": "[1]"}', "arguments of call to f are not a JSON object: list"),
    ("json", '{"tool_calls": {"name": "f"}}', "tool_calls must be a list"),
    ("json", '{"name": "f", "arguments": {"a": 1, "b": {"c": 1, "c": 2}}}', "invalid JSON: duplicate key 'c'"),
    ("json", '[{"name": "f", "arguments": {"a": ' + "[" * 100_000, "invalid JSON: maximum recursion depth exceeded"),
    ("hermes", "<tool_call></tool_call>", "empty <tool_call> block 1"),
    ("hermes", "<tool_call>\n", "empty <tool_call> block 1"),
    ("hermes", '<tool_call>{"name": "f"}</tool_call><tool_call>f(a=1)</tool_call>', "invalid JSON in <tool_call> block 2: Expecting value"),
    ("hermes", '<tool_call>{"name": "f"} and more</tool_call>', "text after the JSON in <tool_call> block 1"),
    ("hermes", '<tool_call>{"name": "f"}<tool_call>{"name": "g"}</tool_call>', "text after the JSON in <tool_call> block 1"),
    ("hermes", '{"name": "f"}</tool_call>', "</tool_call> without <tool_call>"),
    ("hermes", '<tool_call>{"arguments": {}}</tool_call>', 'a JSON call needs a non-empty string "name"'),
    ("react", "Action:\nAction Input: {}", "empty Action name"),
    ("react", "Action: f", "Action f has no Action Input line"),
    ("react", "Action: f\nAction: g\nAction Input: {}", "Action f has no Action Input line"),
    ("react", "Action Input: {}", "Action Input without an Action line"),
    ("react", "Action: f\nAction Input: search for cats", "Action Input of f is not a JSON object"),
    ("react", "Action: f\nAction Input: [1, 2]", "Action Input of f is not a JSON object"),
    ("react", 'Action: f\nAction Input: {"a": "say "hi""}', "invalid JSON in the Action Input of f: Expecting ',' delimiter"),
    ("react", "Action: f\nAction Input: {'a': g()}", "Action Input of f: argument 'a' is not a literal: Call"),
    ("react", "Action: f\nAction Input: {'a': 1, 'a': 2}", "Action Input of f: argument 'Action Input' repeats a dict key"),
    ("react", "Action: f\nAction Input: {'a': [1, 2, 3}", "invalid JSON in the Action Input of f"),
]


@pytest.mark.parametrize("syntax, text, reason", ERRORS, ids=short_id)
def test_reports_each_error_with_its_reason(syntax, text, reason):
    result = parse_calls(text, syntax)
    assert result.calls == [] and result.syntax == syntax and not result.ok
    assert result.error.startswith(reason), result.error
    assert parse_calls(text).error == result.error  # auto detection picks the same syntax


PLAIN = [
    "The capital of France is Paris.",
    "",
    "   \n\t",
    "You could call get_weather(city='Paris') yourself.",  # a call inside prose is not an attempt
    "Final Answer: 42",
    "a[0](x=1) is not a call of a named tool",
    "1 + 2",
]


@pytest.mark.parametrize("text", PLAIN)
@pytest.mark.parametrize("syntax", ("auto",) + SYNTAXES)
def test_plain_text_is_an_answer_not_an_error(text, syntax):
    assert parse_calls(text, syntax) == ParseResult([], None, None)


def test_text_of_another_syntax_is_plain_for_an_explicit_syntax():
    assert parse_calls('{"name": "f"}', "python") == ParseResult([], None, None)
    assert parse_calls("f(a=1)", "json") == ParseResult([], None, None)
    assert parse_calls("f(a=1)", "react") == ParseResult([], None, None)
    assert parse_calls("f(a=1)", "hermes") == ParseResult([], None, None)


def test_unknown_syntax_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown call syntax 'xml'"):
        parse_calls("f(a=1)", "xml")
    with pytest.raises(ValueError, match="unknown call syntax 'xml'"):
        format_calls([call("f")], "xml")


@pytest.mark.parametrize(
    "text, syntax",
    [
        ('Action: f\nAction Input: {"q": "<tool_call>"}', "react"),  # hermes only where the tag appears...
        ('<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>', "hermes"),
        ('Thought: x\nAction: f\nAction Input: {"a": 1}', "react"),  # ReAct holds JSON: react wins
        ("Action Input: {}", "react"),
        ('{"name": "f"}', "json"),
        ('[ {"name": "f"}]', "json"),
        ("[]", "json"),
        ("f(a=1)", "python"),
        ("[f(a=1)]", "python"),
        ('Reasoning first.\nf(a={"k": 1})', "python"),
        ('Reasoning first.\n{"name": "f"}\nf(a=1)', "json"),  # the first call-like line decides
        ("Just an answer.", None),
    ],
)
def test_detection_order(text, syntax):
    if "<tool_call>" in text and syntax == "react":
        syntax = "hermes"  # ...and then it wins over everything: the tag is unambiguous
    assert detect_syntax(text) == syntax
    assert parse_calls(text).syntax == syntax


# ---------------------------------------------------------------------------------------- formatting

CALLS = [call("f", a="x", b=1), call("m.g", c=[True, None, 1.5], d={"k": "v"})]


def test_canonical_formats():
    assert format_calls(CALLS[:1], "python") == "f(a='x', b=1)"
    assert format_calls(CALLS, "python") == "[f(a='x', b=1), m.g(c=[True, None, 1.5], d={'k': 'v'})]"
    assert format_calls(CALLS[:1], "json") == '{"name": "f", "arguments": {"a": "x", "b": 1}}'
    assert format_calls(CALLS, "json") == json.dumps([CALLS[0], CALLS[1]])
    assert format_calls([call("f", a="é")], "json") == '{"name": "f", "arguments": {"a": "é"}}'
    assert format_calls(CALLS, "hermes") == (
        '<tool_call>\n{"name": "f", "arguments": {"a": "x", "b": 1}}\n</tool_call>\n'
        '<tool_call>\n{"name": "m.g", "arguments": {"c": [true, null, 1.5], "d": {"k": "v"}}}\n</tool_call>'
    )
    assert format_calls(CALLS, "react") == (
        'Action: f\nAction Input: {"a": "x", "b": 1}\nAction: m.g\nAction Input: {"c": [true, null, 1.5], "d": {"k": "v"}}'
    )
    assert [format_calls([], s) for s in SYNTAXES] == ["", "[]", "", ""]


def test_python_passes_argument_names_that_are_no_identifiers_as_python_does():
    flight = call("search_flights", **{"from": "PEK", "to": "SFO", "max-results": 3})
    assert format_calls([flight], "python") == "search_flights(**{'from': 'PEK'}, to='SFO', **{'max-results': 3})"
    assert parse_calls("search_flights(to='SFO', **{'from': 'PEK', 'class': 'economy'})").calls == [
        call("search_flights", to="SFO", **{"from": "PEK", "class": "economy"})]


@pytest.mark.parametrize(
    "calls, syntax, message",
    [
        ([call("get-weather")], "python", "tool name 'get-weather' cannot be written in Python call syntax"),
        ([call("class")], "python", "tool name 'class' cannot be written"),
        ([call("ﬁnd")], "python", "tool name 'ﬁnd' cannot be written"),  # NFKC would read it back as "find"
        ([call("f", a={1, 2})], "python", "set value"),
        ([call("f", a=float("nan"))], "python", "nan is not a finite number"),
        ([call("f", a={1: 2})], "python", "dict key 1 is not a string"),
        ([call("f", a=float("inf"))], "json", "Out of range float values"),
        ([call("bad name\n")], "react", "cannot be written on a ReAct Action line"),
    ],
)
def test_format_refuses_what_would_not_read_back(calls, syntax, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        format_calls(calls, syntax)


# ----------------------------------------------------------------------------------------- real data


def test_reads_every_rotbench_gold_answer(shared_data):
    cases = json.loads((shared_data / "rotbench/First_Turn/clean.json").read_text())
    answers = [text for case in cases for text in case["conversations"][-1]["value"]]
    results = [parse_calls(text) for text in answers]
    assert len(answers) >= 105
    assert all(r.ok and r.syntax == "react" and len(r.calls) == 1 for r in results), [
        (t, r) for t, r in zip(answers, results) if not r.ok
    ]


# ----------------------------------------------------------------------------------- property tests
#
# Hypothesis' own recursive strategies cost about 9 ms per call list here (10,000 examples: 90 s, over this
# file's budget), so the 10,000-example tests draw a seed from hypothesis (``st.randoms``, reproducible on
# failure) and build their inputs with the small generators below, which aim at the hard cases on purpose:
# quotes, backslashes, newlines, tags, non-ASCII, extreme numbers.  One native hypothesis test keeps its
# edge-case search and shrinking on fewer examples.

FRAGMENTS = [
    "f(", "math.sqrt(", ")", "a=", "b=", "'", '"', "\'\'\'", '"""', "\\", "[", "]", "{", "}", ",", ";", ":", "=",
    "\n", " ", "1", "-", "1.5e3", "1e999", "True", "true", "null", "None", "NaN", "x", "g()", "*", "**", "#",
    "b'", "f'", "{1, 2}", "lambda: 0", "Action:", "Action Input:", "Action: f\n", "Action Input: {", "Thought: ",
    "<tool_call>", "</tool_call>", '{"name": ', '"f"', '"arguments": ', '"parameters": ', '"tool_calls": [',
    '"function": {', '"type": "function"', "```json\n", "```python\n", "```", "\x00", "\u2028", "é", "ﬁ", "\r\n",
]
TRICKY_PIECES = ["'", '"', "\\", "\n", "\r", "\t", "\x00", "\x85", "\u2028", "\ufeff", "é", "名", "🎉", "ﬁ", "</tool_call>",
                 "<tool_call>", "\nAction: g\nAction Input: {}", ")", "(", "{", "}", "[", "]", "#", "\"\"\"", "\'\'\'", "\\u0041"]
PRINTABLE = [chr(c) for c in range(32, 127)]
IDENT_START = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_éßΩ名ж")
IDENT_CONTINUE = IDENT_START + list("0123456789")
EDGE_FLOATS = [0.0, -0.0, 0.1, -1.5, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, -2.5e-300, 123456789.125]
EDGE_INTS = [0, 1, -1, 2**31, -(2**63), 2**64 + 1, -(10**30)]


def random_text(rng, max_pieces=12):
    pieces = []
    for _ in range(rng.randint(0, max_pieces)):
        roll = rng.random()
        if roll < 0.6:
            pieces.append(rng.choice(PRINTABLE))
        elif roll < 0.85:
            pieces.append(rng.choice(TRICKY_PIECES))
        else:
            code = rng.randint(0x80, 0x10FFFF)
            pieces.append(chr(code) if not 0xD800 <= code <= 0xDFFF else "\ufffd")
    return "".join(pieces)


def random_float(rng):
    if rng.random() < 0.4:
        return rng.choice(EDGE_FLOATS)
    value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return value if math.isfinite(value) else rng.uniform(-1e6, 1e6)


def random_value(rng, depth=3):
    roll = rng.random()
    if depth > 0 and roll < 0.15:
        return [random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
    if depth > 0 and roll < 0.3:
        return {random_text(rng, 6): random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}
    return rng.choice([
        None, True, False, rng.choice(EDGE_INTS), rng.randint(-(2**40), 2**40), random_float(rng), random_text(rng),
    ])


def random_identifier(rng):
    name = rng.choice(IDENT_START) + "".join(rng.choice(IDENT_CONTINUE) for _ in range(rng.randint(0, 8)))
    return name + "_" if keyword.iskeyword(name) else name


def random_key(rng):
    """An argument name: an identifier, a Python keyword ('from'), or any text ('max-results')."""
    return rng.choice([random_identifier, lambda r: r.choice(keyword.kwlist), lambda r: random_text(r, 6)])(rng)


def random_calls(rng, portable):
    """Calls with dotted-identifier names (``portable``: every syntax writes them), or any non-empty name
    (JSON and Hermes write those); argument names of any text either way."""
    calls = []
    for _ in range(rng.randint(0, 3)):
        if portable:
            name = ".".join(random_identifier(rng) for _ in range(rng.randint(1, 3)))
        else:
            name = random_text(rng) or "f"
        keys = [random_key(rng) for _ in range(rng.randint(0, 4))]
        calls.append({"name": name, "arguments": {key: random_value(rng) for key in keys}})
    return calls


def random_callish_text(rng):
    return "".join(rng.choice(FRAGMENTS) if rng.random() < 0.7 else random_text(rng, 3) for _ in range(rng.randint(0, 40)))


PARSE_SYNTAXES = ("auto",) + SYNTAXES
SEEDS = st.randoms(use_true_random=True)
MANY = settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def assert_never_raises(text):
    for syntax in PARSE_SYNTAXES:
        result = parse_calls(text, syntax)
        assert isinstance(result, ParseResult)
        assert result.ok or (result.calls == [] and result.syntax is not None and result.error)
        assert all(isinstance(c["name"], str) and c["name"] and isinstance(c["arguments"], dict) for c in result.calls)


@MANY
@given(st.text())
def test_parse_never_raises_on_arbitrary_text(text):
    assert_never_raises(text)  # each example goes through every syntax and auto


@MANY
@given(SEEDS)
def test_parse_never_raises_on_callish_text(rng):
    assert_never_raises(random_callish_text(rng))


VALID_STARTS = ["", "f(a=1)", "[f(a=1)", '{"name": "f"}', "Action: f\nAction Input: {}", "<tool_call>", "```json\n{"]


# Backtracking blow-ups are caught by a hang guard, not a timing assertion: linear scans of these inputs
# take milliseconds, a regex catastrophe on them takes hours, so a generous timeout tells them apart on
# any machine, however loaded.
@pytest.mark.timeout(600)
@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(VALID_STARTS), st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3), st.integers(1_000, 20_000))
def test_long_adversarial_inputs_parse_without_catastrophic_backtracking(start_text, pieces, repeat):
    assert_never_raises(start_text + "".join(pieces) * repeat)


@pytest.mark.timeout(300)
def test_long_pathological_inputs_parse_without_catastrophic_backtracking():
    for text in ["f(" * 50_000, "(" * 100_000, "'" * 100_000, "f(a='" + "\\'" * 50_000, '"""' + "\\" * 100_000,
                 "[{" * 50_000, "Action:\n" * 20_000, "<tool_call>" * 20_000, "a" * 100_000 + "(", "\n[ " * 30_000,
                 "f(a=1)\n" * 10_000, "a." * 100_000 + "a(x=1)", "f(a=1)" + " " * 100_000 + "x", "[\n" + "\n" * 100_000]:
        assert_never_raises(text)


def typed(value):
    """``value`` with every scalar tagged by its type, so that True != 1 and 1 != 1.0 when compared."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def assert_round_trip(calls, syntax):
    text = format_calls(calls, syntax)
    result = parse_calls(text, syntax)
    assert result.ok, (text, result.error)
    assert typed(result.calls) == typed(calls), text


@MANY
@given(SEEDS)
def test_format_then_parse_round_trips_in_every_syntax(rng):
    calls = random_calls(rng, portable=True)
    for syntax in SYNTAXES:
        assert_round_trip(calls, syntax)


@MANY
@given(SEEDS)
def test_json_and_hermes_round_trip_any_name_and_key(rng):
    calls = random_calls(rng, portable=False)
    for syntax in ("json", "hermes"):
        assert_round_trip(calls, syntax)


def nfkc_identifier(text):
    return (text.isidentifier() and not keyword.iskeyword(text) and unicodedata.normalize("NFKC", text) == text
            and re.fullmatch(r"[^\W\d]\w*", text) is not None)


def test_identifier_characters_that_call_detection_cannot_see_are_refused():
    # U+00B7 continues a Python identifier but is not a regex word character: it would not read back.
    with pytest.raises(ValueError, match="cannot be written in Python call syntax"):
        format_calls([{"name": "A\u00b7", "arguments": {}}], "python")


native_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
native_identifiers = st.text(min_size=1, max_size=6).filter(nfkc_identifier)
native_calls = st.lists(
    st.fixed_dictionaries({
        "name": st.lists(native_identifiers, min_size=1, max_size=2).map(".".join),
        "arguments": st.dictionaries(st.text(max_size=6), native_values, max_size=3),
    }),
    max_size=2,
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(native_calls)
def test_round_trip_with_hypothesis_own_edge_cases(calls):
    for syntax in SYNTAXES:
        assert_round_trip(calls, syntax)


@pytest.mark.parametrize("text, syntax, names", [
    ("f(a=1)", "python", ["f"]),
    ('get_translation("See you later")', "python", ["get_translation"]),       # positional: no parse, a name
    ("Thought: x\n[f(1), g(2)]", "python", ["f"]),                              # a broken list: its first call
    ('<tool_call>\n{"name": "foo", "arguments": {"a": NaN}}</tool_call>', "hermes", ["foo"]),
    ('{"name": "b\\u00e9", "arguments": [}', "json", ["b\u00e9"]),
    ("Action: foo\nAction Input: {bad", "react", ["foo"]),
    ("just text", "python", []),
])
def test_called_names_read_the_tool_names_even_of_calls_that_do_not_parse(text, syntax, names):
    from tl_training.calls import called_names

    assert called_names(text, syntax) == names
