"""The episode reward: an IRM category reward for every call of a multi-turn episode, plus an outcome term.

Each executed call is graded once, in the order the model made it:

- **against gold** where the environment has gold calls (the tool world): ``verdict.judge`` grades the call
  against every gold call not yet made (each an acceptable alternative); a correct call uses its gold call
  up, so repeating a right call earns nothing more; a call once every gold call is made is graded against
  "no call expected" (``wrong_tool``, or ``tool_hallucination`` for an unknown name);
- **from its feedback** where there is no gold (BFCL): ``mae.check_call`` against the tool list, then
  ``mae.classify_feedback`` on the tool's answer, mapped to the category the same mistake gets from the
  judge (``FEEDBACK_CATEGORY``); a call the environment refused without a recognised reason is a
  ``content_error``; a call that ran is ``accepted`` and earns 0 (running is not being right: the outcome
  term says whether the episode did the task).

A turn that tried to call and failed to parse is one ``format_error``.  The outcome term,
``outcome_reward`` (default 1.0, one correct call's worth), is added when the environment's task check
passes.  Every reward is clipped to +-``reward_clip``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..mae import check_call, classify_feedback
from ..verdict import CATEGORIES, RewardTable, judge
from .reward import clip_reward

# MAE's reason -> the judge's category for the same mistake, and the flags of a parameter error
FEEDBACK_CATEGORY = {"unknown_tool": "tool_hallucination", "missing_argument": "parameter_error",
                     "unexpected_argument": "parameter_error", "invalid_argument": "content_error",
                     "client_error": "content_error", "tool_error": "content_error"}
FEEDBACK_FLAGS = {"missing_argument": ("missing",), "unexpected_argument": ("hallucinated",)}
ACCEPTED = "accepted"  # a call graded from feedback that ran: neither right nor wrong
LABELS = CATEGORIES + (ACCEPTED,)


@dataclass(frozen=True)
class CallGrade:
    category: str  # one of LABELS
    reward: float
    source: str  # "verdict", "feedback" or "parse"


def category_reward(category: str, flags: tuple[str, ...], rewards: RewardTable) -> float:
    return rewards.parameter(flags) if category == "parameter_error" else getattr(rewards, category)


class EpisodeGrader:
    """Grades one episode's calls; ``gold`` is the environment's (None: grade from feedback)."""

    def __init__(self, gold: list[dict[str, Any]] | None, rewards: RewardTable | None = None, clip: float = 5.0):
        self.pending = None if gold is None else list(gold)
        self.rewards, self.clip = rewards or RewardTable(), clip

    def format_error(self) -> CallGrade:
        return CallGrade("format_error", clip_reward(self.rewards.format_error, self.clip), "parse")

    def grade(self, call: dict[str, Any], feedback: str, rejected: bool, record: dict[str, Any]) -> CallGrade:
        """The grade of one executed ``call`` whose tool answered ``feedback``, in ``record``'s context."""
        tools = record["tools"]
        if self.pending is not None:
            verdict = judge([call], [[g] for g in self.pending] or [[]], tools, rewards=self.rewards)
            if verdict.category == "correct" and self.pending:
                del self.pending[verdict.gold_index]
            return CallGrade(verdict.category, clip_reward(verdict.reward, self.clip), "verdict")
        finding = check_call(call, record) or classify_feedback(feedback, call)
        if finding is not None and finding.reason in FEEDBACK_CATEGORY:
            category = FEEDBACK_CATEGORY[finding.reason]
            reward = category_reward(category, FEEDBACK_FLAGS.get(finding.reason, ()), self.rewards)
        elif rejected:  # refused, but for no reason the classifier names: the tool's own error
            category, reward = "content_error", self.rewards.content_error
        else:  # ran, or failed through no fault of the call (environment_error)
            category, reward = ACCEPTED, 0.0
        return CallGrade(category, clip_reward(reward, self.clip), "feedback")


def label_counts(grades: list[CallGrade]) -> list[int]:
    """Counts per label, in ``LABELS`` order (summable across processes)."""
    counts = Counter(g.category for g in grades)
    return [counts[label] for label in LABELS]
