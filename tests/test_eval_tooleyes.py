"""ToolEyes offline: the judge-free rules on hand-made steps, the recordings as an environment (GPT-4's own
recorded steps find their recordings; GPT-4 replayed as the model reaches each covered trajectory's end),
and the command on predictions."""

from __future__ import annotations

import json

import pytest

from tl_training.calls import format_calls
from tl_training.environments import tooleyes as replay
from tl_training.eval import tooleyes
from tl_training.jsonl import Tally
from tl_training.record import message_calls


def tool(name, required=(), optional=()):
    properties = {p: {"type": "string"} for p in (*required, *optional)}
    return {"type": "function", "function": {"name": name, "description": "", "parameters": {
        "type": "object", "properties": properties, "required": list(required)}}}


TOOLS = [tool("get_weather", ["city"], ["unit"]), tool("finish", ["answer"]), tool("ask_to_user", ["question"])]


@pytest.mark.parametrize("call, error, fault", [
    ({"name": "get_weather", "arguments": {"city": "Paris"}}, None, None),
    ({"name": "get_weather", "arguments": {"city": "Paris", "unit": "C"}}, None, None),
    ({"name": "get_weather", "arguments": {}}, "get_weather() missing 1 required positional argument: 'city'",
     "missing_argument"),
    ({"name": "get_weather", "arguments": {"city": "Paris", "day": "mon"}},
     "get_weather() got an unexpected keyword argument 'day'", "unexpected_argument"),
    ({"name": "get_forecast", "arguments": {"city": "Paris"}}, "name 'get_forecast' is not defined", "unknown_tool"),
])
def test_binding_errors_are_pythons_own_texts(call, error, fault):
    assert replay.binding_error(call, TOOLS) == error
    step = replay.read_step(format_calls([call], "python"), TOOLS, "python")
    assert step.aligned and step.executed and (step.error, step.fault) == (error, fault)


def test_a_signature_with_two_missing_parameters_and_odd_names_reads_as_python_writes_it():
    tools = [tool("search", ["from", "max-results"])]
    assert replay.binding_error({"name": "search", "arguments": {}}, tools) == \
        "search() missing 2 required positional arguments: 'from' and 'max-results'"


@pytest.mark.parametrize("text, syntax, aligned, finish", [
    ('Thought: look it up\nAction: get_weather\nAction Input: {"city": "Paris"}', "auto", True, False),
    ('Action: get_weather\nAction Input: {"city": "Paris"}', "auto", False, False),  # ToolEyes wants the Thought
    ('Thought: x\nAction: get_weather\nAction Input: {"city": "Paris"', "auto", False, False),  # not a dict
    ("get_weather(city='Paris')", "python", True, False),
    ("[get_weather(city='Paris'), get_weather(city='Rome')]", "python", False, False),  # one action a turn
    ("It is sunny in Paris.", "python", False, False),  # no action
    ('Thought: done\nAction: finish\nAction Input: {"answer": "sunny"}', "auto", True, True),
])
def test_format_alignment(text, syntax, aligned, finish):
    step = replay.read_step(text, TOOLS, syntax)
    assert (step.aligned, step.finish) == (aligned, finish)
    assert not (finish and step.executed)  # finish is never executed, so never a tool-reality fault


def test_arguments_are_compared_after_normalisation():
    same = replay.normalized_arguments
    assert same({"len": "8", "city": " New  York "}) == same({"len": 8, "city": "new york"})
    assert same({"len": "8.0", "extra": None, "note": ""}) == same({"len": 8})
    assert same({"len": "8"}) != same({"len": "9"})


# --------------------------------------------------------------------------------- the recorded pool


@pytest.fixture(scope="module")
def pool(shared_data):
    queries = tooleyes.load_queries(shared_data, Tally(), False)
    return queries, replay.load_recordings(str(shared_data))


# 9 queries no trajectory of the pool records; 3 more whose trajectories the rotbench converter rejects (their
# finish's Action Input is not valid JSON), so they have no usable recording either.
NOT_IN_POOL = {108, 210, 318, 319, 321, 339, 364, 365, 366}
REJECTED_BY_CONVERTER = {223, 224, 226}


