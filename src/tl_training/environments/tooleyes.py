"""ToolEyes' replay behind the environment protocol: one query, the recorded GPT-4 trajectories as the tools.

A case is a ToolEyes query (``eval.tooleyes.load_queries``: its ReAct prompt, tools and ``meta.tool``).
ToolEyes judges a turn by its written text (format alignment), so ``step`` reads the turn's ``content``
with ToolEyes' rules (``read_step``) and answers it as ToolEyes' harness would:

- not aligned (not exactly one call; a ReAct action without a ``Thought:`` before it): a user message
  asking for the format (``FORMAT_MESSAGE``); each call the runner parsed gets that message, rejected;
- ``finish``: the episode ends, answered (the outcome's success);
- an unknown tool or arguments that do not bind to the tool's signature: Python's own error text
  (``binding_error``), rejected;
- any other call, and ``ask_to_user``: the recorded message answering a call of that tool with the same
  arguments (``Recordings.answer``: the query's own trajectory first; ``normalized_arguments``); a call
  with no recording ends the episode as ``no_recording``, neither an error nor an answer.

``gold`` is None: the recordings hold one trajectory, not the only right one, so calls are graded from
their feedback.  The recordings are evaluation data (ToolEyes' queries), so this environment serves the
ToolEyes replay tier; training RL on it would train on the benchmark, and ``environment_for`` does not
hand it out.
"""

from __future__ import annotations

import math
import re
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from ..calls import parse_calls
from ..convert.react import thought_of
from ..errors import UserError
from ..jsonl import Tally
from ..mae.feedback import classify_feedback
from ..record import first_user_query, message_calls, openai_tool_call
from .base import Outcome, Step, ToolResult, executable

RECORDINGS_DIR = "rotbench_train/Tools_gpt4"
MAX_TURNS = 8  # ToolEyes' max_turn
FINISH, ASK = "finish", "ask_to_user"  # ToolEyes' harness executes neither
FORMAT_MESSAGE = ("Your output does not follow the required format. Answer with exactly one call of one of the "
                  "given tools, written as the instructions show; call finish to give your final answer.")
NO_RECORDING = "(no recorded result for this call)"
_THOUGHT_BEFORE_ACTION = re.compile(r"Thought:.*?Action:", re.S)  # ToolEyes' reasoning-format rule
_RECORDED_QUERY = re.compile(r"Turn \d+: (.*)\Z", re.S)


# --------------------------------------------------------------------------------------- the recordings


