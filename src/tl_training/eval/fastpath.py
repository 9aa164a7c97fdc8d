"""The exact-match fast path: one teacher-forced forward pass instead of a generation.

Greedy decoding emits, at each step, the argmax token given what came before.  So greedy generation from
a prompt emits exactly the gold completion's tokens g_1..g_k iff, at every position j, argmax p(. | prompt,
g_<j) = g_j: one forward pass over prompt + gold checks it.  k runs up to the token at which generation
stops (an end-of-sequence token, or the token completing a stop string), so the generation would also
end where the gold ends, and the prediction is then ``completion_text`` of those tokens: the very text
generation would return.  Cases that fail the check are generated as usual; nothing is guessed.

- The gold completion is ``renderer.render_completion`` of ``gold.literal_answer``, the first acceptable
  answer with literal values: ``{"any_of": [...]}`` takes its first non-null option (all null: the key is left out).  A gold
  holding ``{"any_value": true}`` has no literal to force: such a case skips the fast path.
- Exactness holds up to floating-point ties: a forward pass over a whole sequence and a cached step
  compute the same logits up to rounding, so a position whose top two logits lie within ``margin`` is
  not trusted and the case is generated.
- Tokens are the prompt's and the completion's, tokenized apart, as generation sees them; a model whose
  greedy output is the same text in another tokenization fails the check and is generated.
"""

from __future__ import annotations

from ..generation import completion_text, pad_token_id, positions_from_mask, stop_length, stop_token_ids
from ..gold import literal_answer
from .batching import PrefixStore, batch_inputs, plan

MARGIN = 1e-3
# On 2 CPU cores the check of a case costs about 0.57 of its batched generation (BENCHMARKS.md,
# Evaluation), so it pays only where more than that share of cases is proven: once the batches checked
# hold PROBE_CASES cases or a quarter of the benchmark's, whichever is fewer, and prove less than MIN_SHARE
# of them, the rest is left to generation. (On a GPU, where decoding dominates, the check is relatively
# cheaper and this threshold is conservative.)
PROBE_CASES = 16
MIN_SHARE = 0.6
def fast_path(model, tokenizer, renderer, cases: list[dict], *, max_new_tokens: int, batch_size: int,
              margin: float = MARGIN, min_share: float = MIN_SHARE) -> dict[int, str]:
    """Index -> prediction text for the cases whose greedy generation is proven to be the gold completion.

    Stops checking (the remaining cases are then generated) when the first batches, once they hold
    ``PROBE_CASES`` cases or a quarter of the benchmark's, prove less than ``min_share`` of them: for a
    model that rarely matches, the check is pure overhead.
    """
    import torch

    stop_ids = stop_token_ids(tokenizer, model)
    pad_id = pad_token_id(tokenizer, stop_ids)
    items = []  # (index, prompt ids, forced completion ids)
    for index, case in enumerate(cases):
        calls = literal_answer(case["gold"])
        if calls is None:
            continue
        prompt_ids = tokenizer(renderer.render_prompt(case), add_special_tokens=False)["input_ids"]
        completion = tokenizer(renderer.render_completion(calls), add_special_tokens=False)["input_ids"]
        k = stop_length(tokenizer, completion, renderer.stop_strings, stop_ids)
        if k is not None and k <= max_new_tokens:
            items.append((index, prompt_ids, completion[:k]))
    # Batched as generation batches (``batching.plan``): prompt heads shared by several cases are prefilled
    # once; the forced completion is part of each row's width, never of its cached prefix.
    prompts = [prompt_ids for _, prompt_ids, _ in items]
    sequences = [prompt_ids + forced for _, prompt_ids, forced in items]
    batches = plan(model, prompts, batch_size, tails=[len(forced) for _, _, forced in items])
    store = PrefixStore(model, sequences, batches)
    proven: dict[int, str] = {}
    checked, probing = 0, True
    probe_size = min(PROBE_CASES, -(-len(items) // 4))
    model.eval()
    for rows in batches:
        if probing and checked >= probe_size:
            if len(proven) < min_share * checked:
                break
            probing = False  # the probe passed: check every case
        input_ids, attention, cache = batch_inputs(sequences, rows, pad_id, store)
        cached = cache.get_seq_length() if cache is not None else 0
        keep = max(len(items[i][2]) for i, _ in rows) + 1
        # Positions as generate() computes them for a left-padded batch.
        positions = positions_from_mask(attention)
        with torch.no_grad():
            # Only the last ``keep`` columns need logits: the LM head over a large vocabulary at every prompt
            # position would cost more than the rest of the forward pass.
            logits = model(input_ids=input_ids[:, cached:].to(model.device), attention_mask=attention.to(model.device),
                           position_ids=positions[:, cached:].to(model.device), cache=cache,
                           logits_to_keep=keep).logits.float().cpu()
        for row, (i, _) in enumerate(rows):
            index, _, forced = items[i]
            at = logits[row, keep - 1 - len(forced):keep - 1]
            top = at.topk(2, dim=-1)
            argmax_ok = top.indices[:, 0].tolist() == forced
            clear = bool((top.values[:, 0] - top.values[:, 1] > margin).all())
            if argmax_ok and clear:
                proven[index] = completion_text(tokenizer, forced, renderer.stop_strings, stop_ids)
        checked += len(rows)
    return proven