def test_every_query_is_read_and_the_queries_without_a_recording_are_named(pool):
    queries, recordings = pool
    figures = tooleyes.coverage(queries, recordings)
    assert figures["queries"] == 382 and figures["recorded"] == 370
    assert {int(q.rsplit("/", 1)[1]) for q in figures["without_recording"]} == NOT_IN_POOL | REJECTED_BY_CONVERTER
    assert all(q["meta"]["tool"] and q["tools"] and q["messages"][-1]["role"] == "user" for q in queries)


def _unanswered_calls(record):
    """Indices of recorded calls no feedback followed (GPT-4 went on without waiting for it)."""
    messages = record["messages"]
    return {i for i, m in enumerate(messages) if message_calls(m) and message_calls(m)[0]["name"] != "finish"
            and (i + 1 == len(messages) or messages[i + 1]["role"] == "assistant")}


def test_prefix_replaying_gpt4s_recorded_steps_finds_a_recording_for_every_step(pool):
    queries, recordings = pool
    by_id = {q["id"]: q for q in queries}
    steps = tooleyes.prefix_cases(queries, recordings)
    assert len(steps) == 1014 and sum(s["meta"]["after_error"] for s in steps) > 50
    unanswered = 0
    for step in steps:
        recorded = step["meta"]["recorded"]
        query = by_id[step["id"].split("/step/")[0]]
        if recorded["name"] in (replay.FINISH,) or replay.binding_error(recorded, step["tools"]):
            continue  # the answer is the episode's end, or an error produced here
        record = recordings.trajectory(query)
        index = len(step["messages"])
        if index in _unanswered_calls(record) and recordings.answer(query, recorded) is None:
            unanswered += 1
            continue
        assert recordings.answer(query, recorded) is not None, step["id"]
    assert unanswered == 11  # calls GPT-4 made without waiting for their result: nothing recorded answers them


def _react(message):
    calls = message_calls(message)
    return f"Thought: {message.get('content') or ''}\n{format_calls(calls, 'react')}" if calls else message["content"]


def test_replay_with_gpt4_as_the_model_reaches_the_recorded_end_of_every_covered_trajectory(pool):
    queries, recordings = pool
    ends = {}
    for query in queries:
        record = recordings.trajectory(query)
        if record is None:
            continue
        outputs = [_react(m) for m in record["messages"] if m["role"] == "assistant"]
        episode = tooleyes.run_episode(query, lambda _, key: outputs[int(key.rsplit("/", 1)[1]) - 1]
                                       if int(key.rsplit("/", 1)[1]) <= len(outputs) else None, "auto", recordings)
        ends[episode.end] = ends.get(episode.end, 0) + 1
        if len(outputs) > replay.MAX_TURNS:
            assert episode.end == "turn_limit"
        elif episode.covered:
            assert episode.end == "finish" and len(episode.turns) == len(outputs), query["id"]
        else:
            assert episode.end == "no_recording" and _unanswered_calls(record), query["id"]
    assert ends == {"finish": 360, "no_recording": 8, "turn_limit": 2}  # 2 trajectories run 9 and 10 turns


def test_replay_answers_format_and_binding_errors_here_and_ends_without_a_recording(pool):
    queries, recordings = pool
    query = queries[0]  # "generating a random string with a length of 8" (Random/Random)
    recorded = message_calls(next(m for m in recordings.trajectory(query)["messages"] if m["role"] == "assistant"))[0]
    script = ["I will make a string.",
              'Thought: try\nAction: make_string\nAction Input: {"len": "8"}',
              'Thought: again\nAction: generate_string\nAction Input: {"length": "8"}',
              f"Thought: right\n{format_calls([recorded], 'react')}",
              'Thought: done\nAction: finish\nAction Input: {"answer": "here"}']
    episode = tooleyes.run_episode(query, lambda _, key: script[int(key.rsplit("/", 1)[1]) - 1], "auto", recordings)
    assert episode.end == "finish" and [t["aligned"] for t in episode.turns] == [False, True, True, True, True]
    assert episode.turns[1]["answer"] == "name 'make_string' is not defined"
    assert episode.turns[2]["answer"] == "generate_string() got an unexpected keyword argument 'length'"
    assert episode.turns[3]["fault"] is None and episode.turns[3]["answer"]
    de, ce = episode.shares()
    assert (de, ce) == (pytest.approx(0.2), pytest.approx(2 / 3))
    stranger = 'Thought: t\nAction: generate_string\nAction Input: {"len": "12345", "cnt": "7"}'
    lost = tooleyes.run_episode(query, lambda _, key: stranger, "auto", recordings)
    assert lost.end == "no_recording" and not lost.covered and lost.shares() == (0.0, 0.0)
    looping = tooleyes.run_episode(query, lambda _, key: "no action", "auto", recordings, max_turns=3)
    assert looping.end == "turn_limit" and looping.shares() == (1.0, None)


