"""The one renderer: a record -> the text a model sees, plus the character spans every stage needs.

Two formats (``get_renderer``):

* ``"paper"`` -- the TL-CodeLLaMA-2 format (docs/method.md, the prompt format): a ``System:`` message holding
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

from .chat import FALLBACK_TOOLS_PROMPT, ChatRenderer, chat_renderer, template_support
from .layout import INSTRUCTION_CHOICES, THOUGHT_CHOICES, Layout
from .paper import BUILTIN_TOOLS, PaperRenderer, function_block
from .spans import CallSpan, Rendered, Renderer, TurnSpan, locate_calls

__all__ = [
    "BUILTIN_TOOLS", "FALLBACK_TOOLS_PROMPT", "INSTRUCTION_CHOICES", "THOUGHT_CHOICES", "CallSpan", "ChatRenderer",
    "Layout", "PaperRenderer", "Rendered", "Renderer", "TurnSpan", "chat_renderer", "function_block", "get_renderer",
    "locate_calls", "template_support",
]


def get_renderer(prompt_format: str, tokenizer=None, layout: Layout | None = None, **options) -> Renderer:
    """``"paper"`` (tokenizer optional: it supplies BOS and EOS) or ``"chat"`` (tokenizer required).

    ``layout`` says what of each record the prompt shows (``layout.py``: the source's instruction, the
    thoughts); ``options`` go to the format: ``add_builtin_tools`` (paper, default True).
    """
    if prompt_format == "paper":
        return PaperRenderer(tokenizer, layout=layout, **options)
    if prompt_format == "chat":
        if tokenizer is None:
            raise ValueError("prompt format 'chat' needs a tokenizer with a chat template")
        return chat_renderer(tokenizer, layout, **options)
    raise ValueError(f"unknown prompt format {prompt_format!r}: expected 'paper' or 'chat'")


