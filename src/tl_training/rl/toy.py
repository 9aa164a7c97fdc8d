"""A toy tool-choice task whose right answer is learnable, and a tiny model warm-started on it.

The query names a colour; ``red`` means call ``alpha()``, ``blue`` means ``beta()``.  The warm start is
a short SFT on answers whose tool is drawn at random, so the model writes well-formed calls but picks
the tool by chance (mean reward near (1 - 1.5) / 2): only the reward can teach it which colour means
which tool.  Used by the RL tests and as a quick smoke run (``tl-training rl`` on a tiny model).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..record import make_call

TOOLS = [{"type": "function", "function": {"name": name, "description": f"The {name} tool.",
                                           "parameters": {"type": "object", "properties": {}}}}
         for name in ("alpha", "beta")]
COLOUR_TOOL = {"red": "alpha", "blue": "beta"}
TEMPLATES = ["Please use the {} tool.", "I want the {} one.", "Call the {} tool now.", "The {} tool, please."]


def toy_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` eval-case records (balanced colours) with their gold call."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        colour = ("red", "blue")[i % 2]
        query = rng.choice(TEMPLATES).format(colour)
        records.append({"id": f"toy/{i}", "tools": TOOLS, "messages": [{"role": "user", "content": query}],
                        "gold": [[make_call(COLOUR_TOOL[colour])]]})
    return records


def toy_corpus() -> list[str]:
    from ..tiny import DEFAULT_CORPUS

    return DEFAULT_CORPUS + [t.format(c) for t in TEMPLATES for c in COLOUR_TOOL] + ["alpha() beta() Assistant: User:"] * 3


def save_toy_model(path: str | Path, records: list[dict[str, Any]], warm_steps: int = 60, seed: int = 0) -> Path:
    """A tiny random model and tokenizer, trained ``warm_steps`` steps on random-tool answers, saved to ``path``."""
    import torch

    from ..render import get_renderer
    from ..tiny import build_model, build_tokenizer

    tokenizer = build_tokenizer(toy_corpus())
    model = build_model(tokenizer, seed=seed)
    renderer = get_renderer("paper", tokenizer)  # as `tl-training rl` renders them
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(warm_steps):
        batch = rng.sample(records, min(16, len(records)))
        rows = []
        for record in batch:
            prompt = tokenizer(renderer.render_prompt(record), add_special_tokens=False)["input_ids"]
            answer = renderer.render_completion([make_call(rng.choice(list(COLOUR_TOOL.values())))])
            completion = tokenizer(answer, add_special_tokens=False)["input_ids"]
            rows.append((prompt + completion, [-100] * len(prompt) + completion))
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.tensor([ids + [tokenizer.pad_token_id] * (width - len(ids)) for ids, _ in rows])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
        loss = model(input_ids=input_ids, attention_mask=(labels != -100) | (input_ids != tokenizer.pad_token_id), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return Path(path)


__all__ = ["COLOUR_TOOL", "TOOLS", "save_toy_model", "toy_records"]
