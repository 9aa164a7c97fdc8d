"""One config system: how every stage's YAML is read, overridden and checked.

A config is a YAML mapping whose keys are a dataclass's fields (``PKTConfig``, ``RLConfig``, ``MAEConfig``,
``PipelineConfig``).  Overrides have one syntax everywhere: ``key=value``, the value read as YAML
(``pkt=false``, ``learning_rate=1e-5``); a dotted key sets a field inside a section (``sft.max_steps=50``,
``grpo_args.beta=0.1``).  ``load(ConfigClass, path, overrides)`` reads, overrides and builds; an unknown
key, a boolean that is not true or false, or a number out of its range is a ``ConfigError`` naming the
field (``check_fields``), never silently ignored.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

import yaml

from .errors import ConfigError, ModelNotFound, UserError

PROMPT_FORMATS = ("chat", "paper")
Config = TypeVar("Config")


def read_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping a YAML file holds (an empty file: no field set)."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc})") from None
    if not isinstance(loaded, (dict, type(None))):
        raise ConfigError(f"{path}: a {what} is a YAML mapping of field: value")
    return loaded or {}


def apply_overrides(values: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``values`` (not changed) with each ``key=value`` applied; a dotted key goes into its section."""
    values = copy.deepcopy(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. max_steps=50, sft.max_steps=50)")
        *parents, leaf = key.strip().split(".")
        target = values
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        try:
            target[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: the value is not YAML ({exc})") from None
    return values


def config_dict(source: str | Path | Mapping[str, Any] | None, overrides: Iterable[str] = (),
                what: str = "config") -> dict[str, Any]:
    """The fields of a YAML file (or of a mapping given in code; None: none) with the overrides applied."""
    if source is None:
        values: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        values = dict(source)
    else:
        values = read_mapping(source, what)
    return apply_overrides(values, overrides)


def check_known(values: Mapping[str, Any], config_class: type, section: str = "", internal: Iterable[str] = ()) -> None:
    """Every key is a field of ``config_class`` (not one of its ``internal`` ones, which the code sets); an
    unknown one is named, with the nearest field."""
    known = [f.name for f in fields(config_class) if f.name not in internal]
    unknown = sorted(set(values) - set(known))
    if not unknown:
        return
    prefix = f"{section}." if section else ""
    near = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f" (did you mean {prefix}{near[0]}?)" if near else ""
    listed = f"; known: {', '.join(sorted(known))}" if len(known) <= 20 else ""
    raise ConfigError(f"unknown field(s) {', '.join(prefix + k for k in unknown)}{hint}{listed}", unknown[0])


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
                raise ConfigError(f"{f.name}: expected a number, got {value!r}", f.name) from None
            values[f.name] = int(number) if "float" not in kind and number.is_integer() else number


def build(config_class: Callable[..., Config], values: dict[str, Any], section: str = "") -> Config:
    """``config_class`` from a mapping of its fields: unknown keys refused, YAML 1.1 undone, a single
    ``train_files`` path taken as a list of one."""
    check_known(values, config_class, section)
    values = dict(values)
    coerce_yaml_1_1(values, config_class)
    if isinstance(values.get("train_files"), str):
        values["train_files"] = [values["train_files"]]
    return config_class(**values)


def load(config_class: Callable[..., Config], source: str | Path | Mapping[str, Any] | None,
         overrides: Iterable[str] = ()) -> Config:
    """The config a YAML file (or mapping) and ``key=value`` overrides describe."""
    return build(config_class, config_dict(source, overrides))


def checked(where: str, read: Callable[[], Config]) -> Config:
    """The config ``read()`` returns, its mistakes turned into one-line UserErrors naming ``where``: a bad
    field, then a model name that cannot load (``models.check_model``, before anything loads)."""
    from .models import check_model

    try:
        config = read()
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"{where}: {exc}") from None
    try:
        check_model(config.model)
    except ModelNotFound as exc:
        raise UserError(f"{where}: field model: {exc}") from None
    return config


def check_prompt_format(value: Any, name: str = "prompt_format") -> None:
    if value not in PROMPT_FORMATS:
        raise ConfigError(f"field {name}: 'chat' or 'paper', got {value!r}", name)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
    if value not in choices:
        raise ConfigError(f"field {name}: one of {', '.join(choices)}, got {value!r}", name)


# --------------------------------------------------------------------------------------- field checks


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


def check_fields(config: Any, booleans: Iterable[str], ranges: dict[str, Range]) -> None:
    """A boolean field holds true or false and a number field a number in its range (None: not set);
    otherwise a ConfigError names the field, what it takes and what it got."""
    for name in booleans:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise ConfigError(f"field {name}: true or false, got {value!r}", name)
    for name, valid in ranges.items():
        value = getattr(config, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not valid.holds(value):
            raise ConfigError(f"field {name}: must be {valid.text}, got {value!r}", name)


# ------------------------------------------------------------------------------------- shared pieces


@dataclass
class ModelArgs:
    """The model a stage loads (sft, rl and eval alike)."""

    model: str = field(default="smollm2-135m", metadata={"help": "local path, hub id, or the embedded 'smollm2-135m'"})
    dtype: str = field(default="auto", metadata={"help": "model weights dtype: auto, float32, bfloat16, float16 (docs/precision.md)"})
    trust_remote_code: bool = False


@dataclass
class LoraArgs:
    """A LoRA adapter's shape (``models.lora_config`` builds peft's config from it)."""

    lora: bool = field(default=False, metadata={"help": "train a LoRA adapter (peft) instead of all weights"})
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | str = field(default="all-linear")


LORA_RANGES = {"lora_r": at_least(1), "lora_alpha": above(0), "lora_dropout": within(0, 1, high_included=False)}
