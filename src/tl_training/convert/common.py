"""What the converters share: reading source files, turning one source item into a validated record or a
counted rejection, tool specs in OpenAI form, and the notes that are neither a write nor a rejection."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..jsonl import Tally
from ..record import RecordError, openai_tool_call, validate_record


@dataclass
class ConvertTally(Tally):
    """A tally that also keeps notes: source records merged or set aside for a reason other than a defect
    (per-turn records folded into their trajectory, ...), so that read = written + rejected + noted."""

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


def load_json(path: Path) -> Any:
    """A whole JSON file; invalid JSON is a RecordError naming file, line and column."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not valid JSON: {exc.msg} (column {exc.colno})", where=f"{path}:{exc.lineno}") from None
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None


def load_json_list(path: Path) -> list[Any]:
    data = load_json(path)
    if not isinstance(data, list):
        raise RecordError(f"expected a JSON list of items, got {type(data).__name__}", where=str(path))
    return data


def iter_items(path: Path) -> Iterator[tuple[str, Any | RecordError]]:
    """Items of a JSON-list file or a JSONL file, each with where it sits (``file:index N`` or ``file:line``).
    A JSONL line that is not JSON comes as a RecordError so the caller counts it like any other defect."""
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip()
    if head.startswith(b"["):
        for index, item in enumerate(load_json_list(path)):
            yield f"{path}:index {index}", item
        return
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{lineno}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"{path}:{lineno}", RecordError(f"not valid JSON ({exc.msg}, column {exc.colno})")


def item_or_fail(item: Any) -> Any:
    if isinstance(item, RecordError):
        raise item
    return item


def parse_json_arguments(text: Any, field: str) -> dict[str, Any]:
    """Call arguments given as a JSON string (or already a dict) -> dict."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        fail(f"arguments must be a JSON object or a JSON string, got {type(text).__name__}", field)
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"arguments are not valid JSON ({exc.msg}): {text[:80]!r}", field)
    if not isinstance(value, dict):
        fail(f"arguments must be a JSON object, got {type(value).__name__}", field)
    return value


# -------------------------------------------------------------------------------------------------- tools


def openai_tool(spec: Any, field: str = "tools") -> dict[str, Any]:
    """A tool spec as a bare function dict or already in OpenAI form -> ``{"type": "function", "function": ...}``."""
    if not isinstance(spec, dict):
        fail("a tool spec must be an object", field)
    function = spec["function"] if isinstance(spec.get("function"), dict) else spec
    if not isinstance(function.get("name"), str) or not function["name"]:
        fail("a tool spec needs a name", field)
    result = {"name": function["name"], "description": function.get("description") or ""}
    result["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
    return {"type": "function", "function": result}


def assistant_message(content: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [openai_tool_call(call) for call in calls]
    return message


def tool_message(name: str | None, content: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "tool", "content": content}
    if name:
        message["name"] = name
    return message


def last_call_name(messages: list[dict[str, Any]]) -> str | None:
    """The name of the latest call, to name the tool message that answers it."""
    for message in reversed(messages):
        if message.get("tool_calls"):
            return message["tool_calls"][-1]["function"]["name"]
        if message["role"] == "assistant":
            return None
    return None


def case_id(fmt: str, path: Path, index: int) -> str:
    """Evaluation-case ids are ``<format>/<file stem>/<0-based index>`` so outside tools can refer to them."""
    return f"{fmt}/{path.stem}/{index}"
