"""PKT key characters, token weights and features: pure functions, tokenizers trained on the spot."""

from __future__ import annotations

import pytest

from tl_training.jsonl import Tally
from tl_training.pkt.data import WeightedCollator, build_features, encode_record
from tl_training.pkt.inspect import token_rows
from tl_training.pkt.weights import (
    display_boundaries,
    key_char_offsets,
    offsets_by_decoding,
    token_at,
    tokenize_with_offsets,
)
from tl_training.render import get_renderer
from tl_training.tiny import build_tokenizer

FIGURE_TOOLS = ["getPaperDetails", "getPapersByKeywords", "finish"]
# A corpus where the names split into several tokens (the default tiny corpus holds them whole).
CORPUS = [
    "get paper papers details keywords by finish answer search query graph neural networks",
    "getPaper getDetails getKeywords papersBy get_weather search_flights",
    "Find papers about graph neural networks. Assistant: User: System: Function: def Args",
] * 3


def tool(name: str, param: str = "keywords") -> dict:
    return {"type": "function", "function": {"name": name, "description": f"{name} tool",
            "parameters": {"type": "object", "properties": {param: {"type": "string"}}, "required": [param]}}}


def call_message(name: str, arguments: dict, **extra) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}], **extra}


def figure_record() -> dict:
    return {"id": "figure", "tools": [tool(n) for n in FIGURE_TOOLS], "messages": [
        {"role": "user", "content": "Find papers about graph neural networks"},
        call_message("getPapersByKeywords", {"keywords": "graph neural networks"})]}


@pytest.fixture(scope="module", params=["bpe", "sentencepiece"])
def tokenizer(request):
    return build_tokenizer(CORPUS, vocab_size=300, kind=request.param)


def test_key_chars_of_the_figure_example():
    # getPapersByKeywords vs getPaperDetails: shared "getPaper", they part at "s" (offset 8); finish shares nothing.
    assert key_char_offsets("getPapersByKeywords", FIGURE_TOOLS) == [0, 8]
    assert key_char_offsets("getPaperDetails", FIGURE_TOOLS) == [0, 8]
    assert key_char_offsets("finish", FIGURE_TOOLS) == [0]


def test_key_chars_when_one_name_is_a_prefix_of_the_other():
    assert key_char_offsets("search_all", ["search", "search_all"]) == [0, 6]  # the char after the prefix
    assert key_char_offsets("search", ["search", "search_all"]) == [0, 6]  # the char after the name
    with pytest.raises(ValueError):
        key_char_offsets("", ["a"])


@pytest.mark.parametrize("prompt_format", ["paper", "chat"])
def test_figure_example_weights(tokenizer, prompt_format):
    renderer = get_renderer(prompt_format, tokenizer)
    encoded = encode_record(figure_record(), renderer, tokenizer)
    text, offsets, w = encoded.text, encoded.offsets, encoded.weights
    name_start = text.rindex("getPapersByKeywords")
    key_chars = {name_start, name_start + 8}
    # Expected key tokens, found independently: the first token holding each key character.
    expected_keys = {min(i for i, (s, e) in enumerate(offsets) if s <= c < e) for c in key_chars}
    assert {i for i, k in enumerate(w.key) if k} == expected_keys
    assert 1 <= len(expected_keys) <= 2
    rows = token_rows(encoded, tokenizer)
    key_texts = "".join(r["text"] for r in rows if r["key"])
    assert "g" in key_texts and "s" in key_texts
    # The call's tokens: name start .. the closing quote and bracket of the arguments.
    call_end = text.index("networks", name_start) + len("networks") + 2
    call_tokens = {i for i, (s, e) in enumerate(offsets) if s < call_end and e > name_start}
    expected_weight = min(max(len(call_tokens - expected_keys) / len(expected_keys), 1), 9)
    assert expected_weight > 1
    assert all(w.weights[i] == expected_weight for i in expected_keys)
    # Everything else: 1 when trained, 0 when not; the user's text is untrained.
    for i, (s, e) in enumerate(offsets):
        if i not in expected_keys:
            assert w.weights[i] == (1.0 if w.trained[i] else 0.0)
    user = text.index("Find papers")
    assert not any(w.trained[i] for i, (s, e) in enumerate(offsets) if s < user + 10 and e > user)


def test_w_max_clips_and_pkt_false_is_plain_sft(tokenizer):
    renderer = get_renderer("paper", tokenizer)
    clipped = encode_record(figure_record(), renderer, tokenizer, w_max=1.5).weights
    assert max(clipped.weights) == 1.5
    plain = encode_record(figure_record(), renderer, tokenizer, pkt=False).weights
    assert set(plain.weights) == {0.0, 1.0} and not any(plain.key)
    assert plain.trained == clipped.trained


