"""ToolEyes offline: its judge-free rules on its 382 queries, with recorded GPT-4 trajectories as the tools.

ToolEyes (Ye et al. 2024) scores five dimensions; three of its rules need no judge, and only those are
applied here (the others ask GPT-4 and are left out):

- **format alignment**: an assistant turn is aligned when it parses as exactly one call in the run's call
  syntax (``calls.parse_calls``: ReAct's ``Action:`` / ``Action Input: {dict}``, and then, as ToolEyes'
  ``Thought:.*?Action:`` rule asks, a ``Thought:`` label before it; a Python or Hermes call where the
  renderer writes those).  Plain text is not aligned: ToolEyes wants an action every turn, ``finish``
  to answer.
- **tool reality**: an aligned call other than ``finish`` / ``ask_to_user`` (which ToolEyes' harness never
  executes) is wrong when its tool is unknown or its arguments do not bind to the tool's signature.  The
  signature is rebuilt from the tool's schema (required parameters first, the others with a default) as
  a real Python function, and called with the arguments, so the error is Python's own text, as ToolEyes'
  harness returns it (``f() missing 1 required positional argument: 'x'``, ``f() got an unexpected keyword
  argument 'y'``; an unknown tool: ``name 'f' is not defined``, the text of the recordings); its kind comes
  from MAE's feedback classifier (``mae.feedback``), the one reader of such texts.
- **answer pass**: the episode ends with an aligned ``finish`` and not by the turn limit.

Read as DE = 1 - format alignment, CE = 1 - tool reality, VA = answer-pass rate: an inference (the paper
names DE/CE/VA, ToolEyes' code names the rules; docs/eval.md says so).  Three tiers (``tooleyes:<tier>``):

- ``first_turn``: every query (``--data-dir``/tooleyes, the ReAct prompt of
  ``scenario_data_zero_processed.json``, each query's tool from ``scenario_data_raw.json``), one step.
- ``prefix``: each recorded GPT-4 trajectory of a ToolEyes query (``--data-dir``/rotbench_train/Tools_gpt4,
  read by the ``rotbench`` converter, matched by tool and query), once per recorded assistant step: the
  recorded history with its real feedback, then the model's next step, scored for DE, CE, finish vs
  continue and agreement with the recorded action (same tool; same tool and arguments); steps whose
  previous feedback shows an error (``classify_feedback``) are reported apart.
- ``replay``: an on-policy episode per query on ``environments.tooleyes`` (the RL protocol), at most
  ``MAX_TURNS`` model turns (ToolEyes' limit).  A format error is answered with a message asking for the
  format, an unknown tool or a binding error with Python's text (all produced here); any other call is
  answered from the recordings (``Recordings``: the query's own trajectory first, then any recorded call of
  that tool with equal arguments after ``normalized_arguments``; ``ask_to_user`` gets the recorded user
  reply).  A call with no recording ends the episode as ``no_recording``: neither an error nor a valid answer,
  counted apart.  DE and CE are ToolEyes' per-episode shares averaged over episodes (the forced stop counts as
  one more unaligned turn, as ToolEyes appends one; an episode without a call has no CE); VA is given over all
  episodes and over the fully covered ones (no ``no_recording``), with the coverage.

The recordings are environment data only: ToolEyes queries stay out of training data (``convert
--exclude-queries``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..calls import parse_calls
from ..environments import executable
from ..environments.tooleyes import (FINISH, MAX_TURNS, Reading, Recordings, ToolEyesReplayEnvironment, load_recordings,
                                     normalized_arguments, read_step, reading_record)
from ..errors import UserError
from ..jsonl import Tally
from ..mae.feedback import classify_feedback
from ..record import first_user_query, message_calls

SECTION = "tooleyes"  # results.json key
TIERS = ("first_turn", "prefix", "replay")
QUERIES_FILE, RAW_FILE = "tooleyes/scenario_data_zero_processed.json", "tooleyes/scenario_data_raw.json"


def tier_of(benchmark_name: str) -> str:
    tier = benchmark_name.partition(":")[2]
    if tier not in TIERS:
        raise UserError(f"benchmark {benchmark_name!r}: unknown ToolEyes tier; known: "
                        + ", ".join(f"tooleyes:{t}" for t in TIERS))
    return tier


# ------------------------------------------------------------------------------------------ the queries


def load_queries(data_dir: Path, tally: Tally, strict: bool) -> list[dict[str, Any]]:
    """ToolEyes' prompts (system instruction, tools, query), each with ``meta.tool`` = ``Category/Tool``."""
    from ..convert import FORMATS

    for relative in (QUERIES_FILE, RAW_FILE):
        if not (data_dir / relative).is_file():
            raise UserError(f"ToolEyes: {data_dir / relative} not found (--data-dir is laid out like ../shared/data)")
    raw = {record["id"].rsplit("/", 1)[1]: record for record in FORMATS["tooleyes"](data_dir / RAW_FILE, Tally(), strict)}
    queries = []
    for case in FORMATS["tooleyes"](data_dir / QUERIES_FILE, tally, strict):
        index = case["id"].rsplit("/", 1)[1]
        source = raw.get(index)
        if source is None or (first_user_query(source) or "").strip() != (first_user_query(case) or "").strip():
            raise UserError(f"{data_dir / QUERIES_FILE}: index {index}: field conversations: its query is not the one "
                            f"at index {index} of {RAW_FILE}, which names the query's tool")
        case["meta"]["tool"] = source["meta"]["tool"]
        queries.append(case)
    return queries


