"""MAE: the feedback classifier, call checks, marking, config and the command, on strings and hand-made records."""

from __future__ import annotations

import json
import re

import orjson
import pytest

from tl_training.mae import MAEConfig, check_call, classify_feedback, load_config, mark_record
from tl_training.mae.command import run_mae, split_turns
from tl_training.mae.config import ConfigError

CALL = {"name": "search_advice", "arguments": {"query": "love"}}


@pytest.mark.parametrize("feedback, reason", [
    ("name 'yahoo_image_search' is not defined", "unknown_tool"),
    ("get_translation_nllb() missing 1 required positional argument: 'max_length'", "missing_argument"),
    ("list_properties() got an unexpected keyword argument 'resultSize'", "unexpected_argument"),
    ("'<' not supported between instances of 'str' and 'int'", "invalid_argument"),
    ("400 Client Error: Bad Request for url: https://serpapi.com/search", "client_error"),
    ('{"status": "failure", "code": 404, "message": "nope"}', "client_error"),
    ('{"status": "failure", "data": {"x": 1}}', "tool_error"),  # a failure with no message: no loop
    ('{"success": false, "error_code": 7}', "tool_error"),
    ('{"error": "connection error."}', "environment_error"),
    ('{"error": "Timeout error...HTTPConnectionPool(host=\'x\'): Read timed out.", "response": ""}', "environment_error"),
    ('{"message": "Too Many Requests. Please wait and try again", "code": "429"}', "environment_error"),
    ('{"error": "No activity found with the specified parameters"}', "tool_error"),
    ("Object of type bytes is not JSON serializable", "tool_error"),
    ('{"errors": {"team": "The Team field is required."}, "results": 0, "response": []}', "missing_argument"),
    ('{"error": "", "response": "{\'statusCode\': 400, \'error\': \'Bad Request\'}"}', "client_error"),
    ('{"status_code": 200, "response": [{"status_code": 200, "error": "Invalid Domain"}]}', "invalid_argument"),
])
def test_adverse_feedback_gets_its_reason(feedback, reason):
    finding = classify_feedback(feedback, CALL)
    assert finding is not None and finding.reason == reason, finding
    assert finding.evidence


@pytest.mark.parametrize("feedback", [
    '{"error": "", "response": "{\'ads\': [], \'related_searches\': {\'images\': [], \'text\': []}}"}',  # authors' FP
    '{"error": "Message error...", "response": "{\'result\': [{\'title\': \'Black Summer\'}]}"}',  # not-JSON marker
    '{"get": "seasons", "errors": [], "results": 12, "response": [2012, 2013]}',
    '{"status": {"error_code": 0, "error_message": null}, "data": {"id": 270}}',
    '{"message": {"type": "notice", "text": "No advice slips found matching that search term."}}',
    '[{"title": "Bad Request errors explained", "message": "invalid value"}]',  # words inside a result are data
    "Code executed successfully.", "", "[]", "null", "2023-10-28",
])
def test_successful_feedback_is_not_adverse(feedback):
    assert classify_feedback(feedback, CALL) is None


def test_key_error_repr_blames_the_argument_only_when_it_names_one():
    assert classify_feedback("'ja'", {"name": "t", "arguments": {"tgt_lang": "ja"}}).reason == "invalid_argument"
    assert classify_feedback("'channel_results'", {"name": "t", "arguments": {"q": "x"}}).reason == "tool_error"


