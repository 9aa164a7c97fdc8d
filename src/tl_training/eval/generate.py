"""Batched greedy generation of one assistant turn per case, written as it comes, resumable.

Prompts that share a long head (a benchmark's tool list) have it prefilled once and reused; the rest are
sorted by token length (longest first); batches hold prompts of similar width, so a batch pads little:
on CPU that is most of the gain of batching (all of it in ``batching.py``).  Padding is on the left of
each part, so every sequence's next token sits in the last column.  A sequence ends at an
end-of-sequence token or at one of the renderer's stop strings; its text is cut there
(``generation.completion_text``), which is also what the fast path (``fastpath.py``) reproduces.

``PredictionLog`` is the JSONL file of predictions: each finished batch is appended and flushed, and a
rerun reads the ids already there and generates only the rest.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from ..cli import UserError
from ..generation import completion_text, pad_token_id, stop_token_ids


class PredictionLog:
    """``{"id", "prediction", "source"}`` lines; ``source`` is ``generate`` or ``fast_path``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.done: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            with open(self.path, "rb") as handle:
                for lineno, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        entry = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        # Only a crash mid-write leaves a torn last line; it is regenerated, and said so.
                        print(f"{self.path}:{lineno}: torn line ignored, that case is generated again")
                        continue
                    self.done[entry["id"]] = entry

    def write(self, entries: Iterable[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            for entry in entries:
                handle.write(orjson.dumps(entry) + b"\n")
                self.done[entry["id"]] = entry


def generate_transformers(model, tokenizer, prompts: list[str], *, stop_strings: list[str], max_new_tokens: int,
                          batch_size: int, on_batch: Callable[[list[int], list[str]], None],
                          order: str = "prefix", conversation=None,
                          continuations: list[list[list[int]]] | None = None,
                          on_scores: Callable[[list[int], list[list[float]]], None] | None = None) -> None:
    """Greedy completions of ``prompts``; ``on_batch(indices, texts)`` receives each finished batch.

    ``order``: ``prefix`` prefills shared prompt heads once (models that cannot take a cached prefix fall
    back to ``length``), ``length`` batches whole prompts sorted by length, ``file`` in the given order
    (the baselines for measuring both gains); see ``batching.py``.  ``conversation`` (a
    ``batching.ConversationStore``, one prompt per call): reuse the cache of the previous call where this
    prompt extends it, and keep this one's for the next.  ``continuations`` (token lists per prompt):
    teacher-forced from each prompt just before its batch decodes, from the same cache
    (``batching.score_continuations``); ``on_scores(indices, log-probabilities)`` receives them.
    """
    import torch

    from .batching import PrefixStore, batch_inputs, growing_cache, plan, score_continuations, supports_prefix_cache

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    continuing = conversation is not None and supports_prefix_cache(model)
    if continuing:
        if len(prompts) != 1:
            raise ValueError("a conversation is continued one prompt at a time")
        batches, store = [[(0, conversation.shared(encoded[0]))]], conversation
    else:
        batches = plan(model, encoded, batch_size, order)
        store = PrefixStore(model, encoded, batches)
    stop_ids = stop_token_ids(tokenizer, model)
    pad_id = pad_token_id(tokenizer, stop_ids)
    model.eval()
    grows = supports_prefix_cache(model)
    for batch in batches:
        input_ids, attention, cache = batch_inputs(encoded, batch, pad_id, store)
        if cache is None and grows:
            cache = growing_cache()  # generate fills it (and a conversation keeps it)
        if continuations is not None and grows:
            scores = score_continuations(model, input_ids, attention, cache, [continuations[i] for i, _ in batch])
            on_scores([i for i, _ in batch], scores)
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids.to(model.device), attention_mask=attention.to(model.device), cache=cache,
                do_sample=False, max_new_tokens=max_new_tokens,
                pad_token_id=pad_id, eos_token_id=sorted(stop_ids) or None,
                stop_strings=stop_strings or None, tokenizer=tokenizer if stop_strings else None,
                temperature=None, top_p=None, top_k=None,
            )
        width = input_ids.shape[1]
        texts = [completion_text(tokenizer, output[row, width:].tolist(), stop_strings, stop_ids)
                 for row in range(len(batch))]
        if continuing:
            conversation.keep(output[0].tolist(), cache)
        on_batch([i for i, _ in batch], texts)


def generate_vllm(model_name: str, adapter: str | None, prompts: list[str], *, stop_strings: list[str],
                  max_new_tokens: int, trust_remote_code: bool) -> list[str]:
    """Greedy completions with vLLM (only where it is installed: it needs a GPU)."""
    if importlib.util.find_spec("vllm") is None:
        raise UserError("--backend vllm needs the vllm package (pip install 'tl-training[vllm]', on a GPU machine); "
                        "use --backend transformers otherwise")
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    from ..models import resolve_model

    llm = LLM(model=resolve_model(model_name), enable_lora=adapter is not None, trust_remote_code=trust_remote_code)
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=stop_strings or None)
    lora = LoRARequest("adapter", 1, adapter) if adapter else None
    outputs = llm.generate(prompts, params, lora_request=lora)
    return [out.outputs[0].text for out in outputs]


def load_model(name: str, adapter: str | None, dtype: str | None, trust_remote_code: bool):
    """Model and tokenizer for generation: left padding, optional peft adapter merged for speed, on the GPU
    where there is one."""
    import torch

    from ..models import load_causal_lm, load_tokenizer

    tokenizer = load_tokenizer(adapter or name, trust_remote_code=trust_remote_code) if adapter and (
        Path(adapter) / "tokenizer_config.json").is_file() else load_tokenizer(name, trust_remote_code=trust_remote_code)
    tokenizer.padding_side = "left"
    model = load_causal_lm(name, dtype=dtype, trust_remote_code=trust_remote_code)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    if torch.cuda.is_available():
        model.to("cuda")
    return model, tokenizer

