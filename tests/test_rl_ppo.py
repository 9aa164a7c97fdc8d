"""PPO of IRM: the pure pieces against hand computations, prompts, config, a seeded learning test on the
toy task, and a two-process ``accelerate launch --cpu`` run that writes a checkpoint."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

from tl_training.jsonl import Tally
from tl_training.render import get_renderer
from tl_training.rl.config import load_config
from tl_training.rl.ppo import gae, policy_loss, response_mask, token_rewards, value_loss, whiten
from tl_training.rl.prompts import build_prompts
from tl_training.rl.reward import clip_reward, score_texts
from rl_toy import save_toy_model, toy_records

# ----------------------------------------------------------------------------------- hand computations


def test_reward_is_clipped_both_ways():
    assert clip_reward(7.0, 5.0) == 5.0
    assert clip_reward(-9.0, 5.0) == -5.0
    assert clip_reward(-1.5, 5.0) == -1.5
    rewards, verdicts = score_texts(["alpha()", "gamma()"], [[[{"name": "alpha", "arguments": {}}]]] * 2,
                                    [["alpha", "beta"]] * 2, clip=1.0)
    assert rewards == [1.0, -1.0]  # correct = +1; hallucination = -2 clipped to -1
    assert [v.category for v in verdicts] == ["correct", "tool_hallucination"]


def test_token_rewards_kl_on_every_token_and_score_on_the_last():
    logprobs = torch.tensor([[-1.0, -2.0, -0.5], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.0, -0.5], [-2.0, -1.0, -9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    rewards, kl = token_rewards(torch.tensor([1.0, -2.0]), logprobs, ref, mask, kl_coef=0.4)
    assert torch.allclose(kl, torch.tensor([[0.5, -1.0, 0.0], [1.0, 0.0, 0.0]]))
    expected = torch.tensor([[-0.2, 0.4, 0.0 + 1.0], [-0.4, 0.0 - 2.0, 0.0]])
    assert torch.allclose(rewards, expected)


def test_gae_matches_hand_computation():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.2, 0.4]])
    mask = torch.ones(1, 3)
    gamma, lam = 0.9, 0.5
    d2 = 1.0 - 0.4
    d1 = 0.0 + gamma * 0.4 - 0.2
    d0 = 0.0 + gamma * 0.2 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    advantages, returns = gae(rewards, values, mask, gamma, lam)
    assert torch.allclose(advantages, torch.tensor([[a0, a1, a2]]))
    assert torch.allclose(returns, torch.tensor([[a0 + 0.5, a1 + 0.2, a2 + 0.4]]))


def test_gae_ends_the_episode_at_the_mask():
    rewards = torch.tensor([[0.0, 2.0, 0.0, 0.0]])
    values = torch.tensor([[1.0, 1.0, 5.0, 5.0]])  # values past the stop must not leak in
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=0.95)
    assert torch.allclose(advantages, torch.tensor([[0.95 * 1.0 + 0.0, 1.0, 0.0, 0.0]]))
    assert torch.allclose(returns, torch.tensor([[1.95, 2.0, 0.0, 0.0]]))


def test_whiten_uses_only_unmasked_entries():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    out = whiten(x, torch.tensor([[1.0, 1.0, 0.0]]))
    assert torch.allclose(out, torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-4)


def test_whiten_over_processes_equals_whitening_the_global_batch():
    torch.manual_seed(0)
    x, mask = torch.randn(4, 5), (torch.rand(4, 5) > 0.3).float()
    whole = whiten(x, mask)
    mean = (x * mask).sum() / mask.sum()
    for mine, theirs in ((slice(0, 2), slice(2, 4)), (slice(2, 4), slice(0, 2))):
        # the other rank's contribution to each of the two sums whiten asks for, in order
        other = iter([torch.stack([mask[theirs].sum(), (x[theirs] * mask[theirs]).sum()]),
                      ((x[theirs] - mean) ** 2 * mask[theirs]).sum()])
        rank = whiten(x[mine], mask[mine], sum_over_processes=lambda t: t + next(other))
        assert torch.allclose(rank, whole[mine], atol=1e-5)
    assert not torch.allclose(whiten(x[:2], mask[:2]), whole[:2], atol=1e-3)  # per rank differs


def test_policy_loss_clips_the_ratio():
    old = torch.zeros(1, 2)
    new = torch.log(torch.tensor([[1.5, 0.5]]))  # ratios 1.5 and 0.5
    advantages = torch.tensor([[1.0, -1.0]])
    loss, clipped = policy_loss(new, old, advantages, torch.ones(1, 2), clip=0.2)
    # token 0: max(-1.5, -1.2) = -1.2 (clipped); token 1: max(0.5, 0.8) = 0.8 (clipped)
    assert loss.item() == pytest.approx((-1.2 + 0.8) / 2)
    assert clipped.item() == 1.0
    loss, clipped = policy_loss(torch.log(torch.tensor([[1.1, 0.5]])), old, torch.tensor([[1.0, 1.0]]), torch.ones(1, 2), 0.2)
    assert loss.item() == pytest.approx((-1.1 - 0.5) / 2) and clipped.item() == 0.0


def test_value_loss_takes_the_larger_error():
    old = torch.tensor([[0.0, 0.0]])
    new = torch.tensor([[1.0, 0.1]])
    returns = torch.tensor([[1.0, 1.0]])
    loss = value_loss(new, old, returns, torch.ones(1, 2), clip=0.2)
    # token 0: unclipped error 0, clipped value 0.2 -> 0.64; token 1: 0.81 both ways
    assert loss.item() == pytest.approx(0.5 * (0.64 + 0.81) / 2)


class _CharTokenizer:
    """Token id i is character chr(97 + i); decode joins them (enough for the stop logic)."""

    def decode(self, ids, **kwargs):
        return "".join(chr(97 + i) for i in ids)


def test_response_mask_stops_at_eos_and_stop_strings():
    eos = 25  # 'z'
    responses = torch.tensor([[0, 1, eos, 3], [2, 3, 4, 5], [0, 0, 0, 0]])  # 'abz d', 'cdef', 'aaaa'
    mask = response_mask(_CharTokenizer(), responses, {eos}, ["de"])
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 1]]


# ----------------------------------------------------------------------------------- prompts and config


def test_prompts_from_eval_cases_and_trajectories():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}]
    case = {"id": "c", "tools": tools, "messages": [{"role": "user", "content": "q"}], "gold": [[{"name": "f", "arguments": {"x": 1}}]]}
    call = {"type": "function", "function": {"name": "f", "arguments": {"x": 2}}}
    trajectory = {"id": "t", "tools": tools, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [call], "train": False, "mae_reason": "x"},
        {"role": "tool", "name": "f", "content": "error"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "f", "content": "ok"},
        {"role": "assistant", "content": "done"}]}
    plain = {"id": "p", "tools": tools, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    renderer = get_renderer("paper")
    tally = Tally()
    prompts = build_prompts([case, trajectory, plain], renderer, tally)
    assert [p.id for p in prompts] == ["c", "t@3"]
    assert prompts[0].gold == case["gold"] and prompts[1].gold == [[{"name": "f", "arguments": {"x": 2}}]]
    assert prompts[1].text == renderer.render_prompt(trajectory, upto=3)
    assert [t["function"]["name"] for t in prompts[1].tools] == ["f", "ask_to_user", "finish"]  # the paper adds both
    assert tally.rejected == 1 and "no trained assistant turn with calls" in tally.reasons
    assert tally.written == 2

    from tl_training.tiny import build_tokenizer

    tokenizer, tally = build_tokenizer(), Tally()
    longest = max(len(tokenizer(p.text)["input_ids"]) for p in prompts)
    kept = build_prompts([case, trajectory], renderer, tally, tokenizer, max_prompt_length=longest - 1)
    assert len(kept) == 1 and tally.written == 1  # the longer prompt is counted, not silently dropped
    assert tally.reasons == {f"prompt longer than max_prompt_length={longest - 1}": 1}


def test_config_reads_yaml_overrides_and_names_bad_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("algorithm: ppo\noutput_dir: out\ntrain_files: a.jsonl\nactor_lr: 1e-6\n")
    config = load_config(path, ["critic_lr=2e-7", "steps=3"])
    assert (config.actor_lr, config.critic_lr, config.steps, config.train_files) == (1e-6, 2e-7, 3, ["a.jsonl"])
    assert (config.kl_coef, config.gamma, config.lam, config.clip_ratio, config.reward_clip) == (0.4, 1.0, 0.95, 0.2, 5.0)
    with pytest.raises(ValueError, match="unknown field.*kl_cof"):
        load_config(path, ["kl_cof=0.1"])
    with pytest.raises(ValueError, match="algorithm"):
        load_config(path, ["algorithm=dpo"])
    with pytest.raises(ValueError, match="steps: expected a number"):
        load_config(path, ["steps=many"])


# ----------------------------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The toy task on disk and a tiny model warm-started on it (picks its tool by chance)."""
    torch.set_num_threads(1)  # tiny tensors: more threads only contend on a shared CI machine
    root = tmp_path_factory.mktemp("toy")
    records = toy_records(32)
    (root / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    save_toy_model(root / "model", records, warm_steps=60)
    return root


def _toy_config(toy, tmp_path, *overrides):
    return load_config(None, [f"output_dir={tmp_path / 'out'}", f"model={toy / 'model'}", f"train_files={toy / 'toy.jsonl'}",
                              "prompt_format=paper", "max_new_tokens=8", *overrides])


def test_ppo_raises_the_mean_reward(toy, tmp_path):
    from tl_training.models import load_tokenizer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.ppo import run_ppo

    config = _toy_config(toy, tmp_path, "steps=24", "batch_size=8", "mini_batch_size=4", "ppo_epochs=2", "do_sample=true",
                         "actor_lr=3e-4", "critic_lr=1e-3", "kl_coef=0.05", "seed=0")
    tokenizer = load_tokenizer(config.model)
    renderer = get_renderer("paper", tokenizer)
    prompts, _ = load_prompts(config, tokenizer, renderer)
    history = run_ppo(config, prompts, tokenizer, renderer.stop_strings)
    first = sum(e["reward"] for e in history[:6]) / 6
    last = sum(e["reward"] for e in history[-6:]) / 6
    assert last > first + 0.4, [e["reward"] for e in history]
    assert set(history[-1]) >= {"kl", "value_loss", "policy_loss", "clip_fraction", "rate/correct", "rate/wrong_tool"}
    assert sum(v for k, v in history[-1].items() if k.startswith("rate/")) == pytest.approx(1.0, abs=1e-3)
    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and (out / "critic" / "model.safetensors").is_file()
    assert len((out / "rl_log.jsonl").read_text().splitlines()) == 24


ACCELERATE_LAUNCH = [sys.executable, "-m", "accelerate.commands.launch"]  # this interpreter's accelerate


def test_ppo_two_processes_under_accelerate_launch(toy, tmp_path):
    out = tmp_path / "ddp"
    command = [
        *ACCELERATE_LAUNCH, "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "-m", "tl_training", "rl", f"output_dir={out}", f"model={toy / 'model'}",
        f"train_files={toy / 'toy.jsonl'}", "prompt_format=paper", "max_new_tokens=8", "steps=2", "batch_size=2",
        "mini_batch_size=1", "actor_lr=1e-4", "critic_lr=1e-4", "do_sample=true",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("step 2/2") == 1, done.stdout  # rank 0 alone logs
    assert (out / "model.safetensors").is_file() and (out / "critic" / "model.safetensors").is_file()
    report = json.loads((out / "rl_report.json").read_text())
    assert report["steps"] == 2 and len(report["log"]) == 2
    # category rates are over both ranks' sequences: 2 per rank -> multiples of 1/4
    assert all((4 * v) == pytest.approx(round(4 * v)) for k, v in report["log"][0].items() if k.startswith("rate/"))


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def _same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _without_timings(log_text: str) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if not k.startswith("seconds/")} for line in log_text.splitlines()]


