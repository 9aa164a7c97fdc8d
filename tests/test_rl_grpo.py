"""GRPO of IRM: TRL's GRPOTrainer with the judge as reward, no doubled BOS, and a seeded learning test."""

from __future__ import annotations

import json

import torch

from tl_training.rl.config import load_config
from tl_training.rl.grpo import grpo_args, prompt_dataset, strip_default_bos
from tl_training.rl.prompts import RLPrompt
from tl_training.rl.reward import GRPOReward
from rl_toy import save_toy_model, toy_records
from tl_training.tiny import build_tokenizer


def _bos_adding_tokenizer():
    from tokenizers.processors import TemplateProcessing

    tokenizer = build_tokenizer()
    tokenizer._tokenizer.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tokenizer.bos_token_id)])
    return tokenizer


def test_rendered_bos_is_not_doubled():
    tokenizer = _bos_adding_tokenizer()
    text = "<s>User: hi\nAssistant:"
    ids = tokenizer(strip_default_bos(text, tokenizer))["input_ids"]  # as GRPOTrainer tokenizes string prompts
    assert ids[0] == tokenizer.bos_token_id and ids[1] != tokenizer.bos_token_id
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    plain = build_tokenizer()  # adds no BOS: the text keeps its own
    assert strip_default_bos(text, plain) == text


def test_reward_function_decodes_json_columns_and_cuts_at_stop_strings():
    gold = [[{"name": "f", "arguments": {"x": [1, 2]}}]]
    prompt = RLPrompt("a", "p", gold, [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {}}}}}])
    rows = prompt_dataset([prompt, prompt], build_tokenizer())
    reward = GRPOReward(stop_strings=["\nOutput:"])
    completions = ["f(x=[1, 2])\nOutput: whatever follows", "f(x=[2, 1])"]
    assert reward(prompts=rows["prompt"], completions=completions, gold=rows["gold"], tools=rows["tools"]) == [1.0, -0.25]
    assert json.loads(rows["gold"][0]) == gold


def test_grpo_args_map_shared_fields_and_pass_grpo_args(tmp_path):
    config = load_config(None, ["algorithm=grpo", f"output_dir={tmp_path}", "train_files=x.jsonl", "kl_coef=0.1",
                                "num_generations=2", "batch_size=4", "grpo_args={lr_scheduler_type: constant}"])
    args = grpo_args(config)
    assert (args.beta, args.num_generations, args.per_device_train_batch_size, args.learning_rate) == (0.1, 2, 4, 2e-7)
    assert args.lr_scheduler_type == "constant"


def test_grpo_raises_the_mean_reward(tmp_path):
    from tl_training.models import load_tokenizer
    from tl_training.render import get_renderer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.grpo import run_grpo

    torch.set_num_threads(1)
    records = toy_records(32)
    (tmp_path / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    save_toy_model(tmp_path / "model", records, warm_steps=60)
    config = load_config(None, [
        "algorithm=grpo", f"output_dir={tmp_path / 'out'}", f"model={tmp_path / 'model'}", f"train_files={tmp_path / 'toy.jsonl'}",
        "prompt_format=paper", "max_new_tokens=8", "steps=30", "batch_size=16", "num_generations=8", "actor_lr=1e-3",
        "kl_coef=0.0", "seed=0", "grpo_args={lr_scheduler_type: constant, gradient_checkpointing: false}",
    ])
    tokenizer = load_tokenizer(config.model)
    renderer = get_renderer("paper", tokenizer)
    prompts, _ = load_prompts(config, tokenizer, renderer)
    rewards = [e["reward"] for e in run_grpo(config, prompts, tokenizer, renderer.stop_strings) if "reward" in e]
    assert len(rewards) == 30
    first, last = sum(rewards[:6]) / 6, sum(rewards[-6:]) / 6
    assert last > first + 0.4, rewards
    assert (tmp_path / "out" / "model.safetensors").is_file()
