"""The ``sft`` configuration: ``TrainingArguments`` plus the fields of PKT, read from YAML.

A YAML file's keys are the dataclass fields; ``key=value`` overrides on the command line are parsed as
YAML values (``pkt=false``, ``learning_rate=1e-5``).  Unknown keys are an error, not ignored, and so are
a boolean that is not true or false and a number out of its range (``check_fields``): ``pkt: maybe``
would train as PKT and ``w_max: 0`` would silently take every key token out of the loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from transformers import HfArgumentParser, TrainingArguments


@dataclass
class PKTConfig(TrainingArguments):
    model: str = field(default="smollm2-135m", metadata={"help": "local path, hub id, or the embedded 'smollm2-135m'"})
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
    dtype: str = field(default="auto", metadata={"help": "model weights dtype: auto, float32, bfloat16, float16"})
    trust_remote_code: bool = False
    lora: bool = field(default=False, metadata={"help": "train a LoRA adapter (peft) instead of all weights"})
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | str = field(default="all-linear")
    load_in_4bit: bool = field(default=False, metadata={"help": "QLoRA: load the base model in 4 bit (needs bitsandbytes and a GPU)"})
    # loss_weights is a batch column the model's forward() does not take.
    remove_unused_columns: bool = False
    # Counted so that every run reports its throughput.
    include_num_input_tokens_seen: str | bool = "non_padding"


@dataclass(frozen=True)
class Range:
    """The valid values of a number field, and how an error states them."""

    holds: Callable[[float], bool]
    text: str


def at_least(low: float) -> Range:
    return Range(lambda v: v >= low, f">= {low:g}")


def above(low: float) -> Range:
    return Range(lambda v: v > low, f"> {low:g}")


def within(low: float, high: float, *, high_included: bool = True) -> Range:
    if high_included:
        return Range(lambda v: low <= v <= high, f"between {low:g} and {high:g}")
    return Range(lambda v: low <= v < high, f">= {low:g} and < {high:g}")


PKT_BOOLEANS = ("pkt", "strict", "trust_remote_code", "lora", "load_in_4bit")
PKT_RANGES = {
    "w_max": at_least(1),  # the upper clip of a key token's weight: below 1 it would weigh keys down, 0 drops them
    "argument_key_weight": at_least(0), "max_length": at_least(1), "lora_r": at_least(1), "lora_alpha": above(0),
    "lora_dropout": within(0, 1, high_included=False),
}


def check_fields(config: Any, booleans: Iterable[str], ranges: dict[str, Range]) -> None:
    """A boolean field holds true or false and a number field a number in its range (None: not set);
    otherwise a ValueError names the field, what it takes and what it got."""
    for name in booleans:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise ValueError(f"field {name}: true or false, got {value!r}")
    for name, valid in ranges.items():
        value = getattr(config, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not valid.holds(value):
            raise ValueError(f"field {name}: must be {valid.text}, got {value!r}")


def resume_checkpoint(config) -> str | bool | None:
    """What ``resume_from_checkpoint`` asks for (``true``/``last``: the newest checkpoint-N in output_dir, the
    Trainer's rule), checked before anything loads: the trainers find a missing one only after loading the
    model.  Shared by sft and rl."""
    from transformers.trainer_utils import get_last_checkpoint

    resume = config.resume_from_checkpoint
    resume = True if isinstance(resume, str) and resume.lower() in ("true", "last") else resume
    output_dir = Path(config.output_dir)
    if resume is True and not (output_dir.is_dir() and get_last_checkpoint(str(output_dir))):
        raise ValueError(f"field resume_from_checkpoint: true resumes the newest checkpoint-N in output_dir "
                         f"{output_dir}, which holds no checkpoint (leave the field out to start afresh)")
    if isinstance(resume, str) and not Path(resume).is_dir():
        raise ValueError(f"field resume_from_checkpoint: {resume}: no such checkpoint directory")
    return resume


def layout_of(config):
    """The rendering layout a stage's config names (its ``instruction`` and ``thoughts`` fields)."""
    from ..render.layout import Layout

    return Layout(instruction=config.instruction, thoughts=config.thoughts)


def _bf16_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def config_dict(path: str | Path | None, overrides: list[str]) -> dict[str, Any]:
    """The YAML file's mapping with ``key=value`` overrides applied (values parsed as YAML)."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a config is a YAML mapping of field: value")
        values.update(loaded)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} is not key=value")
        values[key.strip()] = yaml.safe_load(raw)
    return values


def coerce_yaml_1_1(values: dict[str, Any], config_class: type) -> None:
    """Undo two YAML 1.1 surprises for the fields of ``config_class``: ``1e-5`` (no dot) reads as a string,
    and ``no`` (``save_strategy: no``) as False; a number field takes the number (a string that is no
    number is an error naming the field), a string field that is not a bool field takes ``"no"``."""
    for f in fields(config_class):
        # HfArgumentParser rewrites field.type in place (``SaveStrategy | str`` -> ``SaveStrategy``): read the default too.
        value, kind = values.get(f.name), f"{f.type} {type(f.default).__name__}"
        if value is False and "bool" not in kind and ("str" in kind or "Strategy" in kind):
            values[f.name] = "no"
        if isinstance(value, str) and ("float" in kind or "int" in kind):
            try:
                number = float(value)
            except ValueError:
                if "str" in str(f.type) or "Strategy" in kind:
                    continue
                raise ValueError(f"{f.name}: expected a number, got {value!r}") from None
            values[f.name] = int(number) if "float" not in kind and number.is_integer() else number


def load_config(path: str | Path | None, overrides: list[str] = ()) -> PKTConfig:
    values = config_dict(path, list(overrides))
    coerce_yaml_1_1(values, PKTConfig)
    if isinstance(values.get("train_files"), str):
        values["train_files"] = [values["train_files"]]
    if "bf16" not in values and "fp16" not in values:
        values["bf16"] = _bf16_available()  # bf16 where the hardware has it
    if not values.get("output_dir"):
        raise ValueError("output_dir is required")
    (config,) = HfArgumentParser(PKTConfig).parse_dict(values)
    if config.prompt_format not in ("chat", "paper"):
        raise ValueError(f"prompt_format must be 'chat' or 'paper', got {config.prompt_format!r}")
    layout_of(config)
    check_fields(config, PKT_BOOLEANS, PKT_RANGES)
    if not config.train_files:
        raise ValueError("train_files is required (one or more JSONL record files)")
    return config
