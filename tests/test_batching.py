"""Batching: widths, which prompts share a prefilled head, and that a batch seeded with cached prefixes
computes what each prompt computes alone (logits, and greedy text through ``generate_transformers``)."""

from __future__ import annotations

import pytest
import torch

from tl_training.eval.batching import (
    PAD_SLACK, ConversationStore, Group, PrefixStore, batch_inputs, cut_batches, group_by_prefix, length_sorted_batches, plan,
    plan_batches, supports_prefix_cache,
)
from tl_training.eval.generate import generate_transformers
from tl_training.tiny import build_model, build_tokenizer


def family(head: list[int], tails: list[list[int]]) -> list[list[int]]:
    return [head + tail for tail in tails]


def test_length_sorted_batches_cover_every_index_once():
    batches = length_sorted_batches([3, 9, 1, 7, 5], 2)
    assert batches == [[1, 3], [4, 0], [2]]


def test_a_prompt_is_never_padded_to_more_than_twice_its_length_plus_the_slack():
    assert PAD_SLACK == 64
    lengths = [4000, 1200, 1000, 900, 500, 300, 100]
    assert length_sorted_batches(lengths, 8) == [[0], [1, 2, 3], [4, 5], [6]]
    assert cut_batches([0, 1, 2], [10, 70, 20], 8) == [[0, 1, 2]]  # short prompts: padding within the slack


def test_prompts_sharing_a_long_head_are_grouped_and_the_rest_left_alone():
    a = list(range(100, 160))  # 60 shared tokens
    b = list(range(300, 340))  # 40 shared tokens
    encoded = family(a, [[1], [2, 3], [4]]) + family(b, [[5], [6]]) + [[7] * 50] + [list(range(100, 110))]
    groups = group_by_prefix(encoded)
    assert sorted(groups, key=lambda g: g.members) == [
        Group(60, (0, 1, 2)), Group(40, (3, 4)), Group(0, (5,)), Group(0, (6,))]


def test_a_prefix_leaves_every_member_a_token_to_run():
    encoded = [list(range(50)), list(range(50)) + [9, 9], list(range(50))]
    (group,) = group_by_prefix(encoded)
    assert group == Group(49, (0, 2, 1))  # not 50: the two 50-token prompts would have nothing left to run


def test_short_common_heads_are_not_worth_a_group():
    encoded = family(list(range(20)), [[1, 2], [3, 4], [5, 6]])
    assert all(g.prefix_len == 0 for g in group_by_prefix(encoded, min_shared=32))


def test_a_run_is_cut_where_its_parts_save_more():
    head = list(range(40))
    pair_one, pair_two = head + [1] * 60, head + [2] * 60
    encoded = [pair_one + [3], pair_one + [4], pair_two + [5], pair_two + [6]]
    # Whole run: 3 x 40 = 120 tokens saved; two pairs: 100 + 100 = 200.
    assert sorted(g.prefix_len for g in group_by_prefix(encoded)) == [100, 100]
    # Ten prompts sharing 50 tokens, two of them 60: the whole run saves 9 x 50, the parts only 60.
    many = family(list(range(50)), [[i, i] for i in range(8)]) + family(list(range(50)) + [99] * 10, [[1], [2]])
    (group,) = group_by_prefix(many)
    assert group.prefix_len == 50 and sorted(group.members) == list(range(10))


def test_deep_nesting_needs_no_recursion():
    encoded = [[1] * k + [2] for k in range(1, 3000)]  # every prompt extends the shorter ones' heads
    groups = group_by_prefix(encoded)
    assert sorted(i for g in groups for i in g.members) == list(range(len(encoded)))


def test_batches_keep_groups_together_and_cover_every_prompt_once():
    a, b = list(range(100, 160)), list(range(300, 350))
    encoded = family(a, [[1], [2, 2], [3]]) + [[7] * 80] + family(b, [[5], [6]]) + [[8] * 10]
    batches = plan_batches(encoded, batch_size=2)
    assert [i for batch in batches for i, _ in batch] == [1, 0, 2, 4, 5, 3, 6]
    assert [length for batch in batches for _, length in batch] == [60, 60, 60, 50, 50, 0, 0]


