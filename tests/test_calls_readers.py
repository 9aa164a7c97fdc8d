"""The strict value readers of calls.py that converters use: one JSON reading for data and model output."""

from __future__ import annotations

import pytest

from tl_training.calls import (ReadError, json_value_at, literal_at, parse_calls, read_arguments, read_call,
                               read_json, read_literal)


@pytest.mark.parametrize("text, reason", [
    ('{"a": NaN}', "not a finite number"),
    ('{"a": Infinity}', "not a finite number"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": {"b": 1, "b": 1}}', "duplicate key 'b'"),
    ('{"a": 1} trailing', "text after the JSON value"),
    ("{'a': 1}", "invalid JSON"),
])
def test_read_json_refuses_what_the_call_parser_refuses(text, reason):
    with pytest.raises(ReadError, match=reason):
        read_json(text)
    assert parse_calls(f'{{"name": "f", "arguments": {text}}}', "json").error  # the same text fails as a call


def test_read_json_and_value_at():
    assert read_json(' {"a": [1, 2.5, true, null]} ') == {"a": [1, 2.5, True, None]}
    assert json_value_at('xx [1, {"b": 2}] yy', 2) == ([1, {"b": 2}], 16)


def test_literals_read_json_then_python_dicts():
    assert read_literal("{'arguments': {'x': True, 'y': None}, 'name': 'f'}") == {
        "arguments": {"x": True, "y": None}, "name": "f"}
    assert literal_at("tools: [{'a': 1}] end", 6) == ([{"a": 1}], 17)
    with pytest.raises(ReadError):
        read_literal("{'a': 1, 'a': 2}")  # a dict display keeps the last value silently: refused
    with pytest.raises(ReadError):
        read_literal("{'a': float('nan')}")  # a call, not a literal


def test_read_arguments_and_call():
    assert read_arguments('{"q": "x"}') == {"q": "x"} and read_arguments("") == {} and read_arguments(None) == {}
    assert read_arguments({"q": 1}) == {"q": 1}
    with pytest.raises(ReadError, match="duplicate key 'q'"):
        read_arguments('{"q": 1, "q": 2}')
    with pytest.raises(ReadError, match="must be a JSON object"):
        read_arguments("[1]")
    assert read_call('{"name": "f", "arguments": "{\\"a\\": 1}"}') == {"name": "f", "arguments": {"a": 1}}
    assert read_call({"type": "function", "function": {"name": "g", "arguments": {}}}) == {"name": "g", "arguments": {}}
    with pytest.raises(ReadError, match="non-empty string"):
        read_call({"arguments": {}})
