"""The canonical record (DESIGN.md §2): one trajectory or evaluation case in Hugging Face chat form.

Records stay plain dicts so they feed ``apply_chat_template`` and ``datasets`` directly; this module
validates them and offers the few accessors every stage needs.  A call, wherever it appears outside a
message, is ``{"name": str, "arguments": dict}``.
"""

from __future__ import annotations

from typing import Any, Iterator

ROLES = ("system", "user", "assistant", "tool")


class RecordError(ValueError):
    """A record that breaks the contract; ``where`` names the file and line, ``field`` the bad field."""

    def __init__(self, message: str, field: str = "", where: str = ""):
        self.message, self.field, self.where = message, field, where
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [p for p in (self.where, self.field and f"field {self.field}") if p]
        return f"{': '.join(parts)}: {self.message}" if parts else self.message

    def located(self, where: str) -> "RecordError":
        """The same error, placed at ``where`` (for example ``data.jsonl:17``)."""
        return RecordError(self.message, self.field, where)


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


def _require(cond: bool, message: str, field: str) -> None:
    if not cond:
        raise RecordError(message, field)


def validate_call(call: Any, field: str) -> None:
    _require(isinstance(call, dict), "a call must be an object", field)
    _require(isinstance(call.get("name"), str) and call["name"] != "", "a call needs a non-empty string name", f"{field}.name")
    _require(isinstance(call.get("arguments", {}), dict), "arguments must be a JSON object, not a string", f"{field}.arguments")


def validate_tool(tool: Any, field: str) -> None:
    _require(isinstance(tool, dict) and isinstance(tool.get("function"), dict), 'a tool is {"type": "function", "function": {...}}', field)
    function = tool["function"]
    _require(isinstance(function.get("name"), str) and function["name"] != "", "a tool needs a non-empty string name", f"{field}.function.name")
    params = function.get("parameters", {})
    _require(isinstance(params, dict), "parameters must be a JSON schema object", f"{field}.function.parameters")
    _require(isinstance(params.get("properties", {}), dict), "parameters.properties must be an object", f"{field}.function.parameters.properties")


def validate_message(message: Any, field: str) -> None:
    _require(isinstance(message, dict), "a message must be an object", field)
    role = message.get("role")
    _require(role in ROLES, f"role must be one of {', '.join(ROLES)}, got {role!r}", f"{field}.role")
    content = message.get("content")
    _require(content is None or isinstance(content, str), "content must be a string", f"{field}.content")
    calls = message.get("tool_calls")
    if calls is not None:
        _require(role == "assistant", "only assistant messages carry tool_calls", f"{field}.tool_calls")
        _require(isinstance(calls, list), "tool_calls must be a list", f"{field}.tool_calls")
        for j, tool_call in enumerate(calls):
            where = f"{field}.tool_calls[{j}]"
            _require(isinstance(tool_call, dict) and isinstance(tool_call.get("function"), dict), 'a tool call is {"type": "function", "function": {...}}', where)
            validate_call(tool_call["function"], f"{where}.function")
    if "train" in message:
        _require(isinstance(message["train"], bool), "train must be true or false", f"{field}.train")


def validate_gold(gold: Any) -> None:
    _require(isinstance(gold, list) and gold != [], "gold is a non-empty list of acceptable answers", "gold")
    for i, answer in enumerate(gold):
        _require(isinstance(answer, list), "each acceptable answer is a list of calls", f"gold[{i}]")
        for j, call in enumerate(answer):
            validate_call(call, f"gold[{i}][{j}]")


def validate_record(record: Any) -> dict[str, Any]:
    """Check a record against DESIGN.md §2 and return it; raise RecordError naming the bad field."""
    _require(isinstance(record, dict), "a record must be a JSON object", "")
    _require(isinstance(record.get("id"), str) and record["id"] != "", "a record needs a non-empty string id", "id")
    tools = record.get("tools", [])
    _require(isinstance(tools, list), "tools must be a list", "tools")
    for i, tool in enumerate(tools):
        validate_tool(tool, f"tools[{i}]")
    messages = record.get("messages")
    _require(isinstance(messages, list) and messages != [], "messages must be a non-empty list", "messages")
    for i, message in enumerate(messages):
        validate_message(message, f"messages[{i}]")
    if "gold" in record:
        validate_gold(record["gold"])
    _require(isinstance(record.get("meta", {}), dict), "meta must be an object", "meta")
    return record
