"""A toy tool-use task whose right answer is learnable, and a tiny model warm-started on it.

Every query asks for the same call, ``alpha()``; a second tool, ``beta()``, is the wrong choice.  The
warm start is a short SFT on answers whose tool is drawn at random, so the model writes well-formed calls
but picks the tool by chance (mean reward near (1 - 1.5) / 2 = -0.25): only the reward can teach it
which one is right.  A fixture of the RL tests.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tl_training.record import make_call

TOOLS = [{"type": "function", "function": {"name": name, "description": f"The {name} tool.",
                                           "parameters": {"type": "object", "properties": {}}}}
         for name in ("alpha", "beta")]
GOLD_TOOL, WRONG_TOOL = "alpha", "beta"
QUERIES = ["Please help me.", "I need the right tool.", "Do the task now.", "Can you handle this?",
           "Run it, please.", "What should be called?"]


def toy_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` eval-case records (README, The record) whose gold is ``alpha()``."""
    rng = random.Random(seed)
    return [{"id": f"toy/{i}", "tools": TOOLS, "messages": [{"role": "user", "content": rng.choice(QUERIES)}],
             "gold": [[make_call(GOLD_TOOL)]]} for i in range(n)]


def toy_corpus() -> list[str]:
    from tl_training.tiny import DEFAULT_CORPUS

    return DEFAULT_CORPUS + QUERIES + ["alpha() beta() Assistant: User: System: Function:"] * 3


def save_toy_model(path: str | Path, records: list[dict[str, Any]], warm_steps: int = 30, seed: int = 0) -> Path:
    """A tiny random model and tokenizer, trained ``warm_steps`` steps on random-tool answers in the paper
    format (as ``tl-training rl`` renders them), saved to ``path``."""
    from tl_training.render import get_renderer
    from tl_training.tiny import build_tokenizer

    tokenizer = build_tokenizer(toy_corpus())
    renderer = get_renderer("paper", tokenizer)

    def row(record, rng):
        prompt = tokenizer(renderer.render_prompt(record), add_special_tokens=False)["input_ids"]
        answer = renderer.render_completion([make_call(rng.choice((GOLD_TOOL, WRONG_TOOL)))])
        completion = tokenizer(answer, add_special_tokens=False)["input_ids"]
        return prompt + completion, [-100] * len(prompt) + completion

    return _warm_started(path, tokenizer, records, row, warm_steps, seed)


def _warm_started(path, tokenizer, records, row, warm_steps: int, seed: int) -> Path:
    """A tiny random model trained ``warm_steps`` steps on batches of 8 ``row(record, rng) -> (ids, labels)``,
    saved with its tokenizer to ``path``."""
    import torch

    from tl_training.tiny import build_model

    model = build_model(tokenizer, seed=seed)
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(warm_steps):
        rows = [row(record, rng) for record in rng.sample(records, min(8, len(records)))]
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.tensor([ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids, _ in rows])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in rows])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
        model(input_ids=input_ids, attention_mask=attention, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return Path(path)


class ToyEnvironment:
    """A two-turn toy episode over the same task: call ``alpha()`` (``beta()`` is the wrong tool, and runs
    too), then answer.  Gold ``alpha()``; the task check passes when ``alpha`` ran and the model answered."""

    def reset(self, case: dict[str, Any]) -> dict[str, Any]:
        from tl_training.record import make_call

        self.record = {"id": case["id"], "tools": TOOLS, "messages": [dict(m) for m in case["messages"]]}
        self.gold = [make_call(GOLD_TOOL)]
        self.called, self.done, self.truncated = set(), False, False
        return self.record

    def step(self, calls, content=""):
        from tl_training.environments import Step, ToolResult
        from tl_training.environments.base import append_result, append_turn

        append_turn(self.record, calls, content)
        if not calls:
            self.done = True
            return Step([], True)
        results = [ToolResult(c, "ok", False) for c in calls]
        for result in results:
            append_result(self.record, result)
        self.called |= {c["name"] for c in calls}
        return Step(results, False)

    def truncate(self, reason):
        self.truncated = self.done = True

    def outcome(self):
        from tl_training.environments import Outcome

        return Outcome(GOLD_TOOL in self.called and not self.truncated)


def save_episode_toy_model(path: str | Path, records: list[dict[str, Any]], warm_steps: int = 40, seed: int = 0) -> Path:
    """A tiny model warm-started on whole toy episodes in the paper format: a call to a random tool, its
    ``ok``, then the answer ``Done.`` (so it writes calls and stops, and picks the tool by chance)."""
    from tl_training.record import openai_tool_call
    from tl_training.render import get_renderer
    from tl_training.tiny import build_tokenizer

    tokenizer = build_tokenizer(toy_corpus() + ["Done. ok Output:"] * 3)
    renderer = get_renderer("paper", tokenizer)

    def row(record, rng):
        name = rng.choice((GOLD_TOOL, WRONG_TOOL))
        episode = {**record, "messages": record["messages"] + [
            {"role": "assistant", "content": "", "tool_calls": [openai_tool_call(make_call(name))]},
            {"role": "tool", "name": name, "content": "ok"}, {"role": "assistant", "content": "Done."}]}
        rendered = renderer.render(episode)
        encoded = tokenizer(rendered.text, add_special_tokens=False, return_offsets_mapping=True)
        labels = [token if any(t.span[0] <= start < t.span[1] for t in rendered.turns) else -100
                  for token, (start, _) in zip(encoded["input_ids"], encoded["offset_mapping"])]
        return encoded["input_ids"], labels

    return _warm_started(path, tokenizer, records, row, warm_steps, seed)


def train_episodes(overrides: list[str]) -> list[dict[str, Any]]:
    """Episode-mode RL on ``ToyEnvironment`` over ``toy_records(16)``; ``overrides`` are the ``rl`` command's
    (model, output_dir, ...).  Run in-process by the tests, or as a launcher's script (below)."""
    from tl_training.models import load_tokenizer
    from tl_training.render import get_renderer
    from tl_training.rl.config import load_config
    from tl_training.rl.episode import run_episodes

    config = load_config(None, overrides)
    tokenizer = load_tokenizer(config.model)
    records = [{k: v for k, v in r.items() if k != "gold"} for r in toy_records(16)]
    return run_episodes(config, records, tokenizer, get_renderer("paper", tokenizer),
                        make_environment=lambda case: ToyEnvironment())


if __name__ == "__main__":  # a launcher's child: accelerate launch ... tests/rl_toy.py model=... output_dir=...
    import sys

    train_episodes(sys.argv[1:])
