"""BFCL multi-turn: backends driven by parsed calls, gold replay passes, perturbations fail, DE/CE counted,
and the command runs a tiny model end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tl_training.calls import format_calls
from tl_training.jsonl import Tally
from tl_training.render import get_renderer

CATEGORIES = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")


@pytest.fixture(scope="module")
def episodes(bfcl_installed):
    from tl_training.convert.bfcl import convert

    return {category: list(convert(Path(category), Tally(), True))
            for category in CATEGORIES}


def _gold_calls(case):
    """Each turn's ground-truth calls, parsed on a scratch environment (binds BFCL's positional arguments)."""
    from tl_training.eval.bfcl_backends import Environment

    meta = case["meta"]
    env = Environment(meta["initial_config"], meta["involved_classes"])
    return [[env.gold_call(text) for text in turn] for turn in meta["ground_truth"]]


def scripted(turn_outputs: list[list[str]]):
    """A "model" that writes given outputs in order, whatever the prompt (one list of outputs per turn)."""
    outputs = iter(out for turn in turn_outputs for out in turn)
    return lambda prompt: next(outputs)


def replay(calls_per_turn, syntax="python"):
    return [([format_calls(calls, syntax)] if calls else []) + ["Done."] for calls in calls_per_turn]


def test_backend_executes_parsed_calls_and_refuses_the_rest(bfcl_installed):
    from tl_training.eval.bfcl_backends import Environment

    config = {"GorillaFileSystem": {"root": {"alex": {"type": "directory", "contents": {
        "notes.txt": {"type": "file", "content": "hello"}}}}}}
    env = Environment(config, ["GorillaFileSystem", "MathAPI"])
    assert env.execute({"name": "cat", "arguments": {"file_name": "notes.txt"}}).text == '{"file_content": "hello"}'
    assert not env.execute({"name": "mean", "arguments": {"numbers": [1, 2, 3]}}).rejected
    for call in ({"name": "_load_scenario", "arguments": {"scenario": {}}},  # private
                 {"name": "__class__", "arguments": {}},
                 {"name": "root", "arguments": {}},  # an attribute, not a method
                 {"name": "kill", "arguments": {}}):
        result = env.execute(call)
        assert result.rejected and "not an available function" in result.text
    bad = env.execute({"name": "cat", "arguments": {"nope": 1}})  # the backend's TypeError, fed back
    assert bad.rejected and bad.text.startswith("Error during execution:")
    missing = env.execute({"name": "cat", "arguments": {"file_name": "absent.txt"}})  # an error the backend returns
    assert missing.rejected and "error" in missing.text
    assert env.gold_call("sort('notes.txt')") == {"name": "sort", "arguments": {"file_name": "notes.txt"}}
    with pytest.raises(ValueError, match="ground-truth call"):
        env.gold_call("__import__('os').system('true')")


@pytest.mark.parametrize("category", CATEGORIES)
def test_gold_replay_passes_every_check(episodes, category):  # all 200 episodes of each: about 1.5 s
    from tl_training.eval.multiturn import run_episode, summarize

    renderer = get_renderer("paper")
    scores = [run_episode(case, scripted(replay(_gold_calls(case))), renderer, "python")
              for case in episodes[category]]
    assert [s.reason for s in scores] == [""] * len(scores)
    figures = summarize(scores)
    assert figures["cases"] == 200 and figures["VA"] == 100.0 and figures["DE"] == figures["CE"] == 0.0 and figures["calls"] > 1000


def test_perturbed_replay_fails_the_state_check(episodes):
    from tl_training.eval.multiturn import run_episode

    renderer = get_renderer("paper")
    case = episodes["multi_turn_base"][0]  # turn 0: cd, mkdir temp, mv final_report.pdf temp
    skipped = _gold_calls(case)
    del skipped[0][1]  # no mkdir: the file is renamed to "temp" instead
    score = run_episode(case, scripted(replay(skipped)), renderer, "python")
    assert not score.valid and score.failed_turn == 0 and score.reason.startswith("state differs")
    changed = _gold_calls(case)
    changed[0][1]["arguments"]["dir_name"] = "tmp"
    score = run_episode(case, scripted(replay(changed)), renderer, "python")
    assert not score.valid and score.failed_turn == 0 and "GorillaFileSystem" in score.reason


def test_call_in_a_turn_that_cannot_be_done_fails(episodes):
    from tl_training.eval.multiturn import run_episode

    case = episodes["multi_turn_miss_param"][0]
    calls = _gold_calls(case)
    empty = next(t for t, turn in enumerate(calls) if not turn)
    calls[empty] = [{"name": "pwd", "arguments": {}}]
    score = run_episode(case, scripted(replay(calls)), get_renderer("paper"), "python")
    assert not score.valid and score.failed_turn == empty and "should ask or abstain" in score.reason


def test_de_and_ce_counted_on_hand_made_outputs(episodes):
    from tl_training.eval.multiturn import run_episode, summarize

    case = episodes["multi_turn_base"][0]
    turns = len(case["meta"]["turns"])
    outputs = [["cd(folder='document')", "[mkdir(dir_name='temp'), cd(folder='nowhere'), fly(x=1)]", "cat(file_name="]]
    outputs += [["I am not sure."]] * (turns - 1)
    score = run_episode(case, scripted(outputs), get_renderer("paper"), "python")
    # generations: 3 in turn 0 (the last a broken call, which ends the turn) + 1 per later turn
    assert (score.generations, score.parse_errors, score.calls, score.rejected_calls) == (3 + turns - 1, 1, 4, 2)
    figures = summarize([score])
    assert figures["DE"] == round(100 / (2 + turns), 2) and figures["CE"] == 50.0 and figures["VA"] == 0.0


def test_step_limit_fails_the_task(episodes):
    from tl_training.eval.multiturn import run_episode

    case = episodes["multi_turn_base"][0]
    score = run_episode(case, lambda prompt: "pwd()", get_renderer("paper"), "python", max_steps=3)
    assert not score.valid and score.reason.startswith("step limit") and score.generations == 3


def test_command_runs_a_tiny_model_end_to_end(bfcl_installed, tmp_path):
    from tl_training.cli import main
    from tl_training.tiny import save_tiny_model

    model_dir = save_tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    assert main(["eval", "--model", str(model_dir), "--benchmark", "bfcl:multi_turn_base", "--limit", "1",
                 "--prompt-format", "paper", "--max-new-tokens", "8", "--max-steps", "2", "-o", str(out)]) == 0
    figures = json.loads((out / "results.json").read_text())["multi_turn"]["bfcl:multi_turn_base"]
    assert figures["cases"] == 1 and figures["generations"] >= len(json.loads(
        (out / "scores" / "bfcl_multi_turn_base.jsonl").read_text())["turns"])
    assert "## BFCL multi-turn" in (out / "report.md").read_text()


def test_predictions_mode_is_refused(bfcl_installed, tmp_path, capsys):
    from tl_training.cli import main

    predictions = tmp_path / "preds.jsonl"
    predictions.write_text('{"id": "bfcl/multi_turn_base/0", "prediction": "pwd()"}\n')
    assert main(["eval", "--predictions", str(predictions), "--benchmark", "bfcl:multi_turn_base",
                 "-o", str(tmp_path / "run")]) == 2
    assert "multi-turn needs a live model" in capsys.readouterr().err
