"""The ``rl`` configuration: one dataclass, read from YAML with ``key=value`` overrides (as ``sft``).

Unknown keys are an error, and so are a boolean that is not true or false and a number out of its range
(``config.check_fields``).  PPO defaults are the paper's (its IRM stage: KL 0.4, clip 0.2, lambda
0.95, actor/critic learning rates 2e-7/1e-7); GRPO reads the shared fields and passes ``grpo_args``
through to TRL's ``GRPOConfig``.  ``mode: episode`` runs either algorithm over multi-turn episodes in our
own loop (``rl/episode.py``); ``grpo_args`` does not apply there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import Range, above, at_least, check_choice, check_fields, check_prompt_format, load, within
from ..pkt.config import layout_of

ALGORITHMS = ("ppo", "grpo")
MODES = ("single", "episode")
RL_RANGES = {
    "reward_clip": above(0), "max_prompt_length": at_least(1), "max_new_tokens": at_least(1), "temperature": above(0),
    "top_p": Range(lambda v: 0 < v <= 1, "> 0 and <= 1"), "steps": at_least(1), "batch_size": at_least(1),
    "mini_batch_size": at_least(1), "ppo_epochs": at_least(1), "actor_lr": above(0), "critic_lr": at_least(0),
    "weight_decay": at_least(0), "max_grad_norm": above(0), "kl_coef": at_least(0), "gamma": within(0, 1),
    "lam": within(0, 1), "clip_ratio": above(0), "value_clip": above(0), "num_generations": at_least(1),
    "save_steps": at_least(0), "save_total_limit": at_least(0), "logging_steps": at_least(1), "lora_r": at_least(1),
    "lora_alpha": above(0), "lora_dropout": within(0, 1, high_included=False), "max_turns": at_least(1),
    "max_episode_length": at_least(2),
    "vllm_gpu_memory_utilization": Range(lambda v: 0 < v < 1, "> 0 and < 1"),
}


@dataclass
class RLConfig:
    algorithm: str = field(default="ppo", metadata={"help": "'ppo' (the paper: learned critic) or 'grpo' (TRL)"})
    mode: str = field(default="single", metadata={
        "help": "'single': grade one call per prompt (the paper); 'episode': multi-turn episodes with executed tools"})
    max_turns: int = field(default=4, metadata={"help": "episode: generations per episode (the turn cap)"})
    max_episode_length: int = field(default=4096, metadata={"help": "episode: tokens per episode, prompt included"})
    outcome_reward: float = field(default=1.0, metadata={"help": "episode: added when the environment's task check passes"})
    model: str = field(default="smollm2-135m", metadata={"help": "the SFT checkpoint: local path, hub id or 'smollm2-135m'"})
    output_dir: str = field(default="", metadata={"help": "where checkpoints and rl_log.jsonl go"})
    train_files: list[str] = field(default_factory=list, metadata={"help": "JSONL records: eval cases with gold, or trajectories"})
    prompt_format: str = field(default="chat", metadata={"help": "'chat' or 'paper' (the renderer of the SFT stage)"})
    instruction: str = field(default="auto", metadata={"help": "the source's own system instruction: auto, keep, drop (as SFT)"})
    thoughts: str = field(default="keep", metadata={"help": "the text before each call in the history: keep or drop (as SFT)"})
    reward_table: str | None = field(default=None, metadata={"help": "YAML of reward overrides (verdict.RewardTable fields)"})
    reward_clip: float = field(default=5.0, metadata={"help": "rewards are clipped to +-reward_clip"})
    max_prompt_length: int = field(default=2048, metadata={"help": "longer prompts are skipped and counted"})
    max_new_tokens: int = field(default=512, metadata={"help": "tokens generated per answer"})
    do_sample: bool = field(default=False, metadata={"help": "false = greedy rollouts (the paper); GRPO always samples"})
    temperature: float = 1.0
    top_p: float = 1.0
    steps: int = field(default=100, metadata={"help": "rollout batches (PPO) or optimizer steps (GRPO)"})
    batch_size: int = field(default=8, metadata={"help": "prompts per rollout batch, per process"})
    mini_batch_size: int = field(default=4, metadata={"help": "PPO: sequences per optimizer step"})
    ppo_epochs: int = field(default=1, metadata={"help": "PPO: passes over each rollout batch"})
    actor_lr: float = 2e-7
    critic_lr: float = 1e-7
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    kl_coef: float = field(default=0.4, metadata={"help": "per-token KL penalty to the reference (GRPO: beta)"})
    gamma: float = 1.0
    lam: float = 0.95
    clip_ratio: float = field(default=0.2, metadata={"help": "PPO clip of the policy ratio (GRPO: epsilon)"})
    value_clip: float = field(default=0.2, metadata={"help": "PPO clip of the value change"})
    whiten_advantages: bool = True
    num_generations: int = field(default=4, metadata={"help": "GRPO: completions per prompt"})
    use_vllm: bool = field(default=False, metadata={
        "help": "generate with vLLM, colocated (needs the vllm package): single-call GRPO and episode mode"})
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata={
        "help": "use_vllm: the share of GPU memory vLLM reserves (TRL's default); the trainer needs the rest"})
    grpo_args: dict = field(default_factory=dict, metadata={"help": "GRPO: extra trl.GRPOConfig fields"})
    save_steps: int = field(default=0, metadata={"help": "checkpoint every N steps (0: only at the end)"})
    save_total_limit: int = field(default=0, metadata={
        "help": "keep only the newest N checkpoints (0: all); a checkpoint of a PPO-size model can be GBs"})
    resume_from_checkpoint: str | bool | None = field(
        default=None, metadata={"help": "a checkpoint-N directory, or true for the latest in output_dir"})
    logging_steps: int = 1
    seed: int = 0
    dtype: str = field(default="auto", metadata={"help": "model weights dtype: auto, float32, bfloat16, float16"})
    trust_remote_code: bool = False
    lora: bool = field(default=False, metadata={"help": "train LoRA adapters; the reference is the base with adapters off"})
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | str = field(default="all-linear")
    strict: bool = field(default=False, metadata={"help": "stop at the first invalid record instead of counting it"})


def load_config(path: str | Path | None, overrides: list[str] = ()) -> RLConfig:
    """The config of a YAML file plus ``key=value`` overrides; a bad key or value names itself."""
    config = load(RLConfig, path, overrides)  # the one loader: unknown keys named, YAML 1.1 undone
    check_choice("algorithm", config.algorithm, ALGORITHMS)
    check_choice("mode", config.mode, MODES)
    check_prompt_format(config.prompt_format)
    layout_of(config)
    check_fields(config, [f.name for f in fields(RLConfig) if f.type == "bool"], RL_RANGES)
    if not config.output_dir:
        raise ValueError("output_dir is required")
    if not config.train_files:
        raise ValueError("train_files is required (one or more JSONL record files)")
    if config.batch_size % config.mini_batch_size and (config.algorithm == "ppo" or config.mode == "episode"):
        raise ValueError(f"batch_size ({config.batch_size}) must be a multiple of mini_batch_size ({config.mini_batch_size})")
    if config.mode == "episode" and config.algorithm == "grpo" and config.batch_size % config.num_generations:
        raise ValueError(f"batch_size ({config.batch_size}, episodes per process) must be a multiple of "
                         f"num_generations ({config.num_generations}) in episode mode")
    if config.use_vllm and config.mode == "single" and config.algorithm == "ppo":
        raise ValueError("use_vllm: true needs algorithm: grpo or mode: episode (single-call PPO generates with "
                         "transformers)")
    if not isinstance(config.grpo_args, dict):
        raise ValueError("grpo_args must be a mapping of trl.GRPOConfig fields")
    return config
