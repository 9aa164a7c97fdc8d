"""Evaluation throughput: the gain of length-sorted batching and of the exact-match fast path, as ratios
measured in one run on the same model and cases.

    python benchmarks/eval_throughput.py --model smollm2-135m --benchmark bfcl:simple_python --limit 16

Runs, in one process on the same cases:
  1. one case at a time (batch 1), no fast path            -- the baseline
  2. batches of --batch-size, length-sorted, no fast path   -- batching gain = t1 / t2
  3. as 2, with the fast path first                          -- end-to-end fast-path gain = t2 / t3
The fast path's gain depends on how many cases the model gets exactly right; the script also prints its
cost per case against generation's, which is the gain on a case it proves (an upper bound when every
case is proven).  Timings are wall clock; each configuration runs ``--repeats`` times, interleaved with
the others, and its fastest run counts, so that load from other processes disturbs the ratios less.
"""

from __future__ import annotations

import argparse
import os
import time

from tl_training.eval.benchmarks import load_cases, resolve
from tl_training.eval.fastpath import fast_path
from tl_training.eval.generate import generate_transformers, load_model
from tl_training.render import get_renderer


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--benchmark", default="bfcl:simple_python")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import torch

    cases = load_cases(resolve(args.benchmark, args.data_dir))[:args.limit]
    model, tokenizer = load_model(args.model, None, "float32", False)
    renderer = get_renderer("chat", tokenizer)
    prompts = [renderer.render_prompt(c) for c in cases]
    texts: dict[int, str] = {}

    def run(batch_size: int, sort: bool, subset: list[int]) -> None:
        generate_transformers(model, tokenizer, [prompts[i] for i in subset], stop_strings=renderer.stop_strings,
                              max_new_tokens=args.max_new_tokens, batch_size=batch_size, sort_by_length=sort,
                              on_batch=lambda idx, out: texts.update((subset[i], t) for i, t in zip(idx, out)))

    everything = list(range(len(cases)))
    proven_count = 0

    def single() -> None:
        run(1, False, everything)

    def batched() -> None:
        run(args.batch_size, True, everything)

    def check() -> None:
        fast_path(model, tokenizer, renderer, cases, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)

    def fast_then_generate() -> None:
        nonlocal proven_count
        proven = fast_path(model, tokenizer, renderer, cases, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        proven_count = len(proven)
        run(args.batch_size, True, [i for i in everything if i not in proven])

    configurations = {"single": single, "batched": batched, "check": check, "fast": fast_then_generate}
    best = {name: float("inf") for name in configurations}
    same = True
    for _ in range(args.repeats):
        for name, fn in configurations.items():
            seconds, _ = timed(fn)
            best[name] = min(best[name], seconds)
            if name == "single":
                single_texts = dict(texts)
            if name == "batched":
                same = same and single_texts == texts
    t_single, t_batched, t_check, t_fast, proven = best["single"], best["batched"], best["check"], best["fast"], proven_count
    print(f"model {args.model}, {args.benchmark}, {len(cases)} cases, max_new_tokens {args.max_new_tokens}, "
          f"fastest of {args.repeats} interleaved runs, "
          f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"batch 1, file order:            {t_single:8.1f} s")
    print(f"batch {args.batch_size}, length-sorted:       {t_batched:8.1f} s   batching gain x{t_single / t_batched:.2f}"
          f"   (same outputs as batch 1: {same})")
    print(f"fast path + batch {args.batch_size}:          {t_fast:8.1f} s   fast-path gain x{t_batched / t_fast:.2f}"
          f"   ({proven}/{len(cases)} cases proven exact)")
    print(f"fast-path check alone:          {t_check:8.1f} s   generation / check per case x{t_batched / t_check:.2f}"
          f"   (the gain on a proven case)")


if __name__ == "__main__":
    main()
