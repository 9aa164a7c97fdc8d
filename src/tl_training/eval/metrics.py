"""Per-case scores and their aggregates: TS / PI / CF (docs/method.md, evaluation), BFCL pass, irrelevance.

One case is graded against every acceptable gold answer and keeps its best level:

- **TS** (tool selection): the predicted calls carry the gold names (one to one, any order);
- **PI** (parameter identification): TS, and each call's keys are the gold keys: every gold key present
  unless its gold allows leaving it out (``any_of`` with null), no key the gold lacks;
- **CF** (content filling): PI, and every value satisfies its gold (``gold.values_match``, the one
  home of the gold semantics: literals, ``any_of``, ``any_value``).

Rules per benchmark (``Rules``):

- RoTBench (``rotbench=True``): a prediction ``finish`` matches the case's last tool (the noisy splits
  rename it), and the last two tools (``finish``, ``ask_to_user``) pass CF as soon as they pass PI.  The
  official scorer also skips every prediction whose arguments are empty (``if not test_action_input:
  continue`` in ``Code/Evaluation/evaluate.py``), so such a case fails TS, PI and CF even where the gold
  has no arguments.  ``ts/pi/cf`` apply that official rule, ``ts_fixed/pi_fixed/cf_fixed`` do not.
- BFCL (``bfcl_strings=True``): strings compare after BFCL's ``standardize_string`` (spaces and
  ``,./-_*^`` removed, lower case, ``'`` -> ``"``), as the official ``ast_checker`` does; an integer
  parameter given a float fails, as there.
- A gold answer ``[]`` (BFCL irrelevance) is met by a turn with no call: all three levels pass.
- ACEBench (``acebench=True``): each case also gets ACEBench's own verdict (``acebench.official_verdict``),
  summarised as its accuracy (``acebench.summarize``).

Beside the strict levels, two figures that tell the failure modes apart:

- **TS by name** (``ts_name``): the called names read leniently (``calls.called_names``: a positional or
  otherwise unparseable call still names its tool) equal an acceptable answer's names.  A correct choice
  written badly passes it and fails TS; it never replaces TS.
- **format errors**: the share of cases the judge puts in ``format_error`` (the output tries to be a call
  and does not parse, or is plain text where a call was expected).

Tool-name and parameter precision / recall / F1 (``precision_recall``), the figures xLAM-format sets
(API-Bank, Seal-Tools, ToolAlpaca as the Hammer project redistributes them) are reported with, counted over
the whole benchmark as Hammer's ``evaluation/evaluate.py`` does: a predicted call is a name hit when an
unused gold call has its name; a predicted argument is a parameter hit when its paired gold call (same
name, paired one to one for the most hits) has that key and the value satisfies the gold spec; arguments
whose value is ``""`` are not counted, nor gold arguments that may be left out; output that fails to parse
counts as one predicted call with no arguments, plain text as none; the gold answer counted is the
acceptable one with the most hits.  P = hits / predicted, R = hits / gold, F1 their harmonic mean.

The error category of a case comes from ``verdict.judge`` (the shared classifier), never from here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from ..calls import called_names, parse_calls
from .acebench import official_verdict, summarize as summarize_official
from ..gold import best_pairing, is_optional, map_literals, values_match
from ..verdict import judge

LEVELS = ("ts", "pi", "cf")
_BFCL_STRIP = re.compile(r"[ \,\.\/\-\_\*\^]")


@dataclass(frozen=True)
class Rules:
    rotbench: bool = False
    bfcl_strings: bool = False
    acebench: bool = False


def rules_for(benchmark: str) -> Rules:
    """The scoring rules of a benchmark named ``NAME:SPLIT`` (or a bare format name)."""
    name = benchmark.split(":", 1)[0]
    return Rules(rotbench=name == "rotbench", bfcl_strings=name == "bfcl", acebench=name == "acebench")


@dataclass
class CaseScore:
    id: str
    benchmark: str
    ts: bool
    pi: bool
    cf: bool
    ts_fixed: bool
    pi_fixed: bool
    cf_fixed: bool
    ts_name: bool
    no_call: bool
    expects_call: bool
    category: str
    reward: float
    flags: list[str]
    explanation: str
    scenario: str | None
    prediction: str
    gold: list = field(default_factory=list)
    parse_error: str | None = None
    margin: float | None = None  # gold-name log-probability margin (margin.py), when the model was run
    match_counts: dict[str, int] = field(default_factory=dict)  # what precision_recall adds up
    official: dict[str, Any] | None = None  # the benchmark's own verdict, where it has one (ACEBench)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ BFCL values


def bfcl_standardize(text: str) -> str:
    """BFCL's ``standardize_string``: what its checker compares strings by."""
    return _BFCL_STRIP.sub("", text).lower().replace("'", '"')


