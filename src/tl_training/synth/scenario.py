"""A scenario: a user query and the correct calls that answer it, each really executed.

Single scenarios make one call; chain scenarios make a second call whose arguments come from the first
call's result (a paper id found by a keyword search, the capital returned for a country, ...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

from .registry import Chain
from .world import TOOLS, World, render_query, split_chains, split_tools

CHAIN_SHARE = 0.35
MAX_DRAWS = 50


@dataclass(frozen=True)
class Step:
    """One executed call of a scenario: the call and its successful result."""

    call: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class Scenario:
    kind: str                  # "single" or "chain"
    domain: str
    query: str
    steps: tuple[Step, ...]
    redraws: int = 0                # draws that missed before this one (a search with nothing to chain from)


class ScenarioError(RuntimeError):
    """The world could not produce a working scenario: a bug in a tool, sampler or chain."""


def plan(world: World, split: str, rng: random.Random) -> Scenario:
    chains = split_chains(split)
    want_chain = chains and rng.random() < CHAIN_SHARE
    last_error = ""
    for draw in range(MAX_DRAWS):   # a draw can miss (a search that finds nothing to chain from): draw again
        try:
            scenario = _plan_chain(world, rng.choice(chains), rng) if want_chain else _plan_single(world, split, rng)
            return replace(scenario, redraws=draw)
        except _Miss as miss:
            last_error = str(miss)
    raise ScenarioError(f"no working {'chain' if want_chain else 'single'} scenario after {MAX_DRAWS} draws: {last_error}")


class _Miss(Exception):
    pass


def _run(world: World, call: dict[str, Any]) -> Step:
    outcome = world.executor.execute(call)
    if not outcome.ok:
        raise _Miss(f"{call['name']}({call['arguments']}) failed: {outcome.error}")
    return Step(call, outcome.result)


def _plan_single(world: World, split: str, rng: random.Random) -> Scenario:
    tool = TOOLS[rng.choice(split_tools(split))]
    template = rng.choice(tool.templates)
    args = world.sample_arguments(tool, template, rng)
    step = _run(world, {"name": tool.name, "arguments": args})
    return Scenario("single", tool.domain, render_query(template, args), (step,))


def _plan_chain(world: World, chain: Chain, rng: random.Random) -> Scenario:
    first = TOOLS[chain.first]
    template = rng.choice(chain.templates)
    args = world.sample_arguments(first, template, rng)
    step1 = _run(world, {"name": first.name, "arguments": args})
    try:
        linked = chain.link(step1.result)
    except (IndexError, KeyError) as exc:   # the first call found nothing to follow up on
        raise _Miss(f"chain {chain.first} -> {chain.then}: nothing to link ({exc!r})") from None
    step2 = _run(world, {"name": chain.then, "arguments": linked})
    return Scenario("chain", first.domain, render_query(template, args), (step1, step2))
