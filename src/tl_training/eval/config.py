"""``EvalConfig``: what an evaluation runs (the ``eval`` command's options, as one typed dataclass).

The command builds it from its arguments (``from_args``), the API from keywords; the field names are the
command's option names (``--batch-size`` is ``batch_size``), and the command's defaults are these.  Checked
when built, so a script's mistake is a ``ConfigError`` naming the field before a model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..config import ModelArgs, at_least, check_choice, check_fields, check_prompt_format
from ..errors import ConfigError
from ..models import DTYPES
from ..render.layout import INSTRUCTION_CHOICES, THOUGHT_CHOICES

BACKENDS = ("transformers", "vllm")
BATCH_ORDERS = ("prefix", "length", "file")


@dataclass
class EvalConfig(ModelArgs):
    # No default model: an evaluation scores a model or a predictions file, exactly one of them.
    model: str | None = None
    # float32 by default: greedy decoding under bf16 can flip near-tied tokens, and scores must compare
    # across machines (docs/precision.md).
    dtype: str = "float32"
    benchmarks: list[str] = field(default_factory=list)  # NAME:SPLIT specs (docs/eval.md)
    output: str = ""                    # the run directory
    predictions: str | None = None      # JSONL of {"id", "prediction"[, "benchmark"]} to score instead of a model
    adapter: str | None = None          # a peft (LoRA) adapter directory applied to the model
    data_dir: str | None = None         # benchmark files laid out like ../shared/data
    limit: int | None = None            # the first N cases of each benchmark
    prompt_format: str = "chat"
    instruction: str = "auto"
    thoughts: str = "keep"
    backend: str = "transformers"
    batch_size: int = 8
    max_new_tokens: int = 256
    no_fast_path: bool = False
    no_margin: bool = False
    batch_order: str = "prefix"
    syntax: str | None = None           # call syntax of the predictions (default: the renderer's)
    max_steps: int = 20                 # BFCL multi-turn: generations per user turn
    allow_empty: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.benchmarks, str):
            self.benchmarks = [self.benchmarks]
        if not self.benchmarks or not all(isinstance(b, str) for b in self.benchmarks):
            raise ConfigError(f"field benchmarks: one or more NAME:SPLIT specs, got {self.benchmarks!r}")
        if not self.output:
            raise ConfigError("field output: the run directory is required")
        if (self.model is None) == (self.predictions is None):
            raise ConfigError("fields model, predictions: give exactly one (a model to run, or predictions to score)")
        check_prompt_format(self.prompt_format)
        for name, choices in (("instruction", INSTRUCTION_CHOICES), ("thoughts", THOUGHT_CHOICES),
                              ("backend", BACKENDS), ("batch_order", BATCH_ORDERS), ("dtype", DTYPES)):
            check_choice(name, getattr(self, name), choices)
        check_fields(self, ("no_fast_path", "no_margin", "trust_remote_code", "allow_empty"),
                     {name: at_least(1) for name in ("limit", "batch_size", "max_new_tokens", "max_steps")})

    @classmethod
    def from_args(cls, args: Any) -> "EvalConfig":
        """The config of the ``eval`` command's parsed arguments."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})