def _canonical(value: Any) -> Any:
    """A value as arguments are compared: numbers and numeric strings alike, strings trimmed, spaces
    collapsed and case folded, lists in order, dicts by key."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value)) if math.isfinite(value) and value == int(value) else repr(float(value))
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        try:
            number = float(text)
        except ValueError:
            return text
        return _canonical(number) if math.isfinite(number) else text
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return repr(value)


def normalized_arguments(arguments: dict[str, Any]) -> tuple:
    """What two calls of one tool must share to get the same recorded result: their arguments, canonical
    (``_canonical``), with empty ones (``None``, ``""``) left out."""
    return tuple(sorted((key, _canonical(value)) for key, value in arguments.items() if value not in (None, "")))


def recorded_query(record: dict[str, Any]) -> str:
    """The query of a pool trajectory, from its source id ``Turn k: <query>``."""
    match = _RECORDED_QUERY.match(record["meta"].get("source_id") or "")
    return match.group(1).strip() if match else (first_user_query(record) or "").strip()


def _tool_path(record: dict[str, Any]) -> str:
    return f"{record['meta']['category']}/{record['meta']['tool']}"


class Recordings:
    """RoTBench's GPT-4 trajectories over the ToolEyes library, as an environment: what a call got."""

    def __init__(self, records: Iterable[dict[str, Any]], tally: Tally | None = None):
        self.trajectories: dict[tuple[str, str], dict[str, Any]] = {}
        self.tally = tally or Tally()
        self._answers: dict[tuple, dict[str, dict[str, Any]]] = {}  # (tool path, name, args) -> query -> answer
        for record in records:
            tool, query = _tool_path(record), recorded_query(record)
            self.trajectories.setdefault((tool, query), record)
            messages = record["messages"]
            for i, message in enumerate(messages[:-1]):
                calls = message_calls(message) if message["role"] == "assistant" else []
                if len(calls) == 1 and messages[i + 1]["role"] in ("tool", "user"):
                    key = (tool, calls[0]["name"], normalized_arguments(calls[0]["arguments"]))
                    self._answers.setdefault(key, {}).setdefault(query, messages[i + 1])

    def trajectory(self, query_case: dict[str, Any]) -> dict[str, Any] | None:
        return self.trajectories.get((query_case["meta"]["tool"], (first_user_query(query_case) or "").strip()))

    def answer(self, query_case: dict[str, Any], call: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded message (tool feedback, or the user's reply to ``ask_to_user``) answering ``call``:
        from the query's own trajectory first, then from any recording of that tool; None when none."""
        found = self._answers.get((query_case["meta"]["tool"], call["name"], normalized_arguments(call["arguments"])))
        if not found:
            return None
        return found.get((first_user_query(query_case) or "").strip()) or next(iter(found.values()))


@lru_cache(maxsize=2)
def load_recordings(data_dir: str) -> Recordings:
    from ..convert import FORMATS

    folder = Path(data_dir) / RECORDINGS_DIR
    if not folder.is_dir():
        raise UserError(f"ToolEyes: {folder} not found: tiers prefix and replay take their environment from the "
                        "recorded GPT-4 trajectories (--data-dir laid out like ../shared/data)")
    tally = Tally()
    return Recordings(FORMATS["rotbench"](folder, tally, False), tally)  # error.jsonl is always rejected


# ------------------------------------------------------------------------------------- reading a turn


@lru_cache(maxsize=4096)
def _signature_stub(name: str, required: tuple[str, ...], optional: tuple[str, ...]) -> Callable:
    """A function with the tool's signature and no body: calling it binds the arguments as Python does."""
    def stub():
        return None

    parameters = required + optional
    code = stub.__code__.replace(co_name=name, co_qualname=name, co_argcount=len(parameters),
                                 co_nlocals=len(parameters), co_varnames=parameters)
    return types.FunctionType(code, {}, name, (None,) * len(optional) or None)


def binding_error(call: dict[str, Any], tools: list[dict[str, Any]]) -> str | None:
    """Python's error text for calling the tool with these arguments (None when they bind)."""
    function = next((t["function"] for t in tools if t["function"]["name"] == call["name"]), None)
    if function is None:
        return f"name '{call['name']}' is not defined"
    parameters = function.get("parameters") or {}
    properties = list(parameters.get("properties") or {})
    required = [p for p in parameters.get("required") or [] if isinstance(p, str)]
    required = tuple(dict.fromkeys([p for p in properties if p in required] + required))
    optional = tuple(p for p in properties if p not in required)
    try:
        _signature_stub(function["name"], required, optional)(**call["arguments"])
    except TypeError as exc:
        return str(exc)
    return None


@dataclass
class Reading:
    """One model turn read by ToolEyes' rules: aligned or not, the call, Python's binding error."""

    output: str
    aligned: bool
    syntax: str | None = None  # the syntax the output was read in
    call: dict[str, Any] | None = None
    fault: str | None = None  # mae's reason for the error text: unknown_tool, missing_argument, unexpected_argument
    error: str | None = None  # Python's text (what ToolEyes' harness returns)

    @property
    def finish(self) -> bool:
        return self.aligned and self.call["name"] == FINISH

    @property
    def executed(self) -> bool:
        """A call ToolEyes' harness runs (tool reality is judged on these)."""
        return self.aligned and self.call["name"] not in (FINISH, ASK)


def read_step(output: str, tools: list[dict[str, Any]], syntax: str) -> Reading:
    parsed = parse_calls(output, syntax)
    aligned = parsed.ok and len(parsed.calls) == 1 and (
        parsed.syntax != "react" or _THOUGHT_BEFORE_ACTION.search(output) is not None)
    if not aligned:
        return Reading(output, False, parsed.syntax)
    step = Reading(output, True, parsed.syntax, parsed.calls[0])
    if step.executed:
        step.error = binding_error(step.call, tools)
        finding = classify_feedback(step.error) if step.error else None
        step.fault = finding.reason if finding else ("tool_error" if step.error else None)
    return step


def reading_record(case_id: str, reading: Reading) -> dict[str, Any]:
    """A reading as the scores files keep it."""
    return {"id": case_id, "output": reading.output, "aligned": reading.aligned, "call": reading.call,
            "fault": reading.fault, "error": reading.error, "finish": reading.finish, "executed": reading.executed}


# ------------------------------------------------------------------------------------------ the environment


class ToolEyesReplayEnvironment:
    gold = None  # module docstring: graded from feedback

    def __init__(self, recordings: Recordings, syntax: str = "auto"):
        self.recordings, self.syntax = recordings, syntax

    def reset(self, case: dict[str, Any]) -> dict[str, Any]:
        self.case = case
        self.record = {**case, "messages": list(case["messages"])}
        self.turns: list[dict[str, Any]] = []  # reading_record of each turn, with "turn" and the "answer" shown
        self.end: str | None = None  # finish | no_recording | the runner's reason (turn_limit, ...)
        return self.record

    def step(self, calls: list[dict[str, Any]], content: str = "") -> Step:
        if self.end is not None:
            raise RuntimeError("step after the episode ended")
        reading = read_step(content, self.case["tools"], self.syntax)
        if reading.aligned and calls != executable([reading.call]):
            raise ValueError(f"{self.case['id']}: the runner's calls {calls!r} are not the turn's call "
                             f"{reading.call!r}: parse the turn in the environment's syntax ({self.syntax!r})")
        entry = reading_record(self.case["id"], reading) | {"turn": len(self.turns) + 1}
        self.turns.append(entry)
        if not reading.aligned:
            self.record["messages"] += [{"role": "assistant", "content": content},
                                        {"role": "user", "content": FORMAT_MESSAGE}]
            return Step([ToolResult(call, FORMAT_MESSAGE, True) for call in calls], False)
        if reading.finish:
            self.end = "finish"
            return Step([], True)
        answer = ({"role": "tool", "content": reading.error} if reading.error
                  else self.recordings.answer(self.case, reading.call))
        if answer is None:
            self.end = "no_recording"
            return Step([ToolResult(call, NO_RECORDING, False) for call in calls], True)
        entry["answer"] = answer["content"]
        # The history shows the call in the renderer's syntax; a ReAct thought is kept as the turn's content.
        thought = thought_of(content) if reading.syntax == "react" else ""
        self.record["messages"] += [
            {"role": "assistant", "content": thought, "tool_calls": [openai_tool_call(reading.call)]},
            {"role": answer["role"], "content": answer["content"],
             **({"name": reading.call["name"]} if answer["role"] == "tool" else {})}]
        rejected = bool(reading.error) or classify_feedback(answer["content"], reading.call) is not None
        return Step([ToolResult(call, answer["content"], rejected) for call in calls], False)

    def truncate(self, reason: str) -> None:
        if self.end is None:
            self.end = reason

    def outcome(self) -> Outcome:
        if self.end == "finish":
            return Outcome(True)
        return Outcome(False, self.end or "episode not finished")