def prefix_cases(queries: list[dict[str, Any]], recordings: Recordings) -> list[dict[str, Any]]:
    """One case per recorded assistant step of each query's trajectory: the history before it."""
    cases = []
    for query in queries:
        record = recordings.trajectory(query)
        if record is None:
            continue
        messages, step = record["messages"], 0
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            step += 1
            calls = message_calls(message)
            before = messages[i - 1]
            answered = message_calls(messages[i - 2]) if before["role"] == "tool" and i >= 2 else []
            cases.append({
                "id": f"{query['id']}/step/{step}", "tools": record["tools"], "messages": messages[:i],
                "meta": {**query["meta"], "recording": record["id"], "step": step, "recorded": calls[0] if calls else None,
                         "after_error": before["role"] == "tool" and classify_feedback(
                             before.get("content"), answered[0] if answered else None) is not None},
            })
    return cases


def read_cases(benchmark, tally: Tally, strict: bool) -> list[dict[str, Any]]:
    data_dir = Path(benchmark.source)
    queries = load_queries(data_dir, tally, strict)
    if tier_of(benchmark.name) == "prefix":
        return prefix_cases(queries, load_recordings(str(data_dir)))
    return queries


def coverage(queries: list[dict[str, Any]], recordings: Recordings) -> dict[str, Any]:
    missing = [q["id"] for q in queries if recordings.trajectory(q) is None]
    return {"queries": len(queries), "recorded": len(queries) - len(missing), "without_recording": missing,
            "pool_trajectories": len(recordings.trajectories),
            "pool_rejected_by_converter": {"count": recordings.tally.rejected, "reasons": dict(recordings.tally.reasons)}}


