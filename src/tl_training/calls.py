"""The one tool-call parser and its formatters, shared by converters, renderer, verdict and evaluation.

A call is ``{"name": str, "arguments": dict}`` (``record.make_call``).  ``parse_calls(text, syntax)``
never raises on any text: it returns ``ParseResult(calls, syntax, error)``.  Text with no call-like
structure is a plain answer (``calls=[]``, ``syntax=None``, ``error=None``); text that tries to be a call
and fails carries ``error``, one line naming the reason.  ``format_calls(calls, syntax)`` writes the
canonical text of each syntax, and ``parse_calls(format_calls(c, s), s).calls == c``.

Syntaxes
- ``python``: ``f(a='x', b=1)``, ``[f(a=1), g(b=2)]``, ``math.sqrt(x=2)``; several calls may also follow
  one another separated by newlines, ``,`` or ``;``.  The call must start a line (after optional
  indentation), so prose such as "you could call f(x=1)" stays a plain answer, while code fences and
  "Thought: ..." lines around a call are skipped.  Keyword arguments only.
- ``json``: ``{"name": ..., "arguments": {...}}`` (``parameters`` accepted as an alias; ``arguments`` may
  be a JSON string), a list of those, OpenAI ``{"type": "function", "function": {...}}`` entries and
  ``{"tool_calls": [...]}``; consecutive objects are several calls.  The value must start a line.
- ``hermes``: one or more ``<tool_call>{json}</tool_call>`` blocks; a missing final closing tag is
  tolerated.  Each block's extent is decided by parsing its JSON, so a value holding "</tool_call>"
  does not cut the block.
- ``react``: ``Action: name`` then ``Action Input: {json}`` (a Python dict literal is accepted as a
  fallback; an empty input is no arguments); several pairs are several calls.

Auto detection, first rule that applies: a ``<tool_call>`` (or ``</tool_call>``) tag -> hermes (the tag is
unambiguous); a line starting ``Action:`` or ``Action Input:`` -> react (ReAct answers also hold JSON,
so react must win over json); otherwise the first line that starts a JSON call (``{``, ``[{``, ``[]``)
or a Python call (``name(``, ``[name(``) decides between json and python; no such line -> plain text.

Literal rules (Python call syntax and the ReAct dict fallback), ``ast.literal_eval`` semantics, read from
the syntax tree, never evaluated: str, int, float, True/False/None, and also the JSON spellings
``true``/``false``/``null`` (models trained on JSON write them inside Python calls); a sign on a number
(``-1``, ``+2.5``); lists; tuples (read as lists: JSON has no tuples); dicts with string keys.  Sets are
rejected (JSON has no sets and their order is arbitrary), as are bytes, complex numbers, non-finite
floats and any name, call, operator or f-string.  JSON values follow the same rules (NaN/Infinity are
rejected).
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

from .record import make_call

SYNTAXES = ("python", "json", "hermes", "react")


@dataclass(frozen=True)
class ParseResult:
    calls: list[dict]
    syntax: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Fail(Exception):
    """A call that cannot be read; the message is the reason shown in ``ParseResult.error``."""


# ------------------------------------------------------------------------------------------ text scanning

# A Python call opens with a (dotted) name and "(", or "[" before it; a JSON call with "{", "[{" or "[]".
_PY_OPEN = r"(?:\[[ \t]*)?[^\W\d][\w.]*\("
_JSON_OPEN = r"[{]|\[\s*[{\]]"
# Line starts only (re.M with a leading ^), so each pattern costs one cheap test per line; possessive
# quantifiers (*+) never backtrack over a run of blanks, which would make long inputs quadratic.
_PY_CALL_START = re.compile(rf"^[ \t]*+({_PY_OPEN})", re.M)
_JSON_START = re.compile(rf"^[ \t]*+({_JSON_OPEN})", re.M)
_CALL_START = re.compile(rf"^[ \t]*+(?:(?P<json>{_JSON_OPEN})|(?P<python>{_PY_OPEN}))", re.M)
_NEXT_PY_CALL = re.compile(rf"\s*+(?:[,;]\s*+)?(?={_PY_OPEN})")
_TRAILER = re.compile(r"(?:\.[^\W\d]\w*)*[(\[]")
_REACT_LINE = re.compile(r"^[ \t]*+Action(?P<input>[ \t]++Input)?[ \t]*+:", re.M)
_BRACKET_OR_QUOTE = re.compile(r"""[()\[\]{}'"]""")
# The rest of a string literal after its opening quote; alternatives are disjoint, so matching is linear.
_STRING_REST = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'", re.S),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"', re.S),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.S),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.S),
}
_WHITESPACE = re.compile(r"\s*")
_BLANKS = re.compile(r"[ \t]*")
_HERMES_OPEN, _HERMES_CLOSE = "<tool_call>", "</tool_call>"


