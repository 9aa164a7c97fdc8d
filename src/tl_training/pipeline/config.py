"""The pipeline's configuration: one YAML file for the whole run, one section per stage.

Each stage section passes its fields through to that stage's own configuration (``mae``: MAEConfig,
``sft``: PKTConfig, ``rl``: the rl command's config, ``eval``: the eval command's options), so the pipeline
adds no second vocabulary for what a stage already names.  ``enabled: false`` switches a stage off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import check_known, check_prompt_format, config_dict
from ..errors import ConfigError
from ..render.layout import Layout
from .inputs import input_digests

STAGES = ("data", "mae", "sft", "rl", "eval")
DATA_SOURCES = ("synth", "convert", "file")
EVAL_MODELS = ("base", "sft", "rl")
DATA_FIELDS = ("enabled", "source", "seed", "n", "error_rate", "eval_n", "format", "input", "exclude_queries",
               "sample", "eval_cases")


PipelineConfigError = ConfigError  # its name before errors.py, kept for scripts that catch it


@dataclass
class PipelineConfig:
    run_dir: str
    model: str = "smollm2-135m"      # path, hub id, the embedded default, or "tiny" (random, built in the run dir)
    prompt_format: str = "chat"      # "chat" (the tokenizer's template) or "paper"
    instruction: str = "auto"        # the source's own system instruction: auto, keep, drop (render/layout.py)
    thoughts: str = "keep"           # the text before each call: keep, or drop (calls only: the paper's layout)
    seed: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    mae: dict[str, Any] = field(default_factory=dict)
    sft: dict[str, Any] = field(default_factory=dict)
    rl: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    eval: dict[str, Any] = field(default_factory=dict)
    ablation: dict[str, Any] = field(default_factory=dict)  # read by `tl-training ablate` only (ablation/design.py)
    source: str = "config"            # where it was read from, for messages

    def __post_init__(self) -> None:
        where = self.source
        try:
            check_prompt_format(self.prompt_format)
            Layout(self.instruction, self.thoughts)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        for name in STAGES:
            section = getattr(self, name)
            if not isinstance(section, dict):
                raise ConfigError(f"{where}: field {name}: a mapping of the stage's fields, got {section!r}")
            if not isinstance(section.get("enabled", True), bool):
                raise ConfigError(f"{where}: field {name}.enabled: true or false")
        if not self.enabled("data"):
            raise ConfigError(f"{where}: field data.enabled: the data stage cannot be off (data.source: file "
                                      "reuses a record file)")
        unknown = sorted(set(self.data) - set(DATA_FIELDS))
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) data.{', data.'.join(unknown)}; known: {', '.join(DATA_FIELDS)}")
        source = self.data.get("source", "synth")
        if source not in DATA_SOURCES:
            raise ConfigError(f"{where}: field data.source: one of {', '.join(DATA_SOURCES)}, got {source!r}")
        if source in ("convert", "file") and not self.data.get("input"):
            raise ConfigError(f"{where}: field data.input: required with data.source: {source}")
        if source == "convert" and not self.data.get("format"):
            raise ConfigError(f"{where}: field data.format: the converter (tl-training convert --from) to use")
        for key in ("sft", "rl"):
            recipe = getattr(self, key).get("config")
            if recipe is not None and not Path(str(recipe)).is_file():
                raise ConfigError(f"{where}: field {key}.config: stage config {recipe} not found")
        models = self.eval.get("models", ["sft", "rl"])
        if not isinstance(models, list) or set(models) - set(EVAL_MODELS):
            raise ConfigError(f"{where}: field eval.models: a list among {', '.join(EVAL_MODELS)}, got {models!r}")
        from ..ablation.design import AblationConfig  # here: it builds on this module

        try:
            AblationConfig.from_dict(self.ablation, where)
        except TypeError as exc:
            raise ConfigError(f"{where}: section ablation: {exc}") from None
        for key in ("mae", "sft", "rl"):
            if "options" in getattr(self, key):
                raise ConfigError(f"{where}: field {key}.options: write the stage's fields directly under {key}")

    def enabled(self, stage: str) -> bool:
        return getattr(self, stage).get("enabled", True)

    def stage_fields(self, stage: str) -> dict[str, Any]:
        """The section without the pipeline's own switch: what the stage's config receives."""
        return {k: v for k, v in getattr(self, stage).items() if k != "enabled"}

    def stage_hash(self, stage: str, upstream: list[str]) -> str:
        """What decides a stage's output: its section, the shared fields, the content of the files it names
        (``inputs.py``), and the hashes it builds on."""
        section = getattr(self, stage)
        recipe = Path(section["config"]).read_text() if isinstance(section.get("config"), str) else None
        payload = {"stage": stage, "section": section, "recipe": recipe, "model": self.model,
                   "prompt_format": self.prompt_format, "layout": self.layout_fields(), "seed": self.seed,
                   "upstream": upstream, "inputs": input_digests(stage, section)}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def layout_fields(self) -> dict[str, str]:
        """The rendering layout every stage receives (SFT, RL and evaluation must render alike)."""
        return {"instruction": self.instruction, "thoughts": self.thoughts}

    @property
    def path(self) -> Path:
        return Path(self.run_dir)


def load_config(path: str | Path, overrides: list[str] = ()) -> PipelineConfig:
    """Read the YAML file (unknown top-level keys are an error) and apply ``key=value`` overrides
    (``sft.max_steps=50`` sets a field of a section)."""
    values = config_dict(path, overrides, "pipeline config")
    try:
        check_known(values, PipelineConfig, internal=("source",))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if "run_dir" not in values:
        raise ConfigError(f"{path}: field run_dir is required (where every stage's output is kept)")
    return PipelineConfig(**values, source=str(path))


def to_yaml(config: PipelineConfig) -> str:
    values = {k: v for k, v in dataclasses.asdict(config).items() if k != "source"}
    return yaml.safe_dump(values, sort_keys=False)
