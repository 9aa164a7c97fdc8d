"""What a rendering returns, the renderer interface, and locating each call's spans in the text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..calls import parse_calls
from ..errors import RecordError
from .layout import Layout


@dataclass(frozen=True)
class CallSpan:
    name: str
    name_span: tuple[int, int]
    args_span: tuple[int, int]


@dataclass(frozen=True)
class TurnSpan:
    message_index: int
    span: tuple[int, int]
    trained: bool
    calls: tuple[CallSpan, ...]


@dataclass(frozen=True)
class Rendered:
    text: str
    turns: tuple[TurnSpan, ...]  # assistant turns only, in message order


class Renderer:
    """Interface shared by the formats (docs/ARCHITECTURE.md, "Renderer")."""

    name: str
    call_syntax: str
    stop_strings: list[str]
    layout: Layout  # which of the record's instruction and thoughts the prompt shows (layout.py)

    def render(self, record: dict[str, Any]) -> Rendered:
        raise NotImplementedError

    def render_prompt(self, record: dict[str, Any], upto: int | None = None) -> str:
        raise NotImplementedError

    def render_completion(self, calls: list[dict[str, Any]], content: str = "") -> str:
        raise NotImplementedError

    def candidate_tools(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The tools the model sees in the prompt: the record's own, plus any the format adds to every prompt."""
        return list(record.get("tools") or [])


_IDENT = re.compile(r"[A-Za-z0-9_]")


def _find_name(text: str, name: str, start: int) -> int:
    """First occurrence of ``name`` at or after ``start`` that is a whole identifier, or -1."""
    at = text.find(name, start)
    while at >= 0:
        before = text[at - 1] if at > 0 else ""
        after = text[at + len(name)] if at + len(name) < len(text) else ""
        if not (before and (_IDENT.match(before) or before == ".")) and not (after and _IDENT.match(after)):
            return at
        at = text.find(name, at + 1)
    return -1


def _python_args_end(text: str, name: str, start: int, call: dict[str, Any]) -> int:
    """End of the ``(...)`` argument list starting at ``start`` that parses back to ``call``, or -1."""
    close = text.find(")", start)
    while close >= 0:
        parsed = parse_calls(name + text[start : close + 1], "python")
        if parsed.error is None and parsed.calls == [call]:
            return close + 1
        close = text.find(")", close + 1)
    return -1


def _json_args_span(text: str, start: int, arguments: dict[str, Any]) -> tuple[int, int] | None:
    """The first JSON object at or after ``start`` equal to ``arguments``."""
    decoder = json.JSONDecoder()
    at = text.find("{", start)
    while at >= 0:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            value, end = None, at
        if isinstance(value, dict) and value == arguments:
            return at, end
        at = text.find("{", at + 1)
    return None


def locate_calls(text: str, span: tuple[int, int], calls: list[dict[str, Any]], content: str, where: str) -> tuple[CallSpan, ...]:
    """Spans of each call's name and arguments inside ``text[span]``, searched in order.

    The content (thought) is skipped first so that a tool named in it is not taken for the call.  A name
    followed by ``(`` is a Python-style call, whose argument span is the parenthesised list; otherwise the
    arguments are the first JSON object after the name equal to the call's arguments.
    """
    start, end = span
    turn = text[:end]
    cursor = start
    if content:
        at = turn.find(content, cursor)
        if at >= 0:
            cursor = at + len(content)
    located = []
    for k, call in enumerate(calls):
        name, arguments = call["name"], call["arguments"]
        at = _find_name(turn, name, cursor)
        if at < 0:
            raise RecordError(f"the rendered turn does not contain the name of call {k} ({name!r})", where)
        args_start = at + len(name)
        if turn.startswith("(", args_start):
            args_end = _python_args_end(turn, name, args_start, {"name": name, "arguments": arguments})
            args = (args_start, args_end) if args_end >= 0 else None
        else:
            args = _json_args_span(turn, args_start, arguments)
        if args is None:
            raise RecordError(f"the arguments of call {k} ({name!r}) are not rendered after its name", where)
        located.append(CallSpan(name, (at, at + len(name)), args))
        cursor = args[1]
    return tuple(located)