def test_mae_masked_turn_gets_zero_weight(tokenizer):
    record = {"id": "mae", "tools": [tool("search_advice", "query")], "messages": [
        {"role": "user", "content": "advice about love"},
        call_message("search_advice", {"q": "love"}, train=False, mae_reason="unexpected_argument"),
        {"role": "tool", "name": "search_advice", "content": "got an unexpected keyword argument 'q'"},
        call_message("search_advice", {"query": "love"})]}
    encoded = encode_record(record, get_renderer("paper", tokenizer), tokenizer)
    text, offsets, w = encoded.text, encoded.offsets, encoded.weights
    bad = text.index("q='love'")
    good = text.index("query='love'")
    assert not any(w.trained[i] for i, (s, e) in enumerate(offsets) if s < bad + 8 and e > bad)
    assert all(w.trained[i] for i, (s, e) in enumerate(offsets) if s < good + 12 and e > good)
    assert sum(w.key) >= 1  # only the trained call has key tokens
    assert all(offsets[i][0] > text.index("Output:") for i, k in enumerate(w.key) if k)


def test_argument_key_weight_is_an_opt_in_extension(tokenizer):
    renderer = get_renderer("paper", tokenizer)
    off = encode_record(figure_record(), renderer, tokenizer).weights
    on = encode_record(figure_record(), renderer, tokenizer, argument_key_weight=3.0).weights
    changed = [i for i, (a, b) in enumerate(zip(off.weights, on.weights)) if a != b]
    assert changed and all(on.weights[i] == 3.0 for i in changed)


def test_argument_key_weight_finds_a_key_passed_as_python_passes_a_keyword(tokenizer):
    record = {"id": "kw", "tools": [tool("search_flights", "from")], "messages": [
        {"role": "user", "content": "flights from Paris"}, call_message("search_flights", {"from": "Paris"})]}
    encoded = encode_record(record, get_renderer("paper", tokenizer), tokenizer, argument_key_weight=3.0)
    key = encoded.text.index("**{'from'") + 4
    assert any(w == 3.0 for (s, e), w in zip(encoded.offsets, encoded.weights.weights) if s < key + 4 and e > key)


def test_display_pieces_concatenate_to_the_text(tokenizer):
    text = "héllo wörld ✓ getPapersByKeywords(keywords='x')"
    ids, offsets = tokenize_with_offsets(tokenizer, text)
    pieces = display_boundaries(offsets, len(text))
    assert "".join(text[s:e] for s, e in pieces) == text
    assert len(pieces) == len(ids)


def test_decoding_fallback_matches_fast_offsets_and_is_checked():
    tokenizer = build_tokenizer(CORPUS, vocab_size=300, kind="bpe")
    text = "System: getPapersByKeywords(keywords='graph') é"
    ids, fast = tokenize_with_offsets(tokenizer, text)
    slow = offsets_by_decoding(tokenizer, ids, text)
    ascii_part = text.index("é")
    assert [o for o in slow if o[0] < ascii_part] == [o for o in fast if o[0] < ascii_part]
    # The multi-byte "é" differs in form only: the same token holds each character.
    assert [token_at(slow, c) for c in range(len(text))] == [token_at(fast, c) for c in range(len(text))]
    with pytest.raises(ValueError, match="not a prefix"):
        offsets_by_decoding(tokenizer, ids, text.replace("System", "Sistem"))


def two_turn_record() -> dict:
    record = figure_record()
    record["messages"] += [{"role": "tool", "name": "getPapersByKeywords", "content": "[]"},
                           call_message("finish", {"answer": "none found"})]
    return record


def test_truncation_keeps_only_the_trained_turns_that_end_within_max_length(tokenizer):
    renderer = get_renderer("paper", tokenizer)
    full = encode_record(two_turn_record(), renderer, tokenizer)
    (first_start, first_end), (second_start, second_end) = full.turn_tokens
    cut = second_start + 2  # inside the second trained turn
    tally = Tally()
    features, truncated = build_features([two_turn_record()], renderer, tokenizer, tally, max_length=cut)
    assert truncated == 1 and tally.written == 1
    assert features[0]["input_ids"] == full.input_ids[:cut]
    # The first turn keeps its weights; the cut second turn gets none (a half-written call teaches a wrong ending).
    assert features[0]["loss_weights"][:second_start] == full.weights.weights[:second_start]
    assert not any(features[0]["loss_weights"][second_start:])
    assert any(features[0]["loss_weights"][first_start:first_end])
    tally = Tally()
    features, _ = build_features([two_turn_record()], renderer, tokenizer, tally, max_length=first_end - 1)
    assert features == [] and tally.rejected == 1
    assert any("no trained turn ends within max_length" in reason for reason in tally.reasons)


def test_record_without_trained_turn_is_rejected_with_reason(tokenizer):
    record = figure_record()
    record["messages"][1]["train"] = False
    tally = Tally()
    features, _ = build_features([record], get_renderer("paper", tokenizer), tokenizer, tally, max_length=None)
    assert features == [] and tally.reasons["no trained assistant turn"] == 1


def test_collator_pads_and_masks_labels():
    batch = WeightedCollator(pad_token_id=0)([
        {"input_ids": [5, 6, 7], "loss_weights": [0.0, 1.0, 4.0]},
        {"input_ids": [8], "loss_weights": [0.0]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [-100, -100, -100]]
    assert batch["loss_weights"].tolist() == [[0.0, 1.0, 4.0], [0.0, 0.0, 0.0]]
