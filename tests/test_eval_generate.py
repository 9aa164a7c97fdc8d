"""Batched greedy generation, the exact-match fast path (proved against real generation), and the eval /
compare commands end to end on a tiny model."""

from __future__ import annotations

import json

import pytest
import torch

from tl_training.cli import main
from tl_training.eval.batching import plan
from tl_training.eval.fastpath import fast_path
from tl_training.gold import literal_answer
from tl_training.eval.generate import PredictionLog, generate_transformers
from tl_training.generation import completion_text, stop_length, stop_token_ids
from tl_training.render import get_renderer
from tl_training.tiny import DEFAULT_CORPUS, build_model, build_tokenizer

CITIES = ["Paris", "Paris", "Paris", "Rome", "Oslo"]


def tool(name, *params):
    return {"type": "function", "function": {"name": name, "description": "", "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in params}, "required": list(params)}}}


def make_case(i, city):
    return {"id": f"hand/{i}", "tools": [tool("get_weather", "city"), tool("get_time", "city")],
            "messages": [{"role": "user", "content": f"What is the weather in {city}?" + " Please." * (i % 3)}],
            "gold": [[{"name": "get_weather", "arguments": {"city": {"any_of": [city, None]} if i == 0 else city}}]]}


@pytest.fixture(scope="module")
def trained():
    """A tiny model taught the gold completion of the first 3 cases ("Paris"); the 2 others want another city.

    The tokenizer is trained on the rendered texts too, so sequences are short and the fixture fast.
    """
    cases = [make_case(i, city) for i, city in enumerate(CITIES)]
    plain = get_renderer("chat", build_tokenizer())
    corpus = DEFAULT_CORPUS + [plain.render_prompt(c) + plain.render_completion(literal_answer(c["gold"])) for c in cases]
    tokenizer = build_tokenizer(corpus, vocab_size=3000)
    tokenizer.padding_side = "left"
    model = build_model(tokenizer, seed=0)
    renderer = get_renderer("chat", tokenizer)
    taught = cases[:3]
    prompts = [tokenizer(renderer.render_prompt(c), add_special_tokens=False)["input_ids"] for c in taught]
    completions = [tokenizer(renderer.render_completion(literal_answer(c["gold"])), add_special_tokens=False)["input_ids"]
                   for c in taught]
    width = max(len(p) + len(c) for p, c in zip(prompts, completions))
    pad = lambda row, value: row + [value] * (width - len(row))  # noqa: E731
    ids = torch.tensor([pad(p + c, tokenizer.pad_token_id) for p, c in zip(prompts, completions)])
    labels = torch.tensor([pad([-100] * len(p) + c, -100) for p, c in zip(prompts, completions)])
    attention = torch.tensor([pad([1] * (len(p) + len(c)), 0) for p, c in zip(prompts, completions)])
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(40):
        model(input_ids=ids, attention_mask=attention, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return model, tokenizer, renderer, cases


def test_literal_answer_takes_first_literal_and_skips_any_value():
    gold = [[{"name": "f", "arguments": {"a": {"any_of": [None, 2]}, "b": {"any_of": [None]}, "c": [{"any_of": ["x", "y"]}]}}]]
    assert literal_answer(gold) == [{"name": "f", "arguments": {"a": 2, "c": ["x"]}}]
    assert literal_answer([[{"name": "f", "arguments": {"a": {"any_value": True}}}]]) is None


def test_fast_path_is_exactly_greedy_generation(trained):
    model, tokenizer, renderer, cases = trained
    stop_ids = stop_token_ids(tokenizer, model)
    generated = {}
    generate_transformers(model, tokenizer, [renderer.render_prompt(c) for c in cases], stop_strings=renderer.stop_strings,
                          max_new_tokens=40, batch_size=3, on_batch=lambda idx, texts: generated.update(zip(idx, texts)))
    proven = fast_path(model, tokenizer, renderer, cases, max_new_tokens=40, batch_size=4)
    assert 0 < len(proven) < len(cases), (proven, generated)  # both outcomes occur
    for i, case in enumerate(cases):
        gold_ids = tokenizer(renderer.render_completion(literal_answer(case["gold"])), add_special_tokens=False)["input_ids"]
        k = stop_length(tokenizer, gold_ids, renderer.stop_strings, stop_ids)
        gold_text = completion_text(tokenizer, gold_ids[:k], renderer.stop_strings, stop_ids)
        # Greedy generation reproduces the gold (up to where it stops) iff the fast path proves it.
        assert (generated[i] == gold_text) == (i in proven), (i, generated[i], gold_text)
        if i in proven:
            assert proven[i] == generated[i]
            assert "<|im_end|>" not in proven[i] and proven[i].startswith("<tool_call>")


def test_the_cases_share_a_prefilled_head(trained):
    """So the fast-path and batching tests here run the cached-prefix path (``batching.py``)."""
    model, tokenizer, renderer, cases = trained
    encoded = [tokenizer(renderer.render_prompt(c), add_special_tokens=False)["input_ids"] for c in cases]
    assert all(length > 100 for batch in plan(model, encoded, 4) for _, length in batch)


def test_batching_and_order_do_not_change_greedy_output(trained):
    model, tokenizer, renderer, cases = trained
    prompts = [renderer.render_prompt(c) for c in cases]
    one, many = {}, {}
    generate_transformers(model, tokenizer, prompts, stop_strings=renderer.stop_strings, max_new_tokens=30,
                          batch_size=1, on_batch=lambda idx, t: one.update(zip(idx, t)), order="file")
    generate_transformers(model, tokenizer, prompts, stop_strings=renderer.stop_strings, max_new_tokens=30,
                          batch_size=8, on_batch=lambda idx, t: many.update(zip(idx, t)))
    assert one == many


def test_prediction_log_resumes_and_survives_a_torn_line(tmp_path):
    log = PredictionLog(tmp_path / "p.jsonl")
    log.write([{"id": "a", "prediction": "x", "source": "generate"}])
    with open(tmp_path / "p.jsonl", "ab") as handle:
        handle.write(b'{"id": "b", "predic')
    again = PredictionLog(tmp_path / "p.jsonl")
    assert set(again.done) == {"a"}


# --------------------------------------------------------------------------------------- the commands


def write_cases_file(path, cases):
    """BFCL-shaped question and possible_answer files, so the bfcl converter reads hand-made cases."""
    answers = path.parent / "possible_answer"
    answers.mkdir(exist_ok=True)
    with open(path, "w") as q, open(answers / path.name, "w") as a:
        for i, case in enumerate(cases):
            fn = [{"name": t["function"]["name"], "description": "", "parameters": {
                "type": "dict", "properties": {"city": {"type": "string"}}, "required": ["city"]}} for t in case["tools"]]
            q.write(json.dumps({"id": f"simple_python_{i}", "question": [case["messages"]], "function": fn}) + "\n")
            city = case["messages"][0]["content"].split(" in ")[1].split("?")[0]
            a.write(json.dumps({"id": f"simple_python_{i}", "ground_truth": [{"get_weather": {"city": [city]}}]}) + "\n")


def test_eval_command_generates_resumes_scores_and_compares(trained, tmp_path, bfcl_installed):
    model, tokenizer, _, cases = trained
    model_dir = tmp_path / "model"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    data = tmp_path / "BFCL_v4_simple_python.json"
    write_cases_file(data, cases)
    run = tmp_path / "run"
    args = ["eval", "--model", str(model_dir), "--benchmark", f"bfcl:{data}", "-o", str(run), "--max-new-tokens", "40",
            "--batch-size", "4"]
    assert main(args) == 0
    first = json.loads((run / "results.json").read_text())["benchmarks"][f"bfcl:{data}"]
    assert first["generation"]["fast_path"] > 0 and first["generation"]["resumed"] == 0
    assert first["generation"]["fast_path"] + first["generation"]["generated"] == len(cases)
    log = next((run / "predictions").glob("*.jsonl"))
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-2]) + "\n")  # as if interrupted two cases before the end
    assert main(args) == 0
    again = json.loads((run / "results.json").read_text())["benchmarks"][f"bfcl:{data}"]
    assert again["generation"]["resumed"] == len(cases) - 2
    assert (again["TS"], again["PI"], again["CF"]) == (first["TS"], first["PI"], first["CF"])
    assert first["CF"] >= 3 / 5 * 100  # the three taught cases at least
    report = (run / "report.md").read_text()
    assert "| benchmark | cases | TS | PI | CF |" in report
    assert (run / "metrics.png").stat().st_size > 1000 and (run / "error_categories.png").is_file()

    # The same predictions, scored from a file as if produced elsewhere, give the same figures.
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": json.loads(l)["id"], "prediction": json.loads(l)["prediction"]}) + "\n"
                             for l in log.read_text().splitlines()))
    scored = tmp_path / "scored"
    assert main(["eval", "--predictions", str(preds), "--benchmark", f"bfcl:{data}", "-o", str(scored),
                 "--syntax", "hermes"]) == 0
    rescored = json.loads((scored / "results.json").read_text())["benchmarks"][f"bfcl:{data}"]
    assert (rescored["TS"], rescored["PI"], rescored["CF"]) == (first["TS"], first["PI"], first["CF"])
    table = tmp_path / "compare.md"
    assert main(["compare", str(run), str(scored), "-o", str(table)]) == 0
    assert table.read_text().count(f'{first["TS"]} / {first["PI"]} / {first["CF"]}') == 2


