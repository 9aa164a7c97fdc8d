"""Records -> tokenized training features with per-token loss weights, and the collator that pads them.

Truncation: a sequence longer than ``max_length`` keeps its first ``max_length`` tokens (the system
prompt with the tools and the early turns; later turns are cut).  Left-truncating would cut the tool
list the calls depend on.  A trained turn that does not end within ``max_length`` is not trained at
all: half a call would teach the model to stop mid-call, so the kept sequence trains exactly the turns
a per-turn sample of at most ``max_length`` tokens would (the authors' layout).  A record whose trained
turns are all cut is rejected and counted, never trained on silently; one that loses only some of them
is counted as truncated.

A huge record (a tool message of megabytes) is never tokenized whole: with ``max_length`` set, only a
prefix of the rendered text that surely holds the first ``max_length`` tokens is (``bounded_tokens``),
so it costs what a record of that size costs, and is kept truncated or rejected by the rules above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from ..errors import RecordError
from ..jsonl import Tally
from ..record import message_calls
from .weights import CallKeys, TokenWeights, token_weights, tokenize_with_offsets, tokens_covering


@dataclass
class Encoded:
    """One rendered record, tokenized, with what each token is (see ``token_weights``)."""

    text: str
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    weights: TokenWeights
    turn_tokens: list[tuple[int, int]]  # each trained turn's tokens, as a range of indices
    complete: bool = True  # False: ``text`` is a prefix of the rendered record (``bounded_tokens``)


def truncated_weights(encoded: Encoded, max_length: int) -> list[float]:
    """The first ``max_length`` weights, with every trained turn that does not end within them zeroed."""
    weights = list(encoded.weights.weights[:max_length])
    for start, end in encoded.turn_tokens:
        if end > max_length:
            weights[start:] = [0.0] * (len(weights) - start)
            break  # the turns after it lie beyond max_length too
    return weights


PREFIX_SLACK = 64  # tokens past max_length in a tokenized prefix, so that where it was cut cannot change the kept ones


@lru_cache(maxsize=8)
def longest_token(tokenizer) -> int:
    """The most characters one token can cover: the length of the longest token in the vocabulary (byte-level
    vocabularies spell a byte per character, so a token covers at most as many characters as it has)."""
    return max(map(len, tokenizer.get_vocab()))


def bounded_tokens(tokenizer, text: str, max_length: int | None) -> tuple[str, list[int], list[tuple[int, int]]]:
    """(the text tokenized, its ids, offsets): the whole text, or, when it is longer than ``max_length``
    tokens could cover, a prefix that holds ``max_length`` tokens and ``PREFIX_SLACK`` more.  A tokenizer
    whose normalizer drops characters could cover more per token; then the prefix holds too few, and the
    whole text is tokenized after all."""
    budget = (max_length + PREFIX_SLACK) * longest_token(tokenizer) if max_length is not None else len(text)
    if len(text) > budget:
        ids, offsets = tokenize_with_offsets(tokenizer, text[:budget])
        if len(ids) >= max_length + PREFIX_SLACK:
            return text[:budget], ids, offsets
    ids, offsets = tokenize_with_offsets(tokenizer, text)
    return text, ids, offsets


def _argument_key_spans(text: str, args_span: tuple[int, int], arguments: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    """Where each argument key is written inside the call's arguments (as ``key=``, ``"key":`` or, in
    Python's ``**{'from': ...}``, ``'key':``)."""
    spans, body = [], text[args_span[0]:args_span[1]]
    for key in arguments:
        match = re.search(rf"(?<![\w\"']){re.escape(key)}(?==)|(?<=[\"']){re.escape(key)}(?=[\"']\s*:)", body)
        if match:
            spans.append((args_span[0] + match.start(), args_span[0] + match.end()))
    return tuple(spans)


