"""rl.mode: episode -- multi-turn rollouts with executed tools, the episode reward, PPO and GRPO over them."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
import torch

from rl_toy import GOLD_TOOL, ToyEnvironment, save_episode_toy_model, toy_records, train_episodes
from tl_training.record import make_call
from tl_training.rl.config import load_config


# --------------------------------------------------------------------------------------- pure pieces


def test_gae_skips_environment_tokens_instead_of_ending_the_episode():
    from tl_training.rl.ppo import gae

    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 9.0, 0.25]])  # the environment token's value is never used
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert advantages.tolist() == [[1.0 - 0.5, 0.0, 1.0 - 0.25]]  # the last turn's reward reaches the first turn
    assert returns.tolist() == [[1.0, 0.0, 1.0]]
    half, _ = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    assert half[0, 0].item() == pytest.approx((0.25 - 0.5) + 0.5 * (1.0 - 0.25))


def test_placed_rewards_and_kl_only_on_sampled_tokens():
    from tl_training.rl.ppo import token_rewards

    placed = torch.tensor([[0.0, 0.0, -1.5, 1.0]])
    logprobs, ref = torch.tensor([[-1.0, -2.0, -1.0, -1.0]]), torch.tensor([[-1.5, -0.5, -1.0, -2.0]])
    mask = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    rewards, kl = token_rewards(placed, logprobs, ref, mask, kl_coef=0.5)
    assert kl.tolist() == [[0.5, 0.0, 0.0, 1.0]]
    assert rewards.tolist() == [[-0.25, 0.0, -1.5, 0.5]]


def test_group_advantages_are_relative_to_each_group():
    from tl_training.rl.episode import GROUP_EPS, group_advantages

    advantages = group_advantages(torch.tensor([1.0, 3.0, 5.0, 5.0]), group=2)
    std = torch.tensor([1.0, 3.0]).std().item()
    assert advantages.tolist() == pytest.approx([-1 / (std + GROUP_EPS), 1 / (std + GROUP_EPS), 0.0, 0.0])


def test_calls_are_graded_against_unused_gold_or_from_their_feedback():
    from tl_training.rl.episode_reward import EpisodeGrader
    from rl_toy import TOOLS

    record = {"tools": TOOLS}
    grader = EpisodeGrader([make_call(GOLD_TOOL)])
    assert grader.grade(make_call("beta"), "ok", False, record).category == "wrong_tool"
    first = grader.grade(make_call(GOLD_TOOL), "ok", False, record)
    assert (first.category, first.reward, first.source) == ("correct", 1.0, "verdict")
    assert grader.grade(make_call(GOLD_TOOL), "ok", False, record).category == "wrong_tool"  # used up
    assert grader.grade(make_call("gamma"), "ok", False, record).category == "tool_hallucination"

    weather = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    record, feedback = {"tools": weather}, EpisodeGrader(None)
    cases = [
        (make_call("get_forecast", {"city": "Rome"}), "NameError: name 'get_forecast' is not defined", True, "tool_hallucination", -2.0),
        (make_call("get_weather"), "get_weather() missing 1 required positional argument: 'city'", True, "parameter_error", -0.5),
        (make_call("get_weather", {"city": "Rome", "units": "c"}), "unexpected keyword argument 'units'", True, "parameter_error", -0.8),
        (make_call("get_weather", {"city": "Atlantis"}), "KeyError: 'Atlantis'", True, "content_error", -0.25),
        (make_call("get_weather", {"city": "Rome"}), "something went wrong", True, "content_error", -0.25),
        (make_call("get_weather", {"city": "Rome"}), '{"temp_c": 21}', False, "accepted", 0.0),
    ]
    for call, text, rejected, category, reward in cases:
        grade = feedback.grade(call, text, rejected, record)
        assert (grade.category, grade.reward) == (category, reward), (call, text)


def test_each_call_of_a_turn_is_located_at_the_token_completing_it():
    from tl_training.calls import parse_calls
    from tl_training.rl.episodes import call_ends
    from tl_training.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    first = '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
    text = first + '\n<tool_call>{"name": "b", "arguments": {"x": 1}}</tool_call>'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ends = call_ends(tokenizer, ids, [make_call("a"), make_call("b", {"x": 1})], "hermes")
    assert ends[1] == len(ids) - 1
    assert parse_calls(tokenizer.decode(ids[:ends[0] + 1]), "hermes").calls == [make_call("a")]  # complete here
    assert parse_calls(tokenizer.decode(ids[:ends[0]]), "hermes").calls != [make_call("a")]  # not before
    assert len(tokenizer.decode(ids[:ends[0] + 1])) <= len(first)


# ------------------------------------------------------------------------- rollouts on the tool world


def test_a_tool_world_episode_trains_exactly_the_sampled_tokens():
    """Scripted turns, each sampled as a token split no tokenizer would produce from its text: the episode
    holds those very ids, the environment's own tokens between them, the call rewards at the calls."""
    from tl_training.environments import environment_for
    from tl_training.render import get_renderer
    from tl_training.rl.episodes import EpisodeRunner, environment_text
    from tl_training.synth import generate
    from tl_training.tiny import build_tokenizer

    from test_environments import _literal

    case = next(r for r in generate(3, 40, split="eval") if r["meta"]["scenario"] == "chain")
    tokenizer = build_tokenizer()
    renderer = get_renderer("paper", tokenizer)
    env = environment_for(case)
    env.reset(case)
    from tl_training.calls import format_calls

    script = [format_calls([_literal(g)], "python") for g in env.gold] + ["The answer is ready."]
    eos = tokenizer.eos_token_id
    sampled_turns = [[t for ch in " " + text for t in tokenizer(ch, add_special_tokens=False)["input_ids"]] + [eos]
                     for text in script]
    assert sampled_turns[0] != tokenizer(" " + script[0], add_special_tokens=False)["input_ids"] + [eos]  # not canonical
    contexts = []

    def sample(batch):
        contexts.append(batch[0])
        return [sampled_turns[len(contexts) - 1] + [eos, eos]]  # generation runs past the stop: cut there

    runner = EpisodeRunner(tokenizer, renderer, sample, syntax="python", stop_ids={eos}, max_turns=5,
                           max_new_tokens=200, max_episode_length=100_000, outcome_reward=1.0)
    env = environment_for(case)
    episode = runner.run([case], [env])[0]
    assert episode.sampled == sampled_turns
    assert [t for t, a in zip(episode.response, episode.action) if a] == [t for turn in sampled_turns for t in turn]
    # between the turns: the tokens of the environment's text, and each next context is the episode so far
    first_gap = episode.response[len(sampled_turns[0]):episode.action.index(1, len(sampled_turns[0]))]
    record = {**env.record, "messages": env.record["messages"][:4]}  # system, user, call, result
    ending = tokenizer.decode([eos])
    assert first_gap == tokenizer(environment_text(renderer, record, 2, ending), add_special_tokens=False)["input_ids"]
    assert contexts[1] == episode.prompt + episode.response[:len(sampled_turns[0]) + len(first_gap)]
    assert [g.category for g in episode.grades] == ["correct", "correct"]
    assert episode.outcome.success and episode.outcome_reward == 1.0
    ends = [i for i, _ in episode.rewards]
    assert episode.action[ends[0]] == 1 and episode.response[ends[0]] == eos  # a call's reward sits on a sampled token
    assert episode.total_reward == 3.0


