"""Executable environments behind one protocol (``base.py``), shared by multi-turn evaluation and RL.

``ToolWorldEnvironment`` runs the built-in tool world (``synth/``), ``BFCLEnvironment`` BFCL's multi-turn
backends; ``environment_for(case)`` picks the one a case belongs to.  ``tooleyes.ToolEyesReplayEnvironment``
replays ToolEyes' queries on recorded trajectories for the evaluation; it is not one ``environment_for``
hands out, since its cases are the benchmark's own queries.
"""

from __future__ import annotations

from typing import Any

from .base import TURN_ENDING, Environment, Outcome, Step, ToolResult, executable
from .bfcl import BFCLEnvironment, is_bfcl_episode
from .toolworld import ToolWorldEnvironment, is_tool_world_case


def environment_for(case: dict[str, Any]) -> Environment:
    """A fresh environment for ``case``; a case no environment can run is an error naming it."""
    if is_bfcl_episode(case):
        return BFCLEnvironment()
    if is_tool_world_case(case):
        return ToolWorldEnvironment()
    raise ValueError(f"record {case.get('id', '?')!r}: no environment runs it (expected a tool-world record, "
                     "meta.source 'synth', or a BFCL multi-turn episode, meta.initial_config)")


__all__ = ["TURN_ENDING", "BFCLEnvironment", "Environment", "Outcome", "Step", "ToolResult", "ToolWorldEnvironment",
           "environment_for", "executable"]
