"""Multi-turn rollouts: generate, parse, execute, append the tool results, continue up to a turn cap.

An episode is one token sequence: the first prompt's tokens, then each turn's **sampled tokens as they
were sampled** (never decoded and tokenized again) followed by the tokens of what the environment added
(tool results, the next user turn, the next generation prompt).  The environment's text is the renderer's:
the conversation as the environment holds it is rendered, and the text after the model's turn -- less a
stop string the model already wrote, plus what the format puts after the stop inside the turn (the
newline after ``<|im_end|>``) -- is tokenized on its own and appended.
``action`` marks the sampled tokens: the only ones with a policy loss, a KL term and a value target.

Rewards are placed on the sampled tokens: each call's at the token that completes it (found by parsing
growing prefixes of the turn with the one parser; the turn's last call, and any call not located, at the
turn's last token), a format error at its turn's last token, the outcome term at the episode's last
sampled token.  An episode ends when the environment says so, when a turn is cut by ``max_new_tokens``,
at ``max_turns`` generations or when its tokens would pass ``max_episode_length`` (each truncates it: the
task check fails).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..calls import parse_calls
from ..environments import Environment, Outcome, executable
from ..generation import completion_text, stop_length
from .episode_reward import CallGrade, EpisodeGrader

Sample = Callable[[list[list[int]]], list[list[int]]]  # contexts -> the tokens sampled after each


@dataclass
class Episode:
    case_id: str
    prompt: list[int]
    response: list[int] = field(default_factory=list)  # sampled and environment tokens, in order
    action: list[int] = field(default_factory=list)  # 1 where ``response`` holds a sampled token
    rewards: list[tuple[int, float]] = field(default_factory=list)  # (index into response, reward)
    grades: list[CallGrade] = field(default_factory=list)
    sampled: list[list[int]] = field(default_factory=list)  # each turn's sampled tokens, as generate gave them
    outcome: Outcome | None = None
    outcome_reward: float = 0.0

    @property
    def total_reward(self) -> float:
        return sum(r for _, r in self.rewards)

    def extend(self, ids: list[int], sampled: bool) -> None:
        self.response += ids
        self.action += [int(sampled)] * len(ids)


def environment_text(renderer, record: dict[str, Any], assistant_index: int, ending: str) -> str:
    """What the conversation adds after the model's turn at ``assistant_index``, whose sampled tokens ended
    with ``ending`` (the stop token's or stop string's text): the rendered prompt's text after that turn,
    less what the model already wrote (a stop string the format puts after the turn, ``\nOutput:``),
    plus what the format puts after the stop within the turn (``<|im_end|>`` then ``\n``)."""
    rendered = renderer.render(record)
    prompt = renderer.render_prompt(record)
    turn = next(t for t in rendered.turns if t.message_index == assistant_index)
    start, end = turn.span
    if prompt[:end] != rendered.text[:end]:
        raise ValueError(f"renderer {renderer.name}: the prompt of record {record.get('id')!r} does not extend its "
                         "rendered conversation, so environment tokens cannot be appended to sampled ones")
    after = prompt[end:]
    marker = ending.strip()
    within = rendered.text.rfind(marker, start, end) if marker else -1
    if within >= 0:
        return rendered.text[within + len(marker):end] + after
    return after[len(ending):] if ending and after.startswith(ending) else after


def call_ends(tokenizer, ids: list[int], calls: list[dict[str, Any]], syntax: str) -> list[int]:
    """The index in ``ids`` of the token completing each of ``calls`` (the turn's last token for the last call
    and for any call no shorter prefix of the turn parses to)."""
    last = len(ids) - 1
    ends = [last] * len(calls)
    if len(calls) < 2:
        return ends
    found = 0
    for k in range(1, len(ids)):
        parsed = parse_calls(tokenizer.decode(ids[:k], skip_special_tokens=False), syntax)
        made = executable(parsed.calls) if parsed.ok else []
        while found < len(calls) - 1 and len(made) > found and made[found] == calls[found]:
            ends[found] = k - 1
            found += 1
        if found == len(calls) - 1:
            break
    return ends


class EpisodeRunner:
    """Runs a batch of episodes, one environment each, turn by turn with batched generation."""

    def __init__(self, tokenizer, renderer, sample: Sample, *, syntax: str, stop_ids: set[int], max_turns: int,
                 max_new_tokens: int, max_episode_length: int, outcome_reward: float, rewards=None, clip: float = 5.0):
        self.tokenizer, self.renderer, self.sample, self.syntax = tokenizer, renderer, sample, syntax
        self.stop_ids, self.stop_strings = stop_ids, renderer.stop_strings
        self.max_turns, self.max_new_tokens, self.max_episode_length = max_turns, max_new_tokens, max_episode_length
        self.outcome_reward, self.rewards, self.clip = outcome_reward, rewards, clip
        self.seconds = {"generate": 0.0, "tools": 0.0, "judge": 0.0}

    def tokens(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]  # the rendered text holds its BOS

    def run(self, cases: list[dict[str, Any]], environments: list[Environment]) -> list[Episode]:
        episodes, graders, open_ = [], [], []
        for case, env in zip(cases, environments, strict=True):
            record = env.reset(case)
            episodes.append(Episode(str(case.get("id", "")), self.tokens(self.renderer.render_prompt(record))))
            graders.append(EpisodeGrader(env.gold, self.rewards, self.clip))
            open_.append(len(episodes) - 1)
        for turn in range(self.max_turns):
            if not open_:
                break
            started = time.perf_counter()
            new = self.sample([episodes[i].prompt + episodes[i].response for i in open_])
            self.seconds["generate"] += time.perf_counter() - started
            still_open = []
            for i, ids in zip(open_, new, strict=True):
                if self._turn(episodes[i], environments[i], graders[i], ids, last_turn=turn == self.max_turns - 1):
                    still_open.append(i)
            open_ = still_open
        for episode, env in zip(episodes, environments):
            episode.outcome = env.outcome()
            if episode.outcome.success and self.outcome_reward and any(episode.action):
                episode.outcome_reward = self.outcome_reward
                episode.rewards.append((max(i for i, a in enumerate(episode.action) if a), self.outcome_reward))
        return episodes

    def _turn(self, episode: Episode, env: Environment, grader: EpisodeGrader, ids: list[int], last_turn: bool) -> bool:
        """One turn of one episode; True when the episode goes on."""
        stop = stop_length(self.tokenizer, ids, self.stop_strings, self.stop_ids)
        ids = ids[:stop] if stop else ids
        if not ids:  # nothing sampled (a zero-length turn cannot carry a reward): the episode ends
            env.truncate("empty turn")
            return False
        start = len(episode.response)
        episode.sampled.append(list(ids))
        episode.extend(ids, sampled=True)
        text = completion_text(self.tokenizer, ids, self.stop_strings, self.stop_ids)
        written = self.tokenizer.decode(ids, skip_special_tokens=False)
        ending = written[len(text):] if written.startswith(text) else ""  # the stop token's or string's text
        started = time.perf_counter()
        parsed = parse_calls(text, self.syntax)
        calls = executable(parsed.calls) if parsed.ok else []
        assistant_index = len(env.record["messages"])
        step = env.step(calls, text)
        self.seconds["tools"] += time.perf_counter() - started
        started = time.perf_counter()
        if not parsed.ok:
            episode.grades.append(grader.format_error())
            episode.rewards.append((start + len(ids) - 1, episode.grades[-1].reward))
        ends = call_ends(self.tokenizer, ids, calls, self.syntax)
        for result, end in zip(step.results, ends, strict=True):
            episode.grades.append(grader.grade(result.call, result.content, result.rejected, env.record))
            episode.rewards.append((start + end, episode.grades[-1].reward))
        self.seconds["judge"] += time.perf_counter() - started
        if stop is None:  # the turn was cut: whatever it said is not a finished turn
            env.truncate(f"turn cut at max_new_tokens={self.max_new_tokens}")
            return False
        if step.done:
            return False
        if last_turn:
            env.truncate(f"turn cap: still going after max_turns={self.max_turns} turns")
            return False
        added = self.tokens(environment_text(self.renderer, env.record, assistant_index, ending))
        if len(episode.prompt) + len(episode.response) + len(added) + self.max_new_tokens > self.max_episode_length:
            env.truncate(f"episode longer than max_episode_length={self.max_episode_length} tokens")
            return False
        episode.extend(added, sampled=False)
        return True
