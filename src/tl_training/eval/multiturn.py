"""BFCL multi-turn evaluation: run the model turn by turn against BFCL's tool backends and score as BFCL does.

An episode (a record from ``convert.bfcl`` for a ``multi_turn_*`` category) loads its initial config into
two sets of backend instances (``bfcl_backends.Environment``): the model's and the ground truth's.  For
each user turn the model is prompted with the conversation so far, generates, its calls are executed and
their results fed back as tool messages, until it answers with no call or ``max_steps`` generations pass
(BFCL: 20; hitting the limit fails the task, as BFCL's force-quit does).  A turn whose output fails to
parse ends the turn (BFCL: "proceed to next turn").  At a held-out turn (``miss_func``) the held-out
tools are added and the user says so (BFCL's prompt).  The ground truth's calls run on their instances.

Checks after each turn, as BFCL's ``multi_turn_checker`` (first failure decides the task):
- a turn with ground-truth calls needs at least one model call;
- **state**: every public attribute of each ground-truth instance equals the model instance's;
- **response**: each ground-truth result appears among the model's results of this and earlier turns
  (one occurrence consumed per item, any order);
- a turn without ground-truth calls (``miss_func`` / ``miss_param``) needs no model call (BFCL's
  irrelevance check): the model should ask or abstain.

Figures: VA = share of tasks passing every turn; DE = share of generations that tried a call and failed to
parse; CE = share of executed calls the environment rejected (``CallResult.rejected``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..calls import parse_calls
from ..cli import UserError
from ..record import openai_tool_call
from ..render import BUILTIN_TOOLS
from .bfcl_backends import Environment

MAX_STEPS = 20  # BFCL's MAXIMUM_STEP_LIMIT
# BFCL's DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC: the user message of a held-out turn
HOLDOUT_PROMPT = "I have updated some more functions you can choose from. What about now?"
# the paper format's own tools end a turn (an answer or a question to the user); they are not backend calls
TURN_ENDING = {tool["function"]["name"] for tool in BUILTIN_TOOLS}

Generate = Callable[[str], str]  # prompt text -> completion text


@dataclass
class EpisodeScore:
    id: str
    valid: bool = True
    failed_turn: int | None = None
    reason: str = ""
    generations: int = 0
    parse_errors: int = 0
    calls: int = 0
    rejected_calls: int = 0
    turns: list[dict[str, Any]] = field(default_factory=list)  # per turn: steps (output, calls, results), gold

    def fail(self, turn: int, reason: str) -> None:
        if self.valid:
            self.valid, self.failed_turn, self.reason = False, turn, reason

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state_difference(model: Environment, gold: Environment) -> str | None:
    """The first public attribute where the model's state differs from the ground truth's (BFCL compares
    the attributes of the ground-truth instance)."""
    model_state = model.state()
    for class_name, attributes in gold.state().items():
        for key, value in attributes.items():
            if model_state[class_name].get(key) != value:
                return f"{class_name}.{key}"
    return None


def _missing_results(model_results: list[str], gold_results: list[str]) -> list[str]:
    """Ground-truth results not found among the model's (each model result matches at most one)."""
    pool, missing = list(model_results), []
    for item in gold_results:
        if item in pool:
            pool.remove(item)
        else:
            missing.append(item)
    return missing


