"""Canonical records (README, The record) from scenarios: training trajectories and held-out evaluation cases.

A trajectory ends with a plain assistant answer rather than a ``finish`` tool: every chat template renders a
plain message natively, while a ``finish`` call would teach a convention only the paper's format has.
Injected erroneous calls stay unmarked (finding them is MAE's job); ``meta.injected_errors`` lists their
message indices as ground truth.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..record import openai_tool_call
from .errors import make_error
from .execute import FEEDBACK_STYLES, Outcome, feedback
from .scenario import Step, plan
from .world import TOOLS, World, candidate_tools, split_tools

DEFAULT_ERROR_RATE = 0.17   # share of GPT-4 trajectories with an erroneous call (the paper's finding)

SYSTEM_PROMPTS = [
    "You are a helpful assistant with access to tools. Call a tool when it helps answer the user.",
    "You can call the functions below. Use them to answer the user's request accurately.",
    "You are an assistant that solves tasks by calling the available tools, then answers briefly.",
]
RETRY_THOUGHTS = ["That call failed; let me fix it.", "The tool returned an error, so I'll correct the call.",
                  "Let me retry with the right call.", ""]
ANSWER_LEADS = ["Here is what I found:", "Done.", "Here you go:", "The result:"]


@dataclass
class Stats:
    """What a generation run produced, for the command's summary and for tests."""

    records: int = 0
    calls: int = 0
    scenarios: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)
    tools_used: Counter = field(default_factory=Counter)
    redraws: int = 0   # sampled scenarios that did not work out and were drawn again (never written)

    def summary(self, split: str = "train") -> str:
        lines = [f"records {self.records}, assistant calls {self.calls}, "
                 f"scenarios {dict(sorted(self.scenarios.items()))}"]
        if split == "train":
            lines.append(f"injected errors {sum(self.injected.values())} "
                         f"({sum(self.injected.values()) / max(self.records, 1):.1%} of records): "
                         f"{dict(sorted(self.injected.items()))}")
        lines.append(f"tools used {len(self.tools_used)} of the {split} split's {len(split_tools(split))} "
                     f"({len(TOOLS)} in the world)")
        lines.append(f"redrawn scenarios {self.redraws} (a sampled call that failed or found nothing to chain from; none written)")
        return "\n".join(lines)


def _assistant_call(call: dict[str, Any], content: str = "") -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": [openai_tool_call(call)]}


def _tool_message(name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "name": name, "content": content}


def training_record(world: World, index: int, error_rate: float, stats: Stats | None = None) -> dict[str, Any]:
    """Trajectory ``index`` of this world's seed; the same (seed, index) always gives the same record."""
    rng = random.Random(f"synth-train:{world.seed}:{index}")
    scenario = plan(world, "train", rng)
    style = rng.choice(FEEDBACK_STYLES)
    erroneous_step = rng.randrange(len(scenario.steps)) if rng.random() < error_rate else None
    messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)},
                {"role": "user", "content": scenario.query}]
    injected, kinds = [], []
    for position, step in enumerate(scenario.steps):
        thought = ""
        if position == erroneous_step:
            kind, wrong = make_error(step.call, rng)
            outcome = world.executor.execute(wrong)
            if outcome.ok:   # an injected error that runs would lie in meta: a bug in errors.py
                raise RuntimeError(f"injected {kind} call {wrong} succeeded")
            injected.append(len(messages))
            kinds.append(kind)
            messages += [_assistant_call(wrong), _tool_message(wrong["name"], feedback(outcome, style))]
            thought = rng.choice(RETRY_THOUGHTS)
        messages += [_assistant_call(step.call, thought), _tool_message(step.call["name"], feedback(_ok(step), style))]
    messages.append({"role": "assistant", "content": f"{rng.choice(ANSWER_LEADS)} {summarize(scenario.steps[-1].result)}"})
    needed = [s.call["name"] for s in scenario.steps]
    tools = candidate_tools(needed, "train", rng)
    if stats is not None:
        stats.records += 1
        stats.calls += len(scenario.steps) + len(injected)
        stats.scenarios[scenario.kind] += 1
        stats.redraws += scenario.redraws
        stats.injected.update(kinds)
        stats.tools_used.update(needed)
    return {"id": f"synth/{world.seed}/{index}",
            "tools": [TOOLS[name].openai_schema() for name in tools],
            "messages": messages,
            "meta": {"source": "synth", "split": "train", "seed": world.seed, "index": index,
                     "domain": scenario.domain, "scenario": scenario.kind, "feedback_style": style,
                     "injected_errors": injected, "injected_error_kinds": kinds}}


