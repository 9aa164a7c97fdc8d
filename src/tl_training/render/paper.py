"""The TL-CodeLLaMA-2 prompt format (docs/method.md, the prompt format)."""

from __future__ import annotations

from typing import Any

from ..calls import format_calls
from ..errors import RecordError
from ..record import is_trained, message_calls, validate_record
from .layout import Layout
from .spans import Rendered, Renderer, TurnSpan, locate_calls


def _bos_text(tokenizer) -> str:
    """The BOS token text when the tokenizer adds one by default (texts are tokenized without it)."""
    if tokenizer is None or tokenizer.bos_token is None:
        return ""
    ids = tokenizer("x", add_special_tokens=True)["input_ids"]
    return tokenizer.bos_token if ids and ids[0] == tokenizer.bos_token_id else ""


PAPER_ROLES = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Output"}
PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}

# The paper adds these two to every tool list; the descriptions are the authors' (their README's example).
BUILTIN_TOOLS = [
    {"type": "function", "function": {
        "name": "ask_to_user",
        "description": "You can ask user for guidance when you think you need more information to handle the task, "
                       "but you should use this tool as less as you can.",
        "parameters": {"type": "object", "required": ["question"], "properties": {
            "question": {"type": "string", "description": "The question you want to ask to user."}}}}},
    {"type": "function", "function": {
        "name": "finish",
        "description": "Finish the task and give your answer.",
        "parameters": {"type": "object", "required": ["answer"], "properties": {
            "answer": {"type": "string", "description": "Your answer for the task."}}}}},
]


def _py_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the first non-null type names it
        kind = next((k for k in kind if k != "null"), None)
    return PY_TYPES.get(kind, kind) if isinstance(kind, str) else "Any"


def function_block(function: dict[str, Any]) -> str:
    """One tool as a ``Function:`` block: a Python signature (required parameters first, optional ones
    ``= None``) and a docstring with the description and one ``Args`` line per parameter."""
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    required = [p for p in properties if p in set(params.get("required") or [])]
    optional = [p for p in properties if p not in required]
    signature = [f"{p}: {_py_type(properties[p])}" for p in required]
    signature += [f"{p}: {_py_type(properties[p])} = None" for p in optional]
    doc = ['    """']
    description = (function.get("description") or "").strip()
    if description:
        doc += ["    " + line if line else "" for line in description.split("\n")]
    if properties:
        doc += ([""] if description else []) + ["    Args:"]
        for p in required + optional:
            line = f"    {p} ({_py_type(properties[p])}): {(properties[p].get('description') or '').strip()}"
            doc.append(line.rstrip())
    doc.append('    """')
    return "Function:\n" + f"def {function['name']}({', '.join(signature)}):\n" + "\n".join(doc)


class PaperRenderer(Renderer):
    """The TL-CodeLLaMA-2 format.

    * System message: the record's own system content first (when it has one, at index 0), then the tool
      blocks, all joined by a blank line.  With ``add_builtin_tools`` (default) ``ask_to_user`` and
      ``finish`` are appended unless the record's tools already have a tool of that name.
    * An assistant turn is ``" " + body + eos`` after the ``"Assistant:"`` header: body is the content
      (thought), then on its own line the calls as ``format_calls(calls, "python")``.
    * ``eos`` is the tokenizer's EOS text (CodeLlama ``</s>``), empty without a tokenizer; BOS is
      prepended when the tokenizer adds one by default.
    """

    name = "paper"
    call_syntax = "python"

    def __init__(self, tokenizer=None, add_builtin_tools: bool = True, layout: Layout | None = None):
        self.add_builtin_tools = add_builtin_tools
        self.layout = layout or Layout()
        self.eos = (tokenizer.eos_token or "") if tokenizer is not None else ""
        self.bos = _bos_text(tokenizer)
        self.stop_strings = ["\nOutput:", "\nUser:"] + ([self.eos] if self.eos else [])

    def candidate_tools(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        tools = list(record.get("tools") or [])
        if self.add_builtin_tools:
            names = {t["function"]["name"] for t in tools}
            tools += [t for t in BUILTIN_TOOLS if t["function"]["name"] not in names]
        return tools

    def system_text(self, record: dict[str, Any]) -> str:
        tools = self.candidate_tools(record)
        messages = record["messages"]
        own = (messages[0].get("content") or "") if messages[0]["role"] == "system" else ""
        return "\n\n".join([own] * bool(own) + [function_block(t["function"]) for t in tools])

    def render_completion(self, calls: list[dict[str, Any]], content: str = "") -> str:
        body = "\n".join(part for part in (content, format_calls(calls, "python") if calls else "") if part)
        return " " + body + self.eos

    def _completion_of(self, message: dict[str, Any], index: int) -> str:
        try:
            return self.render_completion(message_calls(message), message.get("content") or "")
        except ValueError as exc:  # a name or value that Python call syntax cannot write
            raise RecordError(str(exc), f"messages[{index}].tool_calls") from exc

    def _lines(self, record: dict[str, Any], upto: int) -> list[tuple[int, str, str]]:
        """(message index, role header, rest) of each line up to message ``upto``; index -1 is the
        system line made for the tools when the record has no system message."""
        messages = record["messages"]
        system = self.system_text(record)
        lines = [] if messages[0]["role"] == "system" or not system else [(-1, "System:", " " + system)]
        for i, message in enumerate(messages[:upto]):
            header = PAPER_ROLES[message["role"]] + ":"
            if i == 0 and message["role"] == "system":
                rest = " " + system
            elif message["role"] == "assistant":
                rest = self._completion_of(message, i)
            else:
                rest = " " + (message.get("content") or "")
            lines.append((i, header, rest))
        return lines

    def render_prompt(self, record: dict[str, Any], upto: int | None = None) -> str:
        record = self.layout.apply(record, self.call_syntax)
        upto = len(record["messages"]) if upto is None else upto
        lines = self._lines(record, upto)
        return self.bos + "\n".join(h + r for _, h, r in lines) + ("\n" if lines else "") + "Assistant:"

    def render(self, record: dict[str, Any]) -> Rendered:
        validate_record(record)
        record = self.layout.apply(record, self.call_syntax)
        messages = record["messages"]
        text, turns = self.bos, []
        for n, (i, header, rest) in enumerate(self._lines(record, len(messages))):
            text += ("\n" if n else "") + header
            start = len(text)
            text += rest
            if i >= 0 and messages[i]["role"] == "assistant":
                turns.append((i, (start, len(text))))
        return Rendered(text, tuple(self._turn(text, messages, i, span) for i, span in turns))

    def _turn(self, text: str, messages: list[dict[str, Any]], i: int, span: tuple[int, int]) -> TurnSpan:
        content = messages[i].get("content") or ""
        calls = locate_calls(text, span, message_calls(messages[i]), content, f"messages[{i}]")
        return TurnSpan(i, span, is_trained(messages[i]), calls)


