"""``tl-training pipeline --config C.yaml [--quick] [key=value ...]``: data -> MAE -> SFT -> RL -> eval -> report.

Every stage's output stays in the run directory; a rerun skips the stages already done under the same
configuration, so a crash or Ctrl-C costs only the stage it interrupted (docs/pipeline.md).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UserError

# --quick: the same job on a tiny random model and a handful of records, about a minute on 2 CPU cores.
QUICK_OVERRIDES = [
    "model=tiny", "data.n=12", "data.eval_n=6",
    "sft.max_steps=4", "sft.per_device_train_batch_size=2", "sft.gradient_accumulation_steps=1",
    "sft.learning_rate=0.001", "sft.max_length=2048", "sft.save_steps=3", "sft.logging_steps=2",
    "rl.steps=2", "rl.batch_size=2", "rl.mini_batch_size=1", "rl.max_new_tokens=16", "rl.save_steps=1",
    "eval.limit=2", "eval.max_new_tokens=24",
]


def register(subparsers) -> None:
    parser = subparsers.add_parser("pipeline", help="data -> MAE -> SFT (PKT) -> RL (IRM) -> eval -> report",
                                   description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--config", required=True, help="pipeline YAML (configs/demo.yaml is the main job)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny random model and a few records (run dir gets a -quick suffix): a minute-long check")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a field, e.g. sft.max_steps=50")
    parser.set_defaults(func=run)


def load(config_path: str, overrides: list[str], quick: bool):
    from .config import load_config

    try:
        config = load_config(config_path, (QUICK_OVERRIDES if quick else []) + list(overrides))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    if quick:
        config.run_dir = config.run_dir.rstrip("/") + "-quick"
    return config


@dataclass(frozen=True)
class PipelineResult:
    """A pipeline run: its directory, its report, and each stage's marker (hash, outputs, metrics)."""

    run_dir: Path
    report: Path
    stages: dict[str, Any]


def run_pipeline(config_path: str | Path, overrides: list[str] = (), *, quick: bool = False) -> PipelineResult:
    """Run the pipeline a YAML file (plus ``key=value`` overrides) describes; the command and the API."""
    from ..jsonl import write_text_atomic
    from .config import to_yaml
    from .report import write_report
    from .stages import check_config, run_pipeline as run_stages

    config = load(str(config_path), list(overrides), quick)
    check_config(config)
    config.path.mkdir(parents=True, exist_ok=True)
    write_text_atomic(config.path / "pipeline.yaml", to_yaml(config))
    started = time.perf_counter()
    try:
        markers = run_stages(config)
    except BaseException:
        report = write_report(config.path, config)  # says which stages are done and which are not
        print(f"pipeline stopped; report: {report}", file=sys.stderr)
        raise
    report = write_report(config.path, config)
    print(f"pipeline done in {time.perf_counter() - started:.0f} s; report: {report}", file=sys.stderr)
    return PipelineResult(config.path, Path(report), markers)


def run(args) -> int:
    run_pipeline(args.config, args.overrides, quick=args.quick)
    return 0
