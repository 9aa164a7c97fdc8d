"""Episode-mode generation with vLLM (``use_vllm: true``), through TRL's ``VLLMGeneration`` in colocate mode.

TRL's class owns what is hard to get right and changes with vLLM's releases: the engine beside the trainer
on each GPU, and the weight push after an update (one parameter at a time, gathered under ZeRO-3 or FSDP,
LoRA adapters merged for the push and unmerged after).  We give it token ids, one context per episode
still open (``n`` 1: the episodes of a GRPO group are separate contexts already), and take back the
sampled token ids as vLLM wrote them: the episode trains on exactly those tokens, as with transformers.

Two differences from transformers generation, documented in docs/rl.md: TRL seeds the engine with the
process index, not the run's ``seed``, and the engine's sampling state is not in a checkpoint, so a resumed
sampled run does not repeat the uninterrupted one token for token (a greedy one does).
"""

from __future__ import annotations

import importlib.util

from ..errors import UserError


def require_vllm() -> None:
    if importlib.util.find_spec("vllm") is None:
        raise UserError("use_vllm: true needs the vllm package (pip install 'tl-training[vllm]', on a GPU machine)")


class VLLMSampler:
    """Called as ``sampler(contexts) -> tokens`` (``EpisodeRunner``'s sample); ``sync(step)`` pushes the
    actor's weights once per optimizer step, before the step's first generation."""

    def __init__(self, config, actor, accelerator, tokenizer, stop_ids: set[int], stop_strings: list[str], sample: bool):
        require_vllm()
        from trl.generation.vllm_generation import VLLMGeneration

        self.generation = VLLMGeneration(
            model=actor, accelerator=accelerator, processing_class=tokenizer, mode="colocate",
            gpu_memory_utilization=config.vllm_gpu_memory_utilization, max_model_length=config.max_episode_length,
            trust_remote_code=config.trust_remote_code,
            temperature=config.temperature if sample else 0.0,  # vLLM's greedy
            top_p=config.top_p if sample else 1.0, max_completion_length=config.max_new_tokens, logprobs=None,
            generation_kwargs={"stop_token_ids": sorted(stop_ids), "stop": list(stop_strings) or None},
        )
        self.synced_step: int | None = None  # the optimizer step whose weights the engine holds

    def sync(self, step: int) -> None:
        """The engine loaded the checkpoint from disk; after an update (or a resume) it holds stale weights."""
        if step != self.synced_step:
            self.generation.sync_weights()
            self.synced_step = step

    def __call__(self, contexts: list[list[int]]) -> list[list[int]]:
        _, completions, _, _ = self.generation.generate(contexts, None, 1)
        return [list(ids) for ids in completions]
