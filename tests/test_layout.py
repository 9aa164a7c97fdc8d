"""The data layout (render/layout.py): the source's instruction and the thoughts before calls, shown or not,
the same way by every renderer; and what SFT trains on a call-only turn."""

from __future__ import annotations

import copy

import pytest

from tl_training.convert.react import INSTRUCTION_META
from tl_training.jsonl import Tally
from tl_training.pkt.data import build_features, encode_record
from tl_training.pkt.weights import token_at
from tl_training.render import FALLBACK_TOOLS_PROMPT, Layout, get_renderer
from tl_training.tiny import build_tokenizer

REACT_INSTRUCTION = ("You are an expert in using tools.\n\nDesired format:\nThought: <The thought>\n"
                     "Action: <The tool you decide to use>\nAction Input: <The parameters for the tool>")


def tool(name, properties, required):
    return {"type": "function", "function": {"name": name, "description": f"{name} tool.", "parameters": {
        "type": "object", "properties": {p: {"type": "string", "description": p} for p in properties},
        "required": required}}}


def call(name, arguments, content="", **extra):
    return {"role": "assistant", "content": content,
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}], **extra}


@pytest.fixture
def record():
    """A RoTBench-style trajectory: the ReAct instruction as system text, a thought before every call."""
    return {"id": "rot/1", "meta": {"source": "rotbench_train", **INSTRUCTION_META},
            "tools": [tool("get_weather", ["city"], ["city"]), tool("get_weather_alerts", ["city"], ["city"]),
                      tool("finish", ["answer"], ["answer"])],
            "messages": [
                {"role": "system", "content": REACT_INSTRUCTION},
                {"role": "user", "content": "Weather in Paris?"},
                call("get_weather", {"city": "Paris"}, "I will use get_weather for Paris."),
                {"role": "tool", "name": "get_weather", "content": '{"temp": 21}'},
                call("finish", {"answer": "21 degrees"}, "Now I can answer."),
            ]}


def test_the_defaults_keep_everything_but_an_instruction_written_for_another_syntax(record):
    paper = get_renderer("paper")
    text = paper.render(record).text
    assert "Desired format" not in text  # the ReAct instruction contradicts Python calls: auto drops it
    assert "I will use get_weather for Paris." in text and "Now I can answer." in text
    kept = get_renderer("paper", layout=Layout(instruction="keep")).render(record).text
    assert REACT_INSTRUCTION in kept
    unmarked = dict(record, meta={"source": "glaive"})  # an instruction nobody marked is the record's own
    assert REACT_INSTRUCTION in paper.render(unmarked).text
    assert REACT_INSTRUCTION not in get_renderer("paper", layout=Layout(instruction="drop")).render(unmarked).text


def test_authors_layout_renders_tool_blocks_then_calls_only(record):
    authors = get_renderer("paper", layout=Layout(instruction="drop", thoughts="drop"))
    rendered = authors.render(record)
    system = rendered.text.split("\nUser:")[0]
    assert system.startswith("System: Function:\ndef get_weather(city: str):")  # tool blocks only
    assert "I will use" not in rendered.text and "Now I can answer" not in rendered.text
    first, second = rendered.turns
    assert rendered.text[first.span[0]:first.span[1]] == " get_weather(city='Paris')"
    assert rendered.text[second.span[0]:second.span[1]] == " finish(answer='21 degrees')"
    # the prompt of a later turn shows the history as the model was trained on it: calls only
    prompt = authors.render_prompt(record, upto=4)
    assert prompt == rendered.text[:second.span[0]] and "I will use" not in prompt
    assert record["messages"][2]["content"] == "I will use get_weather for Paris."  # the input is untouched
    assert len(authors.layout.apply(record, "python")["messages"]) == len(record["messages"])  # indices kept


def test_chat_fallback_drops_the_react_instruction_and_keeps_its_own_tool_prompt(record):
    template = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    tokenizer = build_tokenizer()
    tokenizer.chat_template = template
    text = get_renderer("chat", tokenizer).render(record).text
    assert "Desired format" not in text
    assert FALLBACK_TOOLS_PROMPT.split("{tools}")[0] in text


def test_pkt_weights_on_a_call_only_turn_fall_on_the_name_tokens(record):
    tokenizer = build_tokenizer()
    authors = get_renderer("paper", tokenizer, Layout(instruction="drop", thoughts="drop"))
    encoded = encode_record(record, authors, tokenizer, pkt=True, w_max=9.0)
    weights, offsets, text = encoded.weights.weights, encoded.offsets, encoded.text
    trained = [i for i, w in enumerate(weights) if w > 0]
    trained_text = "".join(text[offsets[i][0]:offsets[i][1]] for i in trained)
    # what is trained is the two calls, each closed by the end-of-turn token, and nothing of a thought
    eos = tokenizer.eos_token
    assert trained_text.replace(" ", "") == f"get_weather(city='Paris'){eos}finish(answer='21degrees'){eos}"
    # get_weather's first token, and the token where it branches from get_weather_alerts (after the name)
    first_call = text.index(" get_weather(city='Paris')") + 1  # in the trained turn, not the tool block
    keys = {i for i, is_key in enumerate(encoded.weights.key) if is_key}
    assert {token_at(offsets, first_call), token_at(offsets, first_call + len("get_weather"))} <= keys
    assert all(weights[i] > 1 for i in keys)


def test_a_turn_cut_by_max_length_is_not_trained_in_part(record):
    tokenizer = build_tokenizer()
    authors = get_renderer("paper", tokenizer, Layout(instruction="drop", thoughts="drop"))
    encoded = encode_record(record, authors, tokenizer, pkt=False)
    (first_start, first_end), (second_start, second_end) = encoded.turn_tokens
    for cut in (second_start + 2, second_end - 1):  # inside the second turn: only the first one trains
        features, truncated = build_features([copy.deepcopy(record)], authors, tokenizer, Tally(), max_length=cut, pkt=False)
        weights = features[0]["loss_weights"]
        assert truncated == 1 and len(weights) == cut
        assert [i for i, w in enumerate(weights) if w] == list(range(first_start, first_end))
    tally = Tally()
    assert build_features([record], authors, tokenizer, tally, max_length=first_end - 1, pkt=False)[0] == []
    assert tally.reasons == {f"no trained turn ends within max_length={first_end - 1}": 1}


def test_layout_choices_are_checked():
    with pytest.raises(ValueError, match="field thoughts"):
        Layout(thoughts="hide")
    with pytest.raises(ValueError, match="field instruction"):
        Layout(instruction="maybe")