def test_the_replay_environment_answers_each_runners_call_as_the_protocol_says(pool):
    """What an RL or evaluation runner reads from the protocol: one result per call it passed, rejected for a
    format or binding error, the recorded feedback otherwise, and the outcome at the end."""
    from tl_training.calls import parse_calls
    from tl_training.environments import executable

    queries, recordings = pool
    query = queries[0]
    recorded = message_calls(next(m for m in recordings.trajectory(query)["messages"] if m["role"] == "assistant"))[0]
    env = replay.ToolEyesReplayEnvironment(recordings, "auto")
    record = env.reset(query)
    assert env.gold is None and record["messages"] == query["messages"] and record["messages"] is not query["messages"]

    def step(text):
        parsed = parse_calls(text, "auto")
        return env.step(executable(parsed.calls) if parsed.ok else [], text)

    two_calls = step('Thought: t\nAction: make_string\nAction Input: {"len": "8"}\n'
                     'Thought: t\nAction: make_string\nAction Input: {"len": "9"}')
    assert not two_calls.done and record["messages"][-1] == {"role": "user", "content": replay.FORMAT_MESSAGE}
    assert [(r.content, r.rejected) for r in two_calls.results] == [(replay.FORMAT_MESSAGE, True)] * 2
    unknown = step('Thought: t\nAction: make_string\nAction Input: {"len": "8"}')
    assert [(r.content, r.rejected) for r in unknown.results] == [("name 'make_string' is not defined", True)]
    good = step(f"Thought: right\n{format_calls([recorded], 'react')}")
    assert len(good.results) == 1 and not good.results[0].rejected and good.results[0].content
    assert record["messages"][-1] == {"role": "tool", "name": recorded["name"], "content": good.results[0].content}
    with pytest.raises(ValueError, match="not the turn's call"):  # calls read in another syntax than the turn's
        env.step([{"name": "other", "arguments": {}}], f"Thought: right\n{format_calls([recorded], 'react')}")
    assert len(env.turns) == 3 and env.outcome().success is False  # the refused step changed nothing
    finished = step('Thought: done\nAction: finish\nAction Input: {"answer": "here"}')
    assert finished.done and finished.results == [] and env.outcome().success
    with pytest.raises(RuntimeError):
        step("Thought: more")

    env.reset(query)
    env.truncate("turn cap")
    assert env.outcome().success is False and env.outcome().reason == "turn cap"


def test_the_command_scores_every_tier_from_predictions(pool, shared_data, tmp_path):
    from tl_training.cli import main

    queries, recordings = pool
    lines = []
    for query in queries[:3]:
        record = recordings.trajectory(query)
        assistant = [m for m in record["messages"] if m["role"] == "assistant"]
        lines.append({"id": query["id"], "prediction": _react(assistant[0])})
        lines += [{"id": f"{query['id']}/step/{k}", "prediction": _react(m)} for k, m in enumerate(assistant, 1)]
        lines += [{"id": tooleyes.turn_key(query["id"], k), "prediction": _react(m)} for k, m in enumerate(assistant, 1)]
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "run"
    args = ["eval", "--predictions", str(predictions), "--data-dir", str(shared_data), "--limit", "3", "-o", str(out)]
    for tier in tooleyes.TIERS:
        args += ["--benchmark", f"tooleyes:{tier}"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    figures = results["tooleyes"]
    assert figures["tooleyes:first_turn"]["DE"] == 0.0 and figures["tooleyes:first_turn"]["steps"] == 3
    assert figures["tooleyes:prefix"]["action_agreement"] == 100.0 and "after_error" in figures["tooleyes:prefix"]
    assert (figures["tooleyes:replay"]["VA"], figures["tooleyes:replay"]["coverage"]) == (100.0, 100.0)
    assert results["unmatched_predictions"] == sum("/step/" in line["id"] for line in lines) - 3  # --limit 3 steps
    report = (out / "report.md").read_text()
    assert "## ToolEyes, offline" in report and (out / "tooleyes.png").is_file()
    assert json.loads((out / "scores" / "tooleyes_replay.jsonl").read_text().splitlines()[0])["end"] == "finish"
