"""``train_rl``: the API's entry to IRM, over the ``rl`` command's own function.

The other stages' functions live beside their commands (``convert.command.convert``, ...), and
``tl_training`` exports them; this one wraps ``rl.command.run``, which takes parsed arguments, until that
module exposes a typed function of its own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml


@dataclass(frozen=True)
class RLResult:
    """An rl run: the trained model's folder and ``rl_report.json``'s figures (algorithm, prompts, steps,
    the per-step log with each step's mean reward)."""

    output_dir: Path
    algorithm: str
    prompts: int
    steps: int
    log: list[dict[str, Any]]


def train_rl(config: str | Path | Mapping[str, Any], overrides: list[str] = ()) -> RLResult:
    """IRM reinforcement learning (PPO or GRPO) of an ``RLConfig`` YAML file or a mapping of its fields,
    with ``key=value`` overrides."""
    from .rl.command import run
    from .rl.config import load_config

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "rl.yaml") if isinstance(config, Mapping) else Path(config)
        if isinstance(config, Mapping):
            path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        run(argparse.Namespace(config=str(path), overrides=list(overrides)))  # checks the config first
        output_dir = Path(load_config(path, list(overrides)).output_dir)
    report = json.loads((output_dir / "rl_report.json").read_text())
    return RLResult(output_dir, report["algorithm"], report["prompts"], report["steps"], report["log"])