def test_the_environment_text_continues_the_sampled_turn_as_the_format_renders_it():
    from tl_training.render import get_renderer
    from tl_training.rl.episodes import environment_text
    from tl_training.tiny import build_tokenizer

    from rl_toy import TOOLS

    record = {"id": "t", "tools": TOOLS, "messages": [
        {"role": "user", "content": "Please help me."},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "alpha", "arguments": {}}}]},
        {"role": "tool", "name": "alpha", "content": "ok"}]}
    tokenizer = build_tokenizer()
    chat = get_renderer("chat", tokenizer)  # the turn's span is "...<|im_end|>\n": the newline is the environment's
    text = environment_text(chat, record, 1, "<|im_end|>")
    assert text.startswith("\n<|im_start|>tool\nok") and chat.render_prompt(record).endswith(text)
    paper = get_renderer("paper")  # no EOS: the turn stops at "\nOutput:", which the model has written already
    assert environment_text(paper, record, 1, "\nOutput:") == " ok\nAssistant:"
    assert environment_text(paper, record, 1, "") == "\nOutput: ok\nAssistant:"


def test_a_turn_cut_by_max_new_tokens_truncates_the_episode():
    from tl_training.environments import environment_for
    from tl_training.render import get_renderer
    from tl_training.rl.episodes import EpisodeRunner
    from tl_training.synth import generate
    from tl_training.tiny import build_tokenizer

    case = next(generate(3, 1, split="eval"))
    tokenizer = build_tokenizer()
    words = tokenizer(" the weather is fine today", add_special_tokens=False)["input_ids"][:3]
    assert len(words) == 3 and tokenizer.eos_token_id not in words
    runner = EpisodeRunner(tokenizer, get_renderer("paper", tokenizer), lambda batch: [words], syntax="python",
                           stop_ids={tokenizer.eos_token_id}, max_turns=3, max_new_tokens=3, max_episode_length=100_000,
                           outcome_reward=1.0)
    episode = runner.run([case], [environment_for(case)])[0]
    assert len(episode.sampled) == 1 and not episode.outcome.success and "max_new_tokens" in episode.outcome.reason