def test_ppo_resumed_from_a_checkpoint_ends_where_the_uninterrupted_run_ends(toy, tmp_path):
    from tl_training.models import load_tokenizer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.ppo import run_ppo

    def train(out, *extra):
        config = load_config(None, [f"output_dir={out}", f"model={toy / 'model'}", f"train_files={toy / 'toy.jsonl'}",
                                    "prompt_format=paper", "max_new_tokens=8", "steps=4", "save_steps=2", "batch_size=2",
                                    "mini_batch_size=1", "do_sample=true", "actor_lr=1e-3", "critic_lr=1e-3", *extra])
        tokenizer = load_tokenizer(config.model)
        renderer = get_renderer("paper", tokenizer)
        return run_ppo(config, load_prompts(config, tokenizer, renderer)[0], tokenizer, renderer.stop_strings)

    straight = train(tmp_path / "straight")
    checkpoint = tmp_path / "straight" / "checkpoint-2"
    assert (checkpoint / "progress.json").is_file() and (checkpoint / "state").is_dir()
    resumed = train(tmp_path / "resumed", f"resume_from_checkpoint={checkpoint}")
    assert [e["step"] for e in resumed] == [1, 2, 3, 4]
    assert _without_timings((tmp_path / "resumed" / "rl_log.jsonl").read_text()) == \
        _without_timings((tmp_path / "straight" / "rl_log.jsonl").read_text())
    for name in ("model.safetensors", "critic/model.safetensors"):  # sampled rollouts: the RNG came back too
        assert _same_weights(_weights(tmp_path / "straight" / name), _weights(tmp_path / "resumed" / name))
    assert not _same_weights(_weights(tmp_path / "straight" / "model.safetensors"), _weights(toy / "model" / "model.safetensors"))

    from tl_training.cli import UserError

    with pytest.raises(UserError, match="no checkpoint-N"):
        train(tmp_path / "empty", "resume_from_checkpoint=true")


