"""ACEBench: the reader, ACEBench's published rules on hand-made answers, and gold answers replayed on every
category present in ../shared/data (100 by ACEBench's rules and by our strict CF)."""

from __future__ import annotations

import json

import pytest

from tl_training.calls import format_calls
from tl_training.cli import UserError
from tl_training.eval import acebench
from tl_training.eval.benchmarks import load_cases, resolve
from tl_training.eval.metrics import score_case, summarize

TOOLS = [{"type": "function", "function": {"name": "book_hotel", "description": "", "parameters": {
    "type": "object", "required": ["city", "nights"], "properties": {
        "city": {"type": "string"}, "nights": {"type": "integer"}, "breakfast": {"type": "boolean"},
        "budget": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}},
        "guest": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}},
        "rooms": {"type": "array", "items": {"type": "object"}}}}}},
    {"type": "function", "function": {"name": "cancel_hotel", "description": "", "parameters": {
        "type": "object", "required": [], "properties": {"booking": {"type": "string"}}}}}]
GOLD = {"book_hotel": {"city": "New York", "nights": 3, "breakfast": True, "budget": 120.5, "tags": ["quiet", "view"],
                       "guest": {"name": "Ann Lee", "age": 40}, "rooms": [{"kind": "double", "count": 1}]}}


def case(kind="normal", ground_truth=GOLD, category="normal_single_turn_single_function", source_id="x_0"):
    gold = [[{"name": n, "arguments": a} for n, a in ground_truth.items()]] if kind == "normal" else [[]]
    return {"id": f"acebench/{category}/{source_id}", "tools": TOOLS, "messages": [{"role": "user", "content": "q"}],
            "gold": gold, "meta": {"category": category, "source_id": source_id,
                                   "acebench": {"kind": kind, "ground_truth": ground_truth}}}


def verdict(text, **kw):
    return acebench.official_verdict(case(**kw), text, "python")


def call(**changes):
    args = {**GOLD["book_hotel"], **changes}
    return format_calls([{"name": "book_hotel", "arguments": {k: v for k, v in args.items() if v is not None}}], "python")


@pytest.mark.parametrize("text, error", [
    (call(), None),
    (call(city="new-york"), None),                       # standardised: case, '-', spaces
    (call(city="New York City, USA"), None),             # the gold is a substring of the value
    (call(city="Boston"), "value_error:string"),
    (call(nights=5), None),                              # a top-level number: ACEBench checks its type only
    (call(nights="3"), "type_error"),
    (call(breakfast=False), None),                       # a top-level boolean: type only
    (call(breakfast="true"), None),                      # "true" reads as a boolean
    (call(budget=99), None),                             # "number" is int there; the gold a float: no value check
    (call(budget=99.0), None),                           # a float, the gold's type: no value check either
    (call(budget="120.5"), "type_error"),
    (call(tags=["view", "quiet"]), "value_error:list"),  # lists in order
    (call(tags=["QUIET", "view"]), None),
    (call(guest={"name": "ann lee", "age": 41}), "value_error:dict"),  # inside an object numbers compare (by str)
    (call(guest={"name": "Ann Lee"}), "value_error:dict"),             # an object needs all its keys
    (call(rooms=[{"kind": "double", "count": 2}]), "value_error:list_dict"),
    (call(nights=None), "lack_args"),
    (format_calls([{"name": "book_hotel", "arguments": {**GOLD["book_hotel"], "smoking": True}}], "python"),
     "addition_args"),                                   # a parameter the schema lacks
    ("[cancel_hotel(booking='1')]", "function_mismatch"),
    (f"[{call()}, cancel_hotel(booking='1')]", "wrong functions number"),
    ("I booked it.", "wrong_output_format"),
    ("book_hotel(city=", "wrong_output_format"),
])
def test_hand_made_answers_get_acebenchs_verdicts(text, error):
    result = verdict(text)
    assert (result["valid"], result["error_type"]) == (error is None, error)


def test_an_optional_parameter_the_gold_omits_is_an_addition():
    ground_truth = {"book_hotel": {"city": "Paris", "nights": 1}}
    assert verdict("book_hotel(city='Paris', nights=1)", ground_truth=ground_truth)["valid"]
    assert verdict("book_hotel(city='Paris', nights=1, breakfast=True)",
                   ground_truth=ground_truth)["error_type"] == "addition_args"


def test_repeated_functions_are_told_apart_by_a_suffix_and_match_in_any_order():
    ground_truth = {"cancel_hotel_1": {"booking": "A1"}, "cancel_hotel_2": {"booking": "B2"}}
    c = case(ground_truth=ground_truth)
    c["gold"] = [[{"name": "cancel_hotel", "arguments": a} for a in ground_truth.values()]]
    both = "[cancel_hotel(booking='B2'), cancel_hotel(booking='A1')]"
    assert acebench.official_verdict(c, both, "python")["valid"]
    assert acebench.official_verdict(c, "[cancel_hotel(booking='B2'), cancel_hotel(booking='C3')]",
                                     "python")["error_type"] == "value_error:string"


