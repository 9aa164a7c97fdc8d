"""The general-task regression check: what tool training did to the model elsewhere (GSM8K, IFEval).

``gsm8k:test`` (``--data-dir``/gsm8k/test.jsonl, ``{"question", "answer"}``) and ``ifeval:input_data``
(``--data-dir``/ifeval/input_data.jsonl, ``{"key", "prompt", "instruction_id_list", "kwargs"}``).  Each item
is one user message and no tools, rendered by the run's renderer as it renders a tool-free record
(``prompt_renderer``: the paper format without the two tools it adds to every tool list), generated
greedily; ``--limit N`` takes the first N items, a fixed subset.

- **GSM8K**: the gold answer is the number after ``#### `` in ``answer``.  The model's answer is the number
  after its last ``####`` when it writes one, else the last number in its output (``accuracy``); numbers
  compare by value after commas, ``$`` and a final ``.`` are removed.  ``strict_accuracy`` counts only
  answers given after ``####`` (the format the prompt asks for).
- **IFEval**: each instruction is checked by the published rule of google-research
  ``instruction_following_eval/instructions.py`` (strict: the raw response, which must not be empty), for
  the 20 instruction types that need no external resource (``COVERED``).  Left out, as they need
  ``langdetect`` or NLTK's downloaded punkt model: ``NOT_COVERED``.  ``instruction_strict`` is the share of
  covered instructions followed; ``prompt_strict`` the share of prompts all of whose instructions are
  covered (387 of the 541) that follow every one.

Both keep each item's outcome (``items``) so that two runs pair item by item (``compare_lines``: items right
in both, only in one, in neither, and the exact two-sided sign test on the items that changed).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import RecordError, UserError
from ..jsonl import Tally, json_lines

SECTION = "general"  # results.json key
GSM8K_INSTRUCTION = "Solve the problem step by step. End with the final answer on its own line, written as: #### <number>"
_GOLD_NUMBER = re.compile(r"####\s*(.+?)\s*$", re.S)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_MARKED = re.compile(r"####\s*(-?\$?\d[\d,]*(?:\.\d+)?)")


# ----------------------------------------------------------------------------------------------- reading


def _lines(path: Path) -> Iterator[tuple[str, Any]]:
    if not path.is_file():
        raise UserError(f"{path} not found (--data-dir is laid out like ../shared/data)")
    return json_lines(path)


def _gsm8k_case(item: Any, index: int, stem: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise RecordError("expected a string question", "question")
    match = _GOLD_NUMBER.search(item.get("answer") or "") if isinstance(item.get("answer"), str) else None
    if match is None or number_value(match.group(1)) is None:
        raise RecordError("the answer must end with '#### <number>'", "answer")
    return {"id": f"gsm8k/{stem}/{index}", "tools": [],
            "messages": [{"role": "user", "content": f"{item['question']}\n\n{GSM8K_INSTRUCTION}"}],
            "meta": {"source": "gsm8k", "answer": match.group(1)}}


def _ifeval_case(item: Any, stem: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
        raise RecordError("expected a string prompt", "prompt")
    ids, kwargs = item.get("instruction_id_list"), item.get("kwargs")
    if not isinstance(ids, list) or not isinstance(kwargs, list) or len(ids) != len(kwargs) or \
            not all(isinstance(k, dict) for k in kwargs):
        raise RecordError("instruction_id_list and kwargs must be lists of the same length (kwargs of objects)",
                          "instruction_id_list")
    return {"id": f"ifeval/{stem}/{item.get('key')}", "tools": [],
            "messages": [{"role": "user", "content": item["prompt"]}],
            "meta": {"source": "ifeval", "instructions": ids, "kwargs": kwargs}}


def read_cases(benchmark, tally: Tally, strict: bool) -> list[dict[str, Any]]:
    from ..convert.common import build_one

    path, name = Path(benchmark.source), benchmark.format
    cases = []
    for index, (where, item) in enumerate(_lines(path)):
        build = (lambda: _gsm8k_case(item, index, path.stem)) if name == "gsm8k" else (lambda: _ifeval_case(item, path.stem))
        case = build_one(tally, strict, where, build)
        if case is not None:
            cases.append(case)
    return cases


def prompt_renderer(renderer, tokenizer):
    """The run's renderer as it should render a tool-free record: the paper format adds ``ask_to_user`` and
    ``finish`` to every tool list, also an empty one, so it is rebuilt without them."""
    from ..render import PaperRenderer

    if isinstance(renderer, PaperRenderer):
        return PaperRenderer(tokenizer, add_builtin_tools=False, layout=renderer.layout)
    return renderer


# ------------------------------------------------------------------------------------------------ GSM8K


def number_value(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("$", "").strip().rstrip(".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def gsm8k_answer(output: str) -> tuple[Decimal | None, bool]:
    """(the model's final number, whether it wrote it after ``####``)."""
    marked = _MARKED.findall(output)
    if marked:
        return number_value(marked[-1]), True
    numbers = _NUMBER.findall(output)
    return (number_value(numbers[-1]) if numbers else None), False


def score_gsm8k(case: dict[str, Any], output: str) -> dict[str, Any]:
    value, marked = gsm8k_answer(output)
    correct = value is not None and value == number_value(case["meta"]["answer"])
    return {"id": case["id"], "correct": correct, "strict": correct and marked, "answer": None if value is None else str(value),
            "gold": case["meta"]["answer"], "output": output}


# ----------------------------------------------------------------------------------------------- IFEval


def _compare(count: int, relation: str, threshold: int) -> bool:
    if relation == "less than":
        return count < threshold
    if relation == "at least":
        return count >= threshold
    raise ValueError(f"relation must be 'less than' or 'at least', got {relation!r}")


def _paragraphs_by_divider(text: str, num_paragraphs: int) -> bool:
    parts = re.split(r"\s?\*\*\*\s?", text)
    count = len(parts)
    for i, part in enumerate(parts):
        if not part.strip():
            if i in (0, len(parts) - 1):
                count -= 1
            else:
                return False
    return count == num_paragraphs


def _nth_paragraph_first_word(text: str, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    parts = re.split(r"\n\n", text)
    count = sum(bool(p.strip()) for p in parts)
    if nth_paragraph > count or not parts[nth_paragraph - 1].strip():
        return False
    word = parts[nth_paragraph - 1].strip().split()[0].strip().lstrip("'").lstrip('"')
    head = re.match(r"[^.,?!'\"]*", word).group().lower()
    return count == num_paragraphs and head == first_word.lower()


def _postscript(text: str, postscript_marker: str) -> bool:
    marker = postscript_marker.strip()
    pattern = {"P.P.S": r"\s*p\.\s?p\.\s?s.*$", "P.S.": r"\s*p\.\s?s\..*$"}.get(marker, r"\s*" + re.escape(marker.lower()) + r".*$")
    return bool(re.findall(pattern, text.lower(), flags=re.M))


def _highlights(text: str, num_highlights: int) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", text) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", text) if h.removeprefix("**").removesuffix("**").strip()]
    return len(single) + len(double) >= num_highlights


