"""The assembled world: every domain, the train/held-out split, seeded databases, argument sampling.

Held-out split: the domains marked ``held_out`` (news, books, health) never appear in training records,
neither as the called tool nor as a distractor; evaluation cases use only their tools.
"""

from __future__ import annotations

import os
import random
from typing import Any, Iterable

from .domains.commerce import finance, recipes, shopping, travel
from .domains.common import DATES
from .domains.daily import calculator, calendar, health, sports
from .domains.media import books, movies, music, papers
from .domains.places import geography, news, weather
from .execute import ToolWorld
from .registry import Chain, Domain, Template, Tool

DOMAINS: tuple[Domain, ...] = (weather, geography, news, papers, movies, music, books, finance, shopping, travel,
                               recipes, sports, calendar, calculator, health)

# Samplers for parameter names many domains share; a domain's own sampler wins.
DEFAULT_SAMPLERS = {
    "limit": lambda db, rng: rng.randint(2, 5),
    "days": lambda db, rng: rng.randint(1, 7),
    "date": lambda db, rng: rng.choice(DATES),
}


def _index_tools() -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for domain in DOMAINS:
        for name, tool in domain.tools.items():
            if name in tools:
                raise ValueError(f"tool {name} is declared twice ({tools[name].domain}, {domain.name})")
            tools[name] = tool
    return tools


TOOLS: dict[str, Tool] = _index_tools()
DOMAIN_BY_NAME = {d.name: d for d in DOMAINS}


def split_tools(split: str) -> list[str]:
    """Tool names of the ``train`` or ``eval`` split, in declaration order."""
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    return [t.name for t in TOOLS.values() if DOMAIN_BY_NAME[t.domain].held_out == (split == "eval")]


def split_chains(split: str) -> list[Chain]:
    names = set(split_tools(split))
    return [c for d in DOMAINS for c in d.chains if c.first in names and c.then in names]


class World:
    """The databases of one seed, and a way to run calls against them."""

    def __init__(self, seed: int):
        self.seed = seed
        self.databases = {d.name: d.build(random.Random(f"synth-db:{seed}:{d.name}")) for d in DOMAINS}
        self.executor = ToolWorld(TOOLS, self.databases)

    def sample_arguments(self, tool: Tool, template: Template, rng: random.Random) -> dict[str, Any]:
        """Argument values for what ``template`` carries, drawn from the tool's domain database."""
        domain, db = DOMAIN_BY_NAME[tool.domain], self.databases[tool.domain]
        carried = template.placeholders()
        args = dict(template.fixed)
        for names, sampler in domain.joint_samplers.items():
            if carried & set(names):
                args.update({n: v for n, v in zip(names, sampler(db, rng)) if n in carried})
        for name in sorted(carried - set(args)):
            args[name] = self._sample_one(domain, tool, name, db, rng, avoid=list(args.values()))
        return {p.name: args[p.name] for p in tool.params if p.name in args}   # signature order

    def _sample_one(self, domain: Domain, tool: Tool, name: str, db: dict, rng: random.Random, avoid: list) -> Any:
        param = tool.param(name)
        sampler = domain.samplers.get(name) or DEFAULT_SAMPLERS.get(name)
        if sampler is None and param.choices:
            sampler = lambda db, rng: rng.choice(param.choices)  # noqa: E731
        if sampler is None:
            raise ValueError(f"tool {tool.name}: no sampler for parameter {name!r} in domain {domain.name}")
        value = sampler(db, rng)
        for _ in range(10):   # "from Lisbon to Lisbon" reads as nonsense: draw again
            if value not in avoid:
                break
            value = sampler(db, rng)
        return value


def render_query(template: Template, args: dict[str, Any]) -> str:
    return template.text.format(**{k: _spoken(v) for k, v in args.items() if k in template.placeholders()})


def _spoken(value: Any) -> str:
    if isinstance(value, list):
        words = [str(v) for v in value]
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return str(value)


CANDIDATES = (3, 6)   # tools offered per record: enough to choose among, few enough for short CPU-trainable records


def candidate_tools(needed: Iterable[str], split: str, rng: random.Random) -> list[str]:
    """3-6 candidate tools: the needed ones, similarly named siblings and tools sharing a name prefix."""
    needed = list(dict.fromkeys(needed))
    pool = [n for n in split_tools(split) if n not in needed]
    size = max(len(needed) + 2, rng.randint(*CANDIDATES))
    domains = {TOOLS[n].domain for n in needed}
    siblings = [n for n in pool if TOOLS[n].domain in domains]
    rng.shuffle(siblings)
    others = [n for n in pool if TOOLS[n].domain not in domains]
    rng.shuffle(others)
    others.sort(key=lambda n: -max(len(os.path.commonprefix([n, m])) for m in needed))   # stable: ties stay shuffled
    extra = size - len(needed)
    from_siblings = siblings[:max(1, extra - extra // 3)]
    chosen = needed + from_siblings + others[:extra - len(from_siblings)]
    rng.shuffle(chosen)
    return chosen
