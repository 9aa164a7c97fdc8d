"""The gold-name log-probability margin: how strongly a model prefers the right tool, teacher-forced.

For a case, each candidate tool's name is scored as the start of the model's answer: the log-probability
of the renderer's completion up to and including the character after the name (``get_weather(`` in
Python call syntax, ``<tool_call>\\n{"name": "get_weather"`` in Hermes), so a name that is a prefix of
another (``get`` / ``get_all``) is not credited with the longer one's tokens.  The margin is

    max over gold names of log p(name | prompt)  -  max over the other candidates of log p(name | prompt)

in nats: positive when the model ranks a right tool first.  Unlike TS it is continuous and defined on
every case with a gold call and at least one other candidate, whatever the model would generate, so it
tells apart two models that both fail (or both pass) a case; a paired comparison of margins has far
more power than one of pass/fail outcomes.  Cases without a gold call (irrelevance) or without a rival
candidate get None.

Tokens are the prompt's and the completion's, tokenized apart, as generation sees them (the fast path's
convention).  The candidates are teacher-forced from the prompt's cache in one pass
(``batching.score_continuations``): during generation, just before a batch decodes, so the margin costs
no prompt prefill of its own (``generate_transformers(continuations=...)``), or on their own
(``name_margins``) for cases that are not generated (the fast path's, a resumed run's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..generation import pad_token_id, stop_token_ids
from .batching import PrefixStore, batch_inputs, growing_cache, plan, score_continuations, supports_prefix_cache


def name_prefix(renderer, name: str) -> str:
    """The start of an answer that calls ``name``, through the character after the name."""
    completion = renderer.render_completion([{"name": name, "arguments": {}}])
    at = completion.find(name)
    if at < 0:  # a format that rewrites names would make the margin meaningless: say so
        raise ValueError(f"the {renderer.name} renderer does not write the tool name {name!r} verbatim")
    return completion[:at + len(name) + 1]


def gold_names(case: dict[str, Any]) -> set[str]:
    return {call["name"] for answer in case.get("gold") or [] for call in answer}


@dataclass(frozen=True)
class Candidates:
    """The names a case's margin compares, each as the tokens that write it (gold ones first)."""

    gold: int                     # how many of ``tokens`` are gold names
    tokens: list[list[int]]


def candidates_of(case: dict[str, Any], renderer, tokenizer) -> Candidates | None:
    """None where the margin is undefined: no gold call (irrelevance), or no other candidate."""
    golden = gold_names(case)
    names = list(dict.fromkeys(t["function"]["name"] for t in renderer.candidate_tools(case)))
    rivals = [name for name in names if name not in golden]
    if not golden or not rivals:
        return None
    tokens = [tokenizer(name_prefix(renderer, name), add_special_tokens=False)["input_ids"]
              for name in sorted(golden) + rivals]
    return Candidates(len(golden), tokens)


def margin_of(candidates: Candidates, scores: list[float]) -> float:
    return max(scores[:candidates.gold]) - max(scores[candidates.gold:])


def name_margins(model, tokenizer, renderer, cases: list[dict[str, Any]], *, batch_size: int) -> list[float | None]:
    """The margin of each case (None where it is undefined or the model's cache cannot be continued)."""
    found = [candidates_of(case, renderer, tokenizer) for case in cases]
    todo = [i for i, c in enumerate(found) if c is not None]
    margins: list[float | None] = [None] * len(cases)
    if not todo or not supports_prefix_cache(model):
        return margins
    pad_id = pad_token_id(tokenizer, stop_token_ids(tokenizer, model))
    encoded = [tokenizer(renderer.render_prompt(cases[i]), add_special_tokens=False)["input_ids"] for i in todo]
    batches = plan(model, encoded, batch_size, tails=[sum(map(len, found[i].tokens)) for i in todo])
    store = PrefixStore(model, encoded, batches)
    model.eval()
    for rows in batches:
        input_ids, attention, cache = batch_inputs(encoded, rows, pad_id, store)
        scores = score_continuations(model, input_ids, attention, cache or growing_cache(),
                                     [found[todo[i]].tokens for i, _ in rows])
        for (i, _), row_scores in zip(rows, scores):
            margins[todo[i]] = margin_of(found[todo[i]], row_scores)
    return margins