# ------------------------------------------------------------------------------- recipes on the toy


@pytest.fixture(scope="module")
def episode_toy(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("episode_toy")
    records = [{k: v for k, v in r.items() if k != "gold"} for r in toy_records(16)]
    save_episode_toy_model(root / "model", records, warm_steps=100)
    return root, records


def _overrides(root, out, *overrides):
    return ["mode=episode", f"output_dir={out}", f"model={root / 'model'}", "train_files=unused.jsonl",
            "prompt_format=paper", "max_new_tokens=8", "max_turns=3", "batch_size=16", "mini_batch_size=8",
            "num_generations=8", "do_sample=true", "actor_lr=1e-3", "critic_lr=1e-3", "kl_coef=0.0", *overrides]


def _config(root, out, *overrides):
    return load_config(None, _overrides(root, out, *overrides))


def _train(root, out, *overrides):
    return train_episodes(_overrides(root, out, *overrides))


def test_environment_tokens_get_no_policy_loss_no_kl_and_no_advantage(episode_toy, tmp_path):
    from tl_training.models import load_tokenizer
    from tl_training.render import get_renderer
    from tl_training.rl.episode import EpisodeRecipe
    from tl_training.rl.ppo import policy_loss

    root, records = episode_toy
    config = _config(root, tmp_path / "out", "kl_coef=0.4")
    tokenizer = load_tokenizer(config.model)
    recipe = EpisodeRecipe(config, records, tokenizer, get_renderer("paper", tokenizer), make_environment=lambda c: ToyEnvironment())
    timer = dict.fromkeys(recipe.timers, 0.0)
    data, stats, _ = recipe.rollout(recipe.next_batch(), timer)
    width = data.input_ids.shape[1] - data.mask.shape[1]
    environment = (data.attention_mask[:, width:] == 1) & (data.mask == 0)
    assert environment.sum() > 0 and stats["turns"] > 1  # episodes went on past a tool result
    assert (data.advantages[environment] == 0).all() and (data.returns[environment] == 0).all()
    logprobs = data.logprobs.clone().requires_grad_(True)
    loss, _ = policy_loss(logprobs, data.logprobs, data.advantages, data.mask, 0.2)
    loss.backward()
    assert (logprobs.grad[environment] == 0).all() and logprobs.grad[data.mask == 1].abs().sum() > 0
    assert stats["kl"] == 0.0  # the first rollout's actor is the reference
    assert all(timer[k] > 0 for k in ("generate", "tools", "judge", "score"))


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_episode_training_raises_the_mean_episode_reward(episode_toy, tmp_path, algorithm):
    root, records = episode_toy
    history = _train(root, tmp_path / "out", f"algorithm={algorithm}", "steps=12")
    rewards = [e["reward"] for e in history]
    first, last = sum(rewards[:4]) / 4, sum(rewards[-4:]) / 4
    assert last > first + 0.5, rewards
    assert history[-1]["outcome"] > history[0]["outcome"]
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "critic").is_dir() == (algorithm == "ppo")


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_an_episode_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_run_ends(episode_toy, tmp_path, algorithm):
    from test_rl_ppo import _same_weights, _weights, _without_timings

    root, records = episode_toy
    extra = (f"algorithm={algorithm}", "steps=4", "save_steps=2", "batch_size=8", "mini_batch_size=4", "num_generations=4")
    _train(root, tmp_path / "straight", *extra)
    checkpoint = tmp_path / "straight" / "checkpoint-2"
    assert (checkpoint / "progress.json").is_file()
    resumed = _train(root, tmp_path / "resumed", *extra, f"resume_from_checkpoint={checkpoint}")
    assert [e["step"] for e in resumed] == [1, 2, 3, 4]
    assert _without_timings((tmp_path / "resumed" / "rl_log.jsonl").read_text()) == \
        _without_timings((tmp_path / "straight" / "rl_log.jsonl").read_text())
    assert _same_weights(_weights(tmp_path / "straight" / "model.safetensors"), _weights(tmp_path / "resumed" / "model.safetensors"))


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed is not installed (pip install deepspeed)")
@pytest.mark.parametrize("stage, algorithm", [(2, "ppo"), (3, "grpo")])
def test_episode_mode_under_deepspeed_trains_and_resumes_exactly(episode_toy, tmp_path, stage, algorithm):
    """Real DeepSpeed engines on the CPU accelerator (one process, as the single-call PPO test), the episode
    toy as the launcher's script; under ZeRO-3 the actor is gathered once around each rollout's turns."""
    import os
    import subprocess
    from pathlib import Path

    from test_rl_ppo import ACCELERATE_LAUNCH, DEEPSPEED_CONFIG, _same_weights, _weights, _without_timings

    root, _ = episode_toy
    config = tmp_path / f"zero{stage}.yaml"
    config.write_text(DEEPSPEED_CONFIG.format(stage=stage))
    script = Path(__file__).with_name("rl_toy.py")

    def launch(out, *extra):
        overrides = _overrides(root, out, f"algorithm={algorithm}", "steps=3", "save_steps=2", "batch_size=4",
                               "mini_batch_size=2", "num_generations=2", *extra)
        return subprocess.run([*ACCELERATE_LAUNCH, "--config_file", str(config), str(script), *overrides],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})

    done = launch(tmp_path / "straight")
    assert done.returncode == 0, done.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "straight" / "rl_log.jsonl").read_text().splitlines()]
    assert len(log) == 3 and log[0]["kl"] == 0.0 and log[0]["turns"] > 1  # whole weights; episodes went past a result
    actor = _weights(tmp_path / "straight" / "model.safetensors")
    initial = _weights(root / "model" / "model.safetensors")
    assert all(actor[k].shape == v.shape for k, v in initial.items()) and not _same_weights(actor, initial)
    assert (tmp_path / "straight" / "critic").is_dir() == (algorithm == "ppo")
    checkpoint = tmp_path / "straight" / "checkpoint-2"
    assert (checkpoint / "state" / "actor" / "latest").is_file()  # a DeepSpeed engine's checkpoint, not a plain one
    done = launch(tmp_path / "resumed", f"resume_from_checkpoint={checkpoint}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _same_weights(actor, _weights(tmp_path / "resumed" / "model.safetensors"))
    assert _without_timings((tmp_path / "resumed" / "rl_log.jsonl").read_text()) == \
        _without_timings((tmp_path / "straight" / "rl_log.jsonl").read_text())


# ----------------------------------------------------------------------------- the command, tool world


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_rl_episode_mode_runs_on_the_tool_world_and_logs_categories_outcome_and_timings(tmp_path, algorithm):
    from tl_training.cli import main
    from tl_training.synth import generate
    from tl_training.tiny import save_tiny_model

    torch.set_num_threads(1)
    records = list(generate(0, 4, split="train"))
    (tmp_path / "world.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records)
                                          + json.dumps({"id": "odd", "tools": [], "messages": [{"role": "user", "content": "x"}]}) + "\n")
    save_tiny_model(tmp_path / "model")
    code = main(["rl", f"output_dir={tmp_path / 'out'}", f"model={tmp_path / 'model'}", f"train_files={tmp_path / 'world.jsonl'}",
                 "mode=episode", f"algorithm={algorithm}", "steps=2", "batch_size=4", "mini_batch_size=2", "num_generations=2",
                 "max_new_tokens=6", "max_turns=2", "max_prompt_length=4096", "actor_lr=1e-4"])
    assert code == 0
    log = [json.loads(line) for line in (tmp_path / "out" / "rl_log.jsonl").read_text().splitlines()]
    assert len(log) == 2
    for key in ("outcome", "outcome_reward", "rate/format_error", "rate/accepted", "rate/correct", "turns",
                "seconds/generate", "seconds/tools", "seconds/judge", "seconds/score", "seconds/update"):
        assert key in log[0], key
    report = json.loads((tmp_path / "out" / "rl_report.json").read_text())
    assert report["mode"] == "episode" and report["records"]["rejected"] == 1


def test_the_held_out_comparison_plays_each_model_and_pairs_them_by_case(tmp_path, capsys):
    from tl_training.cli import main
    from tl_training.synth import generate
    from tl_training.tiny import save_tiny_model

    torch.set_num_threads(1)
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in generate(1, 3, split="eval")))
    save_tiny_model(tmp_path / "model")
    model = str(tmp_path / "model")
    args = ["rl-compare", "--cases", str(tmp_path / "eval.jsonl"), "--parent", model, "--rl", model, model,
            "--max-new-tokens", "4", "--max-turns", "2", "-o", str(tmp_path / "out.json")]
    assert main(args) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    assert set(report["figures"]) == {"parent", "rl seed 0", "rl seed 1"} and report["figures"]["parent"]["cases"] == 3
    assert report["outcomes"]["rl"][0] == report["outcomes"]["parent"]  # the same model, greedy: the same episodes
    difference = report["rl_minus_parent"]["episode reward"]
    assert difference["estimate"] == 0.0 and difference["seeds"] == [0, 1] and difference["cases"] == {"episodes": 3}
    # Each model's episodes are kept: the model named three times was played once, and a rerun plays nothing.
    assert capsys.readouterr().err.count("episodes taken from") == 2
    assert main(args) == 0
    assert capsys.readouterr().err.count("episodes taken from") == 3
    assert json.loads((tmp_path / "out.json").read_text())["outcomes"] == report["outcomes"]
    # A model folder copied elsewhere with its times (a project moved) keeps its episodes.
    shutil.copytree(tmp_path / "model", tmp_path / "moved" / "model")
    assert main([arg.replace(model, str(tmp_path / "moved" / "model")) for arg in args]) == 0
    assert capsys.readouterr().err.count("episodes taken from") == 3
    # Other settings, or the model saved again, are played again.
    assert main(args[:-2] + ["--max-new-tokens", "3", "-o", str(tmp_path / "out.json")]) == 0
    assert "playing 3 cases" in capsys.readouterr().err
    save_tiny_model(tmp_path / "model", seed=1)
    assert main(args) == 0
    assert "playing 3 cases" in capsys.readouterr().err


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_episode_mode_under_a_two_process_accelerate_launch(tmp_path, algorithm):
    import os
    import subprocess

    from test_rl_ppo import ACCELERATE_LAUNCH
    from tl_training.synth import generate
    from tl_training.tiny import save_tiny_model

    (tmp_path / "world.jsonl").write_text("".join(json.dumps(r) + "\n" for r in generate(0, 4, split="train")))
    save_tiny_model(tmp_path / "model")
    out = tmp_path / "ddp"
    command = [
        *ACCELERATE_LAUNCH, "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "-m", "tl_training", "rl", f"output_dir={out}", f"model={tmp_path / 'model'}",
        f"train_files={tmp_path / 'world.jsonl'}", "mode=episode", f"algorithm={algorithm}", "steps=2", "batch_size=2",
        "mini_batch_size=1", "num_generations=2", "max_new_tokens=6", "max_turns=2", "max_prompt_length=4096",
        "actor_lr=1e-4", "critic_lr=1e-4", "do_sample=true",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("step 2/2") == 1, done.stdout  # rank 0 alone logs
    assert (out / "model.safetensors").is_file() and (out / "critic").is_dir() == (algorithm == "ppo")
    report = json.loads((out / "rl_report.json").read_text())
    assert report["mode"] == "episode" and len(report["log"]) == 2


def test_a_bfcl_episode_grades_its_calls_from_the_backends_feedback(bfcl_installed):
    """BFCL multi-turn through the RL runner: no gold per call, so calls are graded from what the backend
    answered; the outcome term comes from BFCL's own checks."""
    from pathlib import Path

    from tl_training.calls import format_calls
    from tl_training.convert.bfcl import convert
    from tl_training.environments import environment_for
    from tl_training.jsonl import Tally
    from tl_training.render import get_renderer
    from tl_training.rl.episodes import EpisodeRunner
    from tl_training.tiny import build_tokenizer

    from test_eval_multiturn import _gold_calls

    case = next(iter(convert(Path("multi_turn_base"), Tally(), True)))
    tokenizer = build_tokenizer()
    eos = tokenizer.eos_token_id

    def play(extra_call):
        outputs = []
        for t, calls in enumerate(_gold_calls(case)):
            calls = calls + ([extra_call] if t == 0 and extra_call else [])
            outputs += ([format_calls(calls, "python")] if calls else []) + ["Done."]
        turns = iter(outputs)
        runner = EpisodeRunner(tokenizer, get_renderer("paper", tokenizer),
                               lambda batch: [tokenizer(" " + next(turns), add_special_tokens=False)["input_ids"] + [eos]],
                               syntax="python", stop_ids={eos}, max_turns=len(outputs), max_new_tokens=10_000,
                               max_episode_length=1_000_000, outcome_reward=1.0)
        return runner.run([case], [environment_for(case)])[0]

    gold = play(None)
    assert gold.outcome.success and {g.category for g in gold.grades} == {"accepted"} and gold.total_reward == 1.0
    assert all(g.source == "feedback" for g in gold.grades)
    wrong = play({"name": "no_such_function", "arguments": {}})
    assert "tool_hallucination" in [g.category for g in wrong.grades]
    assert wrong.total_reward <= gold.total_reward - 2.0