RECORD_TOOLS = [{"type": "function", "function": {"name": "search_advice", "parameters": {
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]


def test_call_checks():
    record = {"tools": RECORD_TOOLS}
    assert check_call({"name": "nope", "arguments": {}}, record).reason == "unknown_tool"
    assert check_call({"name": "search_advice", "arguments": {"q": "x"}}, record).reason == "unexpected_argument"
    assert check_call({"name": "search_advice", "arguments": {}}, record).reason == "missing_argument"
    assert check_call(CALL, record) is None
    assert check_call({"name": "nope", "arguments": {}}, record, unknown_tool=False) is None
    assert check_call({"name": "search_advice", "arguments": {}}, record, schema=False) is None


def _call(name, **arguments):
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def _record(*tail, rid="r1"):
    return {"id": rid, "tools": RECORD_TOOLS,
            "messages": [{"role": "user", "content": "advice about love?"}, *tail]}


def test_marking_keeps_the_turn_in_context_and_masks_it():
    record = _record(
        {"role": "assistant", "content": "", "tool_calls": [_call("search_advice", q="love")]},
        {"role": "tool", "name": "search_advice", "content": "search_advice() got an unexpected keyword argument 'q'"},
        {"role": "assistant", "content": "", "tool_calls": [_call("search_advice", query="love")]},
        {"role": "tool", "name": "search_advice", "content": '{"slips": [{"advice": "..."}]}'},
        {"role": "assistant", "content": "Here is some advice."})
    result = mark_record(record, MAEConfig())
    first, second = record["messages"][1], record["messages"][3]
    assert first["train"] is False and first["mae_reason"] == "unexpected_argument"
    assert "train" not in second and len(record["messages"]) == 6
    assert result.masked_turns == 1 and result.trained_left == 2 and result.changed


def test_parallel_turn_with_one_bad_call_is_masked_whole():
    record = _record(
        {"role": "assistant", "content": "", "tool_calls": [_call("search_advice", query="a"), _call("search_advice", query="b")]},
        {"role": "tool", "name": "search_advice", "content": '{"ok": 1}'},
        {"role": "tool", "name": "search_advice", "content": "name 'x' is not defined"})
    result = mark_record(record, MAEConfig())
    assert record["messages"][1]["mae_reason"] == "unknown_tool" and result.trained_left == 0


def test_environment_errors_are_reported_and_masking_is_a_setting():
    def fresh():
        return _record({"role": "assistant", "content": "", "tool_calls": [_call("search_advice", query="a")]},
                       {"role": "tool", "name": "search_advice", "content": '{"error": "connection error."}'})
    masked = fresh()
    assert mark_record(masked, MAEConfig()).findings[0].masked and masked["messages"][1]["train"] is False
    kept = fresh()
    result = mark_record(kept, MAEConfig(mask_environment_errors=False))
    assert result.findings[0].finding.reason == "environment_error" and not result.findings[0].masked
    assert "train" not in kept["messages"][1] and not result.changed


def test_checks_can_be_switched_off():
    record = _record({"role": "assistant", "content": "", "tool_calls": [_call("nope")]},
                     {"role": "tool", "name": "nope", "content": "name 'nope' is not defined"})
    off = MAEConfig(check_feedback=False, check_unknown_tool=False, check_schema=False)
    assert not mark_record(record, off).findings
    assert mark_record(record, MAEConfig(check_feedback=False)).findings[0].finding.source == "call"


def test_config_from_yaml_extends_or_replaces_patterns(tmp_path):
    path = tmp_path / "mae.yaml"
    path.write_text("mask_environment_errors: false\npatterns:\n  - {reason: client_error, regex: 'quota of widgets'}\n")
    config = load_config(path)
    assert not config.mask_environment_errors
    assert config.classifier.classify("quota of widgets reached").reason == "client_error"
    path.write_text("replace_patterns: true\npatterns:\n  - {reason: tool_error, regex: 'boom'}\n")
    config = load_config(path)
    assert config.classifier.classify("boom") and config.classifier.classify("name 'x' is not defined") is None


@pytest.mark.parametrize("text, message", [
    ("check_feedbak: true\n", "unknown field(s) check_feedbak"),
    ("patterns:\n  - {reason: oops, regex: x}\n", "patterns[0].reason"),
    ("patterns:\n  - {reason: tool_error, regex: '('}\n", "patterns[0].regex"),
    ("check_schema: maybe\n", "check_schema"),
])
def test_bad_config_names_the_field(tmp_path, text, message):
    path = tmp_path / "mae.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_command_streams_reports_and_keeps_malformed_lines(tmp_path):
    good = _record({"role": "assistant", "content": "", "tool_calls": [_call("search_advice", q="love")]},
                   {"role": "tool", "name": "search_advice", "content": "x() got an unexpected keyword argument 'q'"},
                   {"role": "assistant", "content": "done"})
    src = tmp_path / "in.jsonl"
    untouched_line = b'{"id":"r2",  "messages":[{"role":"user","content":"x"},{"role":"assistant","content":"hi"}]}'
    src.write_bytes(orjson.dumps(good) + b"\n" + untouched_line + b"\n{not json\n" + b'{"id": "r3", "messages": []}\n')
    out, split = tmp_path / "out.jsonl", tmp_path / "split.jsonl"
    tally, report = run_mae(src, out, MAEConfig(), split_path=split)
    lines = out.read_bytes().splitlines()
    assert tally.read == 4 and tally.written == 2 and tally.rejected == 2
    assert lines[1] == untouched_line  # untouched records are copied, not re-serialised
    marked = json.loads(lines[0])
    assert marked["messages"][1]["train"] is False and marked["messages"][1]["mae_reason"] == "unexpected_argument"
    rejected = (tmp_path / "out.jsonl.rejected.jsonl").read_bytes().splitlines()
    assert rejected == [b"{not json", b'{"id": "r3", "messages": []}']
    summary = report.summary(tally)
    assert "unexpected_argument: 1 masked" in summary and "rejected 2" in summary
    data = report.as_dict(tally, MAEConfig())
    assert data["adverse_calls_masked"] == {"unexpected_argument": 1} and data["turns_masked"] == 1
    samples = [json.loads(x) for x in split.read_text().splitlines()]
    assert [s["id"] for s in samples] == ["r1#turn3", "r2#turn1"]
    assert samples[0]["messages"][1]["train"] is False and "train" not in samples[0]["messages"][-1]


def test_split_turns_makes_earlier_turns_history():
    record = _record({"role": "assistant", "content": "a"}, {"role": "user", "content": "more"},
                     {"role": "assistant", "content": "b"})
    samples = split_turns(record)
    assert len(samples) == 2 and samples[1]["messages"][1]["train"] is False and "train" not in samples[1]["messages"][3]
