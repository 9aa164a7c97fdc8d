"""``tl-training score``: hand-made evaluation cases, bad input, and real RoTBench cases converted from
``../shared/data`` with predictions made by perturbing the gold."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tl_training import cli
from tl_training.verdict import is_optional


@pytest.fixture(autouse=True)
def only_the_score_command(monkeypatch):
    """Run the real console script with only ``score`` registered, so other commands' state cannot interfere."""
    assert "tl_training.score" in cli.COMMAND_MODULES
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["tl_training.score"])


def main(argv):
    return cli.main(argv)


def tool(name, *params):
    return {"type": "function", "function": {"name": name, "description": "",
            "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in params}}}}


def case(case_id, prediction, gold=None):
    return {"id": case_id, "tools": [tool("get_weather", "city", "days", "lang"), tool("finish", "answer")],
            "messages": [{"role": "user", "content": "Weather in Paris for 3 days?"}],
            "gold": gold or [[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]],
            "prediction": prediction}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


HAND_MADE = [
    (case("ok", "get_weather(city='Paris', days=3)"), "correct", []),
    (case("ok-json", '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3.0}}'), "correct", []),
    (case("content", "Action: get_weather\nAction Input: {\"city\": \"Paris\", \"days\": \"3\"}"), "content_error", []),
    (case("params", "get_weather(city='Paris', lang='en', zone='x')"), "parameter_error",
     ["hallucinated", "missing", "redundant"]),
    (case("wrong", "finish(answer='sunny')"), "wrong_tool", []),
    (case("hallucinated", "get_forecast(city='Paris', days=3)"), "tool_hallucination", []),
    (case("text", "It is sunny."), "format_error", []),
    (case("nonliteral", "get_weather(city=__import__('os').getcwd(), days=3)"), "format_error", []),
    (case("irrelevant", "No tool can answer that.", gold=[[]]), "correct", []),
]


def test_score_hand_made_cases(tmp_path, capsys):
    source = write_jsonl(tmp_path / "cases.jsonl", [record for record, _, _ in HAND_MADE])
    assert main(["score", str(source), "-o", str(tmp_path / "scored.jsonl")]) == 0
    scored = read_jsonl(tmp_path / "scored.jsonl")
    assert [(r["id"], r["category"], r["flags"]) for r in scored] == [
        (record["id"], category, flags) for record, category, flags in HAND_MADE]
    assert all(r["explanation"] and isinstance(r["reward"], float) for r in scored)
    assert scored[0]["prediction"] == HAND_MADE[0][0]["prediction"]  # the record is kept whole
    out = capsys.readouterr().out
    table = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert table["correct"][1:] == ["3", "33.3%", "1.000"]
    assert table["format_error"][1:] == ["2", "22.2%", "-2.000"]
    assert table["parameter_error"][1:] == ["1", "11.1%", "-1.800"]
    mean = (3 * 1 - 0.25 - 1.8 - 1.5 - 2 - 2 * 2) / 9
    assert table["all"][1:] == ["9", f"{mean:.3f}"]
    assert "read 9, written 9, rejected 0" in out


def test_score_without_output_file_and_with_custom_rewards(tmp_path, capsys):
    source = write_jsonl(tmp_path / "cases.jsonl", [HAND_MADE[0][0], HAND_MADE[4][0]])
    (tmp_path / "r.yaml").write_text("correct: 5\nwrong_tool: -3\n")
    assert main(["score", str(source), "--rewards", str(tmp_path / "r.yaml")]) == 0
    out = capsys.readouterr().out
    assert "5.000" in out and "-3.000" in out and "read 2, written 0, rejected 0" in out


def test_bad_records_name_file_line_and_field(tmp_path, capsys):
    records = [HAND_MADE[0][0], {k: v for k, v in HAND_MADE[1][0].items() if k != "prediction"},
               {k: v for k, v in HAND_MADE[2][0].items() if k != "gold"}]
    source = write_jsonl(tmp_path / "cases.jsonl", records)
    assert main(["score", str(source)]) == 2
    assert f"{source}:2: field prediction" in capsys.readouterr().err
    assert main(["score", str(source), "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "read 3, written 0, rejected 2" in out
    assert "prediction: needs the raw model output" in out and "gold: an evaluation case needs gold" in out


def test_bad_reward_table_and_missing_input(tmp_path, capsys):
    source = write_jsonl(tmp_path / "cases.jsonl", [HAND_MADE[0][0]])
    (tmp_path / "r.yaml").write_text("bonus: 1\n")
    assert main(["score", str(source), "--rewards", str(tmp_path / "r.yaml")]) == 2
    assert "unknown reward 'bonus'" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl" in capsys.readouterr().err
