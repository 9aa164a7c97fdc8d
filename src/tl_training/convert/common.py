"""What the converters share: reading source files strictly, turning one source item into a validated
record or a counted rejection, building messages, and the notes that are neither a write nor a rejection."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..calls import ReadError, json_value_at, literal_at, read_arguments, read_call, read_json
from ..errors import RecordError
from ..jsonl import Tally
from ..record import openai_tool_call, validate_record

_BLANKS = re.compile(r"\s*")


@dataclass
class ConvertTally(Tally):
    """A tally that also keeps notes: what is neither a write nor a rejection.  Source records merged into
    another (per-turn records folded into their trajectory: read = written + rejected + folded), and
    repairs made to a record that is kept (a ``$ref`` cycle cut, a malformed gold repaired)."""

    notes: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        lines = [super().summary()]
        lines.extend(f"  note {count}: {text}" for text, count in self.notes.items())
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "notes": dict(self.notes)}


def note(tally: Tally, text: str, count: int = 1) -> None:
    if isinstance(tally, ConvertTally) and count:
        tally.notes[text] += count


def build_one(tally: Tally, strict: bool, where: str, build: Callable[[], dict[str, Any] | None],
              count_read: bool = True) -> dict[str, Any] | None:
    """Count one source item as read and build its record; a defect (RecordError) stops the run when
    ``strict`` and is otherwise counted under its reason, naming ``where`` (file:line or file:index)."""
    if count_read:
        tally.read += 1
    try:
        record = build()
        return validate_record(record) if record is not None else None
    except RecordError as exc:
        reject(tally, strict, where, exc)
        return None


def reject(tally: Tally, strict: bool, where: str, exc: RecordError) -> None:
    located = exc if exc.where else exc.located(where)
    if strict:
        raise located from None
    tally.reject(reason_of(exc), str(located))


def reason_of(exc: RecordError) -> str:
    """The reason a rejection is counted under: indices and quoted source text left out, so that the same
    defect in many records counts as one reason (the examples keep the details)."""
    message = re.sub(r":\s*['\"].*\Z", "", exc.message, flags=re.DOTALL)
    message = re.sub(r"\s*(at )?line \d+ column \d+( \(char \d+\))?", "", message)
    field = re.sub(r"\[\d+\]", "[*]", exc.field)
    return f"{field}: {message}" if field else message


def fail(message: str, field: str = "") -> None:
    raise RecordError(message, field)


# ------------------------------------------------------------------------------------------------- reading
# Every JSON text of a source goes through the strict readers of ``calls`` (NaN and repeated keys are
# defects), so a record that scoring or rendering would refuse is refused here, where its file and line
# are known.

_LENIENT = json.JSONDecoder(strict=False)  # only to find where a refused item ends, so reading goes on


def load_json(path: Path) -> Any:
    """A whole JSON file, read strictly; a defect is a RecordError naming the file (and line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    try:
        return read_json(text)
    except ReadError as exc:
        raise RecordError(f"not valid JSON: {exc}", where=str(path)) from None


def load_json_list(path: Path) -> list[Any]:
    data = load_json(path)
    if not isinstance(data, list):
        raise RecordError(f"expected a JSON list of items, got {type(data).__name__}", where=str(path))
    return data


def _list_items(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """The items of a JSON-list text one by one, each with ``file:line (index N)``; an item the strict
    reader refuses comes as a RecordError and the reading goes on after it."""
    pos, line, counted = text.index("[") + 1, 1, 0
    for index in itertools.count():
        pos = _BLANKS.match(text, pos).end()
        line, counted = line + text.count("\n", counted, pos), pos
        where = f"{path}:{line} (index {index})"
        if text.startswith("]", pos) and index == 0:
            return
        try:
            item, end = json_value_at(text, pos)
        except ReadError as exc:
            try:
                _, end = _LENIENT.raw_decode(text, pos)
            except json.JSONDecodeError as syntax:
                raise RecordError(f"not valid JSON: {syntax.msg} (column {syntax.colno})",
                                  where=f"{path}:{syntax.lineno}") from None
            item = RecordError(str(exc))
        yield where, item
        pos = _BLANKS.match(text, end).end()
        if text.startswith("]", pos):
            return
        if not text.startswith(",", pos):
            raise RecordError("not valid JSON: expected ',' or ']' after an item",
                              where=f"{path}:{line + text.count(chr(10), counted, pos)}")
        pos += 1


def iter_items(path: Path) -> Iterator[tuple[str, Any | RecordError]]:
    """Items of a JSON-list file or a JSONL file, each with where it sits (``file:line (index N)`` or
    ``file:line``).  An item that is not strict JSON comes as a RecordError so the caller counts it like
    any other defect."""
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RecordError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
        yield from _list_items(path, text)
        return
    with open(path, encoding="utf-8-sig") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{lineno}", read_json(line)
            except ReadError as exc:
                yield f"{path}:{lineno}", RecordError(f"not valid JSON: {exc}")


def item_or_fail(item: Any) -> Any:
    if isinstance(item, RecordError):
        raise item
    return item


def parse_json_arguments(value: Any, field: str) -> dict[str, Any]:
    """Call arguments given as a JSON string (or already a dict) -> dict, read by ``calls``."""
    try:
        return read_arguments(value)
    except ReadError as exc:
        fail(f"arguments are not valid: {exc}", field)


def parse_call(value: Any, field: str) -> dict[str, Any]:
    """A ``{"name", "arguments"}`` object (or JSON text of one) -> a call, read by ``calls``."""
    try:
        return read_call(value)
    except ReadError as exc:
        fail(f"not a call: {exc}", field)


def parse_json(text: Any, field: str, what: str) -> Any:
    """A JSON-text field of a source (``tools``, ``messages``) -> its value; a value already parsed
    passes through."""
    if not isinstance(text, str):
        return text
    try:
        return read_json(text)
    except ReadError as exc:
        fail(f"{what} is not valid JSON ({exc})", field)


def cut_value(text: str, start: int, field: str, what: str) -> tuple[Any, str]:
    """The JSON value or Python literal at ``start`` in ``text`` (a tool list inside a system prompt), and
    the text with it cut out."""
    try:
        value, end = literal_at(text, start)
    except ReadError as exc:
        fail(f"{what} is not valid JSON ({exc})", field)
    return value, (text[:start].rstrip() + "\n\n" + text[end:].lstrip()).strip()


# -------------------------------------------------------------------------------------------- messages


def assistant_message(content: str, calls: list[dict[str, Any]], ids: list[str | None] | None = None) -> dict[str, Any]:
    """An assistant turn; its calls keep the source's call ids when it gives them (``tool_call_id``s of
    the answering tool messages pair results with calls, MAE reads them)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [openai_tool_call(call) for call in calls]
        for tool_call, call_id in zip(message["tool_calls"], ids or []):
            if call_id:
                tool_call["id"] = call_id
    return message


def tool_message(name: str | None, content: str, call_id: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "tool", "content": content}
    if name:
        message["name"] = name
    if call_id:
        message["tool_call_id"] = call_id
    return message


def last_call_name(messages: list[dict[str, Any]]) -> str | None:
    """The name of the latest call, to name the tool message that answers it."""
    for message in reversed(messages):
        if message.get("tool_calls"):
            return message["tool_calls"][-1]["function"]["name"]
        if message["role"] == "assistant":
            return None
    return None


def answered_call(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``tool_calls`` entry that the next tool message answers: after a turn with k calls, the k
    tool messages that follow answer them in order.  None when no call waits for its result."""
    results = 0
    for message in reversed(messages):
        if message["role"] == "tool":
            results += 1
            continue
        calls = message.get("tool_calls") or [] if message["role"] == "assistant" else []
        return calls[results] if results < len(calls) else None
    return None


def case_id(fmt: str, path: Path, index: int) -> str:
    """Evaluation-case ids are ``<format>/<file stem>/<0-based index>`` so outside tools can refer to them."""
    return f"{fmt}/{path.stem}/{index}"
