"""Converters on every public file in ../shared/data (skipped when absent) and BFCL's installed data:
exact counts, and a few records checked by hand against the source."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tl_training.convert import FORMATS
from tl_training.convert.common import ConvertTally
from tl_training.convert.exclude import EXCLUDED_REASON, exclude_queries, load_queries, normalise_query
from tl_training.convert.rotbench import SET_ASIDE
from tl_training.record import first_user_query, message_calls


def convert(fmt: str, path: Path | str) -> tuple[list[dict], ConvertTally]:
    tally = ConvertTally()
    records = list(FORMATS[fmt](Path(path), tally, False))
    folded = sum(tally.notes.values()) if fmt == "rotbench" else 0  # ToolBench's folded steps lie inside one read tree
    assert tally.read == len(records) + tally.rejected + folded  # nothing lost uncounted
    return records, tally


@pytest.mark.parametrize("name, count", [("First_Turn/clean.json", 105), ("First_Turn/slight.json", 210),
                                         ("Third_Turn/clean.json", 70)])
def test_rotbench_eval_counts(shared_data, name, count):
    records, tally = convert("rotbench", shared_data / "rotbench" / name)
    assert len(records) == count and tally.rejected == 0
    assert all(r["gold"] and r["messages"][-1]["role"] in ("user", "tool") for r in records)
    assert len({r["id"] for r in records}) == count


def test_rotbench_clean_content(shared_data):
    records, _ = convert("rotbench", shared_data / "rotbench/First_Turn/clean.json")
    first = records[0]
    assert first["id"] == "rotbench/clean/0"
    assert [t["function"]["name"] for t in first["tools"]] == ["get_translation_nllb", "get_translation_baidu", "ask_to_user", "finish"]
    assert first["gold"][0] == [{"name": "get_translation_nllb", "arguments": {
        "input_text": "See you later", "tgt_lang": "jpn_Jpan", "src_lang": "eng_Latn", "max_length": {"any_value": True}}}]
    assert first["gold"][1] == [{"name": "get_translation_baidu", "arguments": {"text": "See you later", "tgt_lang": "jp"}}]
    assert sum(1 for r in records if r["gold"][0][0]["name"] in ("finish", "ask_to_user")) > 0


def test_rotbench_third_turn_keeps_real_feedback(shared_data):
    records, _ = convert("rotbench", shared_data / "rotbench/Third_Turn/clean.json")
    first = records[0]
    assert first["id"] == "rotbench/Third_Turn/clean/0"
    assert message_calls(first["messages"][2]) == [{"name": "get_translation_nllb", "arguments": {
        "input_text": "See you later", "tgt_lang": "ja", "src_lang": "en"}}]
    assert first["messages"][3]["content"] == "get_translation_nllb() missing 1 required positional argument: 'max_length'"


def test_rotbench_training_pool(shared_data):
    records, tally = convert("rotbench", shared_data / "rotbench_train/Tools_gpt4")
    set_aside = sum(n for reason, n in tally.reasons.items() if reason.startswith(SET_ASIDE))
    assert set_aside == 173  # every error.jsonl trajectory, reported with its reason
    assert tally.read == 11044 + 173
    assert tally.notes["per-turn records folded into the longest record of their trajectory"] == 11044 - 3761
    assert len(records) + tally.rejected - set_aside == 3761  # one per tool file and query, defects counted
    assert len(records) == 3697
    assert len({normalise_query(first_user_query(r)) for r in records}) <= 3684
    assert all(r["meta"]["source_id"].startswith("Turn ") for r in records)
    clean = load_queries([shared_data / "rotbench/First_Turn/clean.json"])
    exclusion = ConvertTally()
    matched: set[str] = set()
    kept = list(exclude_queries(records, clean, exclusion, matched))
    assert len(matched) == 95  # of RoTBench's 105 test queries
    assert len(kept) == len(records) - exclusion.reasons[EXCLUDED_REASON]


def test_tooleyes_counts(shared_data):
    processed, tally = convert("tooleyes", shared_data / "tooleyes")
    raw, raw_tally = convert("tooleyes", shared_data / "tooleyes/scenario_data_raw.json")
    assert len(processed) == len(raw) == 382 and tally.rejected == raw_tally.rejected == 0
    assert Counter(r["meta"]["scenario"] for r in raw) == Counter(r["meta"]["scenario"] for r in processed)
    assert "generate_string" in [t["function"]["name"] for t in processed[0]["tools"]]


def test_toolalpaca_counts_and_gold(shared_data):
    records, tally = convert("toolalpaca", shared_data / "toolalpaca/eval_simulated.json")
    assert len(records) == 100 and tally.rejected == 0
    assert records[1]["gold"] == [[{"name": "searchAxolotlImages", "arguments": {
        "color": "wild", "gender": {"any_of": ["", None]}, "size": "medium", "page": 1}}]]
    assert len(records[0]["tools"]) == 4  # three operations and getDetails
    names = {call["name"] for r in records for call in r["gold"][0]}
    assert all(name in [t["function"]["name"] for t in r["tools"]] for r in records for name in [r["gold"][0][0]["name"]])
    assert "getDetails" in names


def test_glaive_counts(shared_data):
    records, tally = convert("glaive", shared_data / "glaive/glaive_toolcall_en_demo.json")
    assert len(records) == 300 and tally.rejected == 0
    assert message_calls(records[0]["messages"][3]) == [{"name": "search_recipes", "arguments": {
        "ingredients": ["chicken", "bell peppers", "rice"]}}]
    assert sum(1 for r in records for m in r["messages"] if m["role"] == "tool") == 211


def test_apibank_counts(shared_data):
    records, tally = convert("apibank", shared_data / "apibank/lv3-train.json")
    assert tally.read == 1245 and len(records) == 1245 and tally.rejected == 0
    assert message_calls(records[0]["messages"][-1]) == [{"name": "ToolSearcher", "arguments": {
        "keywords": "healthcare provider appointment availability checker"}}]
    assert sum(1 for r in records if message_calls(r["messages"][-1])) == 907  # "Generate API Request" samples


def test_toolbench_counts(shared_data):
    records, tally = convert("toolbench", shared_data / "toolbench/answer")
    assert tally.read == 15 and len(records) == 13 and tally.rejected == 2  # two trees found no answer
    assert all("no train_messages" in reason for reason in tally.reasons)
    by_id = {r["id"]: r for r in records}
    tree = by_id["toolbench/G1/57"]
    assert len(tree["messages"]) == 11 and len(tree["tools"]) == 11
    assert tally.notes["per-step train_messages lists folded into their tree's longest one"] == 39
    assert tree["messages"][5]["content"].startswith('{"error": "Message error..."')


def test_bfcl_simple_python(bfcl_installed):
    records, tally = convert("bfcl", "simple_python")
    assert len(records) == 400 and tally.rejected == 0
    assert records[0]["gold"] == [[{"name": "calculate_triangle_area", "arguments": {
        "base": 10, "height": 5, "unit": {"any_of": ["units", None]}}}]]
    assert all(t["function"]["parameters"]["type"] == "object" for r in records for t in r["tools"])


def test_bfcl_irrelevance_gold_is_no_call(bfcl_installed):
    records, _ = convert("bfcl", "irrelevance")
    assert len(records) == 240 and all(r["gold"] == [[]] for r in records)


def test_bfcl_parallel_gold_holds_every_call(bfcl_installed):
    records, _ = convert("bfcl", "parallel")
    assert len(records) == 200 and all(len(r["gold"][0]) >= 2 for r in records)
    assert all(re.fullmatch(r"bfcl/parallel/\d+", r["id"]) for r in records)
