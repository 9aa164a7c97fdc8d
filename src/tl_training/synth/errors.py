"""Realistic erroneous calls, derived from a correct one (the kinds the paper found in GPT-4 trajectories).

Each kind only builds the wrong call; the error message comes from executing it (``execute.py``).
"""

from __future__ import annotations

import random
from typing import Any

from .registry import Tool
from .world import TOOLS

# kind -> relative weight among the kinds that apply to a given call
ERROR_KINDS = {"unknown_tool": 0.25, "missing_argument": 0.25, "unexpected_argument": 0.25,
               "wrong_type": 0.15, "invalid_value": 0.10}

# Names a model reaches for instead of the declared one.
ARGUMENT_ALIASES = {"city": ["location", "city_name"], "query": ["q", "search_query"], "keywords": ["keyword", "query"],
                    "limit": ["max_results", "count"], "date": ["day"], "title": ["name"], "author": ["author_name"],
                    "symbol": ["ticker"], "country": ["country_name"], "days": ["num_days"], "unit": ["units"]}
EXTRA_ARGUMENTS = [("language", "en"), ("format", "json"), ("verbose", True), ("page", 1), ("sort", "relevance")]
VERB_SWAPS = {"get": ["fetch", "retrieve"], "search": ["find", "lookup"], "calculate": ["compute"], "check": ["verify"]}


def applicable_kinds(call: dict[str, Any], tool: Tool) -> list[str]:
    args = call["arguments"]
    kinds = ["unknown_tool", "unexpected_argument"]
    if any(p.required for p in tool.params):
        kinds.append("missing_argument")
    if any(tool.param(k).kind is not str for k in args):
        kinds.append("wrong_type")
    if any(tool.param(k).choices for k in args):
        kinds.append("invalid_value")
    return kinds


def make_error(call: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A (kind, erroneous call) pair derived from the correct ``call``."""
    tool = TOOLS[call["name"]]
    kinds = applicable_kinds(call, tool)
    kind = rng.choices(kinds, weights=[ERROR_KINDS[k] for k in kinds])[0]
    args = dict(call["arguments"])
    if kind == "unknown_tool":
        return kind, {"name": rng.choice(near_miss_names(tool.name)), "arguments": args}
    if kind == "missing_argument":
        del args[rng.choice([p.name for p in tool.params if p.required])]
    elif kind == "unexpected_argument":
        declared = {p.name for p in tool.params}
        renamable = [k for k in args if any(a not in declared for a in _aliases(k))]
        if renamable and rng.random() < 0.7:
            old = rng.choice(renamable)
            new = rng.choice([a for a in _aliases(old) if a not in declared])
            args = {new if k == old else k: v for k, v in args.items()}
        else:
            name, value = rng.choice([e for e in EXTRA_ARGUMENTS if e[0] not in declared])
            args[name] = value
    elif kind == "wrong_type":
        name = rng.choice([k for k in args if tool.param(k).kind is not str])
        args[name] = _mistyped(args[name])
    else:   # invalid_value
        name = rng.choice([k for k in args if tool.param(k).choices])
        args[name] = _off_enum(args[name], tool.param(name).choices)
    return kind, {"name": tool.name, "arguments": args}


def near_miss_names(name: str) -> list[str]:
    """Plausible wrong names for ``name`` that no tool of the world has (``get_papers_by_keyword``)."""
    words = name.split("_")
    last = words[-1]
    variants = ["_".join(words[:-1] + [last[:-1] if last.endswith("s") else last + "s"])]
    variants += ["_".join([verb] + words[1:]) for verb in VERB_SWAPS.get(words[0], [])]
    if len(words) > 2:
        variants.append("_".join([words[0]] + words[2:]))
    variants.append(words[0] + "".join(w.title() for w in words[1:]))   # camelCase
    found = [v for v in dict.fromkeys(variants) if v not in TOOLS and v != name]
    return found


def _aliases(argument: str) -> list[str]:
    if argument in ARGUMENT_ALIASES:
        return ARGUMENT_ALIASES[argument]
    parts = argument.split("_")
    return [parts[0], parts[-1]] if len(parts) > 1 else [argument + "_name", argument + "_value"]


def _mistyped(value: Any) -> Any:
    """The value as a sloppy model writes it: numbers and flags quoted, lists as one string."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _off_enum(value: str, choices: tuple) -> str:
    for candidate in (value.capitalize(), value.upper(), value + "s"):
        if candidate not in choices:
            return candidate
    raise ValueError(f"no off-enum variant of {value!r}")  # pragma: no cover


def repeated_kind(call: dict[str, Any], gold: dict[str, Any]) -> str | None:
    """Which injected kind a predicted ``call`` repeats against the right one (``gold``), if any: a near-miss
    name of the gold tool, a required argument left out, an alias or stock extra argument, a value mistyped
    or off its enum as ``make_error`` writes them.  What a model learned from the injected errors shows on
    held-out tools as these very patterns, which ordinary mistakes rarely produce."""
    tool = TOOLS.get(gold["name"])
    if tool is None:
        return None
    if call["name"] != gold["name"]:
        return "unknown_tool" if call["name"] in near_miss_names(gold["name"]) else None
    args, wanted = call.get("arguments") or {}, gold.get("arguments") or {}
    if any(p.required and p.name in wanted and p.name not in args for p in tool.params):
        return "missing_argument"
    declared = {p.name for p in tool.params}
    aliases = {a for key in wanted for a in _aliases(key)} | {name for name, _ in EXTRA_ARGUMENTS}
    if any(key not in declared and key in aliases for key in args):
        return "unexpected_argument"
    for key, value in args.items():
        if key in wanted and key in declared and value != wanted[key]:
            param = tool.param(key)
            if param.kind is not str and value == _mistyped(wanted[key]):
                return "wrong_type"
            if param.choices and isinstance(wanted[key], str) and value in (
                    wanted[key].capitalize(), wanted[key].upper(), wanted[key] + "s"):
                return "invalid_value"
    return None