def _json_text(text: str) -> bool:
    body = text.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(prefix)
    try:
        json.loads(body.removesuffix("```").strip())
    except ValueError:
        return False
    return True


def _two_responses(text: str) -> bool:
    parts = text.split("******")
    kept = []
    for i, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif i not in (0, len(parts) - 1):
            return False
    return len(kept) == 2 and kept[0] != kept[1]


CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

# instruction id -> check(response, **kwargs); each the published rule (module docstring).
COVERED: dict[str, Callable[..., bool]] = {
    "keywords:existence": lambda t, keywords: all(re.search(re.escape(k), t, re.I) for k in keywords),
    "keywords:frequency": lambda t, keyword, frequency, relation: _compare(
        len(re.findall(re.escape(keyword.strip()), t, re.I)), relation, frequency),
    "keywords:forbidden_words": lambda t, forbidden_words: not any(
        re.search(r"\b" + re.escape(w) + r"\b", t, re.I) for w in forbidden_words),
    "keywords:letter_frequency": lambda t, letter, let_frequency, let_relation: _compare(
        Counter(t.lower())[letter.strip().lower()], let_relation, let_frequency),
    "length_constraints:number_paragraphs": lambda t, num_paragraphs: _paragraphs_by_divider(t, num_paragraphs),
    "length_constraints:number_words": lambda t, num_words, relation: _compare(len(re.findall(r"\w+", t)), relation, num_words),
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "detectable_content:number_placeholders": lambda t, num_placeholders: len(re.findall(r"\[.*?\]", t)) >= num_placeholders,
    "detectable_content:postscript": _postscript,
    "detectable_format:number_bullet_lists": lambda t, num_bullets: len(re.findall(r"^\s*\*[^\*].*$", t, re.M))
    + len(re.findall(r"^\s*-.*$", t, re.M)) == num_bullets,
    "detectable_format:constrained_response": lambda t: any(r in t.strip() for r in CONSTRAINED_RESPONSES),
    "detectable_format:number_highlighted_sections": _highlights,
    "detectable_format:multiple_sections": lambda t, section_spliter, num_sections: len(
        re.split(r"\s?" + re.escape(section_spliter.strip()) + r"\s?\d+\s?", t)) - 1 >= num_sections,
    "detectable_format:json_format": _json_text,
    "detectable_format:title": lambda t: any(title.lstrip("<").rstrip(">").strip() for title in re.findall(r"<<[^\n]+>>", t)),
    "combination:two_responses": _two_responses,
    "combination:repeat_prompt": lambda t, prompt_to_repeat: t.strip().lower().startswith(prompt_to_repeat.strip().lower()),
    "startend:end_checker": lambda t, end_phrase: t.strip().strip('"').lower().endswith(end_phrase.strip().lower()),
    "startend:quotation": lambda t: len(t.strip()) > 1 and t.strip()[0] == '"' and t.strip()[-1] == '"',
    "punctuation:no_comma": lambda t: "," not in t,
}
NOT_COVERED = {
    "language:response_language": "langdetect", "change_case:english_capital": "langdetect",
    "change_case:english_lowercase": "langdetect", "length_constraints:number_sentences": "NLTK punkt (a download)",
    "change_case:capital_word_frequency": "NLTK word_tokenize (punkt, a download)",
}


