"""The error-category classifier and reward of IRM (docs/method.md, Stage 3), shared by RL, scoring and evaluation.

``judge(prediction, gold, tools)`` grades one assistant turn against the acceptable gold answers:

- ``format_error``: the output does not parse as calls (or holds a value that is not a literal), or it is
  plain text where a call is expected.
- ``tool_hallucination``: a called name is not among the candidate tools.
- ``wrong_tool``: an existing tool, but not the gold one.
- ``parameter_error``: right tool, wrong keys; ``flags`` says which: ``hallucinated`` (a key the tool's
  schema does not declare), ``redundant`` (a declared key the gold does not use), ``missing`` (a gold key
  left out that may not be left out).
- ``content_error``: right tool and keys, some value differs.
- ``correct``.

Decisions (tested in tests/test_verdict.py):

- **No call expected** (gold ``[]``, BFCL irrelevance): an answer without a call is correct; a call to a
  candidate tool is ``wrong_tool`` (a tool where the gold has none), to an unknown name
  ``tool_hallucination``.
- **Parallel calls** (several per turn): predicted and gold calls are matched one to one, choosing the
  matching with the highest total reward (``gold.best_pairing``: exact up to six calls, greedy beyond).
  Each matched pair is graded as a single call; an unmatched gold call (missing) counts as ``wrong_tool``,
  an unmatched predicted call (extra) as ``wrong_tool`` or, for an unknown name, ``tool_hallucination``.
  The turn's category is its worst slot's; its ``flags`` are the union of its parameter-error slots'
  flags. Its reward is the **mean** over slots: with one call it is exactly the paper's table (docs/method.md), and with
  several it gives partial credit (two right calls of three beat none), which the minimum would hide
  from the policy gradient. Only an all-correct turn earns the full ``correct`` reward.
- **Several gold alternatives**: the least severe category wins, then the higher reward, then the
  earlier alternative (``gold_index``).
- **Values** compare by type-aware equality (``gold.values_match``): ``1 == 1.0``, ``True != 1``,
  ``'1' != 1``, lists in order (a tuple counts as a list), dicts by key, strings exactly (no stripping or
  case folding: the reward is strict; evaluation may add BFCL's normalisation on top).
- **Tools given as bare names** (no schemas): no key can be told undeclared, so every key the gold does
  not use is ``redundant``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable

from .calls import parse_calls
from .gold import best_pairing, is_optional, values_match

CATEGORIES = ("correct", "content_error", "parameter_error", "wrong_tool", "tool_hallucination", "format_error")
SEVERITY = {category: rank for rank, category in enumerate(CATEGORIES)}  # higher is worse
FLAGS = ("hallucinated", "missing", "redundant")  # sorted, as they appear in a verdict


# --------------------------------------------------------------------------------------------- rewards


@dataclass(frozen=True)
class RewardTable:
    """Reward per category; the defaults are the paper's table as the authors' code has it (docs/method.md).

    A parameter error's reward depends on its flags H (hallucinated), R (redundant), M (missing).
    """

    format_error: float = -2.0
    tool_hallucination: float = -2.0
    wrong_tool: float = -1.5
    parameter_hrm: float = -1.8  # H, R and M
    parameter_h_and_r_or_m: float = -1.3  # H with R, or H with M
    parameter_rm: float = -1.0  # R and M, no H
    parameter_h: float = -0.8  # H only
    parameter_r_or_m: float = -0.5  # R only, or M only
    content_error: float = -0.25
    correct: float = 1.0

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "rewards") -> "RewardTable":
        """A table from a mapping of overrides; unknown keys and non-numbers are errors naming the key."""
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a mapping of reward names to numbers, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"{where}: unknown reward {key!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
        return cls(**{key: float(value) for key, value in values.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RewardTable":
        """A table from a YAML file holding a mapping (missing keys keep their defaults)."""
        import yaml

        with open(path, encoding="utf-8") as handle:
            values = yaml.safe_load(handle) or {}
        return cls.from_dict(values, where=str(path))

    def parameter(self, flags: tuple[str, ...]) -> float:
        hallucinated = "hallucinated" in flags
        others = len(flags) - hallucinated
        if hallucinated:
            return (self.parameter_h, self.parameter_h_and_r_or_m, self.parameter_hrm)[others]
        return self.parameter_r_or_m if others == 1 else self.parameter_rm


DEFAULT_REWARDS = RewardTable()


# --------------------------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    category: str
    flags: tuple[str, ...]
    reward: float
    explanation: str
    calls: list[dict[str, Any]]  # the predicted calls, parsed
    gold_index: int | None  # the gold alternative graded against; None when none was compared

    def as_dict(self) -> dict[str, Any]:
        """The fields ``score`` adds to a record."""
        return {"category": self.category, "flags": list(self.flags), "reward": self.reward,
                "explanation": self.explanation}


@dataclass(frozen=True)
class _Slot:
    """The grade of one predicted call against one gold call (or of an unmatched call)."""

    category: str
    flags: tuple[str, ...]
    reward: float
    explanation: str


# ------------------------------------------------------------------------------------------------ tools


def _tool_index(tools: Iterable[Any]) -> dict[str, dict | None]:
    """Candidate tool name -> its ``function`` entry (None when only the name is known)."""
    index: dict[str, dict | None] = {}
    for i, tool in enumerate(tools):
        if type(tool) is str:
            index[tool] = None
            continue
        try:
            index[tool["function"]["name"]] = tool["function"]
        except (TypeError, KeyError):
            raise ValueError(f'tools[{i}]: expected a tool name or {{"type": "function", "function": {{...}}}}, '
                             f"got {tool!r:.80}") from None
    return index


def _declared(function: dict | None) -> dict | None:
    """The parameters a tool declares (its schema's ``properties``; None when the schema is unknown)."""
    if function is None:
        return None
    return (function.get("parameters") or {}).get("properties") or {}


# ------------------------------------------------------------------------------------------ call grades


def _grade_call(call: dict, gold: dict, tools: dict, rewards: RewardTable) -> _Slot:
    name, gold_name = call["name"], gold["name"]
    if name not in tools:
        return _Slot("tool_hallucination", (), rewards.tool_hallucination, f"{name!r} is not a candidate tool")
    if name != gold_name:
        return _Slot("wrong_tool", (), rewards.wrong_tool, f"called {name!r}, expected {gold_name!r}")
    args, gold_args = call["arguments"], gold.get("arguments") or {}
    declared = _declared(tools[name])
    extra = [key for key in args if key not in gold_args]
    missing = [key for key, spec in gold_args.items() if key not in args and not is_optional(spec)]
    if extra or missing:
        hallucinated = [key for key in extra if declared is not None and key not in declared]
        redundant = [key for key in extra if declared is None or key in declared]
        flags = tuple(flag for flag, keys in (("hallucinated", hallucinated), ("missing", missing),
                                              ("redundant", redundant)) if keys)
        detail = "; ".join(f"{flag}: {', '.join(keys)}" for flag, keys in (
            ("undeclared", hallucinated), ("missing", missing), ("not in gold", redundant)) if keys)
        return _Slot("parameter_error", flags, rewards.parameter(flags), f"{name}: {detail}")
    wrong = [key for key, value in args.items() if not values_match(value, gold_args[key])]
    if wrong:
        return _Slot("content_error", (), rewards.content_error,
                     f"{name}: " + "; ".join(f"{key}={args[key]!r:.60} (gold {gold_args[key]!r:.60})" for key in wrong))
    return _Slot("correct", (), rewards.correct, f"{name}: correct")


def _unmatched_gold(gold: dict, rewards: RewardTable) -> _Slot:
    return _Slot("wrong_tool", (), rewards.wrong_tool, f"missing call to {gold['name']!r}")


def _unmatched_call(call: dict, tools: dict, rewards: RewardTable) -> _Slot:
    name = call["name"]
    if name not in tools:
        return _Slot("tool_hallucination", (), rewards.tool_hallucination, f"extra call: {name!r} is not a candidate tool")
    return _Slot("wrong_tool", (), rewards.wrong_tool, f"extra call to {name!r}")


def _match(calls: list[dict], answer: list[dict], tools: dict, rewards: RewardTable) -> list[_Slot]:
    """Grade a turn's calls against one gold answer, pairing them one to one for the most total reward."""
    if len(calls) == 1 and len(answer) == 1:
        return [_grade_call(calls[0], answer[0], tools, rewards)]
    grid = [[_grade_call(call, gold, tools, rewards) for gold in answer] for call in calls]
    pairs = best_pairing([[slot.reward for slot in row] for row in grid])
    slots = [grid[i][j] for i, j in pairs]
    slots += [_unmatched_call(calls[i], tools, rewards) for i in sorted(set(range(len(calls))) - {i for i, _ in pairs})]
    slots += [_unmatched_gold(answer[j], rewards) for j in sorted(set(range(len(answer))) - {j for _, j in pairs})]
    return slots


def _summarise(slots: list[_Slot]) -> tuple[str, tuple[str, ...], float, str]:
    if len(slots) == 1:
        slot = slots[0]
        return slot.category, slot.flags, slot.reward, slot.explanation
    category = max((slot.category for slot in slots), key=SEVERITY.__getitem__)
    flags = tuple(sorted({flag for slot in slots for flag in slot.flags})) if category == "parameter_error" else ()
    reward = sum(slot.reward for slot in slots) / len(slots)
    explanation = f"{len(slots)} call slots: " + " | ".join(f"{slot.category}: {slot.explanation}" for slot in slots)
    return category, flags, reward, explanation


# -------------------------------------------------------------------------------------------- prediction


def _literal_problem(value: Any) -> str | None:
    """Why a value of an already parsed call is not a literal, or None when it is one."""
    if value is None or type(value) in (str, int, float, bool):
        return None
    if type(value) in (list, tuple):
        return next(filter(None, map(_literal_problem, value)), None)
    if type(value) is dict:
        if not all(type(key) is str for key in value):
            return "a dict key is not a string"
        return next(filter(None, map(_literal_problem, value.values())), None)
    return f"{type(value).__name__} is not a literal value"


def _call_list_problem(calls: Any) -> str | None:
    """Why an already parsed prediction is not a list of ``{"name": str, "arguments": dict}``, or None."""
    if not isinstance(calls, list):
        return f"expected text or a list of calls, got {type(calls).__name__}"
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or type(call.get("name")) is not str or not call["name"]:
            return f"call {i} is not {{'name': str, 'arguments': dict}}"
        if type(call.get("arguments")) is not dict:
            return f"call {i} ({call['name']}): arguments are not a dict"
        problem = _literal_problem(call["arguments"])
        if problem:
            return f"call {i} ({call['name']}): {problem}"
    return None


def judge(
    prediction: str | list[dict[str, Any]],
    gold: list[list[dict[str, Any]]],
    tools: Iterable[Any],
    *,
    syntax: str = "auto",
    rewards: RewardTable | None = None,
) -> Verdict:
    """Grade a model turn against its acceptable gold answers; never raises on any prediction.

    ``prediction`` is raw model text (parsed with ``calls.parse_calls`` in ``syntax``) or an already
    parsed list of calls.  ``gold`` is a record's ``gold`` (a non-empty list of answers, each a list of
    calls); ``tools`` its tool list (OpenAI dicts) or a list of names.
    """
    rewards = rewards or DEFAULT_REWARDS
    if not gold:
        raise ValueError("gold is a non-empty list of acceptable answers (each a list of calls)")
    if isinstance(prediction, str):
        parsed = parse_calls(prediction, syntax)
        calls, problem = parsed.calls, parsed.error
    else:
        try:
            calls, problem = prediction, _call_list_problem(prediction)
        except RecursionError:
            calls, problem = prediction, "a value is nested too deeply"
        if problem:
            calls = []
    if problem:
        return Verdict("format_error", (), rewards.format_error, f"unparseable: {problem}", calls, None)
    if not calls:
        for index, answer in enumerate(gold):
            if not answer:
                return Verdict("correct", (), rewards.correct, "no call, as expected", calls, index)
        return Verdict("format_error", (), rewards.format_error, "no call found where a call is expected", calls, None)
    index_of_tools = _tool_index(tools)
    best = None
    for index, answer in enumerate(gold):
        category, flags, reward, explanation = _summarise(_match(calls, answer, index_of_tools, rewards))
        key = (-SEVERITY[category], reward)
        if best is None or key > best[0]:
            best = (key, Verdict(category, flags, reward, explanation, calls, index))
    return best[1]