def test_a_run_killed_while_saving_resumes_from_the_last_whole_checkpoint_and_keeps_the_newest(toy, tmp_path, monkeypatch):
    from tl_training.models import load_tokenizer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.ppo import PPORecipe, run_ppo

    out = tmp_path / "out"

    def train(*extra):
        config = load_config(None, [f"output_dir={out}", f"model={toy / 'model'}", f"train_files={toy / 'toy.jsonl'}",
                                    "prompt_format=paper", "max_new_tokens=8", "steps=6", "save_steps=2", "batch_size=2",
                                    "mini_batch_size=1", "save_total_limit=1", *extra])
        tokenizer = load_tokenizer(config.model)
        renderer = get_renderer("paper", tokenizer)
        return run_ppo(config, load_prompts(config, tokenizer, renderer)[0], tokenizer, renderer.stop_strings)

    save = PPORecipe.save

    def killed_at_step_4(self, directory, resumable=False):
        save(self, directory, resumable)
        if self.step == 4:  # everything written, not yet renamed: the kill lands in between
            raise KeyboardInterrupt

    monkeypatch.setattr(PPORecipe, "save", killed_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        train()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["checkpoint-2", "checkpoint-4.partial"]
    monkeypatch.setattr(PPORecipe, "save", save)
    history = train("resume_from_checkpoint=true")  # the latest *whole* checkpoint
    assert [e["step"] for e in history] == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-4"]  # limit 1


DEEPSPEED_CONFIG = """compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  zero_stage: {stage}
  gradient_clipping: 1.0
  zero3_init_flag: false
num_machines: 1
num_processes: 1
machine_rank: 0
mixed_precision: 'no'
use_cpu: true
"""


def _launch_deepspeed(stage, toy, tmp_path, out, *extra):
    config = tmp_path / f"zero{stage}.yaml"
    config.write_text(DEEPSPEED_CONFIG.format(stage=stage))
    command = [*ACCELERATE_LAUNCH, "--config_file", str(config), "-m", "tl_training", "rl", f"output_dir={out}",
               f"model={toy / 'model'}", f"train_files={toy / 'toy.jsonl'}", "prompt_format=paper", "max_new_tokens=8",
               "batch_size=2", "mini_batch_size=1", "do_sample=true", "actor_lr=1e-3", "critic_lr=1e-3", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed is not installed (pip install deepspeed)")
@pytest.mark.parametrize("stage", [2, 3])
def test_ppo_under_deepspeed_trains_both_models_and_resumes_exactly(toy, tmp_path, stage):
    """Real DeepSpeed engines (one per trained model) on the CPU accelerator, in one process: accelerate's
    CPU path does not hand DeepSpeed a multi-process state, so several ranks need GPUs.  Under ZeRO-3 every
    model, the reference included, is loaded partitioned and gathered around its use."""

    def launch(out, *extra):
        return _launch_deepspeed(stage, toy, tmp_path, out, "steps=3", "save_steps=2", *extra)

    done = launch(tmp_path / "straight")
    assert done.returncode == 0, done.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "straight" / "rl_log.jsonl").read_text().splitlines()]
    assert log[0]["kl"] == 0.0  # the first rollout's actor is the reference: both read whole, identical weights
    checkpoint = tmp_path / "straight" / "checkpoint-2"
    assert (checkpoint / "state" / "actor" / "latest").is_file() and (checkpoint / "state" / "critic" / "latest").is_file()
    initial = _weights(toy / "model" / "model.safetensors")
    actor = _weights(tmp_path / "straight" / "model.safetensors")
    assert all(actor[k].shape == v.shape for k, v in initial.items())  # whole weights, not shards
    assert not _same_weights(actor, initial)  # the engine stepped the actor
    critic = _weights(tmp_path / "straight" / "critic" / "model.safetensors")
    assert not all(torch.equal(critic[k], initial[k]) for k in critic if k in initial)  # and the critic

    done = launch(tmp_path / "resumed", f"resume_from_checkpoint={checkpoint}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in done.stdout
    for name in ("model.safetensors", "critic/model.safetensors"):
        assert _same_weights(_weights(tmp_path / "straight" / name), _weights(tmp_path / "resumed" / name))
    assert _without_timings((tmp_path / "resumed" / "rl_log.jsonl").read_text()) == \
        _without_timings((tmp_path / "straight" / "rl_log.jsonl").read_text())


def test_ppo_with_lora_uses_the_disabled_adapter_as_reference(toy, tmp_path):
    from tl_training.models import load_tokenizer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.ppo import PPORecipe

    config = _toy_config(toy, tmp_path, "steps=2", "batch_size=4", "mini_batch_size=2", "lora=true", "lora_r=4",
                         "actor_lr=1e-2", "critic_lr=1e-3", "do_sample=true")
    tokenizer = load_tokenizer(config.model)
    renderer = get_renderer("paper", tokenizer)
    prompts, _ = load_prompts(config, tokenizer, renderer)
    recipe = PPORecipe(config, prompts, tokenizer, renderer.stop_strings)
    assert recipe.reference is None  # no third model: the actor with adapters off
    history = recipe.train()
    # the first rollout comes from the untouched adapters (LoRA B starts at 0): actor == reference, KL 0
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-6)
    assert history[1]["kl"] != pytest.approx(0.0, abs=1e-6)  # after an update at a high learning rate they differ
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "out" / "critic" / "adapter_model.safetensors").is_file()


