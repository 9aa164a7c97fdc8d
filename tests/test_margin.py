"""The gold-name log-probability margin (eval/margin.py) against a hand computation on a tiny model."""

from __future__ import annotations

import pytest
import torch

from tl_training.eval.margin import gold_names, name_margins, name_prefix
from tl_training.render import get_renderer
from tl_training.tiny import build_model, build_tokenizer


def tool(name):
    return {"type": "function", "function": {"name": name, "description": f"The {name} tool.", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "description": "A city."}}, "required": ["city"]}}}


def case(i, gold, tools=("get_weather", "get_weather_alerts", "book_hotel")):
    return {"id": f"c{i}", "tools": [tool(t) for t in tools],
            "messages": [{"role": "user", "content": f"Question number {i} about Paris?"}],
            "gold": [[{"name": name, "arguments": {"city": "Paris"}}] for name in gold]}


@pytest.fixture(scope="module")
def tiny():
    tokenizer = build_tokenizer()
    return build_model(tokenizer, seed=3).eval(), tokenizer


def hand_logprob(model, tokenizer, prompt: str, continuation: str) -> float:
    """log p(continuation | prompt), one plain forward pass over both, tokenized apart (as generation sees them)."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    forced = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids + forced])).logits[0].log_softmax(-1)
    return sum(float(logits[len(prompt_ids) - 1 + j, token]) for j, token in enumerate(forced))


def test_margin_is_the_best_gold_name_minus_the_best_rival_teacher_forced(tiny):
    model, tokenizer = tiny
    renderer = get_renderer("paper", tokenizer)
    cases = [case(0, ["get_weather"]), case(1, ["book_hotel"]), case(2, ["get_weather", "get_weather_alerts"]),
             case(3, ["get_weather"], tools=("get_weather",)), {**case(4, []), "gold": [[]]}]
    margins = name_margins(model, tokenizer, renderer, cases, batch_size=2)
    for index in (0, 1, 2):
        prompt = renderer.render_prompt(cases[index])
        candidates = [t["function"]["name"] for t in renderer.candidate_tools(cases[index])]
        golden = gold_names(cases[index])
        scores = {name: hand_logprob(model, tokenizer, prompt, name_prefix(renderer, name)) for name in candidates}
        expected = max(scores[n] for n in golden) - max(scores[n] for n in candidates if n not in golden)
        assert margins[index] == pytest.approx(expected, abs=1e-4)
    # the paper format adds ask_to_user and finish: a lone tool still has rivals; irrelevance has no gold name
    assert margins[3] is not None and margins[4] is None


def test_a_name_is_scored_through_the_character_after_it():
    renderer = get_renderer("paper")
    assert name_prefix(renderer, "get_weather") == " get_weather("
    tokenizer = build_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}"
    chat = get_renderer("chat", tokenizer)
    assert name_prefix(chat, "get_weather").endswith('"name": "get_weather"')


def test_margins_scored_during_generation_equal_those_scored_apart_and_leave_the_output_unchanged(tiny):
    from tl_training.eval.generate import generate_transformers
    from tl_training.eval.margin import candidates_of, margin_of

    model, tokenizer = tiny
    renderer = get_renderer("paper", tokenizer)
    cases = [case(i, [("get_weather", "book_hotel", "get_weather_alerts")[i % 3]]) for i in range(7)]
    prompts = [renderer.render_prompt(c) for c in cases]
    found = [candidates_of(c, renderer, tokenizer) for c in cases]
    plain, scored, margins = {}, {}, {}
    generate_transformers(model, tokenizer, prompts, stop_strings=renderer.stop_strings, max_new_tokens=10,
                          batch_size=3, on_batch=lambda idx, out: plain.update(zip(idx, out)))
    generate_transformers(model, tokenizer, prompts, stop_strings=renderer.stop_strings, max_new_tokens=10,
                          batch_size=3, on_batch=lambda idx, out: scored.update(zip(idx, out)),
                          continuations=[f.tokens for f in found],
                          on_scores=lambda idx, s: margins.update((i, margin_of(found[i], r)) for i, r in zip(idx, s)))
    assert scored == plain and sorted(margins) == list(range(7))
    apart = name_margins(model, tokenizer, renderer, cases, batch_size=2)
    for i in range(7):
        assert margins[i] == pytest.approx(apart[i], abs=1e-4)
