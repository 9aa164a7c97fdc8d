"""The built-in tool world: its size and schemas, executing calls, trajectories, injected errors, eval cases."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from itertools import combinations

import pytest

from tl_training.cli import main
from tl_training.jsonl import write_records
from tl_training.record import message_calls, tool_names, validate_record
from tl_training.synth import DOMAINS, TOOLS, Stats, World, feedback, generate, split_tools
from tl_training.synth.errors import ERROR_KINDS, near_miss_names
from tl_training.synth.execute import Outcome
from tl_training.gold import values_match

SEED = 7


@pytest.fixture(scope="module")
def world() -> World:
    return World(SEED)


@pytest.fixture(scope="module")
def train() -> list[dict]:
    return list(generate(SEED, 1500))


@pytest.fixture(scope="module")
def all_errors() -> list[dict]:
    return list(generate(SEED, 400, error_rate=1.0))


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return list(generate(SEED, 300, split="eval"))


def _tool_messages(record):
    """(assistant index, its call, the tool message answering it) for every call of a trajectory."""
    messages = record["messages"]
    for i, message in enumerate(messages):
        for call in message_calls(message):
            yield i, call, messages[i + 1]


# ------------------------------------------------------------------------------------------------ the world


def test_world_has_enough_tools_domains_and_families():
    assert len(TOOLS) >= 60 and len(DOMAINS) >= 12
    assert len(split_tools("train")) >= 60
    assert len({TOOLS[n].domain for n in split_tools("train")}) >= 12
    assert {"get_paper_details", "get_papers_by_keywords"} <= set(TOOLS)
    # a family: tools of one domain whose names share a prefix beyond the verb ("get_paper", "get_stock_")
    with_family = [d.name for d in DOMAINS
                   if any(len(os.path.commonprefix(pair)) >= len(pair[0].split("_")[0]) + 4 for pair in combinations(d.tools, 2))]
    assert len(with_family) >= 12, with_family


def test_schemas_are_openai_json_schema_with_every_type():
    seen_types, has_enum, has_optional = set(), False, False
    for tool in TOOLS.values():
        function = tool.openai_schema()["function"]
        params = function["parameters"]
        assert function["description"] and params["type"] == "object"
        assert set(params["required"]) <= set(params["properties"])
        for name, schema in params["properties"].items():
            assert schema["description"], (tool.name, name)
            seen_types.add(schema["type"])
            has_enum |= "enum" in schema
            has_optional |= name not in params["required"]
            if schema["type"] == "array":
                assert schema["items"]["type"] in ("string", "integer", "number")
    assert seen_types == {"string", "integer", "number", "boolean", "array"}
    assert has_enum and has_optional


def test_every_tool_has_several_queries_carrying_its_required_arguments():
    for tool in TOOLS.values():
        assert len(tool.templates) >= 2, tool.name
        required = {p.name for p in tool.params if p.required}
        for template in tool.templates:
            assert required <= template.placeholders() | set(template.fixed), (tool.name, template.text)


# ------------------------------------------------------------------------------------------------ executing


def test_execution_raises_pythons_own_messages(world):
    run = world.executor.execute
    assert run({"name": "get_current_weather", "arguments": {}}).error == \
        "TypeError: get_current_weather() missing 1 required positional argument: 'city'"
    assert run({"name": "get_current_weather", "arguments": {"location": "Lisbon"}}).error == \
        "TypeError: get_current_weather() got an unexpected keyword argument 'location'"
    assert run({"name": "get_papers_by_keyword", "arguments": {"keywords": ["tool use"]}}).error == \
        "NameError: name 'get_papers_by_keyword' is not defined"
    # a tool of the world that the record does not offer is as undefined as a made-up one
    assert run({"name": "get_air_quality", "arguments": {"city": "Lisbon"}}, available=["get_current_weather"]).error == \
        "NameError: name 'get_air_quality' is not defined"


def test_execution_checks_declared_types_and_enums(world):
    run = world.executor.execute
    wrong = run({"name": "get_weather_forecast", "arguments": {"city": "Lisbon", "days": "3"}})
    assert wrong.error == "TypeError: get_weather_forecast() argument 'days' must be int, not str"
    assert "argument 'days' must be int, not bool" in run(
        {"name": "get_weather_forecast", "arguments": {"city": "Lisbon", "days": True}}).error
    assert "argument 'keywords' must be list[str], not str" in run(
        {"name": "get_papers_by_keywords", "arguments": {"keywords": "tool use"}}).error
    assert "argument 'unit' must be one of 'celsius', 'fahrenheit'; got 'Kelvin'" in run(
        {"name": "get_current_weather", "arguments": {"city": "Lisbon", "unit": "Kelvin"}}).error
    # a number parameter takes an int; an optional one takes None; lookups ignore case
    assert run({"name": "convert_currency", "arguments": {"amount": 10, "from_currency": "USD", "to_currency": "eur"}}).ok
    assert run({"name": "get_weather_alerts", "arguments": {"city": "lisbon", "severity": None}}).ok
    assert run({"name": "get_current_weather", "arguments": {"city": "Atlantis"}}).error == \
        "ValueError: city 'Atlantis' not found"


def test_any_arguments_give_an_outcome_never_an_exception(world):
    """Predictions of a model are executed too (eval, rewards): wild values must come back as errors."""
    rng = random.Random(0)
    wild = [None, 0, -1, 10**13, 1.5, "", "x", "LISBON", [], ["a"], [1, 2], {}, True]
    failures = 0
    for tool in TOOLS.values():
        for _ in range(40):
            arguments = {p.name: rng.choice(wild) for p in tool.params if rng.random() < 0.9}
            failures += not world.executor.execute({"name": tool.name, "arguments": arguments}).ok
    assert failures > 0
    assert "must be a mapping" in world.executor.execute({"name": "get_air_quality", "arguments": ["Lisbon"]}).error
    assert world.executor.execute({"name": ["x"], "arguments": {}}).error.startswith("NameError")


def test_results_are_deterministic_per_seed_and_depend_on_it():
    call = {"name": "get_current_weather", "arguments": {"city": "Lisbon"}}
    assert World(1).executor.execute(call) == World(1).executor.execute(call)
    results = {json.dumps(World(s).executor.execute(call).result) for s in range(6)}
    assert len(results) > 1


def test_feedback_styles():
    ok, bad = Outcome(True, {"a": 1}), Outcome(False, error="TypeError: f() missing 1 required positional argument: 'x'")
    assert json.loads(feedback(ok, "json")) == {"error": "", "response": {"a": 1}}
    assert json.loads(feedback(bad, "json")) == {"error": bad.error, "response": ""}
    assert feedback(ok, "plain") == '{"a": 1}' and feedback(bad, "plain") == bad.error
    with pytest.raises(ValueError, match="unknown feedback style"):
        feedback(ok, "xml")


def test_near_miss_names_are_close_and_undefined():
    misses = near_miss_names("get_papers_by_keywords")
    assert "get_papers_by_keyword" in misses and "fetch_papers_by_keywords" in misses
    assert not set(misses) & set(TOOLS)


# ------------------------------------------------------------------------------------------------ trajectories


def test_same_seed_gives_byte_identical_output(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_records(a, generate(3, 200))
    write_records(b, generate(3, 200))
    write_records(c, generate(4, 200))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    # record i does not depend on how many are asked for
    assert list(generate(3, 50)) == list(generate(3, 200))[:50]


def test_every_record_validates_and_has_the_shape_of_a_trajectory(train, cases):
    for record in train + cases:
        validate_record(record)
    for record in train:
        roles = [m["role"] for m in record["messages"]]
        assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
        assert not record["messages"][-1].get("tool_calls") and record["messages"][-1]["content"]
        assert all("train" not in m for m in record["messages"])   # errors are left for MAE to find
        assert 3 <= len(record["tools"]) <= 6


def test_tool_messages_come_from_executing_the_calls(world, train):
    executed = 0
    for record in train:
        style = record["meta"]["feedback_style"]
        for _, call, answer in _tool_messages(record):
            assert answer["role"] == "tool" and answer["name"] == call["name"]
            assert answer["content"] == feedback(world.executor.execute(call), style)
            executed += 1
    assert executed > len(train)


def test_error_share_is_close_to_the_setting(train):
    erroneous = sum(bool(r["meta"]["injected_errors"]) for r in train)
    assert abs(erroneous / len(train) - 0.17) < 0.03
    assert not any(r["meta"]["injected_errors"] for r in generate(SEED, 200, error_rate=0.0))


def test_injected_errors_carry_the_real_message_and_are_corrected(world, all_errors):
    kinds = Counter()
    for record in all_errors:
        messages, offered = record["messages"], set(tool_names(record))
        assert len(record["meta"]["injected_errors"]) == 1
        for index, kind in zip(record["meta"]["injected_errors"], record["meta"]["injected_error_kinds"]):
            kinds[kind] += 1
            (wrong,), (fixed,) = message_calls(messages[index]), message_calls(messages[index + 2])
            error = messages[index + 1]["content"]
            if record["meta"]["feedback_style"] == "json":
                error = json.loads(error)["error"]
            assert error == world.executor.execute(wrong).error
            schema = {p.name: p for p in TOOLS[fixed["name"]].params}
            if kind == "unknown_tool":
                assert wrong["name"] not in offered and wrong["name"] != fixed["name"]
                assert error == f"NameError: name '{wrong['name']}' is not defined"
            else:
                assert wrong["name"] == fixed["name"]
            if kind == "missing_argument":
                (missing,) = set(fixed["arguments"]) - set(wrong["arguments"])
                assert schema[missing].required
                assert error.endswith(f"missing 1 required positional argument: '{missing}'")
            if kind == "unexpected_argument":
                (unexpected,) = set(wrong["arguments"]) - set(schema)
                assert error.endswith(f"got an unexpected keyword argument '{unexpected}'")
            if kind in ("wrong_type", "invalid_value"):
                (bad,) = [k for k in fixed["arguments"] if wrong["arguments"][k] != fixed["arguments"][k]]
                assert f"argument '{bad}' must be" in error
            # the corrected call is the right one and runs
            assert world.executor.execute(fixed, available=offered).ok
    assert set(kinds) == set(ERROR_KINDS), kinds


def test_chains_use_a_value_from_the_first_result(train):
    chains = [r for r in train if r["meta"]["scenario"] == "chain"]
    assert len(chains) > len(train) // 5
    for record in chains:
        calls = [(i, c, a) for i, c, a in _tool_messages(record) if i not in record["meta"]["injected_errors"]]
        (_, _, first_result), (_, second, _) = calls[0], calls[-1]
        assert any(isinstance(v, str) and v in first_result["content"] for v in second["arguments"].values())


def test_queries_carry_the_argument_values(train):
    for record in train:
        query = record["messages"][1]["content"]
        first = next(c for i, c, _ in _tool_messages(record) if i not in record["meta"]["injected_errors"])
        for name, value in first["arguments"].items():
            if isinstance(value, bool):
                continue   # a flag is implied by the wording ("including its abstract")
            for item in value if isinstance(value, list) else [value]:
                assert str(item) in query, (name, item, query)


def test_candidates_include_the_needed_tool_and_a_similarly_named_sibling(train):
    for record in train:
        offered = tool_names(record)
        needed = [c["name"] for i, c, _ in _tool_messages(record) if i not in record["meta"]["injected_errors"]]
        assert set(needed) <= set(offered)
        domains = {TOOLS[n].domain for n in needed}
        assert any(TOOLS[n].domain in domains for n in offered if n not in needed)


# ------------------------------------------------------------------------------------------------ eval cases


def test_eval_tools_are_disjoint_from_training_tools(train, cases):
    trained = {n for r in train for n in tool_names(r)}
    assert trained <= set(split_tools("train"))
    evaluated = {n for r in cases for n in tool_names(r)} | {c["name"] for r in cases for c in r["gold"][0]}
    assert evaluated <= set(split_tools("eval"))
    assert not trained & evaluated


def _alternatives(arguments: dict) -> list[dict]:
    """The canonical arguments of a gold call and each single-argument alternative it accepts."""
    canonical = {k: (v["any_of"][0] if isinstance(v, dict) else v) for k, v in arguments.items()}
    canonical = {k: v for k, v in canonical.items() if v is not None}
    out = [canonical]
    for key, spec in arguments.items():
        for option in spec["any_of"][1:] if isinstance(spec, dict) else []:
            variant = {k: v for k, v in canonical.items() if k != key}
            if option is not None:
                variant[key] = option
            out.append(variant)
    return out


def test_eval_gold_is_executable_and_correct(world, cases):
    assert {r["meta"]["scenario"] for r in cases} == {"single", "chain"}
    for record in cases:
        assert record["messages"][-1]["role"] in ("user", "tool")
        (gold,) = record["gold"][0]
        context = record["messages"][-1]["content"]
        results = []
        for arguments in _alternatives(gold["arguments"]):
            outcome = world.executor.execute({"name": gold["name"], "arguments": arguments},
                                             available=tool_names(record))
            assert outcome.ok, (gold, arguments, outcome.error)
            results.append(outcome.result)
            # every alternative is accepted by the shared gold semantics
            assert all(values_match(arguments[k], spec) for k, spec in gold["arguments"].items() if k in arguments)
        canonical = _alternatives(gold["arguments"])[0]
        carried = [canonical[k] for k, spec in gold["arguments"].items()
                   if not (isinstance(spec, dict) and None in spec["any_of"])]
        for value in carried:   # the values are in the query, or in the result the call follows
            for item in value if isinstance(value, list) else [value]:
                assert str(item) in context or not isinstance(item, str), (item, context)
        optional_variants = [r for a, r in zip(_alternatives(gold["arguments"]), results)
                             if set(a) != set(canonical)]
        assert all(r == results[0] for r in optional_variants)   # omitting = passing the default


# ------------------------------------------------------------------------------------------------ command


def test_command_writes_records_and_a_summary(tmp_path, capsys):
    out = tmp_path / "synth.jsonl"
    assert main(["synth", "-o", str(out), "--n", "40", "--seed", "2", "--error-rate", "0.5"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 40 and all(validate_record(json.loads(line)) for line in lines)
    printed = capsys.readouterr().out
    assert "records 40" in printed and "injected errors" in printed and "tools used" in printed
    assert main(["synth", "-o", str(tmp_path / "eval.jsonl"), "--n", "10", "--eval"]) == 0
    assert all("gold" in json.loads(line) for line in (tmp_path / "eval.jsonl").read_text().splitlines())
    assert main(["synth", "-o", str(out), "--n", "0"]) == 2
    assert main(["synth", "-o", str(out), "--error-rate", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_stats_count_what_was_generated():
    stats = Stats()
    records = list(generate(SEED, 100, error_rate=0.3, stats=stats))
    assert stats.records == 100
    assert sum(stats.injected.values()) == sum(len(r["meta"]["injected_errors"]) for r in records)
    assert stats.calls == sum(len(message_calls(m)) for r in records for m in r["messages"])