def test_rl_command_names_a_bad_config(capsys):
    from tl_training.cli import main

    assert main(["rl", "output_dir=out"]) == 2
    assert "train_files is required" in capsys.readouterr().err
    assert main(["rl", "output_dir=out", "train_files=x.jsonl", "algorithm=ppo", "batch_size=3", "mini_batch_size=2"]) == 2
    assert "multiple of mini_batch_size" in capsys.readouterr().err


def test_rollout_logprobs_are_generates_own_scores_and_the_first_minibatch_has_ratio_one(toy, tmp_path):
    """The response log-probs PPO trains with equal the scores generate() computed while sampling (same
    tokens, same distribution), and the first update's ratio is exactly 1 (nothing clipped)."""
    from tl_training.models import load_tokenizer
    from tl_training.rl.command import load_prompts
    from tl_training.rl.ppo import PPORecipe, left_pad, policy_loss, response_logprobs

    config = _toy_config(toy, tmp_path, "steps=1", "batch_size=4", "mini_batch_size=4", "do_sample=true",
                         "temperature=0.7", "seed=3")
    tokenizer = load_tokenizer(config.model)
    renderer = get_renderer("paper", tokenizer)
    prompts, _ = load_prompts(config, tokenizer, renderer)
    recipe = PPORecipe(config, prompts, tokenizer, renderer.stop_strings)
    batch = recipe.next_batch()
    actor = recipe.accelerator.unwrap_model(recipe.actor)
    prompt_ids, prompt_mask = left_pad(tokenizer, [p.text for p in batch], recipe.pad_id, actor.device)
    torch.manual_seed(0)
    with torch.no_grad():
        out = actor.generate(input_ids=prompt_ids, attention_mask=prompt_mask, max_new_tokens=6, do_sample=True,
                             temperature=0.7, top_p=1.0, top_k=None, pad_token_id=recipe.pad_id, eos_token_id=None,
                             output_scores=True, return_dict_in_generate=True)
        width = prompt_ids.shape[1]
        sampled = out.sequences[:, width:]
        scores = torch.stack(out.scores, dim=1).float().log_softmax(-1)  # generate's processed (tempered) logits
        expected = scores.gather(-1, sampled.unsqueeze(-1)).squeeze(-1)
        attention = torch.cat([prompt_mask, torch.ones_like(sampled)], dim=1)
        got = response_logprobs(actor, out.sequences, attention, width, temperature=0.7)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    timer = {"generate": 0.0, "judge": 0.0, "score": 0.0, "update": 0.0}
    data, *_ = recipe.rollout(batch, timer)
    with torch.no_grad():
        again = response_logprobs(recipe.actor, data.input_ids, data.attention_mask,
                                  data.input_ids.shape[1] - data.mask.shape[1], recipe.temperature)
    loss, clipped = policy_loss(again, data.logprobs, data.advantages, data.mask, config.clip_ratio)
    assert clipped.item() == 0.0
    torch.testing.assert_close((again - data.logprobs) * data.mask, torch.zeros_like(again), atol=1e-5, rtol=0)


def test_next_batch_gives_ranks_disjoint_slices_across_an_epoch_boundary():
    from types import SimpleNamespace

    from tl_training.rl.ppo import PPORecipe

    def rank(index):
        recipe = PPORecipe.__new__(PPORecipe)  # the data order only: no models
        recipe.prompts, recipe.order, recipe.epoch = list(range(10)), [], 0
        recipe.config = SimpleNamespace(batch_size=3, seed=0)
        recipe.accelerator = SimpleNamespace(num_processes=2, process_index=index)
        return recipe

    ranks, drawn = [rank(0), rank(1)], []
    for _ in range(5):  # 5 global batches of 6 over 10 prompts: epoch boundaries inside batches 2 and 4
        first, second = (r.next_batch() for r in ranks)
        assert len(first) == len(second) == 3 and len(set(first + second)) == 6, (first, second)  # was [6, 6, 8]
        drawn += first + second
    # every epoch still visits every prompt once
    assert sorted(drawn[:10]) == sorted(drawn[10:20]) == list(range(10))
