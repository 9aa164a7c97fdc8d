"""The ablation's design: which models are trained, what is compared, and its config section.

Variants (each a pipeline run on the seed's data with the config's budget):

| variant | MAE | PKT | IRM | parent |
|---|---|---|---|---|
| standard_sft | - | - | - | |
| +mae | yes | - | - | |
| +pkt | - | yes | - | |
| +mae+pkt | yes | yes | - | |
| +irm | - | - | yes | standard_sft |
| all_three | yes | yes | yes | +mae+pkt |

The first four are a 2x2 factorial of SFT; the IRM variants continue from the SFT model of their parent
(trained once: its stage has the same hash), so each RL model is compared with its own parent.  Every
comparison is a contrast: a weighted sum of variants, taken case by case and seed by seed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pipeline.config import PipelineConfig

# variant -> (MAE on, PKT on, IRM on); standard SFT is the same code path with pkt: false.
VARIANTS = {
    "standard_sft": (False, False, False),
    "+mae": (True, False, False),
    "+pkt": (False, True, False),
    "+mae+pkt": (True, True, False),
    "+irm": (False, False, True),
    "all_three": (True, True, True),
}
PARENTS = {"+irm": "standard_sft", "all_three": "+mae+pkt"}

# name -> {variant: weight}; each weight set sums to zero.  The factorial's main effects average a
# component's effect with and without the other one; the interaction is their difference.
CONTRASTS = {
    "MAE (main effect)": {"+mae": 0.5, "standard_sft": -0.5, "+mae+pkt": 0.5, "+pkt": -0.5},
    "PKT (main effect)": {"+pkt": 0.5, "standard_sft": -0.5, "+mae+pkt": 0.5, "+mae": -0.5},
    "MAE x PKT (interaction)": {"+mae+pkt": 1.0, "+pkt": -1.0, "+mae": -1.0, "standard_sft": 1.0},
    "IRM after standard SFT": {"+irm": 1.0, "standard_sft": -1.0},
    "IRM after MAE+PKT": {"all_three": 1.0, "+mae+pkt": -1.0},
    "all three vs standard SFT": {"all_three": 1.0, "standard_sft": -1.0},
}


@dataclass
class ControlConfig:
    """The MAE positive control on the built-in tool world (``control.py``)."""

    enabled: bool = False
    n: int = 200               # training trajectories (synth)
    error_rate: float = 0.5    # share of them with an injected erroneous call and its real error feedback
    eval_n: int = 100          # held-out cases over unseen tools (synth --eval)


@dataclass
class AblationConfig:
    sample: int = 0                      # trajectories drawn per seed (0: the whole training pool)
    max_tool_tokens: int | None = None   # keep trajectories whose tool list renders to at most this many tokens
    holdout: int = 0                     # first turns held out (by query) as in-distribution evaluation cases
    holdout_seed: int = 0                # which queries are held out (the same for every seed)
    pilot_max_format_errors: float | None = None  # the gate, in %: standard SFT's format errors on the held-out cases
    archive: str | None = None           # a folder keeping each finished evaluation's per-case outcomes (command.py)
    control: ControlConfig = field(default_factory=ControlConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str) -> "AblationConfig":
        values = dict(values or {})
        control = values.pop("control", {}) or {}
        for name, given, known in (("ablation", values, cls), ("ablation.control", control, ControlConfig)):
            unknown = sorted(set(given) - {f.name for f in fields(known)})
            if unknown:
                raise ConfigError(f"{where}: unknown field(s) {name}.{f', {name}.'.join(unknown)}; "
                                          f"known: {', '.join(f.name for f in fields(known))}")
        config = cls(**values, control=ControlConfig(**control))
        config.check(where)
        return config

    def check(self, where: str) -> None:
        for name in ("sample", "holdout", "holdout_seed"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ConfigError(f"{where}: field ablation.{name}: a whole number >= 0")
        if self.archive is not None and not isinstance(self.archive, str):
            raise ConfigError(f"{where}: field ablation.archive: a folder path, or null")
        if self.max_tool_tokens is not None and (not isinstance(self.max_tool_tokens, int) or self.max_tool_tokens < 1):
            raise ConfigError(f"{where}: field ablation.max_tool_tokens: a whole number >= 1, or null")
        gate = self.pilot_max_format_errors
        if gate is not None and not (isinstance(gate, (int, float)) and 0 < gate <= 100):
            raise ConfigError(f"{where}: field ablation.pilot_max_format_errors: a percentage in (0, 100]")
        if gate is not None and not self.holdout:
            raise ConfigError(f"{where}: field ablation.pilot_max_format_errors: the gate reads the "
                                      "held-out first turns; set ablation.holdout")
        control = self.control
        if not isinstance(control.enabled, bool):
            raise ConfigError(f"{where}: field ablation.control.enabled: true or false")
        if not (isinstance(control.error_rate, (int, float)) and 0 < control.error_rate <= 1):
            raise ConfigError(f"{where}: field ablation.control.error_rate: a share in (0, 1]")
        for name in ("n", "eval_n"):
            if not isinstance(getattr(control, name), int) or getattr(control, name) < 1:
                raise ConfigError(f"{where}: field ablation.control.{name}: a whole number >= 1")


def variant_config(base: PipelineConfig, variant: str, seed: int, data: dict[str, Any]) -> PipelineConfig:
    """The pipeline run of one variant and seed.  ``data``: ``train`` (the seed's trajectories, in training
    order), optional ``rl_train`` (the RL prompts' records) and ``eval_cases`` (held-out cases)."""
    mae, pkt, irm = VARIANTS[variant]
    config = copy.deepcopy(base)
    config.run_dir = str(variant_dir(base.path, variant, seed))
    config.seed = seed
    config.data = {"source": "file", "input": data["train"]}
    config.mae = {**base.mae, "enabled": mae}
    # File order is the training order: the seed drew and shuffled the sample once, for every variant alike.
    config.sft = {**base.sft, "enabled": True, "pkt": pkt, "train_sampling_strategy": "sequential"}
    config.rl = {**base.rl, "enabled": irm, **({"train_files": [data["rl_train"]]} if data.get("rl_train") else {})}
    benchmarks = list(base.eval.get("benchmarks", []))
    if data.get("eval_cases"):
        benchmarks.insert(0, f"openai:{data['eval_cases']}")
    config.eval = {**base.eval, "enabled": True, "models": ["rl" if irm else "sft"], "benchmarks": benchmarks,
                   "synthetic": False}
    return config


def variant_dir(run_dir: Path, variant: str, seed: int) -> Path:
    return run_dir / variant.strip("+").replace("+", "_") / f"seed{seed}"