def encode_record(
    record: dict[str, Any],
    renderer,
    tokenizer,
    *,
    pkt: bool = True,
    w_max: float = 9.0,
    argument_key_weight: float = 0.0,
    max_length: int | None = None,
) -> Encoded:
    """Render, tokenize and weigh one record (raises RecordError / ValueError on a record it cannot render).

    With ``max_length``, a text far longer than that is tokenized only as far as ``bounded_tokens`` needs:
    ``Encoded.text`` is then that prefix, and the spans past it cover no token."""
    rendered = renderer.render(record)
    text, ids, offsets = bounded_tokens(tokenizer, rendered.text, max_length)
    calls = []
    for turn in rendered.turns:
        if not turn.trained:
            continue
        arguments = [c["arguments"] for c in message_calls(record["messages"][turn.message_index])]
        for j, call in enumerate(turn.calls):
            argument_spans = ()
            if argument_key_weight > 0 and j < len(arguments):
                argument_spans = _argument_key_spans(rendered.text, call.args_span, arguments[j])
            span = (call.name_span[0], max(call.name_span[1], call.args_span[1]))
            calls.append(CallKeys(span, call.name_span[0], call.name, argument_spans))
    candidates = [t["function"]["name"] for t in renderer.candidate_tools(record)]
    weights = token_weights(
        offsets, len(text), [t.span for t in rendered.turns if t.trained], calls,
        candidates, pkt=pkt, w_max=w_max, argument_key_weight=argument_key_weight,
    )
    turn_tokens = []
    for turn in rendered.turns:
        covering = tokens_covering(offsets, *turn.span) if turn.trained else []
        if covering:
            turn_tokens.append((covering[0], covering[-1] + 1))
    return Encoded(text, ids, offsets, weights, turn_tokens, complete=len(text) == len(rendered.text))


def build_features(
    records: Iterable[dict[str, Any]],
    renderer,
    tokenizer,
    tally: Tally,
    *,
    max_length: int | None,
    pkt: bool = True,
    w_max: float = 9.0,
    argument_key_weight: float = 0.0,
) -> tuple[list[dict[str, list]], int]:
    """Features ``{"input_ids", "loss_weights"}`` for the trainable records; rejects are counted in
    ``tally`` with their reason.  Returns the features and how many were truncated but kept."""
    features, truncated = [], 0
    for record in records:
        try:
            encoded = encode_record(record, renderer, tokenizer, pkt=pkt, w_max=w_max,
                                    argument_key_weight=argument_key_weight, max_length=max_length)
        except (RecordError, ValueError) as exc:
            tally.reject(f"cannot render: {type(exc).__name__}", f"{record.get('id')}: {exc}")
            continue
        ids, weights = encoded.input_ids, encoded.weights.weights
        if not any(weights) and encoded.complete:
            tally.reject("no trained assistant turn", str(record.get("id")))
            continue
        if max_length is not None and len(ids) > max_length:
            weights = truncated_weights(encoded, max_length)
            if not any(weights):
                size = f"{len(ids)} tokens" if encoded.complete else f"over {len(ids)} tokens (not all tokenized)"
                tally.reject(f"no trained turn ends within max_length={max_length}", f"{record.get('id')}: {size}")
                continue
            ids = ids[:max_length]
            truncated += 1
        features.append({"input_ids": ids, "loss_weights": weights})
        tally.written += 1
    return features, truncated


@dataclass
class WeightedCollator:
    """Right-pads a batch; ``labels`` are -100 wherever the weight is 0 (untrained or padding)."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, batch: list[dict[str, list]]) -> dict[str, Any]:
        import torch

        length = max(len(f["input_ids"]) for f in batch)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.full((len(batch), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), length), dtype=torch.long)
        weights = torch.zeros((len(batch), length), dtype=torch.float32)
        for row, feature in enumerate(batch):
            n = len(feature["input_ids"])
            input_ids[row, :n] = torch.tensor(feature["input_ids"], dtype=torch.long)
            attention_mask[row, :n] = 1
            weights[row, :n] = torch.tensor(feature["loss_weights"], dtype=torch.float32)
        labels = input_ids.masked_fill(weights == 0, -100)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels, "loss_weights": weights}