def test_eval_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["eval", "--predictions", str(tmp_path / "none.jsonl"), "--benchmark", "nope:x", "-o", str(tmp_path)]) == 2
    assert "unknown name 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prediction": 3}\n')
    assert main(["eval", "--predictions", str(bad), "--benchmark", "rotbench:clean", "-o", str(tmp_path),
                 "--data-dir", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "missing")]) == 2
    assert "results.json not found" in capsys.readouterr().err


def test_vllm_backend_says_what_is_missing(monkeypatch):
    import importlib.util

    from tl_training.cli import UserError
    from tl_training.eval.generate import generate_vllm

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(UserError, match="needs the vllm package"):
        generate_vllm("m", None, ["p"], stop_strings=[], max_new_tokens=4, trust_remote_code=False)


def test_adapter_is_applied(trained, tmp_path, bfcl_installed):
    from peft import LoraConfig, get_peft_model

    model, tokenizer, _, cases = trained
    model_dir, adapter_dir = tmp_path / "model", tmp_path / "adapter"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    data = tmp_path / "BFCL_v4_simple_python.json"
    write_cases_file(data, cases)
    torch.manual_seed(1)
    lora = get_peft_model(copy_of(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    with torch.no_grad():  # a large random update, so that greedy outputs surely change
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.mul_(50)
    lora.save_pretrained(adapter_dir)
    outputs = {}
    for label, extra in (("base", []), ("adapted", ["--adapter", str(adapter_dir)])):
        run = tmp_path / label
        assert main(["eval", "--model", str(model_dir), "--benchmark", f"bfcl:{data}", "-o", str(run),
                     "--max-new-tokens", "12", "--no-fast-path", *extra]) == 0
        outputs[label] = [json.loads(l)["prediction"] for l in next((run / "predictions").glob("*.jsonl")).read_text().splitlines()]
    assert outputs["base"] != outputs["adapted"]


def copy_of(model):
    import copy

    return copy.deepcopy(model)


def test_fast_path_stops_checking_when_it_proves_too_little(trained):
    model, tokenizer, renderer, cases = trained
    everything = fast_path(model, tokenizer, renderer, cases, max_new_tokens=40, batch_size=1)
    probed = fast_path(model, tokenizer, renderer, cases, max_new_tokens=40, batch_size=1, min_share=1.01)
    assert len(everything) == 3 and len(probed) <= 2 and set(probed) <= set(everything)
    # The probe is a quarter of a small benchmark (at most PROBE_CASES): 3 of 12 provable cases are checked.
    twelve = [dict(case, id=f"{case['id']}/{copy}") for copy in range(4) for case in cases[:3]]
    assert len(fast_path(model, tokenizer, renderer, twelve, max_new_tokens=40, batch_size=1)) == 12
    assert len(fast_path(model, tokenizer, renderer, twelve, max_new_tokens=40, batch_size=1, min_share=1.01)) == 3
