"""The canonical record (README, The record): one trajectory or evaluation case in Hugging Face chat form.

Records stay plain dicts so they feed ``apply_chat_template`` and ``datasets`` directly; this module
validates them and offers the few accessors every stage needs.  A call, wherever it appears outside a
message, is ``{"name": str, "arguments": dict}``.
"""

from __future__ import annotations

from typing import Any, Iterator

from .errors import RecordError

ROLES = ("system", "user", "assistant", "tool")


# ---------------------------------------------------------------------------------------------- accessors


def make_call(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "arguments": dict(arguments or {})}


def openai_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    """A call as it sits in an assistant message's ``tool_calls``."""
    return {"type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}


def message_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls of an assistant message as ``{"name", "arguments"}`` dicts (empty when it has none)."""
    return [
        {"name": tc["function"]["name"], "arguments": tc["function"].get("arguments") or {}}
        for tc in message.get("tool_calls") or []
    ]


def tool_names(record: dict[str, Any]) -> list[str]:
    """Names of the candidate tools of a record, in order."""
    return [t["function"]["name"] for t in record.get("tools") or []]


def tool_schema(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The ``function`` entry (name, description, parameters) of the named tool, or None."""
    for tool in record.get("tools") or []:
        if tool["function"]["name"] == name:
            return tool["function"]
    return None


def is_trained(message: dict[str, Any]) -> bool:
    """Whether an assistant message contributes to the loss (MAE sets ``train: false``)."""
    return message.get("role") == "assistant" and message.get("train", True) is not False


def first_user_query(record: dict[str, Any]) -> str | None:
    for message in record.get("messages", []):
        if message.get("role") == "user":
            return message.get("content") or ""
    return None


def iter_assistant(record: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, message in enumerate(record.get("messages", [])):
        if message.get("role") == "assistant":
            yield index, message


# --------------------------------------------------------------------------------------------- validation


# Field names are formatted only when a check fails: validation runs on every record of multi-GB files.


def validate_call(call: Any, field: str) -> None:
    if not isinstance(call, dict):
        raise RecordError("a call must be an object", field)
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise RecordError("a call needs a non-empty string name", f"{field}.name")
    if not isinstance(call.get("arguments", {}), dict):
        raise RecordError("arguments must be a JSON object, not a string", f"{field}.arguments")


def validate_tool(tool: Any, field: str) -> None:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict):
        raise RecordError('a tool is {"type": "function", "function": {...}}', field)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise RecordError("a tool needs a non-empty string name", f"{field}.function.name")
    params = function.get("parameters", {})
    if not isinstance(params, dict):
        raise RecordError("parameters must be a JSON schema object", f"{field}.function.parameters")
    if not isinstance(params.get("properties", {}), dict):
        raise RecordError("parameters.properties must be an object", f"{field}.function.parameters.properties")


def validate_message(message: Any, field: str) -> None:
    if not isinstance(message, dict):
        raise RecordError("a message must be an object", field)
    role = message.get("role")
    if role not in ROLES:
        raise RecordError(f"role must be one of {', '.join(ROLES)}, got {role!r}", f"{field}.role")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise RecordError("content must be a string", f"{field}.content")
    calls = message.get("tool_calls")
    if calls is not None:
        if role != "assistant":
            raise RecordError("only assistant messages carry tool_calls", f"{field}.tool_calls")
        if not isinstance(calls, list):
            raise RecordError("tool_calls must be a list", f"{field}.tool_calls")
        for j, tool_call in enumerate(calls):
            function = tool_call.get("function") if isinstance(tool_call, dict) else None
            if not isinstance(function, dict):
                raise RecordError('a tool call is {"type": "function", "function": {...}}', f"{field}.tool_calls[{j}]")
            validate_call(function, f"{field}.tool_calls[{j}].function")
    if "train" in message and not isinstance(message["train"], bool):
        raise RecordError("train must be true or false", f"{field}.train")


def validate_gold(gold: Any) -> None:
    if not isinstance(gold, list) or not gold:
        raise RecordError("gold is a non-empty list of acceptable answers", "gold")
    for i, answer in enumerate(gold):
        if not isinstance(answer, list):
            raise RecordError("each acceptable answer is a list of calls", f"gold[{i}]")
        for j, call in enumerate(answer):
            validate_call(call, f"gold[{i}][{j}]")


def validate_record(record: Any) -> dict[str, Any]:
    """Check a record against the record format (README, The record) and return it; raise RecordError naming the bad field."""
    if not isinstance(record, dict):
        raise RecordError("a record must be a JSON object", "")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise RecordError("a record needs a non-empty string id", "id")
    tools = record.get("tools", [])
    if not isinstance(tools, list):
        raise RecordError("tools must be a list", "tools")
    for i, tool in enumerate(tools):
        validate_tool(tool, f"tools[{i}]")
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RecordError("messages must be a non-empty list", "messages")
    for i, message in enumerate(messages):
        validate_message(message, f"messages[{i}]")
    if "gold" in record:
        validate_gold(record["gold"])
    if not isinstance(record.get("meta", {}), dict):
        raise RecordError("meta must be an object", "meta")
    return record