def _bracket_end(text: str, start: int) -> int:
    """Index just past the bracket group whose opening bracket is the first one at or after ``start``,
    skipping string literals.  Bracket kinds are not matched against each other: ``ast`` reports that."""
    depth, pos = 0, start
    while True:
        match = _BRACKET_OR_QUOTE.search(text, pos)
        if match is None:
            raise _Fail("unbalanced parentheses")
        char, pos = match.group(), match.end()
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth <= 0:
                return pos
        else:
            quote = char * 3 if text.startswith(char * 3, match.start()) else char
            rest = _STRING_REST[quote].match(text, match.start() + len(quote))
            if rest is None:
                raise _Fail("unterminated string literal")
            pos = rest.end()


# --------------------------------------------------------------------------------------- Python literals

_JSON_NAMES = {"true": True, "false": False, "null": None}


def _literal(node: ast.AST, key: str) -> Any:
    """The JSON-like value of a literal node; ``key`` names the argument in error messages."""
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Fail(f"argument {key!r} is not a finite number")
            return value
        raise _Fail(f"argument {key!r} is not a JSON-like literal: {type(value).__name__}")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item, key) for item in node.elts]
    if isinstance(node, ast.Dict):
        return {k: _literal(v, key) for k, v in _dict_items(node, key)}
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            number = _literal(operand, key)
            return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.Set):
        raise _Fail(f"argument {key!r} is a set: sets are not JSON-like, write a list")
    raise _Fail(f"argument {key!r} is not a literal: {type(node).__name__}")


def _dict_items(node: ast.Dict, key: str) -> list[tuple[str, ast.expr]]:
    items = []
    for k, v in zip(node.keys, node.values):
        if k is None:
            raise _Fail(f"argument {key!r} unpacks a dict (**): not a literal")
        if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
            raise _Fail(f"argument {key!r} has a dict key that is not a string")
        items.append((k.value, v))
    if len({k for k, _ in items}) != len(items):  # a dict display keeps the last value silently
        raise _Fail(f"argument {key!r} repeats a dict key")
    return items


def _parse_expression(source: str) -> ast.expr:
    try:
        # Invalid escapes ("\d") warn at parse time; the result must not depend on warning filters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        raise _Fail(f"syntax error: {exc.msg}") from None
    except ValueError as exc:  # null bytes, integers too long to convert
        raise _Fail(f"syntax error: {exc}") from None
    except (MemoryError, RecursionError):  # the parser's stack overflows on deep nesting
        raise _Fail("syntax error: nested too deeply") from None


def _dotted_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    raise _Fail(f"call target is not a name: {type(node).__name__}")