def _ok(step: Step) -> Outcome:
    return Outcome(True, step.result)


def eval_record(world: World, index: int, stats: Stats | None = None) -> dict[str, Any]:
    """Held-out case ``index``: the conversation up to the call to predict, and its acceptable answers."""
    rng = random.Random(f"synth-eval:{world.seed}:{index}")
    scenario = plan(world, "eval", rng)
    style = rng.choice(FEEDBACK_STYLES)
    messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)},
                {"role": "user", "content": scenario.query}]
    # A chain case asks for the dependent second call, with the first call and its result in context.
    for step in scenario.steps[:-1]:
        messages += [_assistant_call(step.call), _tool_message(step.call["name"], feedback(_ok(step), style))]
    target = scenario.steps[-1].call
    needed = [s.call["name"] for s in scenario.steps]
    if stats is not None:
        stats.records += 1
        stats.calls += 1
        stats.scenarios[scenario.kind] += 1
        stats.redraws += scenario.redraws
        stats.tools_used.update(needed)
    return {"id": f"synth-eval/{world.seed}/{index}",
            "tools": [TOOLS[name].openai_schema() for name in candidate_tools(needed, "eval", rng)],
            "messages": messages,
            "gold": [[gold_call(target)]],
            "meta": {"source": "synth", "split": "eval", "seed": world.seed, "index": index,
                     "domain": scenario.domain, "scenario": scenario.kind}}


def gold_call(call: dict[str, Any]) -> dict[str, Any]:
    """The acceptable forms of ``call``: any casing of a string (the tools match case-insensitively), and an
    optional argument the query did not mention may be left out or given its default."""
    tool = TOOLS[call["name"]]
    arguments: dict[str, Any] = {}
    for param in tool.params:
        if param.name in call["arguments"]:
            value = call["arguments"][param.name]
            arguments[param.name] = ({"any_of": [value, value.lower()]}
                                     if isinstance(value, str) and value.lower() != value and not param.choices else value)
        elif not param.required:
            arguments[param.name] = {"any_of": [param.default, None] if param.default is not None else [None]}
    return {"name": call["name"], "arguments": arguments}


def summarize(result: Any, depth: int = 0) -> str:
    """A short plain-language rendering of a tool result for the final answer."""
    if isinstance(result, dict):
        parts = [f"{str(k).replace('_', ' ')}: {summarize(v, depth + 1)}" for k, v in list(result.items())[:6]]
        return "; ".join(parts) if depth == 0 else "(" + ", ".join(parts) + ")"
    if isinstance(result, list):
        if not result:
            return "none"
        shown = [summarize(v, depth + 1) for v in result[:3]]
        return ", ".join(shown) + (f" and {len(result) - 3} more" if len(result) > 3 else "")
    return str(result)


def generate(seed: int, n: int, *, split: str = "train", error_rate: float = DEFAULT_ERROR_RATE,
             stats: Stats | None = None) -> Iterator[dict[str, Any]]:
    """``n`` records of the ``train`` or ``eval`` split for ``seed``."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, got {error_rate}")
    world = World(seed)
    for index in range(n):
        yield training_record(world, index, error_rate, stats) if split == "train" else eval_record(world, index, stats)
