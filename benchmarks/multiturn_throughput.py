"""BFCL multi-turn throughput: the gain of reusing the previous step's cache (``batching.ConversationStore``),
as a ratio measured in one run on the same model and episodes.

    python benchmarks/multiturn_throughput.py --model smollm2-135m --limit 2 --max-steps 3

Runs, in one process on the same episodes, each configuration ``--repeats`` times interleaved (the fastest
counts, so load from other processes disturbs the ratio less):
  1. every step's prompt run whole                      -- the baseline
  2. each step continuing the last one's cache           -- conversation gain = t1 / t2
and checks that both produce the same outputs at every step.
"""

from __future__ import annotations

import argparse
import os
import time

from tl_training.eval.benchmarks import load_cases, resolve
from tl_training.eval.generate import generate_transformers, load_model
from tl_training.eval.multiturn import run_episode, transformers_generator
from tl_training.render import get_renderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--benchmark", default="bfcl:multi_turn_base")
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--prompt-format", choices=("chat", "paper"), default="paper")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    cases = load_cases(resolve(args.benchmark))[:args.limit]
    model, tokenizer = load_model(args.model, None, "float32", False)
    renderer = get_renderer(args.prompt_format, tokenizer)
    prompts_seen: list[str] = []  # counted after the timing, so the baseline does no extra work

    def whole(prompt: str) -> str:
        prompts_seen.append(prompt)
        texts: list[str] = []
        generate_transformers(model, tokenizer, [prompt], stop_strings=renderer.stop_strings,
                              max_new_tokens=args.max_new_tokens, batch_size=1,
                              on_batch=lambda _, out: texts.extend(out))
        return texts[0]

    def episodes(generate) -> list[list[str]]:
        return [[step["output"] for turn in run_episode(case, generate, renderer, renderer.call_syntax, args.max_steps).turns
                 for step in turn["steps"]] for case in cases]

    configurations = {
        "whole": lambda: episodes(whole),
        "continued": lambda: episodes(transformers_generator(model, tokenizer, renderer, args.max_new_tokens)),
    }
    best = {name: float("inf") for name in configurations}
    outputs = {}
    for _ in range(args.repeats):
        for name, run in configurations.items():
            start = time.perf_counter()
            outputs[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
    steps = sum(len(o) for o in outputs["whole"])
    prompt_tokens = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts_seen]
    print(f"model {args.model}, {args.benchmark}, {len(cases)} episodes, {steps} generations "
          f"(prompts of {min(prompt_tokens)}-{max(prompt_tokens)} tokens), max_steps {args.max_steps}, "
          f"max_new_tokens {args.max_new_tokens}, fastest of {args.repeats} interleaved runs, "
          f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"every prompt whole:        {best['whole']:8.1f} s")
    print(f"continuing the last cache: {best['continued']:8.1f} s   conversation gain x{best['whole'] / best['continued']:.2f}"
          f"   (same outputs at every step: {outputs['whole'] == outputs['continued']})")


if __name__ == "__main__":
    main()
