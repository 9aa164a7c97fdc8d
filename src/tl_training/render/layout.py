"""What of a record a prompt shows: the source's own instruction text, and the thought before each call.

Both are choices of the data layout, not of the format, so every renderer applies them the same way
and SFT, RL and evaluation (which share the renderer) cannot drift apart:

* ``instruction`` -- the record's own system text.  ``keep`` renders it; ``drop`` leaves the system
  message with the tool list only (the authors' layout: tool blocks only); ``auto`` (default) drops it
  where the converter marked it as an instruction for another call syntax (``meta.instruction_syntax``,
  e.g. RoTBench's and ToolEyes' "Desired format: Thought / Action / Action Input", ``"react"``) than the
  one the renderer writes, because it would contradict the target, and keeps it otherwise.
* ``thoughts`` -- the text of an assistant turn that carries calls.  ``keep`` renders and trains it;
  ``drop`` renders the calls alone, in the history as in the trained turns (the authors' layout: an
  assistant turn holds only the call).  Turns without calls (a plain answer) always keep their text.

The message list keeps its length and order (an emptied system message stays, with no content), so
message indices -- which turn is trained, where a prompt stops -- mean the same with every layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INSTRUCTION_CHOICES = ("auto", "keep", "drop")
THOUGHT_CHOICES = ("keep", "drop")


@dataclass(frozen=True)
class Layout:
    instruction: str = "auto"
    thoughts: str = "keep"

    def __post_init__(self) -> None:
        if self.instruction not in INSTRUCTION_CHOICES:
            raise ValueError(f"field instruction: one of {', '.join(INSTRUCTION_CHOICES)}, got {self.instruction!r}")
        if self.thoughts not in THOUGHT_CHOICES:
            raise ValueError(f"field thoughts: one of {', '.join(THOUGHT_CHOICES)}, got {self.thoughts!r}")

    def drops_instruction(self, record: dict[str, Any], call_syntax: str) -> bool:
        if self.instruction != "auto":
            return self.instruction == "drop"
        written_for = (record.get("meta") or {}).get("instruction_syntax")
        return written_for is not None and written_for != call_syntax

    def apply(self, record: dict[str, Any], call_syntax: str) -> dict[str, Any]:
        """The record as the prompt shows it (a shallow copy when anything changes; the input is untouched)."""
        messages = record["messages"]
        drop_system = messages and messages[0].get("role") == "system" and messages[0].get("content") \
            and self.drops_instruction(record, call_syntax)
        drop_thoughts = self.thoughts == "drop"
        if not drop_system and not drop_thoughts:
            return record
        shown = []
        for index, message in enumerate(messages):
            if index == 0 and drop_system:
                message = {**message, "content": ""}
            elif drop_thoughts and message.get("role") == "assistant" and message.get("tool_calls") and message.get("content"):
                message = {**message, "content": ""}
            shown.append(message)
        return {**record, "messages": shown}
