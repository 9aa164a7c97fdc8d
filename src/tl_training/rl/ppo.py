"""PPO with the IRM reward, as the paper runs it (docs/method.md, Stage 3), in one file read top to bottom.

Models: the actor and a frozen reference start from the SFT checkpoint; the critic is the same
checkpoint's backbone with a scalar value head (``AutoModelForTokenClassification``, one label: the
value of the state before each token).  With ``lora: true`` actor and critic train adapters (the critic's
head fully) and the reference is the actor's base with its adapters disabled, so no third copy is loaded.

One step:
1. rollout: a batch of prompts, left-padded, answered by the actor (greedy by default, as in the paper);
   a response ends at EOS (kept, so the policy learns to stop) or at the token completing a stop string;
   later tokens are masked out;
2. scoring: reward = ``judge(completion).reward`` clipped to +-reward_clip, placed at the last response
   token; each token also pays ``kl_coef * (log pi(a) - log pi_ref(a))``; the critic's values give GAE
   advantages (gamma, lambda), whitened over the response tokens of the global batch (all processes);
   returns = advantages + values;
3. update: ``ppo_epochs`` passes of minibatches with the clipped policy loss and the clipped value loss,
   each model with its own optimiser and learning rate.

Runs as one process or under ``accelerate launch``: models and optimisers go through ``prepare``;
generation and no-grad scoring use the unwrapped modules; only rank 0 prints, logs and saves.  Under DDP
one ``Accelerator`` holds both models.  Under DeepSpeed each trained model needs its own engine, so actor
and critic each get an ``Accelerator`` and a DeepSpeed plugin (accelerate's multi-model API), both built
from the launcher's config with this config's micro batch and gradient clipping; the frozen reference
stays a plain module in the actor's dtype.  Under ZeRO-3 the weights are partitioned: generation and the
rollout's scoring passes gather each model's whole weights once around their use (``whole_weights``), and
saving gathers them into one loadable model.

Checkpoints (``save_steps``) hold the actor and critic as loadable models plus ``state/`` (optimisers,
weights, RNG: accelerate's ``save_state``, per accelerator) and ``progress.json`` (step, data order, log);
``resume_from_checkpoint`` continues from one as if the run had not stopped.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..generation import completion_text, pad_token_id, positions_from_mask, stop_length, stop_token_ids
from ..verdict import CATEGORIES
from .reward import category_counts, score_texts

# ------------------------------------------------------------------------------------ pure PPO pieces


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8, sum_over_processes=None) -> torch.Tensor:
    """Zero mean, unit variance over the unmasked entries (masked entries come out 0).

    ``sum_over_processes`` (a tensor -> tensor sum across ranks) makes the statistics those of the global
    batch, so every rank scales its advantages alike; without it they are this tensor's own."""
    total = sum_over_processes or (lambda t: t)
    count, first = total(torch.stack([mask.sum(), (x * mask).sum()]).float())
    mean = first / count.clamp(min=1)
    var = total(((x - mean) ** 2 * mask).sum().float()) / count.clamp(min=1)
    return (x - mean) * torch.rsqrt(var + eps) * mask


