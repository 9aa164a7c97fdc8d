"""The environment protocol: the tool world's episodes (BFCL's run through tests/test_eval_multiturn.py)."""

from __future__ import annotations

import pytest

from tl_training.environments import ToolWorldEnvironment, environment_for
from tl_training.synth import generate


def _case(kind: str, split: str = "eval"):
    return next(r for r in generate(3, 40, split=split) if r["meta"]["scenario"] == kind)


def _literal(gold: dict) -> dict:
    """The first acceptable form of a gold call, as a model would write it."""
    return {"name": gold["name"], "arguments": {k: v["any_of"][0] if isinstance(v, dict) and "any_of" in v else v
                                                for k, v in gold["arguments"].items() if not (isinstance(v, dict) and v.get("any_of") == [None])}}


@pytest.mark.parametrize("split", ["train", "eval"])
def test_a_chain_replayed_call_by_call_succeeds(split):
    case = _case("chain", split)
    env = environment_for(case)
    record = env.reset(case)
    assert isinstance(env, ToolWorldEnvironment) and len(env.gold) == 2
    assert [m["role"] for m in record["messages"]][-1] == "user"  # the episode starts from the query
    for gold in env.gold:
        step = env.step([_literal(gold)])
        assert not step.done and not step.results[0].rejected
    assert env.outcome().reason == "episode not finished"
    assert env.step([], "done").done
    assert env.outcome().success
    assert [m["role"] for m in record["messages"]][-5:] == ["assistant", "tool", "assistant", "tool", "assistant"]


def test_stopping_after_the_first_call_of_a_chain_fails_the_task():
    case = _case("chain")
    env = environment_for(case)
    env.reset(case)
    env.step([_literal(env.gold[0])])
    env.step([], "answer")
    outcome = env.outcome()
    assert not outcome.success and "answer was not among" in outcome.reason


def test_calls_outside_the_record_and_bad_arguments_are_rejected_with_python_messages():
    case = _case("single")
    env = environment_for(case)
    env.reset(case)
    gold = _literal(env.gold[0])
    unknown, missing = env.step([{"name": "no_such_tool", "arguments": {}}, {"name": gold["name"], "arguments": {}}]).results
    assert unknown.rejected and "NameError" in unknown.content
    assert missing.rejected and "missing" in missing.content
    env.truncate("turn cap")
    assert env.outcome() == type(env.outcome())(False, "turn cap")
    with pytest.raises(RuntimeError):
        env.step([], "")


def test_cases_no_environment_can_run_are_refused_by_name():
    case = _case("single")
    with pytest.raises(ValueError, match="another version of the tool world"):
        ToolWorldEnvironment().reset({**case, "messages": [{"role": "user", "content": "something else"}]})
    with pytest.raises(ValueError, match="'odd/1': no environment runs it"):
        environment_for({"id": "odd/1", "tools": [], "messages": [], "meta": {"source": "elsewhere"}})
