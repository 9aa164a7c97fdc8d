"""Mark adverse assistant turns of a record: ``train: false`` and ``mae_reason``, kept in the context.

A turn (one assistant message) is the unit of loss, so a parallel turn with one adverse call is masked
whole; its ``mae_reason`` is that of its first adverse call, and every adverse call is listed in the
result for the report.  Environment errors are masked only when ``mask_environment_errors`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..record import message_calls
from .checks import check_call
from .config import MAEConfig
from .feedback import Finding


@dataclass
class TurnFinding:
    message_index: int
    call_name: str
    finding: Finding
    masked: bool


@dataclass
class MarkResult:
    changed: bool = False
    turns: int = 0              # assistant messages seen
    call_turns: int = 0         # assistant messages with calls
    masked_turns: int = 0       # newly set to train: false here
    findings: list[TurnFinding] = field(default_factory=list)
    trained_left: int = 0       # assistant messages still trained afterwards


def _feedback_for(messages: list[dict[str, Any]], index: int, calls: list[dict[str, Any]]) -> list[str | None]:
    """The tool messages answering the calls of messages[index]: by tool_call_id when present, else in order."""
    answers = []
    j = index + 1
    while j < len(messages) and messages[j].get("role") == "tool":
        answers.append(messages[j])
        j += 1
    ids = [tc.get("id") for tc in messages[index].get("tool_calls") or []]
    by_id = {a.get("tool_call_id"): a.get("content") for a in answers if a.get("tool_call_id")}
    if by_id and all(i in by_id for i in ids):
        return [by_id[i] for i in ids]
    contents = [a.get("content") for a in answers]
    return contents[: len(calls)] + [None] * (len(calls) - len(contents))


def call_feedback(record: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    """Each call of each assistant message with the tool message answering it: (message index, call, text)."""
    messages = record["messages"]
    for index, message in enumerate(messages):
        calls = message_calls(message) if message.get("role") == "assistant" else []
        if calls:
            yield from ((index, call, text) for call, text in zip(calls, _feedback_for(messages, index, calls)))


def mark_record(record: dict[str, Any], config: MAEConfig) -> MarkResult:
    """Set ``train: false`` and ``mae_reason`` on the adverse assistant turns of ``record`` in place."""
    result = MarkResult()
    messages = record["messages"]
    names = frozenset(t["function"]["name"] for t in record.get("tools") or [])
    classifier = config.classifier
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        result.turns += 1
        calls = message_calls(message)
        if calls:
            result.call_turns += 1
            feedback = _feedback_for(messages, index, calls) if config.check_feedback else [None] * len(calls)
            first_masked: Finding | None = None
            for call, text in zip(calls, feedback):
                finding = classifier.classify(text, call["arguments"]) if text is not None else None
                if finding is None and (config.check_unknown_tool or config.check_schema):
                    finding = check_call(call, record, unknown_tool=config.check_unknown_tool,
                                         schema=config.check_schema, names=names)
                if finding is None:
                    continue
                masked = finding.call_fault or config.mask_environment_errors
                result.findings.append(TurnFinding(index, call["name"], finding, masked))
                if masked and first_masked is None:
                    first_masked = finding
            if first_masked is not None and message.get("train", True) is not False:
                message["train"] = False
                message["mae_reason"] = first_masked.reason
                result.masked_turns += 1
                result.changed = True
        if message.get("train", True) is not False:
            result.trained_left += 1
    return result
