"""Tool-name and parameter precision / recall / F1 (Hammer's counting) on hand-made outputs, and gold answers of
the xLAM-format file replayed: 100 everywhere."""

from __future__ import annotations

import pytest

from tl_training.calls import format_calls
from tl_training.eval.metrics import score_case, summarize


def tool(name, *params):
    return {"type": "function", "function": {"name": name, "description": "", "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in params}, "required": list(params)}}}


CASE = {"id": "hand/0", "tools": [tool("get_weather", "city", "unit"), tool("get_time", "city")],
        "messages": [{"role": "user", "content": "Weather in Paris, in C?"}],
        "gold": [[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}]]}


@pytest.mark.parametrize("text, counts", [
    ("get_weather(city='Paris', unit='C')", (1, 1, 1, 2, 2, 2)),
    ("get_weather(city='Paris', unit='F')", (1, 1, 1, 2, 2, 1)),
    ("get_weather(city='Paris', unit='')", (1, 1, 1, 1, 2, 1)),       # an empty value is not a given argument
    ("[get_weather(city='Paris', unit='C'), get_time(city='Paris')]", (2, 1, 1, 3, 2, 2)),
    ("get_time(city='Paris')", (1, 1, 0, 1, 2, 0)),
    ("get_weather(city=", (1, 1, 0, 0, 2, 0)),                        # unparseable: one predicted call, wrong
    ("It is sunny.", (0, 1, 0, 0, 2, 0)),                             # no call: nothing predicted
])
def test_counts_follow_hammers_evaluation(text, counts):
    c = score_case(CASE, text, "hand:x", "python").match_counts
    assert (c["predicted_calls"], c["gold_calls"], c["name_hits"], c["predicted_params"], c["gold_params"],
            c["param_hits"]) == counts


def test_figures_are_counted_over_the_benchmark():
    texts = ["get_weather(city='Paris', unit='C')", "get_time(city='Paris')", "It is sunny."]
    figures = summarize([score_case(CASE, t, "hand:x", "python") for t in texts])["precision_recall"]
    assert figures["tool_name"] == {"P": 50.0, "R": 33.33, "F1": 40.0}
    assert figures["parameter"] == {"P": 66.67, "R": 33.33, "F1": 44.44}


def test_repeated_calls_pair_one_to_one():
    case = {**CASE, "gold": [[{"name": "get_time", "arguments": {"city": "Paris"}},
                              {"name": "get_time", "arguments": {"city": "Rome"}}]]}
    twice = "[get_time(city='Rome'), get_time(city='Rome')]"
    c = score_case(case, twice, "hand:x", "python").match_counts
    assert (c["name_hits"], c["param_hits"]) == (2, 1)


def test_xlam_gold_answers_score_100(shared_data):
    from tl_training.eval.benchmarks import NAMES, load_cases, resolve

    if "xlam" not in NAMES:
        pytest.skip("the xlam benchmark name is not registered in eval/benchmarks.py yet")
    name = f"xlam:{shared_data / 'hammer' / 'apibank_l2.json'}"
    cases = load_cases(resolve(name, shared_data))
    for syntax in ("python", "json", "hermes"):
        figures = summarize([score_case(c, format_calls(c["gold"][0], syntax), name, syntax) for c in cases])
        assert (figures["TS"], figures["PI"], figures["CF"]) == (100.0, 100.0, 100.0)
        assert figures["precision_recall"] == {k: {"P": 100.0, "R": 100.0, "F1": 100.0} for k in ("tool_name", "parameter")}
