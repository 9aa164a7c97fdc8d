"""GRPO with the IRM reward: TRL's ``GRPOTrainer``, wired to our prompts and ``verdict.judge``.

- Prompts are pre-rendered text (not conversational: each record has its own tools, which TRL cannot
  pass per example).  TRL tokenizes string prompts with the tokenizer's default special tokens, so a
  BOS the rendered text already holds is removed from the text first (no doubled BOS).
- Each prompt's ``gold`` and ``tools`` travel as JSON-string columns; TRL hands extra columns to the
  reward function, which decodes them (Arrow cannot type them).
- ``use_vllm: true`` generates with vLLM (TRL's colocate mode) when vllm is importable.
"""

from __future__ import annotations

import json


def strip_default_bos(text: str, tokenizer) -> str:
    """The text without a leading BOS when the tokenizer adds one by itself."""
    bos = tokenizer.bos_token
    if not bos or not text.startswith(bos):
        return text
    ids = tokenizer("x")["input_ids"]
    return text[len(bos):] if ids and ids[0] == tokenizer.bos_token_id else text


def prompt_dataset(prompts, tokenizer):
    from datasets import Dataset

    return Dataset.from_list([{"prompt": strip_default_bos(p.text, tokenizer), "gold": json.dumps(p.gold),
                               "tools": json.dumps(p.tools)} for p in prompts])


def grpo_args(config):
    from trl import GRPOConfig

    from .vllm_sampler import require_vllm

    if config.use_vllm:
        require_vllm()
    values = dict(
        output_dir=config.output_dir, learning_rate=config.actor_lr, weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm, max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        num_generations=config.num_generations, max_completion_length=config.max_new_tokens,
        temperature=config.temperature, top_p=config.top_p, beta=config.kl_coef, epsilon=config.clip_ratio,
        use_vllm=config.use_vllm, vllm_mode="colocate",
        vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization, seed=config.seed, logging_steps=config.logging_steps,
        save_strategy="steps" if config.save_steps else "no", save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit or None,
        report_to="none", bf16=False,
    )
    values.update(config.grpo_args)  # the user's GRPOConfig fields win
    return GRPOConfig(**values)


def run_grpo(config, prompts, tokenizer, stop_strings, rewards=None) -> list[dict]:
    """Train with GRPO, save the model to ``output_dir``; returns TRL's log history."""
    from trl import GRPOTrainer

    from ..models import load_causal_lm
    from .reward import GRPOReward

    model = load_causal_lm(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
    peft_config = None
    if config.lora:
        from ..models import lora_config

        peft_config = lora_config(config)
    trainer = GRPOTrainer(
        model=model, reward_funcs=GRPOReward(rewards, config.reward_clip, stop_strings), args=grpo_args(config),
        train_dataset=prompt_dataset(prompts, tokenizer), processing_class=tokenizer, peft_config=peft_config,
    )
    trainer.train(resume_from_checkpoint=config.resume_from_checkpoint or None)  # TRL: a path, or true for the latest
    trainer.save_model(config.output_dir)
    return trainer.state.log_history
