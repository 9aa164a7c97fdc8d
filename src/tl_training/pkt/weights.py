"""Key spans -> token weights (docs/method.md, Stage 2): pure functions over text, spans and token offsets.

Everything here works on characters of the rendered text, never on token strings, so any tokenizer and
any chat template give the same key characters; the tokenizer only decides which token holds them.

Which tokens belong to call i (``K_i`` and ``NK_i``): the trained tokens that overlap the call's own
span, from the first character of its name to the end of its arguments.  The rest of a trained turn
(thought text, end-of-turn marker) is trained with weight 1 and counted in no call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Sequence

W_MAX = 9.0


def key_char_offsets(gold: str, candidates: Iterable[str]) -> list[int]:
    """Offsets inside ``gold`` of its key characters, sorted.

    The first character, and for every other candidate sharing a non-empty prefix with ``gold`` the first
    character where they differ (when the candidate is a prefix of ``gold``, the character right after
    the shared prefix).  When ``gold`` itself is a prefix of a candidate the names part only after
    ``gold`` ends; that is offset ``len(gold)``, the character that follows the name in the text.
    """
    if not gold:
        raise ValueError("a tool name cannot be empty")
    keys = {0}
    for other in set(candidates):
        if other == gold:
            continue
        shared = len(os.path.commonprefix([gold, other]))
        if shared:
            keys.add(shared)
    return sorted(keys)


def tokens_covering(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the tokens whose characters overlap ``[start, end)``.

    A zero-width token (one of several tokens of one multi-byte character) counts when its position
    lies inside the range.
    """
    hits = []
    for index, (s, e) in enumerate(offsets):
        if (s < end and e > start) if e > s else (start <= s < end):
            hits.append(index)
    return hits


def token_at(offsets: Sequence[tuple[int, int]], char: int) -> int | None:
    """The first token that holds character ``char`` (the one the model emits that character with)."""
    hits = tokens_covering(offsets, char, char + 1)
    return hits[0] if hits else None


@dataclass(frozen=True)
class CallKeys:
    """One trained call, located in the text: its span, its name and where its argument keys are."""

    span: tuple[int, int]  # name start .. arguments end
    name_start: int
    name: str
    argument_key_spans: tuple[tuple[int, int], ...] = ()


@dataclass
class TokenWeights:
    trained: list[bool]
    key: list[bool]
    weights: list[float]


def token_weights(
    offsets: Sequence[tuple[int, int]],
    text_length: int,
    trained_spans: Iterable[tuple[int, int]],
    calls: Iterable[CallKeys],
    candidates: Sequence[str],
    *,
    pkt: bool = True,
    w_max: float = W_MAX,
    argument_key_weight: float = 0.0,
) -> TokenWeights:
    """Per-token weights: 0 untrained, 1 trained, ``clip(|NK_i|/|K_i|, 1, w_max)`` on the keys of call i.

    ``argument_key_weight`` (our extension, off at 0) gives the tokens of each argument key of a call at
    least that weight; it is not part of the paper's method.
    """
    n = len(offsets)
    trained = [False] * n
    for start, end in trained_spans:
        for index in tokens_covering(offsets, start, end):
            trained[index] = True
    weights = [1.0 if t else 0.0 for t in trained]
    key = [False] * n
    if not pkt:
        return TokenWeights(trained, key, weights)
    for call in calls:
        call_tokens = [i for i in tokens_covering(offsets, *call.span) if trained[i]]
        if not call_tokens:
            continue
        keys = set()
        for offset in key_char_offsets(call.name, candidates):
            char = call.name_start + offset
            index = token_at(offsets, char) if char < text_length else None
            if index is not None and trained[index]:
                keys.add(index)
        if not keys:
            continue
        non_keys = len(set(call_tokens) - keys)
        weight = min(max(non_keys / len(keys), 1.0), w_max)
        for index in keys:
            key[index] = True
            weights[index] = max(weights[index], weight)
        if argument_key_weight > 0:
            for start, end in call.argument_key_spans:
                for index in tokens_covering(offsets, start, end):
                    if trained[index]:
                        weights[index] = max(weights[index], argument_key_weight)
    return TokenWeights(trained, key, weights)


def display_boundaries(offsets: Sequence[tuple[int, int]], text_length: int) -> list[tuple[int, int]]:
    """A partition of the text into one contiguous piece per token (pieces concatenate to the text).

    Offsets may overlap (multi-byte characters) or leave gaps (a space some tokenizers leave out); each
    token starts at its own start or where the previous one ended, whichever is later, and ends where
    the next one starts; the last one ends with the text.
    """
    starts, previous = [], 0
    for index, (s, _) in enumerate(offsets):
        previous = 0 if index == 0 else max(s, previous)
        starts.append(previous)
    return [(s, starts[i + 1] if i + 1 < len(starts) else text_length) for i, s in enumerate(starts)]


def offsets_by_decoding(tokenizer, ids: Sequence[int], text: str) -> list[tuple[int, int]]:
    """Character offsets for tokenizers without ``return_offsets_mapping`` (slow tokenizers).

    Decodes growing prefixes of ``ids``; a token whose prefix decodes to an incomplete character gets
    a zero-width offset.  Raises when the decoded ids do not reproduce ``text`` exactly.
    """
    offsets, previous = [], 0
    for index in range(len(ids)):
        decoded = tokenizer.decode(ids[: index + 1], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if decoded.endswith("\ufffd"):  # an unfinished multi-byte character
            offsets.append((previous, previous))
            continue
        if not text.startswith(decoded):
            raise ValueError(
                f"cannot map tokens to characters: decoding {index + 1} tokens gives {decoded[-40:]!r}, "
                f"which is not a prefix of the text (at character {previous}: {text[previous:previous + 40]!r})"
            )
        offsets.append((previous, len(decoded)))
        previous = len(decoded)
    if previous != len(text):
        raise ValueError(f"cannot map tokens to characters: decoding all tokens gives {previous} of {len(text)} characters")
    return offsets


def tokenize_with_offsets(tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids of ``text`` (no special tokens added: the rendered text has them) and their offsets."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return list(ids), offsets_by_decoding(tokenizer, ids, text)
