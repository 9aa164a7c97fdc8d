"""BFCL multi-turn evaluation: run the model turn by turn against BFCL's tool backends and score as BFCL does.

The episode, its execution and its checks are ``environments.bfcl.BFCLEnvironment`` (the environment RL
rollouts use too).  For each user turn the model is prompted with the conversation so far, generates, its
calls are executed and their results fed back as tool messages, until it answers with no call or
``max_steps`` generations pass (BFCL: 20; hitting the limit fails the task, as BFCL's force-quit does).  A
turn whose output fails to parse ends the turn (BFCL: "proceed to next turn").

Figures: VA = share of tasks passing every turn; DE = share of generations that tried a call and failed to
parse; CE = share of executed calls the environment rejected (``ToolResult.rejected``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..calls import parse_calls
from ..errors import UserError
from ..environments import BFCLEnvironment, executable

MAX_STEPS = 20  # BFCL's MAXIMUM_STEP_LIMIT

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_episode(case: dict[str, Any], generate: Generate, renderer, syntax: str,
                max_steps: int = MAX_STEPS) -> EpisodeScore:
    env = BFCLEnvironment()
    record = env.reset(case)
    score = EpisodeScore(case["id"])
    steps: list[dict[str, Any]] = []
    turn_steps: list[list[dict[str, Any]]] = []  # the model's steps, one list per user turn
    while not env.done:
        if len(steps) == max_steps:
            turn_steps.append(steps)
            env.truncate(f"step limit: still calling after {max_steps} generations")
            break
        output = generate(renderer.render_prompt(record))
        score.generations += 1
        parsed = parse_calls(output, syntax)
        calls = executable(parsed.calls) if parsed.ok else []
        step: dict[str, Any] = {"output": output, "calls": calls, "results": []}
        steps.append(step)
        if not parsed.ok:
            score.parse_errors += 1
            step["error"] = parsed.error
        result = env.step(calls, output)
        score.calls += len(result.results)
        score.rejected_calls += sum(r.rejected for r in result.results)
        step["results"] = [r.content for r in result.results]
        if not calls:  # the turn ended
            turn_steps.append(steps)
            steps = []
    score.turns = [{"steps": s, **gold} for s, gold in zip(turn_steps, env.turns)]
    if env.failure is not None:
        score.valid, (score.failed_turn, score.reason) = False, env.failure
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