def _python_call(node: ast.expr) -> dict:
    if not isinstance(node, ast.Call):
        raise _Fail(f"expression is not a call: {type(node).__name__}")
    name = _dotted_name(node.func)
    for arg in node.args:
        kind = "*args" if isinstance(arg, ast.Starred) else "positional argument"
        raise _Fail(f"{kind} in call to {name}")
    arguments = {}
    for kw in node.keywords:
        if kw.arg is not None:
            items = [(kw.arg, kw.value)]
        elif isinstance(kw.value, ast.Dict) and all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in kw.value.keys
        ):  # f(**{'from': 'A'}): how Python passes an argument whose name is no identifier
            items = list(zip((k.value for k in kw.value.keys), kw.value.values))
        else:
            raise _Fail(f"**kwargs in call to {name}: only a dict literal with string keys reads as arguments")
        for key, value in items:
            if key in arguments:  # Python 3.11's parser leaves this to the compiler, which we never run
                raise _Fail(f"argument {key!r} repeated in call to {name}")
            arguments[key] = _literal(value, key)
    return make_call(name, arguments)


def _python_calls(node: ast.expr) -> list[dict]:
    if isinstance(node, ast.List):
        for i, item in enumerate(node.elts):
            if not isinstance(item, ast.Call):
                raise _Fail(f"list element {i} is not a call: {type(item).__name__}")
        return [_python_call(item) for item in node.elts]
    return [_python_call(node)]


def _parse_python(text: str) -> list[dict] | None:
    match = _PY_CALL_START.search(text)
    if match is None:
        return None
    calls, pos = [], match.start(1)
    while True:
        end = _bracket_end(text, pos)
        while trailer := _TRAILER.match(text, end):  # f(a=1)(b=2), [f(a=1)][0]: let ast see the whole expression
            end = _bracket_end(text, trailer.start())
        calls.extend(_python_calls(_parse_expression(text[pos:end])))
        following = _NEXT_PY_CALL.match(text, end)
        if following is None:
            return calls
        pos = following.end()


# ------------------------------------------------------------------------------------------------- JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):  # json keeps the last value silently
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate!r}")
    return result


# strict=False: models write raw newlines inside strings.
_DECODER = json.JSONDecoder(strict=False, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates)