def _pct(count: float, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def _step_figures(steps: list[dict[str, Any]]) -> dict[str, Any]:
    executed = [s for s in steps if s["executed"]]
    return {"steps": len(steps), "DE": _pct(sum(not s["aligned"] for s in steps), len(steps)),
            "CE": _pct(sum(s["fault"] is not None for s in executed), len(executed)), "executed_calls": len(executed),
            "faults": dict(Counter(s["fault"] for s in executed if s["fault"]).most_common()),
            "finish": _pct(sum(s["finish"] for s in steps), len(steps))}


def score_prefix_step(case: dict[str, Any], step: Reading) -> dict[str, Any]:
    """A step against the recorded next action: finish vs continue, same tool, same tool and arguments."""
    recorded, meta = case["meta"]["recorded"], case["meta"]
    recorded_finish = recorded is not None and recorded["name"] == FINISH
    same_tool = step.aligned and recorded is not None and step.call["name"] == recorded["name"]
    return {**reading_record(case["id"], step), "recorded": recorded, "after_error": meta["after_error"],
            "finish_agrees": step.finish == recorded_finish, "tool_agrees": same_tool,
            "action_agrees": same_tool and (recorded_finish or normalized_arguments(step.call["arguments"])
                                            == normalized_arguments(recorded["arguments"]))}


def _prefix_figures(scores: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(scores)
    return {**_step_figures(scores), "finish_agreement": _pct(sum(s["finish_agrees"] for s in scores), n),
            "tool_agreement": _pct(sum(s["tool_agrees"] for s in scores), n),
            "action_agreement": _pct(sum(s["action_agrees"] for s in scores), n)}


# ------------------------------------------------------------------------------------------- an episode


@dataclass
class Episode:
    id: str
    end: str = "turn_limit"  # finish | turn_limit | no_recording | missing_prediction
    turns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return self.end not in ("no_recording", "missing_prediction")

    def shares(self) -> tuple[float | None, float | None]:
        """ToolEyes' per-episode DE and CE (module docstring)."""
        aligned = sum(t["aligned"] for t in self.turns)
        turns = len(self.turns) + (self.end == "turn_limit")  # ToolEyes appends a forced, unaligned finish
        executed = [t for t in self.turns if t["executed"]]
        de = 1 - aligned / turns if turns else None
        ce = sum(t["fault"] is not None for t in executed) / len(executed) if executed else None
        return de, ce

    def as_dict(self) -> dict[str, Any]:
        de, ce = self.shares()
        return {**asdict(self), "DE": de, "CE": ce}


Generate = Callable[[dict[str, Any], str], "str | None"]  # (the record so far, prediction key) -> output


def turn_key(case_id: str, turn: int) -> str:
    """The id a ``--predictions`` line gives one turn of a replay episode."""
    return f"{case_id}/turn/{turn}"


def run_episode(case: dict[str, Any], generate: Generate, syntax: str, recordings: Recordings,
                max_turns: int = MAX_TURNS) -> Episode:
    """One query replayed on the recordings (``environments.tooleyes``), at most ``max_turns`` model turns."""
    env = ToolEyesReplayEnvironment(recordings, syntax)
    record = env.reset(case)
    for turn in range(1, max_turns + 1):
        output = generate(record, turn_key(case["id"], turn))
        if output is None:
            env.truncate("missing_prediction")
            break
        parsed = parse_calls(output, syntax)
        if env.step(executable(parsed.calls) if parsed.ok else [], output).done:
            break
    else:
        env.truncate("turn_limit")
    return Episode(case["id"], env.end, env.turns)


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return round(100.0 * sum(defined) / len(defined), 2) if defined else None


def _replay_figures(episodes: list[Episode]) -> dict[str, Any]:
    shares = [e.shares() for e in episodes]
    covered = [e for e in episodes if e.covered]
    passed = sum(e.end == "finish" for e in episodes)
    return {"episodes": len(episodes), "DE": _mean([de for de, _ in shares]), "CE": _mean([ce for _, ce in shares]),
            "VA": _pct(passed, len(episodes)), "VA_covered": _pct(passed, len(covered)),
            "coverage": _pct(len(covered), len(episodes)), "ends": dict(Counter(e.end for e in episodes).most_common()),
            "turns": sum(len(e.turns) for e in episodes),
            "faults": dict(Counter(t["fault"] for e in episodes for t in e.turns if t["fault"]).most_common())}


# ---------------------------------------------------------------------------------------------- running


def _write_scores(out_dir: Path, name: str, rows: list[dict[str, Any]]) -> None:
    from .report import slug

    path = out_dir / "scores" / f"{slug(name)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def run(benchmark, cases: list[dict[str, Any]], outputs, out_dir: Path) -> dict[str, Any]:
    """Score one ToolEyes tier; writes ``scores/<benchmark>.jsonl`` and returns its figures."""
    tier = tier_of(benchmark.name)
    data_dir = str(benchmark.source)
    if tier == "replay":
        recordings = load_recordings(data_dir)
        generate = outputs.episode_generator()
        episodes = []
        for case in cases:
            episodes.append(run_episode(case, generate, outputs.syntax, recordings))
            print(f"  {benchmark.name}: {len(episodes)}/{len(cases)}", flush=True)
        _write_scores(out_dir, benchmark.name, [e.as_dict() for e in episodes])
        figures = _replay_figures(episodes)
    else:
        texts = outputs.for_cases(cases)
        steps = [read_step(text or "", case["tools"], outputs.syntax) for case, text in zip(cases, texts)]
        if tier == "prefix":
            rows = [score_prefix_step(case, step) for case, step in zip(cases, steps)]
            figures = _prefix_figures(rows) | {
                "after_error": _prefix_figures([r for r in rows if r["after_error"]]),
                "other_steps": _prefix_figures([r for r in rows if not r["after_error"]])}
        else:
            rows = [reading_record(case["id"], step) for case, step in zip(cases, steps)]
            figures = _step_figures(rows)
        figures["missing_predictions"] = sum(text is None for text in texts)
        _write_scores(out_dir, benchmark.name, rows)
    if tier != "first_turn":
        figures["recordings"] = coverage(load_queries(Path(data_dir), Tally(), False), load_recordings(data_dir))
    figures["tier"] = tier
    print(f"{benchmark.name}: DE {figures['DE']}  CE {figures['CE']}"
          + (f"  VA {figures['VA']} (covered {figures['VA_covered']}, coverage {figures['coverage']})" if "VA" in figures else "")
          + (f"  action agreement {figures['action_agreement']}" if "action_agreement" in figures else ""))
    return figures


# ---------------------------------------------------------------------------------------------- reports


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def summary_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, f in results.items():
        size = f.get("episodes", f.get("steps"))
        agreement = f"{f['finish_agreement']} / {f['tool_agreement']} / {f['action_agreement']}" \
            if "finish_agreement" in f else "-"
        va = f"{f['VA']} ({f['VA_covered']} of covered, coverage {f['coverage']})" if "VA" in f else "-"
        rows.append([name, _cell(size), _cell(f["DE"]), _cell(f["CE"]), va, agreement])
    return rows


HEADER = ["benchmark", "steps / episodes", "DE", "CE", "VA", "finish / tool / action agreement"]


def report_lines(results: dict[str, dict[str, Any]], out_dir: Path) -> list[str]:
    from .report import _table as table

    lines = ["", "## ToolEyes, offline (%)", "",
             "DE = 1 - format alignment, CE = 1 - tool reality, VA = answer-pass rate: ToolEyes' judge-free rules "
             "read as the paper's figures (an inference; docs/eval.md). The replay's tool results come from "
             "recorded GPT-4 trajectories; an episode whose call has no recording ends apart (coverage).", ""]
    lines += table(HEADER, summary_rows(results))
    for name, f in results.items():
        if "after_error" in f:
            lines += ["", f"{name}: steps after error feedback: {f['after_error']['steps']} (DE {f['after_error']['DE']}, "
                      f"CE {f['after_error']['CE']}, action agreement {f['after_error']['action_agreement']}); "
                      f"other steps: {f['other_steps']['steps']} (DE {f['other_steps']['DE']}, CE {f['other_steps']['CE']}, "
                      f"action agreement {f['other_steps']['action_agreement']})"]
        if f.get("faults"):
            lines += ["", f"{name}, tool-reality faults: " + ", ".join(f"{k} {v}" for k, v in f["faults"].items())]
        if "ends" in f:
            lines += ["", f"{name}, episode ends: " + ", ".join(f"{k} {v}" for k, v in f["ends"].items())]
        if "recordings" in f:
            r = f["recordings"]
            lines += ["", f"{name}: {r['recorded']} of {r['queries']} queries have a recorded trajectory; without: "
                      + ", ".join(q.rsplit("/", 1)[1] for q in r["without_recording"])]
    chart = _chart(out_dir, results)
    return lines + ["", f"![tooleyes]({chart.name})"]


def _chart(out_dir: Path, results: dict[str, dict[str, Any]]) -> Path:
    from .report import percent_bars

    names = list(results)
    series = {key: [results[n].get(key) or 0 for n in names] for key in ("DE", "CE", "VA")}
    return percent_bars(out_dir / "tooleyes.png", names, series, "%", (max(5, 1.8 * len(names)), 3.5), width=0.27)


def compare_lines(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    from .report import _table as table

    names = list(dict.fromkeys(n for _, results in runs for n in results.get(SECTION, {})))
    if not names:
        return []
    rows = []
    for name in names:
        row = [name]
        for _, results in runs:
            f = results.get(SECTION, {}).get(name)
            row.append(f"{_cell(f['DE'])} / {_cell(f['CE'])} / {_cell(f.get('VA'))}" if f else "-")
        rows.append(row)
    return ["", "ToolEyes, offline: DE / CE / VA (%)", ""] + table(["benchmark"] + [f"{label}" for label, _ in runs], rows)
