"""``tl-training pipeline --config C.yaml [--quick] [key=value ...]``: data -> MAE -> SFT -> RL -> eval -> report.

Every stage's output stays in the run directory; a rerun skips the stages already done under the same
configuration, so a crash or Ctrl-C costs only the stage it interrupted (docs/pipeline.md).
"""

from __future__ import annotations

import sys
import time

from ..errors import UserError

# --quick: the same job on a tiny random model and a handful of records, about a minute on 2 CPU cores.
QUICK_OVERRIDES = [
    "model=tiny", "data.n=12", "data.eval_n=6",
    "sft.max_steps=4", "sft.per_device_train_batch_size=2", "sft.gradient_accumulation_steps=1",
    "sft.learning_rate=0.001", "sft.max_length=2048", "sft.save_steps=3", "sft.logging_steps=2",
    "rl.steps=2", "rl.batch_size=2", "rl.mini_batch_size=1", "rl.max_new_tokens=16",
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
    from .config import PipelineConfigError, load_config

    try:
        config = load_config(config_path, (QUICK_OVERRIDES if quick else []) + list(overrides))
    except PipelineConfigError as exc:
        raise UserError(str(exc)) from None
    if quick:
        config.run_dir = config.run_dir.rstrip("/") + "-quick"
    return config


def run(args) -> int:
    from ..jsonl import write_text_atomic
    from .config import to_yaml
    from .report import write_report
    from .stages import check_config, run_pipeline

    config = load(args.config, args.overrides, args.quick)
    check_config(config)
    config.path.mkdir(parents=True, exist_ok=True)
    write_text_atomic(config.path / "pipeline.yaml", to_yaml(config))
    started = time.perf_counter()
    try:
        run_pipeline(config)
    except BaseException:
        report = write_report(config.path, config)  # says which stages are done and which are not
        print(f"pipeline stopped; report: {report}", file=sys.stderr)
        raise
    report = write_report(config.path, config)
    print(f"pipeline done in {time.perf_counter() - started:.0f} s; report: {report}", file=sys.stderr)
    return 0