@pytest.mark.parametrize("kind, ground_truth, text, error", [
    ("incomplete", {"book_hotel": ["city", "nights"]},
     "Missing necessary parameters (city, nights) for the api (book_hotel)", None),
    ("incomplete", {"book_hotel": ["city", "nights"]}, "Missing necessary parameters (city) for the api (book_hotel)",
     "error_correction"),
    ("incomplete", {"book_hotel": ["city"]}, "Which city?", "error_detection"),
    ("incomplete", {"book_hotel": ["city"]}, "Missing necessary parameters (city) for the api (hotel)", "error_correction"),
    ("error_param", {"nights": ["three"]},
     "There is incorrect value (three) for the parameters (nights) in the conversation history.", None),
    ("error_param", {"nights": ["three"]}, "There is incorrect value (3) for the parameters (nights)", "error_correction"),
    ("error_param", {"nights": ["three"]}, "book_hotel(city='Paris', nights=3)", "error_detection"),
    ("irrelevant", "Due to the limitations of the function, I cannot solve this problem.",
     "Due to the limitations of the function, I cannot solve this problem.", None),
    ("irrelevant", "x", "I cannot do this.", "error_detection"),
])
def test_special_categories_need_acebenchs_phrases(kind, ground_truth, text, error):
    result = acebench.official_verdict(case(kind, ground_truth, category=f"special_{kind}"), text, "python")
    assert (result["valid"], result["error_type"]) == (error is None, error)


def test_multi_turn_accuracy_counts_whole_conversations():
    category = "normal_multi_turn_user_adjust"
    good, bad = call(), call(city="Boston")
    scores = [score_case(case(category=category, source_id=f"{category}_{conversation}_{step}"), text, f"acebench:{category}",
                         "python") for conversation, step, text in ((0, 0, good), (0, 1, bad), (1, 0, good), (1, 1, good))]
    figures = summarize(scores)["acebench"]
    assert (figures["conversations"], figures["accuracy"], figures["process_accuracy"]) == (2, 50.0, 75.0)
    assert figures["correct"] == 3 and figures["errors"] == {"value_error:string": 1}


def test_agent_and_unknown_categories_are_refused(tmp_path):
    with pytest.raises(UserError, match="user simulator"):
        resolve("acebench:agent_multi_turn", tmp_path)
    with pytest.raises(UserError, match="unknown special category"):
        resolve("acebench:special_other", tmp_path)
    with pytest.raises(UserError, match="not found"):
        resolve("acebench:normal_atom_bool", tmp_path)


def test_a_category_laid_out_like_acebench_is_read_and_bad_lines_are_counted(tmp_path):
    folder = tmp_path / "acebench" / "data_en"
    (folder / "possible_answer").mkdir(parents=True)
    item = {"id": "normal_atom_bool_0", "question": "user: book 3 nights in New York\n", "time": "Today is Monday.",
            "function": [t["function"] for t in TOOLS]}
    (folder / "data_normal_atom_bool.json").write_text(json.dumps(item) + "\n" + json.dumps({**item, "id": "lost"}) + "\n")
    (folder / "possible_answer" / "data_normal_atom_bool.json").write_text(
        json.dumps({"id": "normal_atom_bool_0", "ground_truth": GOLD}) + "\n")
    from tl_training.jsonl import Tally

    tally = Tally()
    cases = load_cases(resolve("acebench:normal_atom_bool", tmp_path), tally)
    assert [c["id"] for c in cases] == ["acebench/normal_atom_bool/normal_atom_bool_0"]
    assert "Today is Monday." in cases[0]["messages"][0]["content"] and tally.rejected == 1
    assert "data_normal_atom_bool.json:2" in str(tally.examples)
    assert summarize([score_case(cases[0], call(), "acebench:normal_atom_bool", "python")])["acebench"]["accuracy"] == 100


def _special_answer(kind, ground_truth):
    if kind == "incomplete":
        return " ".join(f"{acebench.MISSING_PHRASE} ({','.join(v)}) for the api ({n})" for n, v in ground_truth.items())
    if kind == "error_param":
        return " ".join(f"{acebench.WRONG_VALUE_PHRASE} ({', '.join(v)}) for the parameters ({n}) in the conversation history."
                        for n, v in ground_truth.items())
    return ground_truth


def test_gold_answers_score_100_on_every_category_present(shared_data):
    categories = sorted(p.stem.removeprefix("data_") for p in (shared_data / "acebench" / "data_en").glob("data_*.json")
                        if not p.stem.startswith("data_agent_"))
    assert {"normal_single_turn_single_function", "normal_similar_api", "normal_multi_turn_user_adjust"} <= set(categories)
    for category in categories:
        name = f"acebench:{category}"
        cases = load_cases(resolve(name, shared_data))
        kind = acebench.kind_of(category)
        for syntax in ("python", "json", "hermes") if kind == "normal" else ("auto",):
            texts = [format_calls(c["gold"][0], syntax) if kind == "normal" else
                     _special_answer(kind, c["meta"]["acebench"]["ground_truth"]) for c in cases]
            figures = summarize([score_case(c, t, name, syntax) for c, t in zip(cases, texts)])
            assert figures["acebench"]["accuracy"] == 100.0, (category, syntax, figures["acebench"]["errors"])
            assert figures["CF_corrected"] == 100.0, (category, syntax)


def test_the_command_reports_acebench_from_predictions(shared_data, tmp_path, capsys):
    from tl_training.cli import main

    cases = load_cases(resolve("acebench:normal_similar_api", shared_data))[:3]
    lines = [{"id": c["id"], "prediction": format_calls(c["gold"][0], "json")} for c in cases[:2]]
    lines.append({"id": cases[2]["id"], "prediction": "I do not know."})
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "run"
    assert main(["eval", "--predictions", str(predictions), "--benchmark", "acebench:normal_similar_api", "--limit", "3",
                 "--data-dir", str(shared_data), "-o", str(out)]) == 0
    figures = json.loads((out / "results.json").read_text())["benchmarks"]["acebench:normal_similar_api"]
    assert figures["acebench"]["accuracy"] == 66.67 and figures["acebench"]["errors"] == {"wrong_output_format": 1}
    assert "ACEBench's own accuracy" in (out / "report.md").read_text()
    capsys.readouterr()
    assert main(["compare", str(out), str(out)]) == 0
    assert "ACEBench's own accuracy" in capsys.readouterr().out