def test_a_forced_tail_counts_in_the_width_and_never_in_the_prefix():
    head = list(range(100, 160))
    encoded = family(head, [[1], [2], [3]])
    (batch,) = plan_batches(encoded, 8)
    assert {length for _, length in batch} == {60}
    # A 500-token tail on one row makes it too wide for the others' batch.
    assert sorted(len(b) for b in plan_batches(encoded, 8, tails=[0, 500, 0])) == [1, 2]


@pytest.fixture(scope="module")
def tiny():
    tokenizer = build_tokenizer()
    return build_model(tokenizer, seed=0), tokenizer


def test_a_batch_seeded_with_prefixes_computes_each_prompt_alone(tiny):
    model, _ = tiny
    torch.manual_seed(0)
    head_a, head_b = torch.randint(5, 500, (70,)).tolist(), torch.randint(5, 500, (45,)).tolist()
    encoded = [head_a + [11, 12, 13], head_a + [14], head_b + [15, 16], torch.randint(5, 500, (30,)).tolist()]
    batch = [(0, 70), (1, 70), (2, 45), (3, 0)]  # two prefixes of unequal length and a row with none
    store = PrefixStore(model, encoded, [batch])
    input_ids, attention, cache = batch_inputs(encoded, batch, pad_id=0, store=store)
    assert cache.get_seq_length() == 70 and input_ids.shape[1] == 70 + 30
    with torch.no_grad():
        positions = (attention.cumsum(-1) - 1).clamp(min=0)[:, 70:]
        batched = model(input_ids=input_ids[:, 70:], attention_mask=attention, position_ids=positions,
                        cache=cache).logits[:, -1]
        for row, (i, _) in enumerate(batch):
            alone = model(input_ids=torch.tensor([encoded[i]])).logits[0, -1]
            torch.testing.assert_close(batched[row], alone, atol=1e-4, rtol=1e-4)
    assert not store.held  # each prefix dropped after its last use


def test_prefix_order_generates_what_length_order_generates(tiny):
    model, tokenizer = tiny
    head = "You can call these tools: " + " ".join(f"tool_{i}(city, date)" for i in range(12)) + ". "
    prompts = [head + f"User: weather in {city}? Assistant:" for city in ("Paris", "Rome", "Oslo", "Lima")]
    prompts.append("User: what time is it? Assistant:")
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    assert any(length for batch in plan_batches(encoded, 3) for _, length in batch)  # prefixes are used
    outputs = {}
    for order in ("prefix", "length", "file"):
        texts = {}
        generate_transformers(model, tokenizer, prompts, stop_strings=["\nUser:"], max_new_tokens=12, batch_size=3,
                              on_batch=lambda idx, out: texts.update(zip(idx, out)), order=order)
        outputs[order] = texts
    assert sorted(outputs["prefix"]) == list(range(len(prompts)))
    assert outputs["prefix"] == outputs["length"] == outputs["file"]


def test_a_conversation_reuses_its_last_generation_and_generates_the_same(tiny):
    model, tokenizer = tiny
    head = "Tools: " + " ".join(f"tool_{i}(city, date)" for i in range(12)) + ".\nUser: weather in Paris?\nAssistant:"
    conversation, reused, texts = ConversationStore(), [], {"plain": [], "continued": []}
    prompt = head
    for step in range(3):  # each prompt re-sends the last prompt and output, then a tool result
        for mode in ("plain", "continued"):
            if mode == "continued":
                reused.append(conversation.shared(tokenizer(prompt, add_special_tokens=False)["input_ids"]))
            generate_transformers(model, tokenizer, [prompt], stop_strings=[], max_new_tokens=6, batch_size=1,
                                  conversation=conversation if mode == "continued" else None,
                                  on_batch=lambda _, out, mode=mode: texts[mode].extend(out))
        prompt += texts["plain"][-1] + f"\nTool: result {step}\nAssistant:"
    assert texts["plain"] == texts["continued"]
    assert reused[0] == 0 and all(n > 60 for n in reused[1:])  # the second and third steps reuse the cache
    # A prompt that does not extend the conversation shares nothing with it and is run whole.
    assert conversation.shared(tokenizer("Something else entirely", add_special_tokens=False)["input_ids"]) == 0


