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
- ``replay``: an on-policy episode per query, at most ``MAX_TURNS`` model turns (ToolEyes' limit).  A
  format error is answered with a message asking for the format, an unknown tool or a binding error with
  Python's text (all produced here); any other call is answered from the recordings (``Recordings``: the
  query's own trajectory first, then any recorded call of that tool with equal arguments after
  ``normalized_arguments``; ``ask_to_user`` gets the recorded user reply).  A call with no recording ends
  the episode as ``no_recording``: neither an error nor a valid answer, counted apart.  DE and CE are
  ToolEyes' per-episode shares averaged over episodes (the forced stop counts as one more unaligned turn,
  as ToolEyes appends one; an episode without a call has no CE); VA is given over all episodes and over
  the fully covered ones (no ``no_recording``), with the coverage.

The recordings are environment data only: ToolEyes queries stay out of training data (``convert
--exclude-queries``).
"""

from __future__ import annotations

import json
import math
import re
import types
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from ..calls import parse_calls
from ..convert.react import thought_of
from ..errors import UserError
from ..jsonl import Tally
from ..mae.feedback import classify_feedback
from ..record import first_user_query, message_calls, openai_tool_call

SECTION = "tooleyes"  # results.json key
TIERS = ("first_turn", "prefix", "replay")
QUERIES_FILE, RAW_FILE = "tooleyes/scenario_data_zero_processed.json", "tooleyes/scenario_data_raw.json"
RECORDINGS_DIR = "rotbench_train/Tools_gpt4"
MAX_TURNS = 8  # ToolEyes' max_turn
FINISH, ASK = "finish", "ask_to_user"  # ToolEyes' harness executes neither
FORMAT_MESSAGE = ("Your output does not follow the required format. Answer with exactly one call of one of the "
                  "given tools, written as the instructions show; call finish to give your final answer.")
_THOUGHT_BEFORE_ACTION = re.compile(r"Thought:.*?Action:", re.S)  # ToolEyes' reasoning-format rule
_RECORDED_QUERY = re.compile(r"Turn \d+: (.*)\Z", re.S)


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


# --------------------------------------------------------------------------------------- the recordings


def _canonical(value: Any) -> Any:
    """A value as arguments are compared: numbers and numeric strings alike, strings trimmed, spaces
    collapsed and case folded, lists in order, dicts by key."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(int(value)) if math.isfinite(value) and value == int(value) else repr(float(value))
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        try:
            number = float(text)
        except ValueError:
            return text
        return _canonical(number) if math.isfinite(number) else text
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return repr(value)


def normalized_arguments(arguments: dict[str, Any]) -> tuple:
    """What two calls of one tool must share to get the same recorded result: their arguments, canonical
    (``_canonical``), with empty ones (``None``, ``""``) left out."""
    return tuple(sorted((key, _canonical(value)) for key, value in arguments.items() if value not in (None, "")))


def recorded_query(record: dict[str, Any]) -> str:
    """The query of a pool trajectory, from its source id ``Turn k: <query>``."""
    match = _RECORDED_QUERY.match(record["meta"].get("source_id") or "")
    return match.group(1).strip() if match else (first_user_query(record) or "").strip()


def _tool_path(record: dict[str, Any]) -> str:
    return f"{record['meta']['category']}/{record['meta']['tool']}"


