"""Where a generated turn stops, and what its text is (tl_training/generation.py), shared by eval and RL."""

from __future__ import annotations

import random

import pytest

from tl_training.generation import completion_text, pad_token_id, positions_from_mask, stop_length


class CharTokenizer:
    """Token i is the character chr(97 + i); token 26 decodes to two characters, as merged tokens do."""

    pad_token_id = None

    def decode(self, ids, **kwargs):
        return "".join("xy" if i == 26 else chr(97 + i) for i in ids)


def naive_stop_length(tokenizer, ids, stop_strings, stop_ids):
    """The definition, a decode per prefix: the first k whose prefix ends the turn."""
    for k in range(1, len(ids) + 1):
        if ids[k - 1] in stop_ids or any(s in tokenizer.decode(ids[:k]) for s in stop_strings if s):
            return k
    return None


def test_stop_length_agrees_with_the_definition_on_random_rows():
    rng = random.Random(0)
    tokenizer = CharTokenizer()
    for _ in range(2000):
        ids = [rng.randrange(27) for _ in range(rng.randrange(1, 30))]
        stop_strings = rng.choice([[], ["de"], ["yx", "q"], ["abc", ""], ["xyx"]])
        stop_ids = rng.choice([set(), {25}, {3, 4}])
        assert stop_length(tokenizer, ids, stop_strings, stop_ids) == naive_stop_length(tokenizer, ids, stop_strings, stop_ids)


def test_completion_text_cuts_before_the_end_token_and_the_stop_string():
    tokenizer = CharTokenizer()
    assert completion_text(tokenizer, [0, 1, 25, 2], [], {25}) == "ab"
    assert completion_text(tokenizer, [0, 3, 4, 5], ["de"], set()) == "a"
    assert completion_text(tokenizer, [0, 1], ["zz"], {25}) == "ab"


def test_padding_and_positions():
    import torch

    tokenizer = CharTokenizer()
    assert pad_token_id(tokenizer, {7, 3}) == 3
    tokenizer.pad_token_id = 5
    assert pad_token_id(tokenizer, {7, 3}) == 5
    with pytest.raises(ValueError, match="neither a pad token"):
        pad_token_id(CharTokenizer(), set())
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert positions_from_mask(mask).tolist() == [[0, 0, 0, 1], [0, 1, 2, 3]]