def test_a_continued_conversation_computes_the_prompt_alone(tiny):
    model, _ = tiny
    torch.manual_seed(1)
    first = torch.randint(5, 500, (80,)).tolist()
    conversation = ConversationStore()
    with torch.no_grad():
        from transformers import DynamicCache

        cache = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([first]), cache=cache)
    conversation.keep(first + [0], cache)  # the cache covers the 80 tokens of `first`
    following = first[:70] + torch.randint(5, 500, (15,)).tolist()  # agrees on 70 tokens, then differs
    assert conversation.shared(following) == 70
    input_ids, attention, seeded = batch_inputs([following], [(0, 70)], pad_id=0, store=conversation)
    with torch.no_grad():
        continued = model(input_ids=input_ids[:, 70:], attention_mask=attention, cache=seeded).logits[0, -1]
        alone = model(input_ids=torch.tensor([following])).logits[0, -1]
    torch.testing.assert_close(continued, alone, atol=1e-4, rtol=1e-4)


def test_plan_orders(tiny):
    model, _ = tiny
    encoded = [[5] * 10, [6] * 30, [7] * 20]
    assert plan(model, encoded, 2, "file") == [[(0, 0), (1, 0)], [(2, 0)]]
    assert plan(model, encoded, 2, "length") == [[(1, 0), (2, 0)], [(0, 0)]]
    with pytest.raises(ValueError, match="order 'random'"):
        plan(model, encoded, 2, "random")


def test_sliding_window_models_batch_whole_prompts(tiny):
    from transformers import MistralConfig, MistralForCausalLM

    model, tokenizer = tiny
    assert supports_prefix_cache(model)
    mistral = MistralForCausalLM(MistralConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                               sliding_window=16))
    assert not supports_prefix_cache(mistral)
    texts = {}
    prompts = ["x " * 40 + "a", "x " * 40 + "b"]
    generate_transformers(mistral, tokenizer, prompts, stop_strings=[], max_new_tokens=3, batch_size=2,
                          on_batch=lambda idx, out: texts.update(zip(idx, out)))
    assert sorted(texts) == [0, 1]


def test_grow_appends_in_place_and_keeps_what_it_held():
    from tl_training.eval.batching import grow

    first = (torch.arange(12.).reshape(1, 1, 3, 4), -torch.arange(12.).reshape(1, 1, 3, 4))
    buffer = grow(None, 0, *first)
    assert buffer[0].shape[-2] >= 3 + 128  # room to decode in place
    step = (torch.full((1, 1, 1, 4), 7.), torch.full((1, 1, 1, 4), -7.))
    again = grow(buffer, 3, *step)
    assert again[0].data_ptr() == buffer[0].data_ptr()  # no copy while there is room
    torch.testing.assert_close(again[0][..., :4, :], torch.cat([first[0], step[0]], dim=-2))
    torch.testing.assert_close(again[1][..., :4, :], torch.cat([first[1], step[1]], dim=-2))
    big = (torch.ones(1, 1, 500, 4), torch.ones(1, 1, 500, 4))
    grown = grow(again, 4, *big)  # past the capacity: a larger buffer, the old content copied over
    assert grown[0].shape[-2] >= 504 and torch.equal(grown[0][..., :4, :], again[0][..., :4, :])


def test_a_growing_layer_crops_and_continues_like_a_dynamic_one():
    from transformers.cache_utils import DynamicLayer

    from tl_training.eval.batching import _growing_layer_class

    growing, dynamic = _growing_layer_class()(), DynamicLayer()
    torch.manual_seed(0)
    for step in (5, 1, 1, "crop", 2, "select", 1):
        if step == "crop":
            growing.crop(-2), dynamic.crop(-2)
        elif step == "select":
            index = torch.tensor([1])
            growing.batch_select_indices(index), dynamic.batch_select_indices(index)
        else:
            rows = growing.keys.shape[0] if growing.is_initialized and growing.keys.numel() else 2
            k, v = torch.randn(rows, 2, step, 4), torch.randn(rows, 2, step, 4)
            got, want = growing.update(k, v), dynamic.update(k, v)
            torch.testing.assert_close(got[0], want[0])
            torch.testing.assert_close(got[1], want[1])
    assert growing.get_seq_length() == dynamic.get_seq_length() == 8