class Recordings:
    """RoTBench's GPT-4 trajectories over the ToolEyes library, as an environment: what a call got."""

    def __init__(self, records: Iterable[dict[str, Any]], tally: Tally | None = None):
        self.trajectories: dict[tuple[str, str], dict[str, Any]] = {}
        self.tally = tally or Tally()
        self._answers: dict[tuple, dict[str, dict[str, Any]]] = {}  # (tool path, name, args) -> query -> answer
        for record in records:
            tool, query = _tool_path(record), recorded_query(record)
            self.trajectories.setdefault((tool, query), record)
            messages = record["messages"]
            for i, message in enumerate(messages[:-1]):
                calls = message_calls(message) if message["role"] == "assistant" else []
                if len(calls) == 1 and messages[i + 1]["role"] in ("tool", "user"):
                    key = (tool, calls[0]["name"], normalized_arguments(calls[0]["arguments"]))
                    self._answers.setdefault(key, {}).setdefault(query, messages[i + 1])

    def trajectory(self, query_case: dict[str, Any]) -> dict[str, Any] | None:
        return self.trajectories.get((query_case["meta"]["tool"], (first_user_query(query_case) or "").strip()))

    def answer(self, query_case: dict[str, Any], call: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded message (tool feedback, or the user's reply to ``ask_to_user``) answering ``call``:
        from the query's own trajectory first, then from any recording of that tool; None when none."""
        found = self._answers.get((query_case["meta"]["tool"], call["name"], normalized_arguments(call["arguments"])))
        if not found:
            return None
        return found.get((first_user_query(query_case) or "").strip()) or next(iter(found.values()))


@lru_cache(maxsize=2)
def load_recordings(data_dir: str) -> Recordings:
    from ..convert import FORMATS

    folder = Path(data_dir) / RECORDINGS_DIR
    if not folder.is_dir():
        raise UserError(f"ToolEyes: {folder} not found: tiers prefix and replay take their environment from the "
                        "recorded GPT-4 trajectories (--data-dir laid out like ../shared/data)")
    tally = Tally()
    return Recordings(FORMATS["rotbench"](folder, tally, False), tally)  # error.jsonl is always rejected


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


# ---------------------------------------------------------------------------------------------- a step


@lru_cache(maxsize=4096)
def _signature_stub(name: str, required: tuple[str, ...], optional: tuple[str, ...]) -> Callable:
    """A function with the tool's signature and no body: calling it binds the arguments as Python does."""
    def stub():
        return None

    parameters = required + optional
    code = stub.__code__.replace(co_name=name, co_qualname=name, co_argcount=len(parameters),
                                 co_nlocals=len(parameters), co_varnames=parameters)
    return types.FunctionType(code, {}, name, (None,) * len(optional) or None)


def binding_error(call: dict[str, Any], tools: list[dict[str, Any]]) -> str | None:
    """Python's error text for calling the tool with these arguments (None when they bind)."""
    function = next((t["function"] for t in tools if t["function"]["name"] == call["name"]), None)
    if function is None:
        return f"name '{call['name']}' is not defined"
    parameters = function.get("parameters") or {}
    properties = list(parameters.get("properties") or {})
    required = [p for p in parameters.get("required") or [] if isinstance(p, str)]
    required = tuple(dict.fromkeys([p for p in properties if p in required] + required))
    optional = tuple(p for p in properties if p not in required)
    try:
        _signature_stub(function["name"], required, optional)(**call["arguments"])
    except TypeError as exc:
        return str(exc)
    return None


@dataclass
class Step:
    output: str
    aligned: bool
    syntax: str | None = None  # the syntax the output was read in
    call: dict[str, Any] | None = None
    fault: str | None = None  # mae's reason for the error text: unknown_tool, missing_argument, unexpected_argument
    error: str | None = None  # Python's text (what ToolEyes' harness returns)

    @property
    def finish(self) -> bool:
        return self.aligned and self.call["name"] == FINISH

    @property
    def executed(self) -> bool:
        """A call ToolEyes' harness runs (tool reality is judged on these)."""
        return self.aligned and self.call["name"] not in (FINISH, ASK)


def read_step(output: str, tools: list[dict[str, Any]], syntax: str) -> Step:
    parsed = parse_calls(output, syntax)
    aligned = parsed.ok and len(parsed.calls) == 1 and (
        parsed.syntax != "react" or _THOUGHT_BEFORE_ACTION.search(output) is not None)
    if not aligned:
        return Step(output, False, parsed.syntax)
    step = Step(output, True, parsed.syntax, parsed.calls[0])
    if step.executed:
        step.error = binding_error(step.call, tools)
        finding = classify_feedback(step.error) if step.error else None
        step.fault = finding.reason if finding else ("tool_error" if step.error else None)
    return step


def _pct(count: float, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def _step_figures(steps: list[dict[str, Any]]) -> dict[str, Any]:
    executed = [s for s in steps if s["executed"]]
    return {"steps": len(steps), "DE": _pct(sum(not s["aligned"] for s in steps), len(steps)),
            "CE": _pct(sum(s["fault"] is not None for s in executed), len(executed)), "executed_calls": len(executed),
            "faults": dict(Counter(s["fault"] for s in executed if s["fault"]).most_common()),
            "finish": _pct(sum(s["finish"] for s in steps), len(steps))}


def _step_record(case: dict[str, Any], step: Step) -> dict[str, Any]:
    return {"id": case["id"], "output": step.output, "aligned": step.aligned, "call": step.call, "fault": step.fault,
            "error": step.error, "finish": step.finish, "executed": step.executed}


def score_prefix_step(case: dict[str, Any], step: Step) -> dict[str, Any]:
    """A step against the recorded next action: finish vs continue, same tool, same tool and arguments."""
    recorded, meta = case["meta"]["recorded"], case["meta"]
    recorded_finish = recorded is not None and recorded["name"] == FINISH
    same_tool = step.aligned and recorded is not None and step.call["name"] == recorded["name"]
    return {**_step_record(case, step), "recorded": recorded, "after_error": meta["after_error"],
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
    record = {**case, "messages": list(case["messages"])}
    episode = Episode(case["id"])
    for turn in range(1, max_turns + 1):
        output = generate(record, turn_key(case["id"], turn))
        if output is None:
            episode.end = "missing_prediction"
            break
        step = read_step(output, case["tools"], syntax)
        entry = _step_record(case, step) | {"turn": turn}
        episode.turns.append(entry)
        if not step.aligned:
            record["messages"] += [{"role": "assistant", "content": output},
                                   {"role": "user", "content": FORMAT_MESSAGE}]
            continue
        if step.finish:
            episode.end = "finish"
            break
        if step.error:
            answer = {"role": "tool", "name": step.call["name"], "content": step.error}
        else:
            answer = recordings.answer(case, step.call)
            if answer is None:
                episode.end = "no_recording"
                break
        entry["answer"] = answer["content"]
        # The history shows the call in the renderer's syntax; a ReAct thought is kept as the turn's content.
        thought = thought_of(output) if step.syntax == "react" else ""
        record["messages"] += [{"role": "assistant", "content": thought, "tool_calls": [openai_tool_call(step.call)]},
                               {"role": answer["role"], "content": answer["content"],
                                **({"name": step.call["name"]} if answer["role"] == "tool" else {})}]
    return episode


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
            rows = [_step_record(case, step) for case, step in zip(cases, steps)]
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
