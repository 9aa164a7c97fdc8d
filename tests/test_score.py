"""``tl-training score``: hand-made evaluation cases, bad input, and real RoTBench cases converted from
``../shared/data`` with predictions made by perturbing the gold."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tl_training import cli
from tl_training.gold import is_optional


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


# ------------------------------------------------------------------------ real cases, perturbed gold


def concrete(value):
    """A value that satisfies a gold spec, as a model would write it."""
    if isinstance(value, dict) and set(value) == {"any_value"}:
        return "anything"
    if isinstance(value, dict) and set(value) == {"any_of"}:
        return next(option for option in value["any_of"] if option is not None)
    return value


def perturbations(record):
    """(kind, prediction, category, flags) for each perturbation of the first gold call that applies.

    A perturbation applies only where no other gold alternative can rescue it, so its category is known.
    """
    from tl_training.calls import format_calls

    base = record["gold"][0][0]
    name, gold_args = base["name"], base["arguments"]
    tools = {t["function"]["name"]: t["function"] for t in record["tools"]}
    declared = set(tools[name]["parameters"].get("properties", {}))
    same_tool = [answer[0]["arguments"] for answer in record["gold"] if answer[0]["name"] == name]
    gold_names = {answer[0]["name"] for answer in record["gold"]}
    args = {key: concrete(value) for key, value in gold_args.items() if not is_optional(value)}
    react = lambda n, a: format_calls([{"name": n, "arguments": a}], "react")  # noqa: E731

    yield "exact", react(name, args), "correct", []
    yield "unknown tool", react(name + "_v2", args), "tool_hallucination", []
    others = [tool for tool in tools if tool not in gold_names]
    if others:
        yield "other tool", react(others[0], args), "wrong_tool", []
    yield "undeclared key", react(name, {**args, "zz_undeclared": "x"}), "parameter_error", ["hallucinated"]
    extra = sorted(key for key in declared if all(key not in alt for alt in same_tool))
    if extra:
        yield "redundant key", react(name, {**args, extra[0]: "x"}), "parameter_error", ["redundant"]
    required = [key for key in args if all(key in alt and not is_optional(alt[key]) for alt in same_tool)]
    if required:
        dropped = {key: value for key, value in args.items() if key != required[0]}
        yield "dropped key", react(name, dropped), "parameter_error", ["missing"]
    literal = [key for key in args if isinstance(args[key], str)
               and all(not isinstance(alt.get(key), dict) for alt in same_tool)]
    if literal:
        yield "changed value", react(name, {**args, literal[0]: args[literal[0]] + "_x"}), "content_error", []
    yield "broken input", f'Action: {name}\nAction Input: {{"{next(iter(args), "q")}": ', "format_error", []
    yield "plain text", "I do not know how to help with that.", "format_error", []


@pytest.mark.shared_data
@pytest.mark.parametrize("source", ["First_Turn/clean.json", "First_Turn/slight.json"])
def test_score_real_rotbench_cases_with_perturbed_predictions(shared_data, tmp_path, capsys, source):
    from tl_training.convert import FORMATS
    from tl_training.jsonl import Tally

    cases = list(FORMATS["rotbench"](shared_data / "rotbench" / source, Tally(), True))
    records, expected = [], []
    for case in cases:
        for kind, prediction, category, flags in perturbations(case):
            records.append({**case, "id": f"{case['id']}/{kind}", "prediction": prediction})
            expected.append((kind, category, flags))
    source_file = write_jsonl(tmp_path / "cases.jsonl", records)
    assert main(["score", str(source_file), "-o", str(tmp_path / "scored.jsonl")]) == 0
    scored = read_jsonl(tmp_path / "scored.jsonl")
    wrong = [(r["id"], category, flags, r["category"], r["flags"], r["explanation"])
             for r, (kind, category, flags) in zip(scored, expected) if (r["category"], r["flags"]) != (category, flags)]
    assert not wrong, wrong[:5]
    kinds = Counter(kind for kind, _, _ in expected)
    assert len(scored) == len(records) and all(kinds[kind] >= len(cases) // 3 for kind in kinds), kinds
    assert f"read {len(records)}, written {len(records)}, rejected 0" in capsys.readouterr().out