def run_episode(case: dict[str, Any], generate: Generate, renderer, syntax: str,
                max_steps: int = MAX_STEPS) -> EpisodeScore:
    meta = case["meta"]
    long_context = "long_context" in meta["category"]
    model_env = Environment(meta["initial_config"], meta["involved_classes"], long_context)
    gold_env = Environment(meta["initial_config"], meta["involved_classes"], long_context)
    record = {"id": case["id"], "tools": list(case["tools"]), "messages": []}
    score = EpisodeScore(case["id"])
    model_results: list[str] = []  # every turn so far: BFCL's response check looks back over earlier turns
    for t, user_messages in enumerate(meta["turns"]):
        if str(t) in meta["holdout_tools"]:
            record["tools"] += meta["holdout_tools"][str(t)]
            user_messages = [{"role": "user", "content": HOLDOUT_PROMPT}]
        record["messages"] += [{"role": m["role"], "content": m["content"]} for m in user_messages]
        steps, made_call, finished = [], False, False
        for _ in range(max_steps):
            output = generate(renderer.render_prompt(record))
            score.generations += 1
            parsed = parse_calls(output, syntax)
            calls = [c for c in parsed.calls if c["name"] not in TURN_ENDING]
            step: dict[str, Any] = {"output": output, "calls": calls, "results": []}
            steps.append(step)
            if not parsed.ok:
                score.parse_errors += 1
                step["error"] = parsed.error
            if not parsed.ok or not calls:
                record["messages"].append({"role": "assistant", "content": output})
                finished = True
                break
            made_call = True
            record["messages"].append({"role": "assistant", "content": "",
                                       "tool_calls": [openai_tool_call(c) for c in calls]})
            for call in calls:
                result = model_env.execute(call)
                score.calls += 1
                score.rejected_calls += result.rejected
                step["results"].append(result.text)
                model_results.append(result.text)
                record["messages"].append({"role": "tool", "name": call["name"], "content": result.text})
        gold_calls = [gold_env.gold_call(text) for text in meta["ground_truth"][t]]
        gold_results = [gold_env.execute(call).text for call in gold_calls]
        score.turns.append({"steps": steps, "gold": gold_calls, "gold_results": gold_results})
        if not finished:
            score.fail(t, f"step limit: still calling after {max_steps} generations")
            break  # BFCL's force-quit ends the task
        if not gold_calls:
            if made_call:
                score.fail(t, "called a function where the task cannot be done (should ask or abstain)")
            continue
        if not made_call:
            score.fail(t, "no call where the ground truth calls")
            continue
        difference = _state_difference(model_env, gold_env)
        if difference:
            score.fail(t, f"state differs from the ground truth's: {difference}")
        missing = _missing_results(model_results, gold_results)
        if missing:
            score.fail(t, f"ground-truth results missing from the model's: {missing[:2]}")
    return score


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def summarize(scores: list[EpisodeScore]) -> dict[str, Any]:
    generations = sum(s.generations for s in scores)
    calls = sum(s.calls for s in scores)
    return {
        "cases": len(scores), "VA": _share(sum(s.valid for s in scores), len(scores)),
        "DE": _share(sum(s.parse_errors for s in scores), generations),
        "CE": _share(sum(s.rejected_calls for s in scores), calls),
        "generations": generations, "parse_errors": sum(s.parse_errors for s in scores),
        "calls": calls, "rejected_calls": sum(s.rejected_calls for s in scores),
        "failures": dict(Counter(s.reason.split(":")[0] for s in scores if not s.valid).most_common()),
    }


def transformers_generator(model, tokenizer, renderer, max_new_tokens: int) -> Generate:
    """One greedy completion per prompt, through the same generation code as single-turn evaluation.

    Each prompt re-sends the conversation so far, so the previous generation's cache is reused up to where
    the two prompts agree (``batching.ConversationStore``): a step runs only its new messages."""
    from .batching import ConversationStore
    from .generate import generate_transformers

    conversation = ConversationStore()

    def generate(prompt: str) -> str:
        texts: list[str] = []
        generate_transformers(model, tokenizer, [prompt], stop_strings=renderer.stop_strings,
                              max_new_tokens=max_new_tokens, batch_size=1, conversation=conversation,
                              on_batch=lambda _, batch_texts: texts.extend(batch_texts))
        return texts[0]

    return generate


def write_scores(out_dir: Path, name: str, scores: list[EpisodeScore]) -> None:
    from .report import slug

    path = out_dir / "scores" / f"{slug(name)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(s.as_dict(), default=str) + "\n" for s in scores), encoding="utf-8")


def run_benchmark(name: str, cases: list[dict[str, Any]], out_dir: Path, state: dict[str, Any], syntax: str,
                  max_new_tokens: int, max_steps: int, tally) -> dict[str, Any]:
    """Run every episode with the loaded model; writes ``scores/<benchmark>.jsonl``, returns the figures."""
    if max_steps < 1:
        raise UserError("--max-steps must be at least 1")
    generate = transformers_generator(state["model"], state["tokenizer"], state["renderer"], max_new_tokens)
    started, scores = time.perf_counter(), []
    for case in cases:
        scores.append(run_episode(case, generate, state["renderer"], syntax, max_steps))
        print(f"  {name}: {len(scores)}/{len(cases)} ({time.perf_counter() - started:.0f} s)", flush=True)
    write_scores(out_dir, name, scores)
    figures = summarize(scores) | {"seconds": round(time.perf_counter() - started, 2), "max_steps": max_steps,
                                   "rejected_by_converter": {"count": tally.rejected, "reasons": dict(tally.reasons)}}
    print(f"{name}: {figures['cases']} tasks  VA {figures['VA']}  DE {figures['DE']}  CE {figures['CE']}  "
          f"({figures['generations']} generations, {figures['calls']} calls)"
          + (f"  ({tally.rejected} items rejected by the converter, not scored)" if tally.rejected else ""))
    return figures


def report_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """The report.md section: one row per multi-turn benchmark, then why tasks failed."""
    lines = ["", "## BFCL multi-turn (%)", "",
             "VA: tasks passing every turn's state and response checks (BFCL's multi-turn accuracy); "
             "DE: generations that tried a call and failed to parse; CE: executed calls the environment rejected.", "",
             "| benchmark | cases | VA | DE | CE | generations | calls |", "|---|---|---|---|---|---|---|"]
    for name, f in results.items():
        lines.append(f"| {name} | {f['cases']} | {f['VA']} | {f['DE']} | {f['CE']} | {f['generations']} | {f['calls']} |")
    for name, f in results.items():
        if f["failures"]:
            lines += ["", f"{name}, failed tasks by first failure: "
                      + ", ".join(f"{reason} {count}" for reason, count in f["failures"].items())]
    return lines
