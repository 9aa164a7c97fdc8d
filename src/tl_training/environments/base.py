"""The environment protocol shared by multi-turn evaluation and multi-turn RL.

An environment runs one episode at a time:

- ``reset(case) -> record``: the conversation the model answers first (``{"id", "tools", "messages"}``);
  the environment owns it and appends to it;
- ``step(calls, content) -> Step``: the model's turn -- its calls (parsed by ``calls.parse_calls``, never
  ``eval``ed) or none, and its text -- is appended, the calls are executed in-process and their results
  appended as tool messages; a turn without calls ends the user turn (the next one's messages are appended,
  or the episode is ``done``);
- ``truncate(reason)``: the runner's turn cap was hit; the episode fails;
- ``outcome() -> Outcome``: the episode's task check (BFCL's state and response checks, the tool world's
  task result);
- ``gold``: the task's gold calls, each to be made once (the tool world), or None where calls are graded
  from their feedback alone (BFCL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..record import openai_tool_call
from ..render import BUILTIN_TOOLS

# the paper format's own tools end a turn (an answer or a question to the user); no environment runs them
TURN_ENDING = frozenset(tool["function"]["name"] for tool in BUILTIN_TOOLS)


@dataclass(frozen=True)
class ToolResult:
    call: dict[str, Any]
    content: str  # the tool message the model is shown
    rejected: bool  # the environment refused the call (unknown name, bad arguments, an error raised or returned)


@dataclass(frozen=True)
class Step:
    results: list[ToolResult]
    done: bool


@dataclass(frozen=True)
class Outcome:
    success: bool
    reason: str = ""


class Environment(Protocol):
    record: dict[str, Any]  # the conversation so far (what reset returned, appended to by step)
    gold: list[dict[str, Any]] | None

    def reset(self, case: dict[str, Any]) -> dict[str, Any]: ...

    def step(self, calls: list[dict[str, Any]], content: str = "") -> Step: ...

    def truncate(self, reason: str) -> None: ...

    def outcome(self) -> Outcome: ...


def executable(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls an environment runs: all but the paper format's turn-ending ``ask_to_user`` / ``finish``."""
    return [c for c in calls if c["name"] not in TURN_ENDING]


def append_turn(record: dict[str, Any], calls: list[dict[str, Any]], content: str) -> None:
    """The model's turn as a message: its calls (the text around them is not kept) or its plain text."""
    if calls:
        record["messages"].append({"role": "assistant", "content": "", "tool_calls": [openai_tool_call(c) for c in calls]})
    else:
        record["messages"].append({"role": "assistant", "content": content})


def append_result(record: dict[str, Any], result: ToolResult) -> None:
    record["messages"].append({"role": "tool", "name": result.call["name"], "content": result.content})
