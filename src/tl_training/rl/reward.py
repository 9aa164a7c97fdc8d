"""The IRM reward of generated text: a thin adapter over ``verdict.judge`` (the one classifier)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Sequence

from ..verdict import CATEGORIES, RewardTable, Verdict, judge


def clip_reward(reward: float, bound: float) -> float:
    return max(-bound, min(bound, reward))


def score_texts(texts: Sequence[str], golds: Sequence[list], tools: Sequence[list], rewards: RewardTable | None = None,
                clip: float = 5.0) -> tuple[list[float], list[Verdict]]:
    """Clipped rewards and the verdicts of completions, each against its own gold and tools."""
    verdicts = [judge(text, gold, tool_list, rewards=rewards) for text, gold, tool_list in zip(texts, golds, tools, strict=True)]
    return [clip_reward(v.reward, clip) for v in verdicts], verdicts


def category_counts(verdicts: Sequence[Verdict]) -> list[int]:
    """Counts per category, in ``verdict.CATEGORIES`` order (summable across processes)."""
    counts = Counter(v.category for v in verdicts)
    return [counts[c] for c in CATEGORIES]


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stop_strings if s and s in text), default=len(text))
    return text[:cut]


class GRPOReward:
    """A TRL reward function: ``gold`` and ``tools`` arrive as JSON-string dataset columns (Arrow cannot
    type them), decoded per completion.  The text after a stop string is not graded (TRL generation
    stops only at EOS)."""

    __name__ = "irm_reward"  # TRL names the logged reward after the function

    def __init__(self, rewards: RewardTable | None = None, clip: float = 5.0, stop_strings: Sequence[str] = ()):
        self.rewards, self.clip, self.stop_strings = rewards, clip, list(stop_strings)

    def __call__(self, prompts: list, completions: list, gold: list[str], tools: list[str], **_: Any) -> list[float]:
        texts = [cut_at_stop(c, self.stop_strings) for c in completions]
        rewards, _verdicts = score_texts(texts, [json.loads(g) for g in gold], [json.loads(t) for t in tools],
                                         self.rewards, self.clip)
        return rewards


__all__ = ["CATEGORIES", "GRPOReward", "category_counts", "clip_reward", "cut_at_stop", "score_texts"]
