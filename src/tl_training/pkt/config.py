"""The ``sft`` configuration: ``TrainingArguments`` plus the fields of PKT, read from YAML.

Read by the one config loader (``tl_training.config``): a YAML file's keys are the dataclass fields,
``key=value`` overrides are parsed as YAML values (``pkt=false``, ``learning_rate=1e-5``).  Unknown keys
are an error, not ignored, and so are a boolean that is not true or false and a number out of its range
(``check_fields``): ``pkt: maybe`` would train as PKT and ``w_max: 0`` would silently take every key
token out of the loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from transformers import TrainingArguments

# rl/config.py reads the shared loader's pieces from here.
from ..config import (  # noqa: F401
    LORA_RANGES, LoraArgs, ModelArgs, Range, above, at_least, build, check_choice, check_fields, check_prompt_format,
    coerce_yaml_1_1, config_dict, within,
)
from ..errors import ConfigError
from ..models import DTYPES


@dataclass
class PKTConfig(TrainingArguments, ModelArgs, LoraArgs):
    train_files: list[str] = field(default_factory=list, metadata={"help": "JSONL record files (from convert / mae)"})
    prompt_format: str = field(default="chat", metadata={"help": "'chat' (the tokenizer's template) or 'paper'"})
    instruction: str = field(default="auto", metadata={"help": "the source's own system instruction: auto, keep, drop (docs/formats.md, Layout)"})
    thoughts: str = field(default="keep", metadata={"help": "the text before each call: keep, or drop (train calls only)"})
    pkt: bool = field(default=True, metadata={"help": "up-weight key tokens; false = standard SFT, same code path"})
    w_max: float = field(default=9.0, metadata={"help": "upper clip of a key token's weight"})
    argument_key_weight: float = field(
        default=0.0, metadata={"help": "our extension, not the paper's: at least this weight on argument-key tokens (0 = off)"}
    )
    max_length: int | None = field(default=2048, metadata={"help": "tokens kept per record (the end is cut)"})
    strict: bool = field(default=False, metadata={"help": "stop at the first invalid record instead of counting it"})
    load_in_4bit: bool = field(default=False, metadata={"help": "QLoRA: load the base model in 4 bit (needs bitsandbytes and a GPU)"})
    # loss_weights is a batch column the model's forward() does not take.
    remove_unused_columns: bool = False
    # Counted so that every run reports its throughput.
    include_num_input_tokens_seen: str | bool = "non_padding"


PKT_BOOLEANS = ("pkt", "strict", "trust_remote_code", "lora", "load_in_4bit")
PKT_RANGES = {
    "w_max": at_least(1),  # the upper clip of a key token's weight: below 1 it would weigh keys down, 0 drops them
    "argument_key_weight": at_least(0), "max_length": at_least(1), **LORA_RANGES,
}


def resume_checkpoint(config) -> str | bool | None:
    """What ``resume_from_checkpoint`` asks for (``true``/``last``: the newest checkpoint-N in output_dir, the
    Trainer's rule), checked before anything loads: the trainers find a missing one only after loading the
    model.  Shared by sft and rl."""
    from transformers.trainer_utils import get_last_checkpoint

    resume = config.resume_from_checkpoint
    resume = True if isinstance(resume, str) and resume.lower() in ("true", "last") else resume
    output_dir = Path(config.output_dir)
    if resume is True and not (output_dir.is_dir() and get_last_checkpoint(str(output_dir))):
        raise ConfigError(f"field resume_from_checkpoint: true resumes the newest checkpoint-N in output_dir "
                          f"{output_dir}, which holds no checkpoint (leave the field out to start afresh)")
    if isinstance(resume, str) and not Path(resume).is_dir():
        raise ConfigError(f"field resume_from_checkpoint: {resume}: no such checkpoint directory")
    return resume


def layout_of(config):
    """The rendering layout a stage's config names (its ``instruction`` and ``thoughts`` fields)."""
    from ..render.layout import Layout

    return Layout(instruction=config.instruction, thoughts=config.thoughts)


def _bf16_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def load_config(source: str | Path | Mapping[str, Any] | None, overrides: list[str] = ()) -> PKTConfig:
    """The sft config of a YAML file (or mapping) and ``key=value`` overrides, checked; bf16 is on where the
    hardware has it unless the config sets bf16 or fp16 (docs/precision.md)."""
    values = config_dict(source, overrides)
    if "bf16" not in values and "fp16" not in values:
        values["bf16"] = _bf16_available()
    if not values.get("output_dir"):
        raise ConfigError("output_dir is required")
    config = build(PKTConfig, values)
    check_config(config)
    return config


def check_config(config: PKTConfig) -> None:
    """What TrainingArguments does not check of an sft config; a ConfigError names the field."""
    check_prompt_format(config.prompt_format)
    check_choice("dtype", config.dtype, DTYPES)
    layout_of(config)
    check_fields(config, PKT_BOOLEANS, PKT_RANGES)
    if not config.train_files:
        raise ConfigError("train_files is required (one or more JSONL record files)")
