"""The error-category classifier: every category and flag combination, in Python-call, JSON and ReAct
syntax; gold value semantics; gold alternatives; no-call turns; parallel calls; the reward table; and a
property test that ``judge`` never raises on arbitrary text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tl_training.gold import is_optional, values_match
from tl_training.verdict import CATEGORIES, FLAGS, RewardTable, Verdict, judge


def tool(name, *params):
    return {"type": "function", "function": {"name": name, "description": "",
            "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in params}}}}


TOOLS = [tool("get_weather", "city", "days", "unit", "lang"), tool("search_flights", "origin", "destination"),
         tool("finish", "answer")]
# city and days must be given; unit may be left out.
GOLD = [[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "unit": {"any_of": ["celsius", None]}}}]]


def render(calls, syntax):
    """Model output in one syntax (written here by hand, independent of the parser under test)."""
    if syntax == "python":
        return "\n".join(f"{c['name']}({', '.join(f'{k}={v!r}' for k, v in c['arguments'].items())})" for c in calls)
    if syntax == "json":
        return json.dumps(calls[0] if len(calls) == 1 else calls)
    return "\n".join(f"Thought: I will call it.\nAction: {c['name']}\nAction Input: {json.dumps(c['arguments'])}"
                     for c in calls)


SYNTAXES = ["python", "json", "react"]
R = RewardTable()

# (name, arguments, category, flags, reward)
SINGLE_CALL_CASES = [
    ("get_weather", {"city": "Paris", "days": 3}, "correct", (), R.correct),
    ("get_weather", {"city": "Paris", "days": 3, "unit": "celsius"}, "correct", (), R.correct),
    ("get_weather", {"city": "Paris", "days": 3.0}, "correct", (), R.correct),
    ("get_weather", {"city": "Paris", "days": "3"}, "content_error", (), R.content_error),
    ("get_weather", {"city": "Paris", "days": True}, "content_error", (), R.content_error),
    ("get_weather", {"city": "paris", "days": 3}, "content_error", (), R.content_error),
    ("get_weather", {"city": "Paris ", "days": 3}, "content_error", (), R.content_error),
    ("get_weather", {"city": "Paris", "days": 3, "unit": "kelvin"}, "content_error", (), R.content_error),
    ("get_weather", {"city": "Paris", "days": 3, "unit": None}, "correct", (), R.correct),  # null: as if left out
    ("get_weather", {"city": "Paris", "days": 3, "zone": "x"}, "parameter_error", ("hallucinated",), -0.8),
    ("get_weather", {"city": "Paris", "days": 3, "lang": "en"}, "parameter_error", ("redundant",), -0.5),
    ("get_weather", {"city": "Paris"}, "parameter_error", ("missing",), -0.5),
    ("get_weather", {"city": "Paris", "days": 3, "zone": "x", "lang": "en"}, "parameter_error",
     ("hallucinated", "redundant"), -1.3),
    ("get_weather", {"city": "Paris", "zone": "x"}, "parameter_error", ("hallucinated", "missing"), -1.3),
    ("get_weather", {"days": 3, "lang": "en"}, "parameter_error", ("missing", "redundant"), -1.0),
    ("get_weather", {"zone": "x", "lang": "en"}, "parameter_error", ("hallucinated", "missing", "redundant"), -1.8),
    # a parameter error hides wrong values: keys are judged first
    ("get_weather", {"city": "Rome"}, "parameter_error", ("missing",), -0.5),
    ("search_flights", {"origin": "Paris"}, "wrong_tool", (), -1.5),
    ("finish", {"answer": "sunny"}, "wrong_tool", (), -1.5),
    ("get_forecast", {"city": "Paris", "days": 3}, "tool_hallucination", (), -2.0),
]


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("name, arguments, category, flags, reward", SINGLE_CALL_CASES)
def test_every_category_and_flag_combination(syntax, name, arguments, category, flags, reward):
    call = {"name": name, "arguments": arguments}
    verdict = judge(render([call], syntax), GOLD, TOOLS)
    assert (verdict.category, verdict.flags, verdict.reward) == (category, flags, reward), verdict.explanation
    assert verdict.calls == [call]
    assert verdict.gold_index == 0
    assert verdict.explanation
    # the forced syntax gives the same verdict, and so does the already parsed call
    assert judge(render([call], syntax), GOLD, TOOLS, syntax=syntax).category == category
    assert judge([call], GOLD, TOOLS) == Verdict(category, flags, reward, verdict.explanation, [call], 0)


FORMAT_ERRORS = [
    ("python", "get_weather(city=Paris, days=3)"),  # a name, not a literal
    ("python", "get_weather(city=open('/etc/passwd').read(), days=3)"),  # a call: never evaluated
    ("python", "get_weather(city='Paris', days=1+2)"),  # an expression
    ("python", "get_weather(city='Paris', days=3"),  # unclosed
    ("json", '{"name": "get_weather", "arguments": {"city": "Paris", "days": }}'),
    ("react", "Action: get_weather\nAction Input: {city: Paris}"),
]


@pytest.mark.parametrize("syntax, text", FORMAT_ERRORS)
def test_unparseable_or_non_literal_output_is_a_format_error(syntax, text):
    verdict = judge(text, GOLD, TOOLS)
    assert (verdict.category, verdict.flags, verdict.reward, verdict.gold_index) == ("format_error", (), -2.0, None)
    assert verdict.explanation


def test_plain_text_where_a_call_is_expected_is_a_format_error():
    verdict = judge("It will be sunny in Paris.", GOLD, TOOLS)
    assert (verdict.category, verdict.reward, verdict.calls) == ("format_error", -2.0, [])


# ------------------------------------------------------------------------------------------ gold values


@pytest.mark.parametrize("value, gold, expected", [
    (1, 1.0, True), (1.0, 1, True), (True, 1, False), (1, True, False), (True, True, True), (0, False, False),
    ("1", 1, False), (1, "1", False), ("a", "a", True), ("a", "A", False), (None, None, True), (None, "", False),
    ([1, 2], [1, 2], True), ([2, 1], [1, 2], False), ((1, 2), [1, 2], True), ([1], [1, 2], False),
    ({"a": 1, "b": [2.0]}, {"b": [2], "a": 1}, True), ({"a": 1}, {"a": 1, "b": 2}, False),
    ({"a": 1, "c": 2}, {"a": 1}, False), ([1], {"a": 1}, False),
    ("km", {"any_of": ["km", "mi"]}, True), ("m", {"any_of": ["km", "mi"]}, False),
    (2, {"any_of": [2.0, None]}, True), ("anything", {"any_value": True}, True), ([1, {}], {"any_value": True}, True),
    # specs inside literal containers: an optional key of a nested dict may be left out
    ({"a": 1}, {"a": 1, "b": {"any_of": [2, None]}}, True), ({"a": 1, "b": 3}, {"a": 1, "b": {"any_of": [2, None]}}, False),
    ([5, "x"], [{"any_of": [4, 5]}, {"any_value": True}], True),
    # a dict that merely contains an any_of key among others is a literal dict
    ({"any_of": [1], "b": 2}, {"any_of": [1], "b": 2}, True),
])
def test_values_match(value, gold, expected):
    assert values_match(value, gold) is expected


def test_is_optional():
    assert is_optional({"any_of": ["x", None]})
    assert not is_optional({"any_of": ["x"]}) and not is_optional({"any_value": True}) and not is_optional(None)


def test_any_value_key_must_be_present_but_any_value_passes():
    gold = [[{"name": "finish", "arguments": {"answer": {"any_value": True}}}]]
    assert judge("finish(answer='whatever')", gold, TOOLS).category == "correct"
    assert judge("finish()", gold, TOOLS).flags == ("missing",)


# ------------------------------------------------------------------------------------ gold alternatives


def test_best_alternative_wins_and_is_reported():
    gold = [[{"name": "search_flights", "arguments": {"origin": "Paris"}}],
            [{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}],
            [{"name": "get_weather", "arguments": {"city": "Paris", "days": 4}}]]
    verdict = judge("get_weather(city='Paris', days=4)", gold, TOOLS)
    assert (verdict.category, verdict.gold_index) == ("correct", 2)
    verdict = judge("get_weather(city='Paris', days=5)", gold, TOOLS)
    assert (verdict.category, verdict.gold_index) == ("content_error", 1)  # ties go to the earlier answer


def test_a_less_severe_category_beats_a_higher_reward():
    # H+R+M (-1.8) against the right tool beats wrong_tool (-1.5) against another alternative: the tool was right
    gold = [[{"name": "search_flights", "arguments": {"origin": "Paris"}}],
            [{"name": "get_weather", "arguments": {"city": "Paris"}}]]
    verdict = judge("get_weather(zone='x', lang='en')", gold, TOOLS)
    assert (verdict.category, verdict.reward, verdict.gold_index) == ("parameter_error", -1.8, 1)


# ---------------------------------------------------------------------------------- no call expected


def test_no_call_expected():
    gold = [[]]
    assert judge("I cannot help with that: no tool fits.", gold, TOOLS).category == "correct"
    assert judge("", gold, TOOLS).category == "correct"
    verdict = judge("get_weather(city='Paris')", gold, TOOLS)
    assert (verdict.category, verdict.reward) == ("wrong_tool", -1.5)
    assert judge("get_forecast(city='Paris')", gold, TOOLS).category == "tool_hallucination"
    assert judge("get_weather(city=", gold, TOOLS).category == "format_error"


def test_no_call_among_alternatives():
    gold = [[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}], []]
    assert (judge("No call needed.", gold, TOOLS).gold_index) == 1
    assert judge("get_weather(city='Paris', days=3)", gold, TOOLS).gold_index == 0


# ------------------------------------------------------------------------------------- parallel calls

PARALLEL_GOLD = [[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}},
                  {"name": "get_weather", "arguments": {"city": "Rome", "days": 1}},
                  {"name": "search_flights", "arguments": {"origin": "Paris", "destination": "Rome"}}]]
PARIS = {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}
ROME = {"name": "get_weather", "arguments": {"city": "Rome", "days": 1}}
FLIGHT = {"name": "search_flights", "arguments": {"origin": "Paris", "destination": "Rome"}}


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("calls, category, flags, reward", [
    ([FLIGHT, ROME, PARIS], "correct", (), 1.0),  # any order
    ([PARIS, ROME], "wrong_tool", (), (1 + 1 - 1.5) / 3),  # a missing call
    ([PARIS, ROME, FLIGHT, {"name": "finish", "arguments": {"answer": "x"}}], "wrong_tool", (), (3 - 1.5) / 4),
    ([PARIS, ROME, FLIGHT, {"name": "book_hotel", "arguments": {}}], "tool_hallucination", (), (3 - 2) / 4),
    ([PARIS, {"name": "get_weather", "arguments": {"city": "Rome", "days": 2}}, FLIGHT], "content_error", (),
     (2 - 0.25) / 3),
    ([PARIS, {"name": "get_weather", "arguments": {"city": "Rome"}},
      {"name": "search_flights", "arguments": {"origin": "Paris", "destination": "Rome", "x": 1}}],
     "parameter_error", ("hallucinated", "missing"), (1 - 0.5 - 0.8) / 3),
])
def test_parallel_calls(syntax, calls, category, flags, reward):
    verdict = judge(render(calls, syntax), PARALLEL_GOLD, TOOLS)
    assert (verdict.category, verdict.flags) == (category, flags), verdict.explanation
    assert verdict.reward == pytest.approx(reward)
    assert len(verdict.calls) == len(calls)


def test_many_parallel_calls_use_the_greedy_matching():
    gold = [[{"name": "get_weather", "arguments": {"city": f"c{i}", "days": i}} for i in range(9)]]
    calls = list(reversed(gold[0]))
    assert judge(calls, gold, TOOLS).category == "correct"
    calls[0] = {"name": "get_weather", "arguments": {"city": "c8", "days": 0}}
    verdict = judge(calls, gold, TOOLS)
    assert verdict.category == "content_error" and verdict.reward == pytest.approx((8 - 0.25) / 9)


# ---------------------------------------------------------------------------------------- inputs


def test_tools_as_bare_names_make_extra_keys_redundant():
    verdict = judge("get_weather(city='Paris', days=3, zone='x')", GOLD, ["get_weather", "finish"])
    assert (verdict.category, verdict.flags) == ("parameter_error", ("redundant",))


def test_tool_without_a_parameter_schema_declares_no_key():
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    assert judge("get_weather(city='Paris', days=3, zone='x')", GOLD, tools).flags == ("hallucinated",)


@pytest.mark.parametrize("prediction", [
    [{"name": "get_weather"}], [{"name": "", "arguments": {}}], [{"name": "f", "arguments": "{}"}], [1],
    {"name": "get_weather", "arguments": {}}, [{"name": "get_weather", "arguments": {"city": object()}}],
    [{"name": "get_weather", "arguments": {"city": {1: "a"}}}], None,
])
def test_malformed_parsed_prediction_is_a_format_error(prediction):
    verdict = judge(prediction, GOLD, TOOLS)
    assert (verdict.category, verdict.calls, verdict.gold_index) == ("format_error", [], None)


def test_bad_gold_or_tools_are_errors_of_the_caller():
    with pytest.raises(ValueError, match="gold"):
        judge("get_weather(city='Paris')", [], TOOLS)
    with pytest.raises(ValueError, match=r"tools\[1\]"):
        judge("get_weather(city='Paris')", GOLD, ["get_weather", {"name": "finish"}])


# ----------------------------------------------------------------------------------------- rewards


def test_reward_table_from_yaml(tmp_path):
    path = tmp_path / "rewards.yaml"
    path.write_text("correct: 2\nparameter_h: -0.9\n")
    table = RewardTable.from_yaml(path)
    assert (table.correct, table.parameter_h, table.wrong_tool) == (2.0, -0.9, -1.5)
    assert judge("get_weather(city='Paris', days=3)", GOLD, TOOLS, rewards=table).reward == 2.0
    assert judge("get_weather(city='Paris', days=3, q=1)", GOLD, TOOLS, rewards=table).reward == -0.9
    path.write_text("corect: 2\n")
    with pytest.raises(ValueError, match="corect"):
        RewardTable.from_yaml(path)
    with pytest.raises(ValueError, match="correct"):
        RewardTable.from_dict({"correct": "high"})


def test_verdict_as_dict():
    verdict = judge("get_weather(city='Paris', days=3, zone='x')", GOLD, TOOLS)
    assert verdict.as_dict() == {"category": "parameter_error", "flags": ["hallucinated"], "reward": -0.8,
                                 "explanation": verdict.explanation}
    assert "zone" in verdict.explanation


# --------------------------------------------------------------------------------------- property


CALL_FRAGMENTS = st.sampled_from([
    "get_weather", "finish", "(", ")", "[", "]", "{", "}", ",", "=", ":", "'", '"', "city", "days", "Paris", "3",
    "1e999", "None", "True", "-", ".", "\\", "\n", " ", "Action:", "Action Input:", "<tool_call>", "</tool_call>",
    '"name"', '"arguments"', "lambda", "__import__('os')", "*", "**", "#", "\x00", "é", "()" * 3,
])
ARBITRARY_TEXT = st.one_of(st.text(max_size=200), st.lists(CALL_FRAGMENTS, max_size=40).map("".join))


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=ARBITRARY_TEXT, gold=st.sampled_from([GOLD, PARALLEL_GOLD, [[]]]))
def test_judge_never_raises_on_arbitrary_text(text, gold):
    verdict = judge(text, gold, TOOLS)
    assert verdict.category in CATEGORIES
    assert set(verdict.flags) <= set(FLAGS) and list(verdict.flags) == sorted(verdict.flags)
    assert -2.0 <= verdict.reward <= 1.0


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                       max_leaves=8)
PARSED = st.lists(st.one_of(st.fixed_dictionaries({"name": st.sampled_from(["get_weather", "finish", "x", ""]),
                                                   "arguments": st.dictionaries(st.sampled_from(["city", "days", "q"]), JSONISH)}),
                            JSONISH, st.builds(object)), max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(prediction=st.one_of(PARSED, JSONISH), gold=st.sampled_from([GOLD, PARALLEL_GOLD, [[]]]))
def test_judge_never_raises_on_arbitrary_parsed_predictions(prediction, gold):
    assert judge(prediction, gold, TOOLS).category in CATEGORIES


def test_deeply_nested_parsed_value_is_a_format_error():
    value = []
    for _ in range(100_000):
        value = [value]
    verdict = judge([{"name": "finish", "arguments": {"answer": value}}], GOLD, TOOLS)
    assert (verdict.category, verdict.explanation) == ("format_error", "unparseable: a value is nested too deeply")
