"""The general-task check: GSM8K answers, IFEval's rules on hand-made responses, tool-free prompts, the
paired comparison, and the command on a tiny model and on predictions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tl_training.eval import general
from tl_training.eval.benchmarks import load_cases, resolve


@pytest.mark.parametrize("output, value, marked", [
    ("16 - 3 - 4 = 9 eggs; 9 * 2 = 18\n#### 18", Decimal(18), True),
    ("#### 1,200.", Decimal(1200), True),
    ("She makes $18 a day.", Decimal(18), False),             # no ####: the last number
    ("It costs 3.50 and then 2 more", Decimal(2), False),
    ("#### -4 but I said 7", Decimal(-4), True),              # the number after ####, not the last one
    ("No idea.", None, False),
])
def test_gsm8k_reads_the_final_number(output, value, marked):
    assert general.gsm8k_answer(output) == (value, marked)


def test_gsm8k_compares_numbers_by_value():
    case = {"id": "gsm8k/test/0", "meta": {"answer": "1,000"}}
    assert general.score_gsm8k(case, "#### 1000.00")["correct"]
    assert general.score_gsm8k(case, "so 1000")["correct"] and not general.score_gsm8k(case, "so 1000")["strict"]
    assert not general.score_gsm8k(case, "#### 100")["correct"]


@pytest.mark.parametrize("instruction, kwargs, good, bad", [
    ("keywords:existence", {"keywords": ["Paris", "tea"]}, "paris and TEA", "Paris only"),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "at least"}, "cat Cat", "one cat"),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "less than"}, "one cat", "cat cat"),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "badge is fine", "this is Bad."),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "at least"}, "Zz", "z"),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "one\n***\ntwo", "one\n***\n***\ntwo"),
    ("length_constraints:number_words", {"num_words": 3, "relation": "less than"}, "two words", "now three words"),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First.\n\n\"Then, done.", "First.\n\nNow done."),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] at [address]", "[name] only"),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Hi.\np.s. bye", "Hi. PS bye"),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Hi.\nP.P.S bye", "Hi.\nP.S. bye"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n- b", "* a\n* b\n* c"),
    ("detectable_format:constrained_response", {}, "Well. My answer is no.", "No."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", "*one* and ** **"),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\na\nSection 2\nb", "Section 1\na"),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', "{a: 1}"),
    ("detectable_format:title", {}, "<<Joy>>\ntext", "<< >> text"),
    ("combination:two_responses", {}, "one\n******\ntwo", "one\n******\none"),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say hi. Hi!", "Hi! Say hi."),
    ("startend:end_checker", {"end_phrase": "Any questions?"}, "Done. any questions?\"", "Any questions? Bye."),
    ("startend:quotation", {}, '"quoted"', 'not "quoted"'),
    ("punctuation:no_comma", {}, "no commas here", "one, two"),
])
def test_ifeval_rules(instruction, kwargs, good, bad):
    assert general.follows(instruction, kwargs, good) is True
    assert general.follows(instruction, kwargs, bad) is False
    assert general.follows(instruction, kwargs, "   ") is False  # strict: an empty response follows nothing


def test_every_ifeval_instruction_is_covered_or_named_as_left_out(shared_data):
    cases = load_cases(resolve("ifeval:input_data", shared_data))
    types = {i for c in cases for i in c["meta"]["instructions"]}
    assert types == set(general.COVERED) | set(general.NOT_COVERED) and len(general.COVERED) == 20
    assert general.follows("language:response_language", {"language": "fr"}, "Bonjour") is None
    rows = [general.score_ifeval(c, "x") for c in cases]
    assert sum(r["correct"] is not None for r in rows) == 387 and len(rows) == 541


def test_gsm8k_cases_carry_the_gold_number(shared_data):
    cases = load_cases(resolve("gsm8k:test", shared_data))
    assert len(cases) == 1319 and cases[0]["meta"]["answer"] == "18" and cases[0]["tools"] == []
    assert general.GSM8K_INSTRUCTION in cases[0]["messages"][0]["content"]


def test_tool_free_prompts_show_no_tool_blocks():
    from tl_training.render import get_renderer
    from tl_training.tiny import build_tokenizer

    record = {"id": "x", "tools": [], "messages": [{"role": "user", "content": "What is 2 + 2?"}]}
    paper = get_renderer("paper")
    assert "Function:" in paper.render_prompt(record)  # the paper format adds ask_to_user and finish to any list
    assert general.prompt_renderer(paper, None).render_prompt(record) == "User: What is 2 + 2?\nAssistant:"
    chat = get_renderer("chat", build_tokenizer())
    text = general.prompt_renderer(chat, None).render_prompt(record)
    assert "<tools>" not in text and "What is 2 + 2?" in text


def test_paired_comparison_counts_items_and_the_sign_test():
    reference = {"items": {"a": True, "b": True, "c": False, "d": False, "e": None}}
    other = {"items": {"a": True, "b": False, "c": True, "d": True, "e": True}}
    assert general.paired(reference, other) == {"items": 4, "both": 1, "lost": 1, "gained": 2, "neither": 0,
                                                "change": 25.0, "p": 1.0}
    assert general.sign_test(0, 6) == round(2 / 64, 4) and general.sign_test(0, 0) == 1.0


def test_the_command_runs_a_tiny_model_and_compare_pairs_the_runs(shared_data, tmp_path, capsys):
    from tl_training.cli import main
    from tl_training.tiny import save_tiny_model

    model_dir = save_tiny_model(tmp_path / "tiny")
    out = tmp_path / "tiny_run"
    assert main(["eval", "--model", str(model_dir), "--benchmark", "gsm8k:test", "--benchmark", "ifeval:input_data",
                 "--data-dir", str(shared_data), "--limit", "2", "--max-new-tokens", "4", "--prompt-format", "paper",
                 "-o", str(out)]) == 0
    figures = json.loads((out / "results.json").read_text())["general"]
    assert figures["gsm8k:test"]["cases"] == 2 and set(figures["gsm8k:test"]["items"]) == {"gsm8k/test/0", "gsm8k/test/1"}
    assert (out / "predictions" / "gsm8k_test.jsonl").is_file() and (out / "general.png").is_file()
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"id": "gsm8k/test/0", "prediction": "#### 18"}) + "\n"
                           + json.dumps({"id": "gsm8k/test/1", "prediction": "#### 3"}) + "\n")
    answered = tmp_path / "answered"
    assert main(["eval", "--predictions", str(predictions), "--benchmark", "gsm8k:test", "--data-dir", str(shared_data),
                 "--limit", "2", "-o", str(answered)]) == 0
    assert json.loads((answered / "results.json").read_text())["general"]["gsm8k:test"]["accuracy"] == 100.0
    report = (answered / "report.md").read_text()
    assert "## General tasks" in report and "TS / PI / CF" not in report  # no empty tool-call table
    capsys.readouterr()
    assert main(["compare", str(out), str(answered)]) == 0
    table = capsys.readouterr().out
    assert "General tasks, paired item by item" in table and "| 2 | 0 / 2 / 0 / 0 | +100.00 |" in table


def test_the_pipeline_report_pairs_base_and_trained_models(tmp_path):
    from tl_training.pipeline.report import write_report

    runs = {}
    for name, items in (("base", {"i1": True, "i2": False}), ("sft", {"i1": True, "i2": True})):
        run = tmp_path / "eval" / name
        run.mkdir(parents=True)
        accuracy = 100.0 * sum(items.values()) / 2
        run.joinpath("results.json").write_text(json.dumps({"benchmarks": {}, "general": {
            "gsm8k:test": {"cases": 2, "accuracy": accuracy, "strict_accuracy": accuracy, "items": items}}}))
        runs[name] = str(run)
    (tmp_path / "eval" / "DONE.json").write_text(json.dumps({"finished": "now", "seconds": 1, "metrics": {"notes": []},
                                                             "outputs": {"runs": runs}}))
    text = write_report(tmp_path).read_text()
    assert "General tasks, paired item by item" in text and "| gsm8k:test | sft | base | 100.0 | 2 | 1 / 1 / 0 / 0 |" in text