def _bfcl_value(value: Any) -> Any:
    if isinstance(value, str):
        return bfcl_standardize(value)
    if isinstance(value, (list, tuple)):
        return [_bfcl_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _bfcl_value(v) for k, v in value.items()}
    return value


def _bfcl_spec(spec: Any) -> Any:
    """A gold spec with its string literals standardised (spec shapes kept)."""
    return map_literals(spec, lambda value: bfcl_standardize(value) if isinstance(value, str) else value)


# ------------------------------------------------------------------------------------------- levels


def _param_types(tools: list[dict], name: str) -> dict[str, str]:
    for tool in tools:
        function = tool.get("function", {})
        if function.get("name") == name:
            props = (function.get("parameters") or {}).get("properties") or {}
            return {key: (prop or {}).get("type", "") for key, prop in props.items() if isinstance(prop, dict)}
    return {}


def _value_ok(value: Any, spec: Any, param_type: str, rules: Rules) -> bool:
    if rules.bfcl_strings:
        if param_type == "integer" and type(value) is float:
            return False
        return values_match(_bfcl_value(value), _bfcl_spec(spec))
    return values_match(value, spec)


def _pair_level(call: dict, gold: dict, case_tools: list[dict], rules: Rules) -> int:
    """0: wrong tool; 1: TS; 2: PI; 3: CF, for one predicted call against one gold call."""
    name, gold_name = call["name"], gold["name"]
    names = [t["function"]["name"] for t in case_tools]
    if rules.rotbench and name == "finish" and names and gold_name == names[-1]:
        name = gold_name  # the official scorer's alias for a renamed finish tool
    if name != gold_name:
        return 0
    args, gold_args = call["arguments"], gold.get("arguments") or {}
    if any(key not in gold_args for key in args) or any(
            key not in args and not is_optional(spec) for key, spec in gold_args.items()):
        return 1
    if rules.rotbench and gold_name in names[-2:]:
        return 3  # finish / ask_to_user: their free text is not scored
    types = _param_types(case_tools, gold_name) if rules.bfcl_strings else {}
    if all(_value_ok(args[key], gold_args[key], types.get(key, ""), rules) for key in args):
        return 3
    return 2


def _answer_level(calls: list[dict], answer: list[dict], case_tools: list[dict], rules: Rules) -> int:
    """The level reached against one acceptable answer: calls paired one to one, the weakest pair counts."""
    if not answer or not calls:
        return 3 if not answer and not calls else 0
    if len(calls) != len(answer):
        return 0
    grid = [[_pair_level(c, g, case_tools, rules) for g in answer] for c in calls]
    return min(grid[i][j] for i, j in best_pairing(grid, objective=min))


def case_level(calls: list[dict], gold: list[list[dict]], case_tools: list[dict], rules: Rules) -> int:
    return max(_answer_level(calls, answer, case_tools, rules) for answer in gold)


def names_match(names: list[str], gold: list[list[dict]], case_tools: list[dict], rules: Rules) -> bool:
    """Whether the called names are, one to one, the names of an acceptable answer (TS on names alone)."""
    tool_names = [t["function"]["name"] for t in case_tools]
    for answer in gold:
        wanted = sorted(call["name"] for call in answer)
        alias = tool_names[-1] if rules.rotbench and tool_names and tool_names[-1] in wanted else None
        if sorted(alias if alias and name == "finish" else name for name in names) == wanted:
            return True
    return False


def _given(arguments: dict[str, Any]) -> int:
    return sum(value != "" for value in arguments.values())


def _parameter_hits(call: dict, gold: dict, case_tools: list[dict], rules: Rules) -> int:
    gold_args = gold.get("arguments") or {}
    types = _param_types(case_tools, gold["name"]) if rules.bfcl_strings else {}
    return sum(key in gold_args and value != "" and _value_ok(value, gold_args[key], types.get(key, ""), rules)
               for key, value in call["arguments"].items())


def match_counts(calls: list[dict], unparseable: bool, gold: list[list[dict]], case_tools: list[dict],
                 rules: Rules) -> dict[str, int]:
    """Predicted, gold and matched calls and arguments of one case (module docstring, precision_recall)."""
    best: dict[str, int] | None = None
    for answer in gold:
        names = sum((Counter(c["name"] for c in calls) & Counter(g["name"] for g in answer)).values())
        grid = [[_parameter_hits(c, g, case_tools, rules) if c["name"] == g["name"] else -1 for g in answer]
                for c in calls]
        params = sum(max(grid[i][j], 0) for i, j in best_pairing(grid)) if calls and answer else 0
        counts = {"gold_calls": len(answer), "name_hits": names, "param_hits": params,
                  "gold_params": sum(not is_optional(spec) and spec != "" for g in answer
                                     for spec in (g.get("arguments") or {}).values())}
        if best is None or names + params > best["name_hits"] + best["param_hits"]:
            best = counts
    return {"predicted_calls": 1 if unparseable else len(calls),
            "predicted_params": sum(_given(c["arguments"]) for c in calls), **best}