def follows(instruction: str, kwargs: dict[str, Any], response: str) -> bool | None:
    """Whether ``response`` follows one instruction, strictly; None for a type that is not covered."""
    check = COVERED.get(instruction)
    if check is None:
        if instruction in NOT_COVERED:
            return None
        raise UserError(f"IFEval: unknown instruction type {instruction!r}")
    arguments = {key: value for key, value in kwargs.items() if value is not None}
    return bool(response.strip()) and check(response, **arguments)


def score_ifeval(case: dict[str, Any], output: str) -> dict[str, Any]:
    meta = case["meta"]
    outcomes = [follows(i, k, output) for i, k in zip(meta["instructions"], meta["kwargs"])]
    covered = None not in outcomes
    return {"id": case["id"], "instructions": dict(zip(meta["instructions"], outcomes)),
            "correct": all(outcomes) if covered else None, "output": output}


# ----------------------------------------------------------------------------------------------- figures


def _pct(count: int, total: int) -> float:
    return round(100.0 * count / total, 2) if total else 0.0


def _figures(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {"cases": len(rows), "items": {r["id"]: r["correct"] for r in rows}}
    if name.startswith("gsm8k"):
        figures["accuracy"] = _pct(sum(r["correct"] for r in rows), len(rows))
        figures["strict_accuracy"] = _pct(sum(r["strict"] for r in rows), len(rows))
        return figures
    scored = [r for r in rows if r["correct"] is not None]
    outcomes = [(i, ok) for r in rows for i, ok in r["instructions"].items() if ok is not None]
    by_type: dict[str, list[bool]] = {}
    for instruction, ok in outcomes:
        by_type.setdefault(instruction, []).append(ok)
    figures |= {"accuracy": _pct(sum(r["correct"] for r in scored), len(scored)), "prompts_scored": len(scored),
                "instruction_strict": _pct(sum(ok for _, ok in outcomes), len(outcomes)),
                "instructions_scored": len(outcomes),
                "not_covered": dict(Counter(i for r in rows for i, ok in r["instructions"].items() if ok is None)),
                "by_instruction": {i: _pct(sum(v), len(v)) for i, v in sorted(by_type.items())}}
    figures["prompt_strict"] = figures["accuracy"]
    return figures


def run(benchmark, cases: list[dict[str, Any]], outputs, out_dir: Path) -> dict[str, Any]:
    """Generate (or look up) each item's output, score it, write ``scores/<benchmark>.jsonl``."""
    from .report import slug

    texts = outputs.for_cases(cases, prompt_renderer(outputs.renderer, outputs.tokenizer) if outputs.renderer else None)
    score = score_gsm8k if benchmark.format == "gsm8k" else score_ifeval
    rows = [score(case, text or "") for case, text in zip(cases, texts)]
    path = out_dir / "scores" / f"{slug(benchmark.name)}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    figures = _figures(benchmark.format, rows) | {"missing_predictions": sum(text is None for text in texts)}
    print(f"{benchmark.name}: {figures['cases']} items  accuracy {_headline(benchmark.format, figures)}"
          + (f"  missing predictions {figures['missing_predictions']}" if figures["missing_predictions"] else ""))
    return figures


# ---------------------------------------------------------------------------------------------- reports


def _headline(name: str, figures: dict[str, Any]) -> str:
    if name.startswith("gsm8k"):
        return f"{figures['accuracy']} (strict {figures['strict_accuracy']})"
    return f"{figures['prompt_strict']} prompt / {figures['instruction_strict']} instruction"


def report_lines(results: dict[str, dict[str, Any]], out_dir: Path) -> list[str]:
    from .report import _table as table

    lines = ["", "## General tasks (%)", "",
             "GSM8K: exact final number (strict: written after ####); IFEval: strict prompt- and instruction-level "
             f"accuracy over the instruction types that need no download (left out: {', '.join(NOT_COVERED)}).", ""]
    lines += table(["benchmark", "items", "accuracy"], [[n, f["cases"], _headline(n, f)] for n, f in results.items()])
    for name, f in results.items():
        if f.get("not_covered"):
            lines += ["", f"{name}: {f['prompts_scored']} prompts and {f['instructions_scored']} instructions scored; "
                      "not covered: " + ", ".join(f"{k} {v}" for k, v in f["not_covered"].items())]
    chart = _chart(out_dir, results)
    return lines + ["", f"![general tasks]({chart.name})"]


def _chart(out_dir: Path, results: dict[str, dict[str, Any]]) -> Path:
    from .report import percent_bars

    names = list(results)
    return percent_bars(out_dir / "general.png", names, {"accuracy": [results[n]["accuracy"] for n in names]},
                        "accuracy (%)", (max(4, 1.6 * len(names)), 3.2))


def sign_test(only_first: int, only_second: int) -> float:
    """Exact two-sided sign test on the items that changed (McNemar's exact test)."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_first, only_second) + 1)) / 2 ** n
    return round(min(1.0, 2 * tail), 4)


def paired(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Item by item: right in both, only in the reference, only in the other, in neither (scored items in both)."""
    shared = [i for i, ok in reference["items"].items() if ok is not None and other["items"].get(i) is not None]
    pairs = Counter((reference["items"][i], other["items"][i]) for i in shared)
    return {"items": len(shared), "both": pairs[(True, True)], "lost": pairs[(True, False)],
            "gained": pairs[(False, True)], "neither": pairs[(False, False)],
            "change": round(100.0 * (pairs[(False, True)] - pairs[(True, False)]) / len(shared), 2) if shared else 0.0,
            "p": sign_test(pairs[(True, False)], pairs[(False, True)])}


def compare_lines(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Per general benchmark, each run paired item by item with the first run that has it."""
    from .report import _table as table

    names = list(dict.fromkeys(n for _, results in runs for n in results.get(SECTION, {})))
    rows = []
    for name in names:
        present = [(label, results[SECTION][name]) for label, results in runs if name in results.get(SECTION, {})]
        (reference_label, reference), others = present[0], present[1:]
        rows.append([name, reference_label, "-", reference["accuracy"], "-", "-", "-", "-"])
        for label, figures in others:
            p = paired(reference, figures)
            rows.append([name, label, reference_label, figures["accuracy"], p["items"],
                         f"{p['both']} / {p['gained']} / {p['lost']} / {p['neither']}", f"{p['change']:+.2f}", p["p"]])
    if not rows:
        return []
    return ["", "General tasks, paired item by item with the first run (accuracy %; items right in both / only in this "
            "run / only in the first / in neither; change in points; exact sign-test p)", ""] + table(
        ["benchmark", "run", "paired with", "accuracy", "items", "both / gained / lost / neither", "change", "p"], rows)
