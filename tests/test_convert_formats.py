"""The formats users bring (xLAM, APIGen-MT, Hermes, ToolACE, When2Call, glaive v2, OpenAI with JSON
text): each hand-made fixture in tests/fixtures/convert/ converts exactly to tests/fixtures/convert/expected/,
its awkward items counted with their reasons at file:line; call ids survive; the xLAM-layout API-Bank
benchmark converts whole and scores 100 with its gold as predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tl_training.calls import format_calls
from tl_training.cli import main
from tl_training.convert import FORMATS
from tl_training.convert.common import ConvertTally
from tl_training.jsonl import write_records
from tl_training.mae.config import MAEConfig
from tl_training.mae.mark import call_feedback, mark_record
from tl_training.record import RecordError, message_calls, validate_message

FIXTURES = Path(__file__).parent / "fixtures" / "convert"

CASES = [  # format, fixture, the reasons its awkward items are rejected under (file line of each)
    ("xlam", "xlam.json", {"answers: answers is not valid JSON (invalid JSON: NaN is not a finite number)": 14,
                           "tools: tools is not valid JSON (invalid JSON: Expecting property name enclosed in double quotes)": 20}),
    ("xlam", "xlam_benchmark.json", {"query[*]: a tool turn must follow a call": 87}),
    ("apigen_mt", "apigen_mt.json", {"conversations[*].value: function_call is not valid JSON (invalid JSON: duplicate key 'reservation_id')": 44}),
    ("hermes", "hermes.json", {"conversations[*].value: a <tool_call> block is not closed": 48}),
    ("toolace", "toolace.json", {"conversations[*].value: unreadable call list: unbalanced parentheses": 36}),
    ("when2call", "when2call_sft.jsonl", {"correct_answer: a When2Call test item (multiple choice among answer kinds): "
                                          "not training data, not converted": 3}),
    ("when2call", "when2call_pref.jsonl", {"rejected_response: a <TOOLCALL> block is not closed": 2}),
    ("glaive_v2", "glaive_v2.json", {"chat turn 1: a FUNCTION RESPONSE that follows no call": 14}),
    ("openai", "openai_strings.jsonl", {"messages: messages is not valid JSON (invalid JSON: duplicate key 'content')": 3}),
]


def convert(fmt: str, name: str, strict: bool = False) -> tuple[list[dict], ConvertTally]:
    tally = ConvertTally()
    return list(FORMATS[fmt](FIXTURES / name, tally, strict)), tally


def expected(name: str) -> list[dict]:
    lines = (FIXTURES / "expected" / f"{Path(name).stem}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("fmt, name, rejected", CASES, ids=[c[1] for c in CASES])
def test_fixture_converts_exactly(fmt, name, rejected):
    records, tally = convert(fmt, name)
    assert records == expected(name)
    assert tally.read == len(records) + tally.rejected and dict(tally.reasons) == {r: 1 for r in rejected}
    for reason, line in rejected.items():
        (example,) = tally.examples[reason]
        assert example.startswith(f"{FIXTURES / name}:{line}")  # names the file and the line
    with pytest.raises(RecordError, match=rf"{name}:{min(rejected.values())}\b"):
        convert(fmt, name, strict=True)


def test_xlam_layouts_give_trajectories_and_cases():
    trajectory, no_call = expected("xlam.json")
    assert [m["role"] for m in trajectory["messages"]] == ["user", "assistant"]  # the answer is the trained turn
    assert len(trajectory["messages"][1]["tool_calls"]) == 2  # parallel calls stay one turn
    assert trajectory["tools"][0]["function"]["parameters"]["required"] == ["city"]  # "str, optional" with a default is not
    assert no_call["messages"][-1] == {"role": "assistant", "content": ""}
    case, conversation, chat = expected("xlam_benchmark.json")
    assert case["gold"] == [[{"name": "BookTable", "arguments": {"restaurant": "Luigi's", "people": 2}}]]
    assert case["tools"][0]["function"]["parameters"]["required"] == ["restaurant", "people"]  # required: true
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "assistant", "tool"]
    assert message_calls(conversation["messages"][2]) == [{"name": "ToolSearcher", "arguments": {"keywords": "history October 6"}}]
    assert chat["gold"] == [[]]


def test_text_and_calls_share_a_turn_and_results_split_per_call():
    hermes, _ = expected("hermes.json")
    turn = hermes["messages"][2]
    assert turn["content"] == "Doing both now." and len(turn["tool_calls"]) == 2
    assert [m.get("name") for m in hermes["messages"][3:5]] == ["get_camera_live_feed", "set_thermostat"]
    assert "get_camera_live_feed" not in hermes["messages"][0]["content"]  # the tool list is cut out
    assert hermes["meta"]["instruction_syntax"] == "hermes"
    toolace, _ = expected("toolace.json")
    assert [c["name"] for c in message_calls(toolace["messages"][2])] == ["Market Trends API", "get_price"]
    assert [m["name"] for m in toolace["messages"][3:5]] == ["Market Trends API", "get_price"]
    glaive = expected("glaive_v2.json")[2]
    assert glaive["messages"][2]["content"] == "Sure, let me search."
    assert message_calls(glaive["messages"][2]) == [{"name": "search_movie", "arguments": {"title": "Don't Look Up"}}]


def test_when2call_preference_records():
    (record,) = expected("when2call_pref.jsonl")
    assert record["meta"]["split"] == "preference" and [m["role"] for m in record["messages"]] == ["user"]
    for key in ("chosen", "rejected"):
        (turn,) = record[key]
        validate_message(turn, key)
        assert turn["role"] == "assistant"
    assert message_calls(record["rejected"][0]) == [{"name": "get_company_by_domain", "arguments": {"domain": "www.apple.com"}}]


def test_tool_call_ids_survive_a_round_trip(tmp_path):
    records, _ = convert("openai", "openai_strings.jsonl")
    out = tmp_path / "records.jsonl"
    write_records(out, records)
    again, tally = convert("openai", str(out))
    assert again == records and tally.rejected == 0
    assistant, rome, paris = records[0]["messages"][2:5]
    assert [tc["id"] for tc in assistant["tool_calls"]] == ["call_1", "call_2"]
    assert (rome["tool_call_id"], paris["tool_call_id"]) == ("call_2", "call_1")


def test_mae_pairs_out_of_order_results_by_id():
    record = expected("openai_strings.jsonl")[0]
    pairs = [(call["arguments"]["city"], text) for _, call, text in call_feedback(record)]
    assert pairs == [("Paris", "Paris: 18C"), ("Rome", "Rome: 24C")]  # results listed Rome first
    failing = json.loads(json.dumps(record))
    failing["messages"][3]["content"] = "Error: missing required argument 'city'"  # call_2's (Rome's) result
    assert {call["arguments"]["city"]: text for _, call, text in call_feedback(failing)} == {
        "Paris": "Paris: 18C", "Rome": "Error: missing required argument 'city'"}
    result = mark_record(failing, MAEConfig())
    assert failing["messages"][2]["train"] is False and result.masked_turns == 1
    by_position = json.loads(json.dumps(failing))
    for message in by_position["messages"]:
        message.pop("tool_call_id", None)
    assert [text for _, _, text in call_feedback(by_position)][0].startswith("Error")  # without ids: Paris gets it


@pytest.mark.shared_data
def test_xlam_apibank_l2_converts_whole_and_gold_scores_100(shared_data, tmp_path, capsys):
    source = shared_data / "hammer" / "apibank_l2.json"
    records, tally = convert("xlam", str(source))
    assert len(records) == 127 and tally.rejected == 0
    assert all(len(r["gold"]) == 1 and r["gold"][0] for r in records)  # each case with its gold calls
    predictions = tmp_path / "gold.jsonl"
    predictions.write_text("".join(json.dumps({"id": r["id"], "prediction": format_calls(r["gold"][0], "json")}) + "\n"
                                   for r in records))
    assert main(["eval", "--predictions", str(predictions), "--benchmark", f"xlam:{source}", "-o", str(tmp_path / "eval")]) == 0
    figures = json.loads((tmp_path / "eval" / "results.json").read_text())["benchmarks"][f"xlam:{source}"]
    assert figures["cases"] == 127 and (figures["TS"], figures["PI"], figures["CF"]) == (100.0, 100.0, 100.0)
