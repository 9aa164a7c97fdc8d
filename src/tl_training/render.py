"""The one renderer: a record -> the text a model sees, plus the character spans every stage needs.

Two formats (``get_renderer``):

* ``"paper"`` -- the TL-CodeLLaMA-2 format (METHOD.md "Prompt format"): a ``System:`` message holding
  one ``Function:`` docstring block per tool, then ``Role: content`` lines joined by ``"\\n"`` (roles
  System, User, Assistant, Output), generation prompt ``"\\nAssistant:"``, calls written as
  ``name(key='value')``.
* ``"chat"`` -- the tokenizer's own Hugging Face chat template with ``tools=``.  Many templates silently
  drop the tool list or the calls; for those the renderer becomes ``"chat-fallback"`` (see
  ``FALLBACK_TOOLS_PROMPT``) and logs one warning saying why.

Each rendering returns the text and, for every assistant turn, its span (what the model must write,
end-of-turn marker included, role header excluded), whether it is trained, and each call's tool-name and
argument spans.  Spans are located in the text itself and checked; a span that cannot be located
exactly raises instead of being guessed.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from .calls import format_calls, parse_calls
from .record import RecordError, is_trained, message_calls, openai_tool_call, validate_record

log = logging.getLogger(__name__)


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

    def render(self, record: dict[str, Any]) -> Rendered:
        raise NotImplementedError

    def render_prompt(self, record: dict[str, Any], upto: int | None = None) -> str:
        raise NotImplementedError

    def render_completion(self, calls: list[dict[str, Any]], content: str = "") -> str:
        raise NotImplementedError


def get_renderer(prompt_format: str, tokenizer=None, **options) -> Renderer:
    """``"paper"`` (tokenizer optional: it supplies BOS and EOS) or ``"chat"`` (tokenizer required).

    ``options`` go to the format: ``add_builtin_tools`` (paper, default True).
    """
    if prompt_format == "paper":
        return PaperRenderer(tokenizer, **options)
    if prompt_format == "chat":
        if tokenizer is None:
            raise ValueError("prompt format 'chat' needs a tokenizer with a chat template")
        return chat_renderer(tokenizer, **options)
    raise ValueError(f"unknown prompt format {prompt_format!r}: expected 'paper' or 'chat'")


# ------------------------------------------------------------------------------------ locating the calls

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


def _bos_text(tokenizer) -> str:
    """The BOS token text when the tokenizer adds one by default (texts are tokenized without it)."""
    if tokenizer is None or tokenizer.bos_token is None:
        return ""
    ids = tokenizer("x", add_special_tokens=True)["input_ids"]
    return tokenizer.bos_token if ids and ids[0] == tokenizer.bos_token_id else ""


# ------------------------------------------------------------------------------------------ paper format

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

    def __init__(self, tokenizer=None, add_builtin_tools: bool = True):
        self.add_builtin_tools = add_builtin_tools
        self.eos = (tokenizer.eos_token or "") if tokenizer is not None else ""
        self.bos = _bos_text(tokenizer)
        self.stop_strings = ["\nOutput:", "\nUser:"] + ([self.eos] if self.eos else [])

    def system_text(self, record: dict[str, Any]) -> str:
        tools = list(record.get("tools") or [])
        if self.add_builtin_tools:
            names = {t["function"]["name"] for t in tools}
            tools += [t for t in BUILTIN_TOOLS if t["function"]["name"] not in names]
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
        upto = len(record["messages"]) if upto is None else upto
        lines = self._lines(record, upto)
        return self.bos + "\n".join(h + r for _, h, r in lines) + ("\n" if lines else "") + "Assistant:"

    def render(self, record: dict[str, Any]) -> Rendered:
        validate_record(record)
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


# ------------------------------------------------------------------------------- Hugging Face chat templates

# The fallback's tool prompt (Qwen2.5's wording, which matches the Hermes ``<tool_call>`` syntax it asks
# for); it follows the record's own system content after a blank line.
FALLBACK_TOOLS_PROMPT = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)
_EXTRA_KEYS = ("train", "mae_reason")
_PROBE_TOOL = {"type": "function", "function": {
    "name": "probe_tool_q7x", "description": "probe_description_k2v",
    "parameters": {"type": "object", "required": ["probe_arg_m4z"],
                   "properties": {"probe_arg_m4z": {"type": "string", "description": "probe_param_j5w"}}}}}
_PROBE_CALL = {"name": "probe_tool_q7x", "arguments": {"probe_arg_m4z": "probe_value_w9r"}}
_PROBE_RESULT = "probe_result_c3n"
_CALL_SYNTAXES = ("hermes", "json", "python")


@dataclass(frozen=True)
class TemplateSupport:
    """What a chat template does with tools, found once per template by rendering probes."""

    fallback_reason: str | None  # None: tools and calls render natively
    call_syntax: str
    tool_role: bool  # whether the template renders a "tool" message (used by the fallback)
    end_marker: str  # the special token that closes an assistant turn ("" when none is found)


_SUPPORT_CACHE: dict[tuple, TemplateSupport] = {}


def _apply(tokenizer, messages: list[dict[str, Any]], tools=None, generation: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=False, add_generation_prompt=generation)


def _special_tokens(tokenizer) -> list[str]:
    tokens = set(tokenizer.all_special_tokens) | set(tokenizer.get_added_vocab())
    return sorted((t for t in tokens if t), key=len, reverse=True)


def _strip_special(tokenizer, text: str) -> str:
    """The text as a generation decodes with ``skip_special_tokens=True``."""
    for token in _special_tokens(tokenizer):
        text = text.replace(token, "")
    return text.strip()


def _end_marker(tokenizer, completion: str) -> str:
    """The special token an assistant turn ends with (trailing whitespace aside), else the EOS token."""
    tail = completion.rstrip()
    return next((t for t in _special_tokens(tokenizer) if tail.endswith(t)), tokenizer.eos_token or "")


def _completion(tokenizer, assistant: dict[str, Any]) -> str:
    """An assistant message as the template renders it after a one-message context."""
    context = [{"role": "user", "content": "x"}]
    prompt = _apply(tokenizer, context, generation=True)
    full = _apply(tokenizer, context + [assistant])
    if not full.startswith(prompt):
        raise ValueError("the chat template renders the conversation before an assistant turn differently once the turn is added")
    return full[len(prompt) :]


def _native_support(tokenizer) -> tuple[str | None, str]:
    """(why the template cannot be used natively or None, the call syntax it writes)."""
    from jinja2.exceptions import TemplateError
    from trl.chat_template_utils import supports_tool_calling

    if not supports_tool_calling(tokenizer):
        return "the chat template drops tool calls or tool results (trl supports_tool_calling is False)", ""
    try:
        rendered = _apply(tokenizer, [{"role": "user", "content": "hi"}], tools=[_PROBE_TOOL])
        turn = _completion(tokenizer, {"role": "assistant", "content": "", "tool_calls": [openai_tool_call(_PROBE_CALL)]})
    except (TemplateError, ValueError, TypeError) as exc:
        return f"the chat template fails on a tool conversation ({exc})", ""
    if not all(s in rendered for s in ("probe_tool_q7x", "probe_description_k2v", "probe_arg_m4z")):
        return "the chat template drops the tool list passed as tools=", ""
    generated = _strip_special(tokenizer, turn)
    for syntax in _CALL_SYNTAXES:
        if parse_calls(generated, syntax).calls == [_PROBE_CALL]:
            return None, syntax
    return f"the chat template writes calls as {generated!r}, which parse_calls cannot read back", ""


def template_support(tokenizer) -> TemplateSupport:
    """Probe (once per template and special-token set) whether the template renders tools and calls."""
    from jinja2.exceptions import TemplateError

    key = (str(tokenizer.chat_template), tokenizer.eos_token, tuple(_special_tokens(tokenizer)))
    if key not in _SUPPORT_CACHE:
        reason, syntax = _native_support(tokenizer)
        try:
            probe = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"},
                     {"role": "tool", "content": _PROBE_RESULT}]
            tool_role = _PROBE_RESULT in _apply(tokenizer, probe)
        except TemplateError:
            tool_role = False
        if reason is None:
            marker = _end_marker(tokenizer, _completion(tokenizer, {"role": "assistant", "content": "",
                                                                    "tool_calls": [openai_tool_call(_PROBE_CALL)]}))
        else:
            syntax = "hermes"
            marker = _end_marker(tokenizer, _completion(tokenizer, {"role": "assistant", "content": "x"}))
            log.warning("chat template of %s: using the chat-fallback renderer (tools as JSON in the system "
                        "message, calls as <tool_call> JSON) because %s",
                        tokenizer.name_or_path or type(tokenizer).__name__, reason)
        _SUPPORT_CACHE[key] = TemplateSupport(reason, syntax, tool_role, marker)
    return _SUPPORT_CACHE[key]


def chat_renderer(tokenizer, **options) -> "ChatRenderer":
    if options:
        raise ValueError(f"prompt format 'chat' takes no options, got {sorted(options)}")
    if not tokenizer.chat_template:
        raise ValueError("the tokenizer has no chat template: use prompt format 'paper' or a tokenizer that has one")
    return ChatRenderer(tokenizer, template_support(tokenizer))


class ChatRenderer(Renderer):
    """A Hugging Face chat template, natively (``"chat"``) or with the documented fallback
    (``"chat-fallback"``): the template still writes roles and turn markers, but the tools go into the
    system message as ``FALLBACK_TOOLS_PROMPT``, the calls into the assistant content as
    ``format_calls(calls, "hermes")`` after the thought, and tool results stay ``tool`` messages when the
    template renders that role, else become user messages wrapped in ``<tool_response>`` tags.

    Turn spans come from incremental renders: the prompt for messages[:i] (with generation prompt) must
    be a prefix of messages[:i+1], which must be a prefix of the whole conversation; templates that
    rewrite earlier turns are refused with an error naming the message.
    """

    def __init__(self, tokenizer, support: TemplateSupport):
        self.tokenizer, self.support = tokenizer, support
        self.name = "chat" if support.fallback_reason is None else "chat-fallback"
        self.call_syntax = support.call_syntax
        self.stop_strings = [support.end_marker] if support.end_marker else []

    # -- message conversion

    def _assistant(self, message: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in message.items() if k not in _EXTRA_KEYS and k != "tool_calls"}
        out["content"] = message.get("content") or ""
        calls = message_calls(message)
        if calls and self.support.fallback_reason is None:
            out["tool_calls"] = message["tool_calls"]
        elif calls:
            out["content"] = "\n".join(p for p in (out["content"], format_calls(calls, "hermes")) if p)
        return out

    def _message(self, message: dict[str, Any]) -> dict[str, Any]:
        if message["role"] == "assistant":
            return self._assistant(message)
        out = {k: v for k, v in message.items() if k not in _EXTRA_KEYS}
        out["content"] = message.get("content") or ""
        if message["role"] == "tool" and self.support.fallback_reason and not self.support.tool_role:
            return {"role": "user", "content": f"<tool_response>\n{out['content']}\n</tool_response>"}
        return out

    def _conversation(self, record: dict[str, Any]) -> tuple[list[dict[str, Any]], int, list | None]:
        """(template messages, how many were inserted before the record's, tools for ``tools=``)."""
        messages = [self._message(m) for m in record["messages"]]
        tools = record.get("tools") or None
        if self.support.fallback_reason is None or not tools:
            return messages, 0, tools
        listing = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
        prompt = FALLBACK_TOOLS_PROMPT.format(tools=listing)
        if messages[0]["role"] == "system":
            own = messages[0]["content"]
            messages[0] = {**messages[0], "content": f"{own}\n\n{prompt}" if own else prompt}
            return messages, 0, None
        return [{"role": "system", "content": prompt}] + messages, 1, None

    def _apply(self, messages, tools, generation: bool, where: str) -> str:
        from jinja2.exceptions import TemplateError

        try:
            return _apply(self.tokenizer, messages, tools, generation)
        except (TemplateError, TypeError) as exc:
            raise RecordError(f"the chat template cannot render this conversation: {exc}", where) from exc

    # -- the interface

    def render_prompt(self, record: dict[str, Any], upto: int | None = None) -> str:
        messages, shift, tools = self._conversation(record)
        upto = len(record["messages"]) if upto is None else upto
        return self._apply(messages[: upto + shift], tools, True, f"messages[:{upto}]")

    def render_completion(self, calls: list[dict[str, Any]], content: str = "") -> str:
        message = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [openai_tool_call(c) for c in calls]
        return _completion(self.tokenizer, self._assistant(message))

    def render(self, record: dict[str, Any]) -> Rendered:
        validate_record(record)
        messages, shift, tools = self._conversation(record)
        text = self._apply(messages, tools, False, "messages")
        turns = []
        for i, message in enumerate(record["messages"]):
            if message["role"] != "assistant":
                continue
            where = f"messages[{i}]"
            prompt = self._apply(messages[: i + shift], tools, True, where)
            upto_turn = self._apply(messages[: i + shift + 1], tools, False, where)
            if not upto_turn.startswith(prompt):
                raise RecordError("the chat template renders the conversation before this assistant turn "
                                  "differently once the turn is added (not prefix-preserving)", where)
            if not text.startswith(upto_turn):
                raise RecordError("the chat template renders this assistant turn differently when later "
                                  "messages follow (not prefix-preserving)", where)
            span = (len(prompt), len(upto_turn))
            calls = locate_calls(text, span, message_calls(message), message.get("content") or "", where)
            turns.append(TurnSpan(i, span, is_trained(message), calls))
        return Rendered(text, tuple(turns))
