"""The built-in tool world: executable tools over seeded fake databases, trajectories and held-out cases.

``generate(seed, n, split="train"|"eval", error_rate=0.17)`` yields canonical records; ``World(seed)``
executes calls (``World(seed).executor.execute(call)``); ``TOOLS`` and ``DOMAINS`` describe the world and
``split_tools(split)`` the train/held-out split.  See docs/synth.md.
"""

from .execute import Outcome, ToolWorld, feedback
from .records import DEFAULT_ERROR_RATE, Stats, generate, gold_call
from .world import DOMAINS, TOOLS, World, split_tools

__all__ = ["DEFAULT_ERROR_RATE", "DOMAINS", "TOOLS", "Outcome", "Stats", "ToolWorld", "World", "feedback",
           "generate", "gold_call", "split_tools"]
