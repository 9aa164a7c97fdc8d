"""Converters on hand-made fixtures (tests/fixtures/convert/): content, counted rejections, --strict, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tl_training.cli import main
from tl_training.convert import FORMATS
from tl_training.convert.common import ConvertTally
from tl_training.convert.exclude import normalise_query
from tl_training.record import RecordError, message_calls

FIXTURES = Path(__file__).parent / "fixtures" / "convert"


def convert(fmt: str, name: str, strict: bool = False) -> tuple[list[dict], ConvertTally]:
    tally = ConvertTally()
    records = list(FORMATS[fmt](FIXTURES / name, tally, strict))
    return records, tally


def test_rotbench_eval_gold_and_any_value():
    records, tally = convert("rotbench", "rotbench_eval.json")
    assert [r["id"] for r in records] == ["rotbench/rotbench_eval/0", "rotbench/rotbench_eval/2"]
    assert tally.read == 3 and tally.rejected == 1
    assert "unparseable ReAct call" in next(iter(tally.reasons))
    first = records[0]
    assert [t["function"]["name"] for t in first["tools"]] == ["search_advice", "finish"]
    assert "following tools" in first["messages"][0]["content"] and "search_advice" not in first["messages"][0]["content"]
    assert [m["role"] for m in first["messages"]] == ["system", "user"]  # ends before the turn to predict
    assert first["gold"] == [[{"name": "search_advice", "arguments": {"query": "love"}}],
                             [{"name": "search_advice", "arguments": {"query": {"any_value": True}}}]]
    history = records[1]
    assert history["messages"][2]["content"] == "try"
    assert message_calls(history["messages"][2]) == [{"name": "search_advice", "arguments": {"q": "x"}}]
    assert history["messages"][3] == {"role": "tool", "name": "search_advice",
                                      "content": "search_advice() got an unexpected keyword argument 'q'"}
    assert history["gold"] == [[{"name": "finish", "arguments": {"answer": {"any_value": True}}}]]


def test_rotbench_eval_strict_names_file_index_and_field():
    with pytest.raises(RecordError, match=r"rotbench_eval\.json:23 \(index 1\): field conversations\[2\]\.value\[0\]: unparseable"):
        convert("rotbench", "rotbench_eval.json", strict=True)


def test_rotbench_training_pool_folds_turns_and_rejects_error_file():
    records, tally = convert("rotbench", "rotbench_train")
    assert [r["id"] for r in records] == ["rotbench/Advice/Advice_slip/0", "rotbench/Advice/Advice_slip/1"]
    longest = records[0]
    assert len(longest["messages"]) == 7 and longest["meta"]["source_id"].startswith("Turn 3:")
    assert longest["messages"][3]["content"] == "search_advice() got an unexpected keyword argument 'q'"
    assert tally.notes["per-turn records folded into the longest record of their trajectory"] == 2
    assert tally.read == 7  # 6 lines in train_gpt4.jsonl + 1 in error.jsonl
    assert tally.rejected == 3
    assert any(r.startswith("set aside by the RoTBench authors (error.jsonl): call_without_feedback") for r in tally.reasons)
    assert any("not valid JSON" in r for r in tally.reasons)
    assert any("Turn k" in r for r in tally.reasons)


def test_rotbench_training_pool_strict_stops_at_line():
    with pytest.raises(RecordError, match=r"train_gpt4\.jsonl:5: not valid JSON"):
        convert("rotbench", "rotbench_train", strict=True)


def test_glaive():
    records, tally = convert("glaive", "glaive.json")
    assert tally.read == 2 and tally.rejected == 1 and len(records) == 1
    messages = records[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert message_calls(messages[1]) == [{"name": "convert_currency", "arguments": {"amount": 100, "from": "USD", "to": "EUR"}}]
    assert messages[2]["name"] == "convert_currency"
    assert records[0]["id"] == "glaive/glaive/0"


def test_paper():
    records, tally = convert("paper", "paper.json")
    assert tally.rejected == 1 and "name\\n{json arguments}" in next(iter(tally.reasons))
    record = records[0]
    assert record["tools"][0]["function"]["name"] == "search_advice"
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert message_calls(record["messages"][3]) == [{"name": "search_advice", "arguments": {"query": "love"}}]


def test_openai_arguments_become_dicts_and_tool_names_resolve():
    records, tally = convert("openai", "openai.jsonl")
    assert tally.read == 3 and tally.rejected == 2 and len(records) == 1
    messages = records[0]["messages"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert messages[1]["tool_calls"][0]["id"] == "c1"  # call ids survive, so results pair by id
    assert messages[2] == {"role": "tool", "content": "18C", "name": "get_weather", "tool_call_id": "c1"}
    assert any("openai.jsonl:3" in ex for examples in tally.examples.values() for ex in examples)


def test_apibank_history_is_context_and_bare_values_are_quoted():
    records, tally = convert("apibank", "apibank.json")
    assert tally.rejected == 1 and "output must start with" in next(iter(tally.reasons))
    record = records[0]
    assert [t["function"]["name"] for t in record["tools"]] == ["ToolSearcher", "WeatherAPI"]
    roles = [(m["role"], m.get("train", True)) for m in record["messages"]]
    assert roles == [("user", True), ("assistant", False), ("tool", True), ("assistant", True)]
    assert message_calls(record["messages"][3]) == [{"name": "WeatherAPI", "arguments": {"city": "New York"}}]
    assert record["meta"]["flags"] == ["quoted_bare_values"]


def test_toolalpaca_tools_from_openapi_and_first_step_gold():
    records, tally = convert("toolalpaca", "toolalpaca.json")
    assert tally.read == 2 and tally.rejected == 1 and "no golden steps" in next(iter(tally.reasons))
    record = records[0]
    tools = {t["function"]["name"]: t["function"] for t in record["tools"]}
    assert set(tools) == {"getFacts", "addImage", "getDetails"}
    assert tools["getFacts"]["parameters"]["required"] == ["category"]
    assert tools["addImage"]["parameters"]["properties"] == {"url": {"type": "string"}}  # $ref resolved
    assert record["gold"] == [[{"name": "getFacts", "arguments": {
        "category": "habitat", "limit": 3, "gender": {"any_of": ["", None]}, "from": {"any_value": True}}}]]


def test_toolbench_keeps_longest_and_counts_the_rest():
    records, tally = convert("toolbench", "toolbench")
    assert [r["id"] for r in records] == ["toolbench/G1/7"]
    assert tally.read == 3 and tally.rejected == 2
    assert tally.notes["per-step train_messages lists folded into their tree's longest one"] == 1
    messages = records[0]["messages"]
    assert message_calls(messages[2]) == [{"name": "search_for_tvmaze", "arguments": {"query": "x"}}]
    assert messages[3]["content"] == '{"error": "", "response": "[]"}'


def test_bfcl_types_and_gold():
    records, tally = convert("bfcl", "bfcl/BFCL_v4_simple_python.json")
    assert tally.rejected == 1 and "no acceptable value" in next(iter(tally.reasons))
    record = records[0]
    assert record["id"] == "bfcl/simple_python/0" and record["meta"]["bfcl_id"] == "simple_python_0"
    props = record["tools"][0]["function"]["parameters"]
    assert props["type"] == "object"
    assert props["properties"]["height"]["type"] == "number"
    assert props["properties"]["dims"] == {"type": "array", "items": {"type": "number"}}
    assert record["gold"] == [[{"name": "geometry.area", "arguments": {
        "base": 10, "height": {"any_of": [5.0, 5]}, "unit": {"any_of": ["units", None]},
        "opts": {"any_of": [{"k": "v"}, {}]}}}]]


def test_tooleyes_raw_reads_tool_schemas():
    records, tally = convert("tooleyes", "tooleyes/scenario_data_raw.json")
    assert tally.rejected == 1 and "no tool schema" in next(iter(tally.reasons))
    assert records[0]["tools"][0]["function"]["name"] == "random_advice"
    assert records[0]["messages"] == [{"role": "user", "content": "Any advice?"}]


def test_normalise_query():
    assert normalise_query("  What is  THE time?\nBegin!\n") == "what is the time?"


def test_cli_writes_summary_and_excludes(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    code = main(["convert", "--from", "rotbench", str(FIXTURES / "rotbench_train"), "-o", str(out),
                 "--exclude-queries", str(FIXTURES / "rotbench_eval.json")])
    printed = capsys.readouterr().out
    assert code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["rotbench/Advice/Advice_slip/1"]  # "Give me advice about love" is a test query
    assert "excluded 1 trajectories" in printed and "read 7, written 1, rejected 4" in printed


def test_cli_limit_strict_and_bad_input(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["convert", "--from", "glaive", str(FIXTURES / "glaive.json"), "-o", str(out), "--limit", "1"]) == 0
    assert len(out.read_text().splitlines()) == 1
    assert main(["convert", "--from", "glaive", str(FIXTURES / "glaive.json"), "-o", str(out), "--strict"]) == 2
    assert "glaive.json:23 (index 1)" in capsys.readouterr().err
    assert main(["convert", "--from", "glaive", str(tmp_path / "missing.json"), "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", "--from", "nosuchformat", "x", "-o", str(out)])


def test_toolalpaca_real_layout_keeps_cases_with_cycles_dangling_refs_and_repairable_gold():
    records, tally = convert("toolalpaca", "toolalpaca_real.json")
    assert tally.read == 7 and tally.rejected == 2  # the two whose gold no certain repair reads
    nager, tree, aviation, doubled, python_dict = records
    tools = {t["function"]["name"]: t["function"] for t in tree["tools"]}
    assert list(tools) == ["CountryCountryInfo", "tree_post", "getDetails"]  # named by Function_Projection
    assert tools["tree_post"]["parameters"] == {"type": "object", "properties": {
        "label": {"type": "string"}, "children": {"type": "array", "items": {"type": "object"}}}, "required": ["label"]}
    assert nager["meta"]["schema_notes"] == ["$ref cycle through #/components/schemas/Node cut to a generic object"]
    airport = aviation["tools"][0]["function"]
    assert airport["name"] == "airports_get"  # no operationId: the projection names it
    assert airport["parameters"]["properties"] == {"apt": {"type": "string", "description": "FAA or ICAO id"},
                                                   "group": {},  # a $ref to nothing: untyped
                                                   "limit": {"type": "integer", "default": 10, "description": "How many."}}
    assert aviation["gold"] == [[{"name": "airports_get", "arguments": {"apt": "AVL", "group": 1}}]]
    assert doubled["gold"] == [[{"name": "latest_get", "arguments": {"base": "USD", "symbols": ["EUR", "GBP"]}}]]
    assert doubled["meta"]["gold_repaired"] == "Action_Input: a key written twice read once"
    assert python_dict["gold"] == [[{"name": "latest_get", "arguments": {"base": "USD", "symbols": "JPY"}}]]
    assert python_dict["meta"]["gold_repaired"] == "Action_Input: read as a Python dict literal"
    assert any("duplicate key 'base'" in example for examples in tally.examples.values() for example in examples)
    assert tally.notes["toolalpaca schema: unresolved $ref #/components/schemas/Group left untyped"] == 1
    assert tally.notes["gold Action_Input not valid JSON, repaired: a key written twice read once"] == 1


@pytest.mark.parametrize("line, reason", [('{"a": NaN}', "not a finite number"), ('{"a": 1, "a": 2}', "duplicate key 'a'")])
def test_nan_and_repeated_keys_rejected_at_convert_time_with_file_and_line(tmp_path, line, reason):
    good = {"messages": [{"role": "user", "content": "hi"}]}
    bad = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": line}}]}]}
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    with pytest.raises(RecordError, match=rf"data\.jsonl:3: field messages\[1\]\.tool_calls\[0\]\.function\.arguments: .*{reason}"):
        list(FORMATS["openai"](jsonl, ConvertTally(), True))
    # in the file itself (not a JSON string): a JSON list names the item's line
    listed = tmp_path / "data.json"
    listed.write_text("[\n" + json.dumps(good) + ",\n" + json.dumps(bad).replace(json.dumps(line), line) + "\n]\n")
    tally = ConvertTally()
    assert len(list(FORMATS["openai"](listed, tally, False))) == 1
    (example,), = tally.examples.values()
    assert example.startswith(f"{listed}:3 (index 1)") and reason in example
