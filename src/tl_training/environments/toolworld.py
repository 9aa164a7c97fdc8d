"""The built-in tool world (``synth/``) behind the environment protocol: a task from its first user message.

A case is a tool-world record (``meta.source: synth``), a training trajectory or a held-out case: the
episode starts from its system and first user messages with its tool list.  The record's scenario -- the
correct calls and their results -- is planned again from ``meta.seed``, ``meta.split`` and ``meta.index``
(generation is deterministic) and checked against the record's query, so a record from another version of
the world is refused rather than scored against the wrong task.  Calls run on the seed's databases, limited
to the record's tools (another name is Python's ``NameError``), their feedback in the record's style.

Gold: the scenario's calls (``synth.gold_call``: casing and omitted defaults allowed).  The task check: the
episode ended with an answer (a turn without calls) and the scenario's last result -- the answer to the
query, which for a chain needs the first call's result -- is among the results the model's calls got.
"""

from __future__ import annotations

import random
from typing import Any

from ..synth import World, feedback, gold_call
from ..synth.execute import FEEDBACK_STYLES
from ..synth.scenario import plan
from .base import Outcome, Step, ToolResult, append_result, append_turn


def is_tool_world_case(case: dict[str, Any]) -> bool:
    return (case.get("meta") or {}).get("source") == "synth"


def _scenario(case: dict[str, Any]):
    """(scenario, feedback style) of a tool-world record, as ``synth.records`` drew them."""
    meta, rid = case["meta"], case.get("id", "?")
    try:
        seed, index, split = int(meta["seed"]), int(meta["index"]), meta["split"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"record {rid!r}: meta needs seed, index and split to rebuild its task ({exc!r})") from None
    if split not in ("train", "eval"):
        raise ValueError(f"record {rid!r}: meta.split must be 'train' or 'eval', got {split!r}")
    world = World(seed)
    rng = random.Random(f"synth-{split}:{seed}:{index}")
    scenario = plan(world, split, rng)
    query = next((m.get("content") for m in case["messages"] if m.get("role") == "user"), None)
    if query != scenario.query:
        raise ValueError(f"record {rid!r}: its query is not the one seed {seed}, index {index} gives "
                         "(made by another version of the tool world?)")
    return world, scenario, rng.choice(FEEDBACK_STYLES)


class ToolWorldEnvironment:
    def reset(self, case: dict[str, Any]) -> dict[str, Any]:
        self.world, scenario, self.style = _scenario(case)
        first_user = next(i for i, m in enumerate(case["messages"]) if m.get("role") == "user")
        self.record = {"id": case["id"], "tools": list(case["tools"]),
                       "messages": [dict(m) for m in case["messages"][:first_user + 1]]}
        self.available = frozenset(t["function"]["name"] for t in case["tools"])
        self.gold = [gold_call(step.call) for step in scenario.steps]
        self.answer = scenario.steps[-1].result
        self.answered, self.done, self.truncated = False, False, ""
        return self.record

    def step(self, calls: list[dict[str, Any]], content: str = "") -> Step:
        if self.done:
            raise RuntimeError("step after the episode ended")
        append_turn(self.record, calls, content)
        if not calls:
            self.done = True
            return Step([], True)
        results = []
        for call in calls:
            outcome = self.world.executor.execute(call, self.available)
            self.answered |= outcome.ok and outcome.result == self.answer
            results.append(ToolResult(call, feedback(outcome, self.style), not outcome.ok))
            append_result(self.record, results[-1])
        return Step(results, False)

    def truncate(self, reason: str) -> None:
        self.truncated, self.done = reason, True

    def outcome(self) -> Outcome:
        if self.truncated:
            return Outcome(False, self.truncated)
        if not self.done:
            return Outcome(False, "episode not finished")
        return Outcome(self.answered, "" if self.answered else "the task's answer was not among the call results")