def _json_value(text: str, pos: int, what: str) -> tuple[Any, int]:
    """The JSON value starting at ``pos`` and the index after it."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise _Fail(f"invalid JSON{what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise _Fail(f"invalid JSON{what}: {exc}") from None


def _json_string_arguments(source: str, name: str) -> Any:
    where = f" in the arguments of {name}"
    pos = _WHITESPACE.match(source).end()
    if pos == len(source):
        return {}
    value, end = _json_value(source, pos, where)
    if _WHITESPACE.match(source, end).end() != len(source):
        raise _Fail(f"text after the JSON{where}")
    return value


def _json_call(obj: Any) -> dict:
    if not isinstance(obj, dict):
        raise _Fail(f"a JSON call must be an object, got {type(obj).__name__}")
    if "name" not in obj and isinstance(obj.get("function"), dict):  # OpenAI tool_calls entry
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise _Fail('a JSON call needs a non-empty string "name"')
    arguments = obj.get("arguments", obj.get("parameters"))
    if isinstance(arguments, str):  # OpenAI writes arguments as a JSON string
        arguments = _json_string_arguments(arguments, name)
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise _Fail(f"arguments of call to {name} are not a JSON object: {type(arguments).__name__}")
    return make_call(name, arguments)


def _json_calls(value: Any) -> list[dict]:
    if isinstance(value, dict) and "tool_calls" in value:
        value = value["tool_calls"]
        if not isinstance(value, list):
            raise _Fail("tool_calls must be a list")
    if isinstance(value, list):
        return [_json_call(item) for item in value]
    return [_json_call(value)]


def _parse_json(text: str) -> list[dict] | None:
    match = _JSON_START.search(text)
    if match is None:
        return None
    calls, pos = [], match.start(1)
    while True:
        value, end = _json_value(text, pos, "")
        calls.extend(_json_calls(value))
        pos = _WHITESPACE.match(text, end).end()
        if not text.startswith("{", pos):
            return calls


# ----------------------------------------------------------------------------------------------- Hermes


def _parse_hermes(text: str) -> list[dict] | None:
    start = text.find(_HERMES_OPEN)
    if start < 0:
        if _HERMES_CLOSE in text:
            raise _Fail(f"{_HERMES_CLOSE} without {_HERMES_OPEN}")
        return None
    calls, block = [], 0
    while start >= 0:
        block += 1
        pos = _WHITESPACE.match(text, start + len(_HERMES_OPEN)).end()
        if text.startswith(_HERMES_CLOSE, pos) or pos == len(text):
            raise _Fail(f"empty {_HERMES_OPEN} block {block}")
        value, end = _json_value(text, pos, f" in {_HERMES_OPEN} block {block}")
        calls.extend(_json_calls(value))
        end = _WHITESPACE.match(text, end).end()
        if text.startswith(_HERMES_CLOSE, end):
            end += len(_HERMES_CLOSE)
        elif end < len(text):  # a missing closing tag is tolerated only at the very end
            raise _Fail(f"text after the JSON in {_HERMES_OPEN} block {block}")
        start = text.find(_HERMES_OPEN, end)
    return calls


# ------------------------------------------------------------------------------------------------ ReAct


def _action_input(text: str, pos: int, name: str) -> tuple[dict, int]:
    """The arguments written after ``Action Input:`` at ``pos``, and the index after them."""
    pos = _BLANKS.match(text, pos).end()
    if pos == len(text) or text[pos] in "\r\n":  # nothing on the line: JSON on the next line, or no arguments
        next_pos = _WHITESPACE.match(text, pos).end()
        if not text.startswith("{", next_pos):
            return {}, pos
        pos = next_pos
    if not text.startswith("{", pos):
        raise _Fail(f"Action Input of {name} is not a JSON object")
    try:
        value, end = _json_value(text, pos, f" in the Action Input of {name}")
    except _Fail as json_failure:
        try:  # fallback: a Python dict literal, as models trained on Python calls write it
            end = _bracket_end(text, pos)
            node = _parse_expression(text[pos:end])
        except _Fail:
            raise json_failure from None
        if not isinstance(node, ast.Dict):
            raise json_failure from None
        try:
            value = {key: _literal(item, key) for key, item in _dict_items(node, "Action Input")}
        except _Fail as failure:
            raise _Fail(f"Action Input of {name}: {failure}") from None
    if not isinstance(value, dict):
        raise _Fail(f"Action Input of {name} is not a JSON object")
    return value, end


def _parse_react(text: str) -> list[dict] | None:
    match = _REACT_LINE.search(text)
    if match is None:
        return None
    calls = []
    while match is not None:
        if match.group("input"):
            raise _Fail("Action Input without an Action line")
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end < 0 else line_end
        name = text[match.end():line_end].strip()
        if not name:
            raise _Fail("empty Action name")
        following = _REACT_LINE.search(text, line_end)
        if following is None or not following.group("input"):
            raise _Fail(f"Action {name} has no Action Input line")
        arguments, end = _action_input(text, following.end(), name)
        calls.append(make_call(name, arguments))
        match = _REACT_LINE.search(text, end)
    return calls


# ----------------------------------------------------------------------------------------------- parsing

_PARSERS = {"python": _parse_python, "json": _parse_json, "hermes": _parse_hermes, "react": _parse_react}


def detect_syntax(text: str) -> str | None:
    """The syntax ``auto`` reads ``text`` in (module docstring), or None for plain text."""
    if _HERMES_OPEN in text or _HERMES_CLOSE in text:
        return "hermes"
    if _REACT_LINE.search(text):
        return "react"
    match = _CALL_START.search(text)
    if match is None:
        return None
    return "json" if match.group("json") else "python"


def parse_calls(text: str, syntax: str = "auto") -> ParseResult:
    """Read the calls in ``text``; never raises on any text (an unknown ``syntax`` is a ValueError)."""
    if syntax == "auto":
        detected = detect_syntax(text)
        if detected is None:
            return ParseResult([], None, None)
        syntax = detected
    elif syntax not in _PARSERS:
        raise ValueError(f"unknown call syntax {syntax!r}; expected auto or one of {', '.join(SYNTAXES)}")
    try:
        calls = _PARSERS[syntax](text)
    except _Fail as failure:
        return ParseResult([], syntax, str(failure))
    except RecursionError:  # a value nested deeper than Python's stack allows
        return ParseResult([], syntax, "nested too deeply")
    if calls is None:
        return ParseResult([], None, None)
    return ParseResult(calls, syntax, None)


# --------------------------------------------------------------------------------- names, read leniently

_PY_NAME_AT_LINE = re.compile(r"^[ \t]*+\[?[ \t]*+([^\W\d][\w.]*)\(", re.M)
_JSON_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_REACT_NAME = re.compile(r"^[ \t]*+Action[ \t]*+:[ \t]*+(\S[^\n]*?)[ \t]*$", re.M)


def _unescaped(name: str) -> str:
    try:
        return json.loads(f'"{name}"')
    except json.JSONDecodeError:  # an invalid escape: the name as written
        return name


def called_names(text: str, syntax: str = "auto") -> list[str]:
    """The tool names ``text`` calls, read even where its calls do not parse (a positional argument, an
    unclosed bracket): the names of ``parse_calls`` when it succeeds, else every name written where a
    call of that syntax starts (``name(`` at a line start, ``"name": "..."``, ``Action: name``).

    A lenient reading for diagnosis ("chose the right tool, wrote it badly"), never a substitute for
    the parse: metrics report it beside the strict figures."""
    parsed = parse_calls(text, syntax)
    if parsed.error is None:
        return [call["name"] for call in parsed.calls]
    found = parsed.syntax
    if found == "python":
        return _PY_NAME_AT_LINE.findall(text)  # of a bracketed list, its first call
    if found in ("json", "hermes"):
        return [_unescaped(name) for name in _JSON_NAME.findall(text)]
    if found == "react":
        return _REACT_NAME.findall(text)
    return []


# -------------------------------------------------------------------------------------------- formatting


_WORD = re.compile(r"[^\W\d]\w*")


def _is_python_name(part: str) -> bool:
    # What reads back as itself: the Python parser NFKC-normalises identifiers ("ﬁ" reads back as "fi"),
    # and call detection scans for regex words, which lack a few identifier characters ("·").
    return (part.isidentifier() and not keyword.iskeyword(part) and unicodedata.normalize("NFKC", part) == part
            and _WORD.fullmatch(part) is not None)


def _python_tool_name(name: str) -> str:
    if not all(_is_python_name(part) for part in name.split(".")):
        raise ValueError(f"tool name {name!r} cannot be written in Python call syntax")
    return name


def _python_value(value: Any) -> str:
    if value is None or isinstance(value, (str, bool, int)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_python_value(item) for item in value) + "]"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"dict key {key!r} is not a string")
        return "{" + ", ".join(f"{key!r}: {_python_value(item)}" for key, item in value.items()) + "}"
    raise ValueError(f"{type(value).__name__} value {value!r} is not JSON-like")


def _python_argument(key: str, value: Any) -> str:
    # A key that is no Python name ('from', 'max-results') is passed as Python itself would pass it.
    return f"{key}={_python_value(value)}" if _is_python_name(key) else f"**{_python_value({key: value})}"


def _format_python_call(call: dict) -> str:
    arguments = ", ".join(_python_argument(key, value) for key, value in call["arguments"].items())
    return f"{_python_tool_name(call['name'])}({arguments})"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _json_obj(call: dict) -> dict:
    return {"name": call["name"], "arguments": call["arguments"]}


def _react_name(name: str) -> str:
    if not name or name != name.strip() or "\n" in name or "\r" in name:
        raise ValueError(f"tool name {name!r} cannot be written on a ReAct Action line")
    return name


def format_calls(calls: list[dict], syntax: str) -> str:
    """The canonical text of ``calls`` in ``syntax``; ``parse_calls`` reads it back unchanged."""
    if syntax == "python":
        if len(calls) == 1:
            return _format_python_call(calls[0])
        return "[" + ", ".join(_format_python_call(call) for call in calls) + "]" if calls else ""
    if syntax == "json":
        return _json_text(_json_obj(calls[0]) if len(calls) == 1 else [_json_obj(call) for call in calls])
    if syntax == "hermes":
        return "\n".join(f"{_HERMES_OPEN}\n{_json_text(_json_obj(call))}\n{_HERMES_CLOSE}" for call in calls)
    if syntax == "react":
        return "\n".join(
            f"Action: {_react_name(call['name'])}\nAction Input: {_json_text(call['arguments'])}" for call in calls
        )
    raise ValueError(f"unknown call syntax {syntax!r}; expected one of {', '.join(SYNTAXES)}")


# ------------------------------------------------------------------------------ values, for the converters
# Source data writes calls and tool lists as JSON text (or Python literals); reading them here, with the
# same strict rules as model output, makes a record that would fail at scoring fail at convert time.


class ReadError(ValueError):
    """A value the strict readers refuse; the message is the one-line reason."""


def _reading(read, *args):
    try:
        return read(*args)
    except _Fail as failure:
        raise ReadError(str(failure)) from None
    except RecursionError:
        raise ReadError("nested too deeply") from None


def json_value_at(text: str, pos: int = 0) -> tuple[Any, int]:
    """The JSON value starting at ``pos`` (after blanks) and the index after it, read strictly: NaN and
    Infinity, and an object repeating a key, are a ReadError (``json`` keeps the last value silently)."""
    return _reading(_json_value, text, _WHITESPACE.match(text, pos).end(), "")


def read_json(text: str) -> Any:
    """The one JSON value ``text`` holds, read strictly (``json_value_at``); text after it is an error."""
    value, end = json_value_at(text)
    if _WHITESPACE.match(text, end).end() != len(text):
        raise ReadError(f"text after the JSON value at column {end + 1}")
    return value


def _literal_at(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _json_value(text, pos, "")
    except _Fail as json_failure:
        if not text.startswith(("{", "["), pos):
            raise
        try:
            end = _bracket_end(text, pos)
            value = _literal(_parse_expression(text[pos:end]), "value")
        except _Fail:
            raise json_failure from None
        return value, end


def literal_at(text: str, pos: int = 0) -> tuple[Any, int]:
    """A JSON value at ``pos``, or else a Python dict or list literal (Hermes and ToolACE data write
    ``{'name': 'f'}``), under the literal rules of this module; the value and the index after it."""
    return _reading(_literal_at, text, _WHITESPACE.match(text, pos).end())


def read_literal(text: str) -> Any:
    """The one JSON value or Python literal ``text`` holds (``literal_at``); text after it is an error."""
    value, end = literal_at(text)
    if _WHITESPACE.match(text, end).end() != len(text):
        raise ReadError(f"text after the value at column {end + 1}")
    return value


def read_arguments(value: Any) -> dict:
    """Call arguments given as a JSON object or as JSON text (OpenAI's ``arguments``) -> a dict; empty
    text is no arguments.  A dict from a strictly read file passes through."""
    if isinstance(value, str):
        value = _reading(_json_string_arguments, value, "the call")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReadError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def read_call(value: Any) -> dict:
    """A call object as sources write it -- ``{"name", "arguments"}`` (``parameters`` accepted), an OpenAI
    ``tool_calls`` entry, arguments as an object or JSON text -- or JSON text of one -> a call."""
    if isinstance(value, str):
        value = read_json(value)
    return _reading(_json_call, value)