def token_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor,
                  kl_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: ``-kl_coef * kl`` on every response token, plus the scores.

    ``scores`` is one score per row, added at its last response token, or a [batch, response] tensor of
    rewards already placed (multi-turn episodes: each call's at its own token).  ``kl`` is the sampled
    estimate ``log pi(a) - log pi_ref(a)`` of each generated token (zero where masked).
    Returns (rewards, kl), both [batch, response].
    """
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    if scores.dim() == 2:
        return rewards + scores, kl
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)
    rewards[torch.arange(len(scores)), last] += scores
    return rewards, kl


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over the masked-in (generated) tokens; after the last one the state
    is terminal.

    Unmasked tokens are skipped, not terminal: in a multi-turn episode the tool results between two turns
    are the environment's, so the next state of a turn's last token is the next turn's first token.
    Returns (advantages, returns), zero where masked.
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], dtype=rewards.dtype, device=rewards.device)
    next_value = torch.zeros_like(running)
    for t in reversed(range(rewards.shape[1])):
        acting = mask[:, t] > 0
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = torch.where(acting, delta + gamma * lam * running, running)
        next_value = torch.where(acting, values[:, t], next_value)
        advantages[:, t] = running * mask[:, t]
    return advantages, (advantages + values) * mask


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate loss and the fraction of tokens where clipping was active."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1 - clip, 1 + clip)
    return masked_mean(torch.maximum(unclipped, clipped), mask), masked_mean((clipped > unclipped).float(), mask)


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip: float) -> torch.Tensor:
    """Half the larger of the unclipped and clipped squared errors (values move at most ``clip`` per update)."""
    clipped = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """The per-token KL estimate ``exp(r) - r - 1`` with ``r = log pi_ref - log pi`` (non-negative, unbiased;
    GRPO's, as TRL computes it)."""
    diff = ref_logprobs - logprobs
    return torch.exp(diff) - diff - 1


# ----------------------------------------------------------------------------------- model plumbing


def response_mask(tokenizer, responses: torch.Tensor, stop_ids: set[int], stop_strings: list[str]) -> torch.Tensor:
    """1 for each generated token up to and including the first EOS or the token completing a stop string."""
    mask = torch.zeros_like(responses, dtype=torch.float)
    for row, ids in enumerate(responses.tolist()):
        mask[row, :stop_length(tokenizer, ids, stop_strings, stop_ids) or len(ids)] = 1
    return mask


def response_logprobs(model, input_ids, attention_mask, width: int, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities of the response tokens (those after the first ``width`` positions) under the
    distribution they were sampled from (logits divided by the sampling temperature)."""
    keep = input_ids.shape[1] - width + 1
    logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions_from_mask(attention_mask),
                   logits_to_keep=keep).logits[:, :-1].float() / temperature
    return torch.gather(F.log_softmax(logits, dim=-1), 2, input_ids[:, width:, None]).squeeze(-1)


def response_values(critic, input_ids, attention_mask, width: int) -> torch.Tensor:
    """The critic's value of the state before each response token."""
    out = critic(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions_from_mask(attention_mask))
    return out.logits[:, width - 1:-1, 0].float()


def load_models(config, with_critic: bool = True):
    """(actor, reference or None, critic or None): reference is None with LoRA (the actor with adapters off),
    critic None without ``with_critic`` (GRPO's group baseline needs none)."""
    from ..models import load_causal_lm

    dtype = None if config.dtype == "auto" else getattr(torch, config.dtype)
    actor = load_causal_lm(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
    critic = load_critic(config, actor, dtype) if with_critic else None
    if not config.lora:
        reference = load_causal_lm(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
        reference.requires_grad_(False)
        return actor, reference.eval(), critic
    from peft import get_peft_model

    from ..models import lora_config

    # The critic's new value head trains in full (TOKEN_CLS keeps it in modules_to_save), so no adapter on it.
    if critic is not None:
        critic = get_peft_model(critic, lora_config(config, "TOKEN_CLS", exclude_modules=["score", "classifier"]))
    return get_peft_model(actor, lora_config(config)), None, critic


def load_critic(config, actor, dtype):
    from transformers import AutoConfig, AutoModelForTokenClassification

    from ..models import resolve_model

    path = resolve_model(config.model)
    critic_config = AutoConfig.from_pretrained(path, num_labels=1, trust_remote_code=config.trust_remote_code)
    critic_config.classifier_dropout = 0.0  # values must not be noisy between rollout and update
    critic = AutoModelForTokenClassification.from_pretrained(
        path, config=critic_config, dtype=dtype or "auto", trust_remote_code=config.trust_remote_code, use_safetensors=True,
    )
    if critic.config.pad_token_id is None:
        critic.config.pad_token_id = actor.config.pad_token_id
    return critic


@dataclass
class Rollout:
    input_ids: torch.Tensor  # prompt (left-padded) + response
    attention_mask: torch.Tensor
    mask: torch.Tensor  # response tokens that count
    logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    ref_logprobs: torch.Tensor | None = None  # kept only where the loss holds the KL term (no critic: GRPO)

    def rows(self, index: torch.Tensor) -> "Rollout":
        return Rollout(*(None if getattr(self, f) is None else getattr(self, f)[index] for f in self.__dataclass_fields__))


def left_pad(tokenizer, texts: list[str], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]  # the text holds its BOS
    return left_pad_ids(encoded, pad_id, device)


def left_pad_ids(encoded: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids):] = 1
    return input_ids.to(device), attention.to(device)


# ---------------------------------------------------------------------------------------- the recipe


def zero3(accelerator) -> bool:
    plugin = accelerator.state.deepspeed_plugin
    return plugin is not None and plugin.zero_stage == 3


def whole_weights(model, accelerator):
    """A context in which ``model`` holds all its weights.  Under ZeRO-3 every model is loaded partitioned
    (``from_pretrained`` runs under ``zero.Init`` once a ZeRO-3 plugin is active), the frozen reference
    included, which no engine's hooks gather: its weights, and the actor's for a whole generation (hooks
    would gather every layer again at every decoding step), are gathered once around the use."""
    from contextlib import nullcontext

    if not zero3(accelerator):
        return nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(model.parameters()))


def make_accelerators(config) -> tuple[Any, Any]:
    """(actor's accelerator, critic's): one and the same without DeepSpeed; under DeepSpeed one each, with
    its own plugin, as accelerate's multi-model API requires (a DeepSpeed engine trains one model)."""
    import os

    from accelerate import Accelerator
    from accelerate.utils import DeepSpeedPlugin

    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() != "true":
        accelerator = Accelerator()
        return accelerator, accelerator
    plugins = {"actor": DeepSpeedPlugin(), "critic": DeepSpeedPlugin()}  # each reads the launcher's config
    for plugin in plugins.values():
        ds = plugin.deepspeed_config
        if plugin.zero_stage == 3:  # saving gathers the shards into one loadable model
            ds.setdefault("zero_optimization", {})["stage3_gather_16bit_weights_on_model_save"] = True
        # there is no dataloader to infer the batch from; one optimiser step per minibatch, as without DeepSpeed
        ds["train_micro_batch_size_per_gpu"] = config.mini_batch_size
        ds["gradient_accumulation_steps"] = 1
        ds["train_batch_size"] = config.mini_batch_size * int(os.environ.get("WORLD_SIZE", "1"))
        ds["gradient_clipping"] = config.max_grad_norm
    actor_accelerator = Accelerator(deepspeed_plugins=plugins)  # the first plugin ("actor") is active
    return actor_accelerator, Accelerator()  # the second shares the state, so it knows both plugins


class PPORecipe:
    labels = CATEGORIES  # what the log gives a rate of
    timers = ("generate", "judge", "score", "update")
    with_critic = True

    def __init__(self, config, prompts, tokenizer, stop_strings: list[str], rewards=None):
        from accelerate.utils import set_seed

        self.config, self.prompts, self.tokenizer, self.rewards = config, prompts, tokenizer, rewards
        self.actor_acc, self.critic_acc = make_accelerators(config)
        self.accelerator = self.actor_acc  # device, rank and collectives: the same for both
        set_seed(config.seed, device_specific=True)  # different samples per rank; DDP syncs the weights
        self.main = self.accelerator.is_main_process
        actor, self.reference, critic = load_models(config, self.with_critic)
        self.stop_ids = stop_token_ids(tokenizer, actor)
        self.stop_strings = stop_strings
        self.temperature = config.temperature if config.do_sample else 1.0
        self.pad_id = pad_token_id(tokenizer, self.stop_ids)
        actor_opt = torch.optim.AdamW([p for p in actor.parameters() if p.requires_grad], lr=config.actor_lr,
                                      weight_decay=config.weight_decay)
        if critic is None:
            self.critic = self.critic_opt = None
            self.actor, self.actor_opt = self.actor_acc.prepare(actor, actor_opt)
        else:
            self._prepare_critic(actor, actor_opt, critic)
        # In the actor's dtype (an engine may have cast it to bf16); under ZeRO-3 zero.Init already loaded it
        # partitioned, in the DeepSpeed config's dtype, as the engine holds the actor.
        if self.reference is not None and not zero3(self.actor_acc):
            dtype = next(self.actor_acc.unwrap_model(self.actor).parameters()).dtype
            self.reference.to(self.accelerator.device, dtype=dtype)
        self.actor.eval()  # dropout off: old and new log-probs must come from the same function
        if self.critic is not None:
            self.critic.eval()
        self.log_path = Path(config.output_dir) / "rl_log.jsonl"
        self.order: list[int] = []
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []

    def _prepare_critic(self, actor, actor_opt, critic) -> None:
        config = self.config
        critic_opt = torch.optim.AdamW([p for p in critic.parameters() if p.requires_grad], lr=config.critic_lr,
                                       weight_decay=config.weight_decay)
        if self.actor_acc is self.critic_acc:
            self.actor, self.critic, self.actor_opt, self.critic_opt = self.actor_acc.prepare(actor, critic, actor_opt, critic_opt)
        else:
            self.actor, self.actor_opt = self.actor_acc.prepare(actor, actor_opt)
            self.critic_acc.state.select_deepspeed_plugin("critic")
            self.critic, self.critic_opt = self.critic_acc.prepare(critic, critic_opt)

    # -- data

    def next_batch(self, size: int | None = None) -> list:
        """This rank's share (``size``, default ``batch_size``) of the next global batch; every rank shuffles
        alike, then takes its slice.  Each epoch is a permutation of the prompts; across an epoch boundary no
        prompt appears twice in a batch."""
        acc, size = self.accelerator, size or self.config.batch_size
        need = size * acc.num_processes
        while len(self.order) < need:
            extra = list(range(len(self.prompts)))
            random.Random(self.config.seed + self.epoch).shuffle(extra)
            # the next epoch's prompts that are still pending go last, so no global batch holds one twice
            pending = set(self.order)
            self.order += [i for i in extra if i not in pending] + [i for i in extra if i in pending]
            self.epoch += 1
        chunk, self.order = self.order[:need], self.order[need:]
        return [self.prompts[i] for i in chunk[acc.process_index * size:(acc.process_index + 1) * size]]

    # -- one step

    def sampling(self, sample: bool) -> dict[str, Any]:
        config = self.config
        if sample:
            return dict(do_sample=True, temperature=config.temperature, top_p=config.top_p, top_k=None)
        return dict(do_sample=False, temperature=None, top_p=None, top_k=None)

    @torch.no_grad()
    def rollout(self, batch, timer: dict) -> tuple[Rollout, dict[str, float], list[int]]:
        """(the rollout, this rank's figures, its counts per ``labels``)."""
        config, device = self.config, self.accelerator.device
        actor = self.accelerator.unwrap_model(self.actor)
        started = time.perf_counter()
        prompt_ids, prompt_mask = left_pad(self.tokenizer, [p.text for p in batch], self.pad_id, device)
        sampling = self.sampling(config.do_sample)
        with whole_weights(actor, self.actor_acc):  # gathered once for the generation and the actor's scoring
            output = actor.generate(
                input_ids=prompt_ids, attention_mask=prompt_mask, max_new_tokens=config.max_new_tokens,
                pad_token_id=self.pad_id, eos_token_id=sorted(self.stop_ids) or None,
                stop_strings=self.stop_strings or None, tokenizer=self.tokenizer if self.stop_strings else None, **sampling,
            )
            width = prompt_ids.shape[1]
            responses = output[:, width:]
            mask = response_mask(self.tokenizer, responses, self.stop_ids, self.stop_strings).to(device)
            timer["generate"] += time.perf_counter() - started

            started = time.perf_counter()
            attention = torch.cat([prompt_mask, mask.long()], dim=1)
            logprobs = response_logprobs(actor, output, attention, width, self.temperature)
            if self.reference is None:
                with actor.disable_adapter():
                    ref_logprobs = response_logprobs(actor, output, attention, width, self.temperature)
            timer["score"] += time.perf_counter() - started

        started = time.perf_counter()
        texts = [completion_text(self.tokenizer, responses[row, :int(mask[row].sum())].tolist(), self.stop_strings, self.stop_ids)
                 for row in range(len(batch))]
        scores, verdicts = score_texts(texts, [p.gold for p in batch], [p.tools for p in batch], self.rewards, config.reward_clip)
        timer["judge"] += time.perf_counter() - started

        started = time.perf_counter()
        if self.reference is not None:
            with whole_weights(self.reference, self.actor_acc):  # under ZeRO-3 it was loaded partitioned too
                ref_logprobs = response_logprobs(self.reference, output, attention, width, self.temperature)
        critic = self.critic_acc.unwrap_model(self.critic)
        with whole_weights(critic, self.critic_acc):
            values = response_values(critic, output, attention, width)
        rewards, kl = token_rewards(torch.tensor(scores, device=device), logprobs, ref_logprobs, mask, config.kl_coef)
        advantages, returns = gae(rewards, values, mask, config.gamma, config.lam)
        if config.whiten_advantages:
            advantages = whiten(advantages, mask, sum_over_processes=lambda t: self.accelerator.reduce(t, "sum"))
        timer["score"] += time.perf_counter() - started
        stats = {"reward": sum(scores) / len(scores), "kl": kl.sum(1).mean().item(), "response_length": mask.sum(1).mean().item()}
        return Rollout(output, attention, mask, logprobs, values * mask, advantages, returns), stats, category_counts(verdicts)

    def update(self, data: Rollout, width: int) -> dict[str, float]:
        config = self.config
        sums = {"policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0}
        count = 0
        for _ in range(config.ppo_epochs):
            for index in torch.randperm(len(data.mask)).split(config.mini_batch_size):
                mb = data.rows(index)
                logprobs = response_logprobs(self.actor, mb.input_ids, mb.attention_mask, width, self.temperature)
                loss, clipped = policy_loss(logprobs, mb.logprobs, mb.advantages, mb.mask, config.clip_ratio)
                if mb.ref_logprobs is not None:  # no critic (GRPO): the KL to the reference is in the loss
                    loss = loss + config.kl_coef * masked_mean(kl_k3(logprobs, mb.ref_logprobs), mb.mask)
                self.actor_acc.backward(loss)  # under DeepSpeed the engine also clips and steps here
                self.actor_acc.clip_grad_norm_(self.actor.parameters(), config.max_grad_norm)
                self.actor_opt.step()
                self.actor_opt.zero_grad()
                sums["policy_loss"] += loss.item()
                sums["clip_fraction"] += clipped.item()
                count += 1
                if self.critic is not None:
                    sums["value_loss"] += self.update_critic(mb, width)
        return {k: v / count for k, v in sums.items()}

    def update_critic(self, mb: Rollout, width: int) -> float:
        values = response_values(self.critic, mb.input_ids, mb.attention_mask, width)
        vloss = value_loss(values, mb.values, mb.returns, mb.mask, self.config.value_clip)
        self.critic_acc.backward(vloss)
        self.critic_acc.clip_grad_norm_(self.critic.parameters(), self.config.max_grad_norm)
        self.critic_opt.step()
        self.critic_opt.zero_grad()
        return vloss.item()

    # -- bookkeeping

    def gathered(self, local: dict[str, float], counts: list[int]) -> dict[str, Any]:
        """Means over processes of the local figures, and category rates over all sequences."""
        acc = self.accelerator
        names = sorted(local)
        means = acc.gather(torch.tensor([[local[n] for n in names]], device=acc.device, dtype=torch.float)).mean(0)
        totals = acc.reduce(torch.tensor(counts, device=acc.device, dtype=torch.float), reduction="sum")
        n = totals.sum().clamp(min=1)
        return {**{k: round(v, 6) for k, v in zip(names, means.tolist())},
                **{f"rate/{c}": round(r, 4) for c, r in zip(self.labels, (totals / n).tolist())}}

    def _state_dirs(self, directory: Path) -> list[tuple[Any, Path]]:
        if self.actor_acc is self.critic_acc:
            return [(self.actor_acc, directory / "state")]
        return [(self.actor_acc, directory / "state" / "actor"), (self.critic_acc, directory / "state" / "critic")]

    def save(self, directory: Path, resumable: bool = False) -> None:
        acc = self.accelerator
        acc.wait_for_everyone()
        for owner, model, target in ((self.actor_acc, self.actor, directory), (self.critic_acc, self.critic, directory / "critic")):
            if model is None:
                continue
            owner.unwrap_model(model).save_pretrained(target, is_main_process=self.main, state_dict=owner.get_state_dict(model),
                                                      safe_serialization=True)
        if self.main:
            self.tokenizer.save_pretrained(directory)
        if resumable:
            for owner, target in self._state_dirs(directory):
                owner.save_state(str(target))
            if self.main:
                progress = {"step": self.step, "order": self.order, "epoch": self.epoch, "history": self.history}
                (directory / "progress.json").write_text(json.dumps(progress))
        acc.wait_for_everyone()

    def checkpoint(self, step: int) -> None:
        """``checkpoint-<step>``, whole or absent: written under a name no resume picks up, then renamed (a
        run killed mid-save resumes from the checkpoint before); then of it and those before it only the
        newest ``save_total_limit`` are kept."""
        import shutil

        out = Path(self.config.output_dir)
        final, partial = out / f"checkpoint-{step}", out / f"checkpoint-{step}.partial"
        if self.main:
            shutil.rmtree(partial, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        self.save(partial, resumable=True)
        if self.main:
            shutil.rmtree(final, ignore_errors=True)  # one a longer, earlier run left past the resumed step
            partial.rename(final)
            limit = self.config.save_total_limit
            earlier = {int(p.name.split("-")[-1]): p for p in out.glob("checkpoint-*[0-9]")}
            upto = [earlier[n] for n in sorted(earlier) if n <= step]  # this one and those before it
            for old in upto[:-limit] if limit else []:
                shutil.rmtree(old)
        self.accelerator.wait_for_everyone()

    def resume(self, checkpoint: Path) -> None:
        """Optimisers, weights, RNG, data order and log as they were when ``checkpoint`` was written."""
        from ..errors import UserError

        if not (checkpoint / "progress.json").is_file():
            raise UserError(f"resume_from_checkpoint: {checkpoint} is not a PPO checkpoint (no progress.json)")
        for owner, target in self._state_dirs(checkpoint):
            owner.load_state(str(target))
        progress = json.loads((checkpoint / "progress.json").read_text())
        self.step, self.order, self.epoch, self.history = progress["step"], progress["order"], progress["epoch"], progress["history"]
        if self.main:
            print(f"resumed from {checkpoint} at step {self.step}", flush=True)

    def train(self) -> list[dict[str, Any]]:
        config = self.config
        checkpoint = resume_checkpoint(config)
        if checkpoint:
            self.resume(checkpoint)
        if self.main:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text("".join(json.dumps(entry) + "\n" for entry in self.history))
        for step in range(self.step + 1, config.steps + 1):
            timer = dict.fromkeys(self.timers, 0.0)
            batch = self.next_batch()
            data, stats, counts = self.rollout(batch, timer)
            started = time.perf_counter()
            losses = self.update(data, data.input_ids.shape[1] - data.mask.shape[1])
            timer["update"] += time.perf_counter() - started
            local = {**stats, **losses, **{f"seconds/{k}": v for k, v in timer.items()}}
            entry = {"step": step, **self.gathered(local, counts)}
            self.step = step
            self.history.append(entry)
            if self.main and (step % config.logging_steps == 0 or step == config.steps):
                with self.log_path.open("a") as handle:
                    handle.write(json.dumps(entry) + "\n")
                print(f"step {step}/{config.steps}  reward {entry['reward']:+.3f}  kl {entry['kl']:.4f}  "
                      f"policy {entry['policy_loss']:+.4f}  value {entry['value_loss']:.4f}  "
                      f"clip {entry['clip_fraction']:.3f}  correct {entry['rate/correct']:.2f}  "
                      f"format_error {entry['rate/format_error']:.2f}"
                      + (f"  outcome {entry['outcome']:.2f}" if "outcome" in entry else ""), flush=True)
            if config.save_steps and step % config.save_steps == 0 and step < config.steps:
                self.checkpoint(step)
        self.save(Path(config.output_dir))
        self.accelerator.end_training()  # tear the process group down before exit (a gloo rank can abort otherwise)
        return self.history


def resume_checkpoint(config) -> Path | None:
    """The checkpoint ``resume_from_checkpoint`` names: a path, or true for the latest in output_dir."""
    from ..errors import UserError

    wanted = config.resume_from_checkpoint
    if wanted in (None, False, ""):
        return None
    if wanted is True:
        from transformers.trainer_utils import get_last_checkpoint  # the Trainer's rule, shared with SFT

        found = get_last_checkpoint(config.output_dir) if Path(config.output_dir).is_dir() else None
        if not found:
            raise UserError(f"resume_from_checkpoint: true, but {config.output_dir} holds no checkpoint-N")
        return Path(found)
    if not Path(wanted).is_dir():
        raise UserError(f"resume_from_checkpoint: {wanted} not found")
    return Path(wanted)


def run_ppo(config, prompts, tokenizer, stop_strings, rewards=None) -> list[dict[str, Any]]:
    """Train with PPO and save the actor to ``output_dir`` (critic in ``output_dir/critic``); returns the log."""
    return PPORecipe(config, prompts, tokenizer, stop_strings, rewards).train()
