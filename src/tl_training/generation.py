"""What every generating stage agrees on: which tokens end a turn, where it stops, padding and positions.

Shared by evaluation (``eval/``: generation, the fast path, the margin) and RL (``rl/``: rollouts), so a
turn ends at the same token in training and in testing:

- a turn ends at the first end-of-sequence token (the tokenizer's and the generation config's) or at the
  token that completes one of the renderer's stop strings, whichever comes first, that token included;
- its text is the decoded tokens before an end-of-sequence token, cut at the first stop string;
- padding uses the tokenizer's pad token, else the smallest stop token (masked out either way);
- positions skip left padding, as ``generate`` computes them from the attention mask.
"""

from __future__ import annotations

from typing import Any


def stop_token_ids(tokenizer, model=None) -> set[int]:
    """The end-of-sequence ids of the tokenizer and of the model's generation config."""
    ids: set[int] = set()
    for source in (tokenizer.eos_token_id, getattr(getattr(model, "generation_config", None), "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(source)
    return ids


def pad_token_id(tokenizer, stop_ids: set[int]) -> int:
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if not stop_ids:
        raise ValueError("the tokenizer has neither a pad token nor an end-of-sequence token to pad with")
    return min(stop_ids)


def positions_from_mask(attention) -> Any:
    """Position ids that skip left padding (``attention`` is a 0/1 tensor, rows left-padded)."""
    return (attention.long().cumsum(-1) - 1).clamp(min=0)


def stop_length(tokenizer, ids: list[int], stop_strings: list[str], stop_ids: set[int]) -> int | None:
    """How many of ``ids`` a generation emits before it stops (the stopping token included), or None when
    nothing in them stops it.  The stop string is found in one decode of the whole row, then the token
    that completes it by bisection over prefixes (a prefix that holds the string stays holding it):
    O(n log n) decoding instead of a decode per prefix."""
    end = next((i + 1 for i, token in enumerate(ids) if token in stop_ids), None)
    upto = end or len(ids)
    strings = [s for s in stop_strings if s]
    if not strings or not any(s in tokenizer.decode(ids[:upto], skip_special_tokens=False) for s in strings):
        return end

    def stopped(k: int) -> bool:
        text = tokenizer.decode(ids[:k], skip_special_tokens=False)
        return any(s in text for s in strings)

    low, high = 1, upto  # stopped(high) holds
    while low < high:
        middle = (low + high) // 2
        if stopped(middle):
            high = middle
        else:
            low = middle + 1
    return low


def completion_text(tokenizer, new_ids: list[int], stop_strings: list[str], stop_ids: set[int]) -> str:
    """The text of generated tokens up to the first end-of-sequence token or stop string (both excluded)."""
    for i, token in enumerate(new_ids):
        if token in stop_ids:
            new_ids = new_ids[:i]
            break
    text = tokenizer.decode(new_ids, skip_special_tokens=False)
    cut = min((text.find(s) for s in stop_strings if s and s in text), default=len(text))
    return text[:cut]
