"""Batched greedy generation of one assistant turn per case, written as it comes, resumable.

Prompts that share a long head (a benchmark's tool list) have it prefilled once and reused; the rest are
sorted by token length (longest first); batches hold prompts of similar width, so a batch pads little:
on CPU that is most of the gain of batching (all of it in ``batching.py``).  Padding is on the left of
each part, so every sequence's next token sits in the last column.  A sequence ends at an
end-of-sequence token or at one of the renderer's stop strings; its text is cut there
(``generation.completion_text``), which is also what the fast path (``fastpath.py``) reproduces.

``PredictionLog`` is the JSONL file of predictions: each finished batch is appended and flushed, and a
rerun reads the ids already there and generates only the rest -- if it is the same run: the fingerprint
of the run that wrote them (``<log>.run.json``: model identity, prompt format, layout, generation
settings, benchmark, and a hash of each case's tools and messages) must match, or the log is refused, so
that one model's predictions are never scored as another's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from ..errors import UserError
from ..jsonl import numbered_lines, write_text_atomic
from ..generation import completion_text, pad_token_id, stop_token_ids


def case_hash(case: dict[str, Any]) -> str:
    """What a case gives the model to answer (its tools and messages), as a short hash."""
    shown = orjson.dumps({"tools": case.get("tools"), "messages": case["messages"]}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(shown).hexdigest()[:16]


def _differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between two run fingerprints: fields (one level into mappings), then changed cases."""
    found = []
    for key, value in current.items():
        if key == "cases" or stored.get(key) == value:
            continue
        if isinstance(value, dict) and isinstance(stored.get(key), dict):
            found += [f"{key}.{sub}: {stored[key].get(sub)!r} was, {value.get(sub)!r} now"
                      for sub in value if stored[key].get(sub) != value.get(sub)]
        else:
            found.append(f"{key}: {stored.get(key)!r} was, {value!r} now")
    old_cases = stored.get("cases", {})
    changed = [i for i, digest in current.get("cases", {}).items() if i in old_cases and old_cases[i] != digest]
    if changed:
        found.append(f"{len(changed)} cases changed, e.g. {changed[0]}")
    return found


class PredictionLog:
    """``{"id", "prediction", "source"}`` lines; ``source`` is ``generate`` or ``fast_path``.

    With a ``fingerprint`` (the run's, with ``cases``: id -> ``case_hash``), predictions already in the
    log are resumed only when they were written by the same run; the fingerprint file then records this
    run's cases too (a larger ``--limit`` resumes and adds)."""

    def __init__(self, path: str | Path, fingerprint: dict[str, Any] | None = None):
        self.path = Path(path)
        self.fingerprint_path = self.path.with_name(self.path.stem + ".run.json")
        self.done: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            with open(self.path, "rb") as handle:
                for lineno, line in numbered_lines(handle):
                    try:
                        entry = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        # Only a crash mid-write leaves a torn last line; it is regenerated, and said so.
                        print(f"{self.path}:{lineno}: torn line ignored, that case is generated again")
                        continue
                    self.done[entry["id"]] = entry
        if fingerprint is not None:
            self._claim(fingerprint)

    def _claim(self, fingerprint: dict[str, Any]) -> None:
        """Refuse predictions of another run; record this run's fingerprint before anything is appended."""
        stored = json.loads(self.fingerprint_path.read_text()) if self.fingerprint_path.is_file() else None
        if self.done:
            differences = ["no fingerprint of the run that wrote them"] if stored is None else \
                _differences(stored, fingerprint)
            if differences:
                raise UserError(f"{self.path} holds {len(self.done)} predictions of another run "
                                f"({'; '.join(differences)}): evaluate into a new -o directory, or delete "
                                f"{self.path} and {self.fingerprint_path.name} to start over")
        earlier = stored["cases"] if self.done else {}  # a fingerprint without predictions tells nothing
        cases = {**earlier, **fingerprint["cases"]}
        write_text_atomic(self.fingerprint_path, json.dumps({**fingerprint, "cases": cases}, indent=1) + "\n")

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

