"""Records -> RL prompts, each with its gold answers and its own candidate tools (README, The record).

- An eval case (a record with ``gold``) is one prompt: the whole conversation, then the generation prompt.
- A trajectory gives one prompt per trained assistant turn that makes calls: the history up to that
  turn, with the turn's calls as the only gold answer.  Untrained turns (MAE) and plain-text turns give
  none: the reward grades calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..jsonl import Tally
from ..record import is_trained, iter_assistant, message_calls


@dataclass(frozen=True)
class RLPrompt:
    id: str
    text: str  # rendered prompt, ending with the assistant generation prompt
    gold: list[list[dict[str, Any]]]
    tools: list[dict[str, Any]]  # the candidate tools the model saw (the reward's tool list)


def record_prompts(record: dict[str, Any], renderer) -> list[RLPrompt]:
    tools = renderer.candidate_tools(record)
    rid = str(record.get("id", ""))
    if "gold" in record:
        return [RLPrompt(rid, renderer.render_prompt(record), record["gold"], tools)]
    prompts = []
    for index, message in iter_assistant(record):
        calls = message_calls(message)
        if calls and is_trained(message):
            prompts.append(RLPrompt(f"{rid}@{index}", renderer.render_prompt(record, upto=index), [calls], tools))
    return prompts


def build_prompts(records: Iterable[dict[str, Any]], renderer, tally: Tally, tokenizer=None,
                  max_prompt_length: int | None = None) -> list[RLPrompt]:
    """Every prompt of ``records``.  Counted in ``tally``, not dropped silently: records giving no prompt
    and prompts over ``max_prompt_length`` tokens (one rejection each, with the reason); ``written``
    counts the records that gave at least one kept prompt."""
    prompts = []
    for record in records:
        made = record_prompts(record, renderer)
        if not made:
            tally.reject("no trained assistant turn with calls", str(record.get("id", "")))
        kept = 0
        for prompt in made:
            if max_prompt_length and tokenizer is not None:
                length = len(tokenizer(prompt.text, add_special_tokens=False)["input_ids"])
                if length > max_prompt_length:
                    tally.reject(f"prompt longer than max_prompt_length={max_prompt_length}", prompt.id)
                    continue
            prompts.append(prompt)
            kept += 1
        tally.written += kept > 0  # records that gave at least one prompt
    return prompts
