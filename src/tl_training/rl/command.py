"""``tl-training rl --config C.yaml [key=value ...]``: IRM reinforcement learning, PPO (the paper) or GRPO.

Runs as one process or under ``accelerate launch``; only rank 0 prints and writes reports.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("rl", help="IRM reinforcement learning with the error-category reward (PPO or GRPO)")
    parser.add_argument("--config", help="YAML file whose keys are the fields of RLConfig (tl_training.rl.config)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config field (YAML value)")
    parser.set_defaults(func=run)


def load_prompts(config, tokenizer, renderer):
    from ..jsonl import Tally, read_records
    from .prompts import build_prompts

    tally, prompts = Tally(), []
    for path in config.train_files:
        prompts += build_prompts(read_records(path, tally, strict=config.strict), renderer, tally, tokenizer,
                                 config.max_prompt_length)
    return prompts, tally


def load_cases(config, tokenizer, renderer):
    """The records an environment runs (episode mode); a record none runs, or whose first prompt is over
    ``max_prompt_length`` tokens, is counted and reported (``strict``: an error naming it)."""
    from ..environments import environment_for
    from ..jsonl import Tally, read_records

    tally, cases = Tally(), []
    for path in config.train_files:
        for record in read_records(path, tally, strict=config.strict):
            try:
                first = renderer.render_prompt(environment_for(record).reset(record))
            except (KeyError, TypeError, ValueError) as exc:
                if config.strict:
                    raise ValueError(f"{path}: {exc}") from None
                tally.reject(str(exc).split(": ", 1)[-1][:120], str(record.get("id", "")))
                continue
            if len(tokenizer(first, add_special_tokens=False)["input_ids"]) > config.max_prompt_length:
                tally.reject(f"first prompt longer than max_prompt_length={config.max_prompt_length}", str(record.get("id", "")))
                continue
            cases.append(record)
            tally.written += 1
    return cases, tally


def run(args) -> int:
    import os

    from ..errors import UserError
    from ..jsonl import write_text_atomic
    from ..config import checked
    from ..models import ModelNotFound, load_tokenizer
    from ..record import RecordError
    from ..render import get_renderer
    from ..verdict import RewardTable
    from ..pkt.config import layout_of, resume_checkpoint
    from .config import load_config

    where = f"config {args.config}" if args.config else "config"

    def read():
        config = load_config(args.config, args.overrides)
        resume_checkpoint(config)
        return config

    config = checked(where, read)
    try:
        rewards = RewardTable.from_yaml(config.reward_table) if config.reward_table else None
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"{where}: field reward_table: {exc}") from None
    main = int(os.environ.get("RANK", "0")) == 0
    try:
        tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
        renderer = get_renderer(config.prompt_format, tokenizer, layout_of(config))
        episodes = config.mode == "episode"
        prompts, tally = (load_cases if episodes else load_prompts)(config, tokenizer, renderer)
    except (ModelNotFound, RecordError, OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    if main:
        print(f"records: {tally.summary().replace('written', 'used')}\n"
              f"{'episodes' if episodes else 'RL prompts'}: {len(prompts)} ({renderer.name} format, calls in {renderer.call_syntax})")
    if not prompts:
        raise UserError("no episode in train_files (tool-world records or BFCL multi-turn episodes)" if episodes else
                        "no RL prompt in train_files (eval cases with gold, or trajectories with trained calls)")

    started = time.perf_counter()
    if episodes:
        from .episode import run_episodes

        history = run_episodes(config, prompts, tokenizer, renderer, rewards)
    elif config.algorithm == "ppo":
        from .ppo import run_ppo

        history = run_ppo(config, prompts, tokenizer, renderer.stop_strings, rewards)
    else:
        from .grpo import run_grpo

        history = run_grpo(config, prompts, tokenizer, renderer.stop_strings, rewards)
    seconds = time.perf_counter() - started
    if main:
        report = {"algorithm": config.algorithm, "mode": config.mode, "records": tally.as_dict(), "prompts": len(prompts),
                  "steps": config.steps, "seconds": round(seconds, 1), "log": history}
        write_text_atomic(Path(config.output_dir, "rl_report.json"), json.dumps(report, indent=2))
        print(f"{config.algorithm}: {config.steps} steps in {seconds:.0f} s; saved to {config.output_dir}")
    return 0