def score_case(case: dict, prediction: str, benchmark: str, syntax: str = "auto",
               rules: Rules | None = None) -> CaseScore:
    """Grade one model turn (raw text) against an evaluation case (a record with ``gold``)."""
    rules = rules or rules_for(benchmark)
    gold, tools = case["gold"], case.get("tools") or []
    parsed = parse_calls(prediction, syntax)
    verdict = judge(prediction, gold, tools, syntax=syntax)
    calls = parsed.calls if parsed.error is None else []
    level = case_level(calls, gold, tools, rules) if parsed.error is None else 0
    fixed = [level >= k for k in (1, 2, 3)]
    # RoTBench's official scorer drops every prediction with empty arguments (see the module docstring).
    official_skip = rules.rotbench and (parsed.error is not None or not calls or not calls[0]["arguments"])
    official = [False] * 3 if official_skip else fixed
    meta = case.get("meta") or {}
    return CaseScore(
        id=case["id"], benchmark=benchmark,
        ts=official[0], pi=official[1], cf=official[2],
        ts_fixed=fixed[0], pi_fixed=fixed[1], cf_fixed=fixed[2],
        ts_name=names_match(called_names(prediction, syntax), gold, tools, rules),
        no_call=parsed.error is None and not calls,
        expects_call=any(answer for answer in gold),
        category=verdict.category, reward=verdict.reward, flags=list(verdict.flags), explanation=verdict.explanation,
        scenario=meta.get("scenario") or meta.get("category"),
        prediction=prediction, gold=gold, parse_error=parsed.error,
        match_counts=match_counts(calls, parsed.error is not None, gold, tools, rules),
        official=official_verdict(case, prediction, syntax) if rules.acebench else None,
    )


# ------------------------------------------------------------------------------------------ aggregates


def _pct(count: int, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def precision_recall(scores: list[CaseScore]) -> dict[str, dict[str, float]]:
    """Tool-name and parameter P / R / F1 (%) over a benchmark's cases (module docstring)."""
    total = Counter()
    for s in scores:
        total.update(s.match_counts)
    figures = {}
    for kind, hit, unit in (("tool_name", "name_hits", "calls"), ("parameter", "param_hits", "params")):
        hits = total[hit]
        precision, recall = _pct(hits, total[f"predicted_{unit}"]), _pct(hits, total[f"gold_{unit}"])
        f1 = round(2 * precision * recall / (precision + recall), 2) if precision + recall else 0.0
        figures[kind] = {"P": precision, "R": recall, "F1": f1}
    return figures


def summarize(scores: Iterable[CaseScore]) -> dict[str, Any]:
    """Benchmark-level figures: TS/PI/CF (official and corrected rule), irrelevance, per scenario, categories."""
    scores = list(scores)
    n = len(scores)
    result: dict[str, Any] = {"cases": n}
    for level in LEVELS:
        result[level.upper()] = _pct(sum(getattr(s, level) for s in scores), n)
        result[level.upper() + "_corrected"] = _pct(sum(getattr(s, level + "_fixed") for s in scores), n)
    result["pass"] = result["CF_corrected"]  # BFCL's pass rate: every call right (CF)
    result["TS_name"] = _pct(sum(s.ts_name for s in scores), n)
    result["format_errors"] = _pct(sum(s.category == "format_error" for s in scores), n)
    margins = [s.margin for s in scores if s.margin is not None]
    if margins:
        result["margin"] = {"mean": round(sum(margins) / len(margins), 4), "cases": len(margins),
                            "positive": _pct(sum(m > 0 for m in margins), len(margins))}
    no_call_expected = [s for s in scores if not s.expects_call]
    if no_call_expected:
        result["irrelevance"] = _pct(sum(s.no_call for s in no_call_expected), len(no_call_expected))
    result["unparseable"] = _pct(sum(s.parse_error is not None for s in scores), n)
    result["precision_recall"] = precision_recall(scores)
    if any(s.official is not None for s in scores):
        result["acebench"] = summarize_official([s.official for s in scores if s.official is not None])
    result["categories"] = dict(Counter(s.category for s in scores).most_common())
    by_scenario: dict[str, list[CaseScore]] = defaultdict(list)
    for s in scores:
        if s.scenario:
            by_scenario[s.scenario].append(s)
    result["scenarios"] = {
        name: {"cases": len(group), **{level.upper(): _pct(sum(getattr(s, level) for s in group), len(group))
                                       for level in LEVELS}}
        for name, group in sorted(by_scenario.items())
    }
    return result
