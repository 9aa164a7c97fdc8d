"""Hugging Face chat templates with ``tools=``, natively or with the documented fallback."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ..calls import format_calls, parse_calls
from ..errors import RecordError
from ..record import is_trained, message_calls, openai_tool_call, validate_record
from .layout import Layout
from .spans import Rendered, Renderer, TurnSpan, locate_calls

log = logging.getLogger(__name__)


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
_PROBE_THOUGHT = "probe_thought_h8d"
_CALL_SYNTAXES = ("hermes", "json", "python")


@dataclass(frozen=True)
class TemplateSupport:
    """What a chat template does with tools, found once per template by rendering probes."""

    fallback_reason: str | None  # None: tools and calls render natively
    call_syntax: str
    tool_role: bool  # whether the template renders a "tool" message (used by the fallback)
    drops_thought: bool  # the content of an assistant message with calls is not rendered (Llama 3.1)
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
        raise ValueError("the chat template renders the conversation before an assistant turn differently once "
                         "the turn is added (not prefix-preserving): its turns cannot be given spans")
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
        drops_thought = False
        if reason is None:
            turn = _completion(tokenizer, {"role": "assistant", "content": _PROBE_THOUGHT,
                                           "tool_calls": [openai_tool_call(_PROBE_CALL)]})
            marker, drops_thought = _end_marker(tokenizer, turn), _PROBE_THOUGHT not in turn
            if drops_thought:
                log.warning("chat template of %s drops the content (thought) of assistant messages that carry "
                            "tool calls: such thoughts are neither trained on nor shown in later prompts",
                            tokenizer.name_or_path or type(tokenizer).__name__)
        else:
            syntax = "hermes"
            marker = _end_marker(tokenizer, _completion(tokenizer, {"role": "assistant", "content": "x"}))
            log.warning("chat template of %s: using the chat-fallback renderer (tools as JSON in the system "
                        "message, calls as <tool_call> JSON) because %s",
                        tokenizer.name_or_path or type(tokenizer).__name__, reason)
        _SUPPORT_CACHE[key] = TemplateSupport(reason, syntax, tool_role, drops_thought, marker)
    return _SUPPORT_CACHE[key]


def chat_renderer(tokenizer, layout: Layout | None = None, **options) -> "ChatRenderer":
    if options:
        raise ValueError(f"prompt format 'chat' takes no options but the layout, got {sorted(options)}")
    if not tokenizer.chat_template:
        raise ValueError("the tokenizer has no chat template: use prompt format 'paper' or a tokenizer that has one")
    return ChatRenderer(tokenizer, template_support(tokenizer), layout)


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

    def __init__(self, tokenizer, support: TemplateSupport, layout: Layout | None = None):
        self.tokenizer, self.support, self.layout = tokenizer, support, layout or Layout()
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
        messages = []
        for i, message in enumerate(record["messages"]):
            try:
                messages.append(self._message(message))
            except ValueError as exc:  # a call JSON cannot write (NaN, ...)
                raise RecordError(str(exc), f"messages[{i}].tool_calls") from exc
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

    def _apply_or_blame(self, messages, shift: int, tools) -> str:
        """The whole conversation; when the template refuses it, the error names the first message
        whose addition it refuses (found by rendering growing prefixes, only on failure)."""
        try:
            return self._apply(messages, tools, False, "messages")
        except RecordError as failure:
            for upto in range(shift + 1, len(messages)):
                self._apply(messages[:upto], tools, False, f"messages[{upto - 1 - shift}]")
            raise RecordError(failure.message, f"messages[{len(messages) - 1 - shift}]") from failure

    # -- the interface

    def render_prompt(self, record: dict[str, Any], upto: int | None = None) -> str:
        record = self.layout.apply(record, self.call_syntax)
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
        record = self.layout.apply(record, self.call_syntax)
        messages, shift, tools = self._conversation(record)
        text = self._apply_or_blame(messages, shift, tools)
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
