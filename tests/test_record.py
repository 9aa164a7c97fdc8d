import json

import pytest

from tl_training.jsonl import RecordWriter, Tally, read_records
from tl_training.record import RecordError, is_trained, message_calls, tool_names, validate_record


def good_record(**overrides):
    record = {
        "id": "toolbench/G1/57#2",
        "tools": [{"type": "function", "function": {"name": "search_advice", "description": "d",
                   "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}],
        "messages": [
            {"role": "user", "content": "advice about love?"},
            {"role": "assistant", "content": "", "train": False, "mae_reason": "unexpected_argument",
             "tool_calls": [{"type": "function", "function": {"name": "search_advice", "arguments": {"q": "love"}}}]},
            {"role": "tool", "name": "search_advice", "content": "got an unexpected keyword argument 'q'"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"type": "function", "function": {"name": "search_advice", "arguments": {"query": "love"}}}]},
        ],
    }
    record.update(overrides)
    return record


def test_accessors_on_the_design_example():
    record = validate_record(good_record())
    assert tool_names(record) == ["search_advice"]
    assert message_calls(record["messages"][3]) == [{"name": "search_advice", "arguments": {"query": "love"}}]
    assert [is_trained(m) for m in record["messages"]] == [False, False, False, True]


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.pop("id"), "id"),
        (lambda r: r["messages"][0].update(role="robot"), "messages[0].role"),
        (lambda r: r["messages"][3]["tool_calls"][0]["function"].update(arguments='{"query": "x"}'), "messages[3].tool_calls[0].function.arguments"),
        (lambda r: r["tools"][0]["function"].pop("name"), "tools[0].function.name"),
        (lambda r: r.update(gold=[]), "gold"),
        (lambda r: r.update(gold=[[{"name": "f", "arguments": "x"}]]), "gold[0][0].arguments"),
        (lambda r: r["messages"][1].update(train="no"), "messages[1].train"),
    ],
)
def test_validation_names_the_bad_field(mutate, field):
    record = good_record()
    mutate(record)
    with pytest.raises(RecordError) as info:
        validate_record(record)
    assert info.value.field == field


def test_no_call_gold_is_valid():
    record = good_record(gold=[[]])
    assert validate_record(record)["gold"] == [[]]


def test_reading_reports_file_line_and_counts_rejections(tmp_path):
    path = tmp_path / "in.jsonl"
    bad = good_record()
    bad["messages"][0]["role"] = "robot"
    path.write_text("\n".join([json.dumps(good_record()), "{not json", "", json.dumps(bad), json.dumps(good_record())]) + "\n")

    with pytest.raises(RecordError, match=r"in\.jsonl:2: not valid JSON"):
        list(read_records(path))

    tally = Tally()
    records = list(read_records(path, tally, strict=False))
    assert len(records) == 2
    assert (tally.read, tally.rejected) == (4, 2)
    assert any("messages[0].role" in reason for reason in tally.reasons)
    assert f"{path}:4" in tally.examples[next(r for r in tally.reasons if "role" in r)][0]

    out = tmp_path / "out.jsonl"
    with RecordWriter(out, tally) as writer:
        for record in records:
            writer.write(record)
    assert tally.written == 2
    assert [r["id"] for r in read_records(out)] == ["toolbench/G1/57#2"] * 2
    assert "read 4, written 2, rejected 2" in tally.summary()
