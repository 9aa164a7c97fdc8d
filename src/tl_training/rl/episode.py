"""``rl.mode: episode``: IRM over multi-turn episodes with executed tools, PPO or GRPO in our loop.

The recipe is PPO's (``ppo.PPORecipe``: accelerators, batches, update, checkpoints and resume, logs); only the
rollout differs.  Each case (a record an environment runs: ``environments.environment_for``) becomes one
episode (``episodes.EpisodeRunner``): the tokens the actor sampled, the environment's tokens between its
turns (``action`` 0: no policy loss, no KL, no value target), the rewards placed on sampled tokens
(``episode_reward``).

- ``algorithm: ppo``: per-token rewards = the placed rewards - ``kl_coef`` x KL on sampled tokens; GAE runs
  over the sampled tokens only (the environment's are skipped, not terminal), so a call's reward reaches
  the tokens of earlier turns through the critic's values.
- ``algorithm: grpo``: ``num_generations`` episodes per case (sampled); each episode's return (the sum of
  its rewards) minus its group's mean, over the group's standard deviation (+1e-4, as TRL), is the
  advantage of every sampled token; the KL to the reference is in the loss (``kl_k3``, as TRL); no critic.
  Not TRL's ``GRPOTrainer``: its ``environment_factory`` exposes one fixed tool set per environment class,
  parses calls with the tokenizer's response schema and scores each completion with one number, where we
  need each record's own tools, the project's parser (and the paper format) and a reward per call
  (docs/rl.md).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..environments import environment_for
from .episode_reward import LABELS, label_counts
from .episodes import EpisodeRunner
from .ppo import PPORecipe, Rollout, gae, left_pad_ids, response_logprobs, response_values, token_rewards, whiten, \
    whole_weights

GROUP_EPS = 1e-4  # TRL's: the group's reward spread may be zero


def generate_turns(model, tokenizer, contexts: list[list[int]], pad_id: int, stop_ids: set[int], stop_strings: list[str],
                   max_new_tokens: int, sampling: dict[str, Any]) -> list[list[int]]:
    """One turn for each context (token ids), left-padded into one ``generate`` call; the tokens after each."""
    input_ids, attention = left_pad_ids(contexts, pad_id, model.device)
    output = model.generate(
        input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens, pad_token_id=pad_id,
        eos_token_id=sorted(stop_ids) or None, stop_strings=stop_strings or None,
        tokenizer=tokenizer if stop_strings else None, **sampling,
    )
    return output[:, input_ids.shape[1]:].tolist()


def group_advantages(returns: torch.Tensor, group: int) -> torch.Tensor:
    """GRPO's advantage of each episode: its return minus its group's mean, over the group's (unbiased)
    standard deviation plus ``GROUP_EPS``; consecutive rows form a group."""
    grouped = returns.view(-1, group)
    mean = grouped.mean(1, keepdim=True)
    std = grouped.std(1, keepdim=True) if group > 1 else torch.zeros_like(mean)
    return ((grouped - mean) / (std + GROUP_EPS)).view(-1)


class EpisodeRecipe(PPORecipe):
    labels = LABELS
    timers = ("generate", "tools", "judge", "score", "update")

    def __init__(self, config, cases, tokenizer, renderer, rewards=None, make_environment=environment_for):
        self.make_environment = make_environment
        self.with_critic = config.algorithm == "ppo"
        super().__init__(config, cases, tokenizer, renderer.stop_strings, rewards)
        self.renderer = renderer
        self.grpo = config.algorithm == "grpo"
        self.group = config.num_generations if self.grpo else 1
        self.sample_turns = config.do_sample or self.grpo  # a group of identical greedy episodes teaches nothing
        self.temperature = config.temperature if self.sample_turns else 1.0
        self.vllm = self.vllm_sampler() if config.use_vllm else None

    def vllm_sampler(self):
        from .vllm_sampler import VLLMSampler

        return VLLMSampler(self.config, self.accelerator.unwrap_model(self.actor), self.actor_acc, self.tokenizer,
                           self.stop_ids, self.stop_strings, self.sample_turns)

    def next_batch(self) -> list:
        cases = super().next_batch(self.config.batch_size // self.group)  # whole groups on each rank
        return [case for case in cases for _ in range(self.group)]

    def sample(self, contexts: list[list[int]]) -> list[list[int]]:
        if self.vllm is not None:
            self.vllm.sync(self.step)  # the weights of the last update (or of the resumed checkpoint)
            return self.vllm(contexts)
        return generate_turns(self.accelerator.unwrap_model(self.actor), self.tokenizer, contexts, self.pad_id,
                              self.stop_ids, self.stop_strings, self.config.max_new_tokens, self.sampling(self.sample_turns))

    def runner(self) -> EpisodeRunner:
        config = self.config
        return EpisodeRunner(self.tokenizer, self.renderer, self.sample, syntax=self.renderer.call_syntax,
                             stop_ids=self.stop_ids, max_turns=config.max_turns, max_new_tokens=config.max_new_tokens,
                             max_episode_length=config.max_episode_length, outcome_reward=config.outcome_reward,
                             rewards=self.rewards, clip=config.reward_clip)

    def tensors(self, episodes) -> tuple[torch.Tensor, ...]:
        """(input_ids, attention, action mask, placed rewards, prompt width): prompts left-padded, what follows
        right-padded."""
        device = self.accelerator.device
        prompts, attention = left_pad_ids([e.prompt for e in episodes], self.pad_id, device)
        length = max(len(e.response) for e in episodes)
        response = torch.full((len(episodes), length), self.pad_id, dtype=torch.long)
        present, action, placed = (torch.zeros((len(episodes), length)) for _ in range(3))
        for row, episode in enumerate(episodes):
            response[row, :len(episode.response)] = torch.tensor(episode.response, dtype=torch.long)
            present[row, :len(episode.response)] = 1
            action[row, :len(episode.action)] = torch.tensor(episode.action, dtype=torch.float)
            for index, reward in episode.rewards:
                placed[row, index] += reward
        input_ids = torch.cat([prompts, response.to(device)], dim=1)
        attention = torch.cat([attention, present.long().to(device)], dim=1)
        return input_ids, attention, action.to(device), placed.to(device), prompts.shape[1]

    @torch.no_grad()
    def rollout(self, batch, timer: dict) -> tuple[Rollout, dict[str, float], list[int]]:
        config = self.config
        actor = self.accelerator.unwrap_model(self.actor)
        runner = self.runner()
        with whole_weights(actor, self.actor_acc):
            episodes = runner.run(batch, [self.make_environment(case) for case in batch])
            for key, seconds in runner.seconds.items():
                timer[key] += seconds
            started = time.perf_counter()
            input_ids, attention, mask, placed, width = self.tensors(episodes)
            logprobs = response_logprobs(actor, input_ids, attention, width, self.temperature)
            if self.reference is None:
                with actor.disable_adapter():
                    ref_logprobs = response_logprobs(actor, input_ids, attention, width, self.temperature)
        if self.reference is not None:
            with whole_weights(self.reference, self.actor_acc):
                ref_logprobs = response_logprobs(self.reference, input_ids, attention, width, self.temperature)
        kl = (logprobs - ref_logprobs) * mask
        returns = torch.tensor([float(e.total_reward) for e in episodes], device=mask.device)
        if self.grpo:
            advantages = group_advantages(returns, self.group)[:, None] * mask
            zeros = torch.zeros_like(mask)
            data = Rollout(input_ids, attention, mask, logprobs, zeros, advantages, zeros, ref_logprobs)
        else:
            critic = self.critic_acc.unwrap_model(self.critic)
            with whole_weights(critic, self.critic_acc):
                values = response_values(critic, input_ids, attention, width)
            rewards, kl = token_rewards(placed, logprobs, ref_logprobs, mask, config.kl_coef)
            advantages, targets = gae(rewards, values, mask, config.gamma, config.lam)
            if config.whiten_advantages:
                advantages = whiten(advantages, mask, sum_over_processes=lambda t: self.accelerator.reduce(t, "sum"))
            data = Rollout(input_ids, attention, mask, logprobs, values * mask, advantages, targets)
        timer["score"] += time.perf_counter() - started
        grades = [g for e in episodes for g in e.grades]
        stats = {"reward": returns.mean().item(), "kl": kl.sum(1).mean().item(),
                 "outcome": sum(e.outcome.success for e in episodes) / len(episodes),
                 "outcome_reward": sum(e.outcome_reward for e in episodes) / len(episodes),
                 "turns": sum(len(e.sampled) for e in episodes) / len(episodes),
                 "calls": sum(g.source != "parse" for g in grades) / len(episodes),
                 "response_length": mask.sum(1).mean().item(), "episode_length": attention[:, width:].sum(1).float().mean().item()}
        return data, stats, label_counts(grades)


def run_episodes(config, cases: list[dict[str, Any]], tokenizer, renderer, rewards=None,
                 make_environment=environment_for) -> list[dict[str, Any]]:
    """Train on multi-turn episodes and save the actor to ``output_dir`` (PPO's critic in ``critic/``);
    ``make_environment(case)`` gives each episode its environment."""
    return EpisodeRecipe(config, cases, tokenizer, renderer, rewards, make_environment).train()
