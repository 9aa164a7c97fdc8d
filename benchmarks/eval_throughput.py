"""Evaluation throughput: the gains of length-sorted batching, of prefilling shared prompt heads once and
of the exact-match fast path, as ratios measured in one run on the same model and cases.

    python benchmarks/eval_throughput.py --model smollm2-135m --benchmark bfcl:simple_python --limit 16

Runs, in one process on the same cases:
  1. one case at a time (batch 1), no fast path              -- the baseline
  2. batches of --batch-size, length-sorted, no fast path     -- batching gain = t1 / t2
  3. batches of --batch-size, shared heads prefilled once      -- prefix gain = t2 / t3
  4. as 3, with the fast path first                            -- end-to-end fast-path gain = t3 / t4
The fast path's gain depends on how many cases the model gets exactly right; the script also prints its
cost per case against generation's, which is the gain on a case it proves (an upper bound when every
case is proven).  Timings are wall clock; each configuration runs ``--repeats`` times, interleaved with
the others, and its fastest run counts, so that load from other processes disturbs the ratios less.
"""

from __future__ import annotations

import argparse
import os
import time

from tl_training.eval.batching import plan
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
    parser.add_argument("--prompt-format", choices=("chat", "paper"), default="chat")
    parser.add_argument("--skip-single", action="store_true", help="leave out batch 1 (slow on long prompts)")
    parser.add_argument("--skip-fast-path", action="store_true", help="leave out the fast-path configurations")
    args = parser.parse_args()

    import torch

    cases = load_cases(resolve(args.benchmark, args.data_dir))[:args.limit]
    model, tokenizer = load_model(args.model, None, "float32", False)
    renderer = get_renderer(args.prompt_format, tokenizer)
    prompts = [renderer.render_prompt(c) for c in cases]
    texts: dict[int, str] = {}

    def run(batch_size: int, order: str, subset: list[int]) -> None:
        generate_transformers(model, tokenizer, [prompts[i] for i in subset], stop_strings=renderer.stop_strings,
                              max_new_tokens=args.max_new_tokens, batch_size=batch_size, order=order,
                              on_batch=lambda idx, out: texts.update((subset[i], t) for i, t in zip(idx, out)))

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]

    def planned_prefill(order: str) -> int:
        """Tokens the model runs to prefill every prompt: padded batch widths plus each cached head once."""
        batches = plan(model, encoded, args.batch_size, order)
        heads = {tuple(encoded[i][:length]) for batch in batches for i, length in batch if length}
        return sum(len(b) * max(len(encoded[i]) - length for i, length in b) for b in batches) + sum(map(len, heads))

    everything = list(range(len(cases)))
    proven_count = 0

    def single() -> None:
        run(1, "file", everything)

    def batched() -> None:
        run(args.batch_size, "length", everything)

    def prefixed() -> None:
        run(args.batch_size, "prefix", everything)

    def check() -> None:
        fast_path(model, tokenizer, renderer, cases, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)

    def fast_then_generate() -> None:
        nonlocal proven_count
        proven = fast_path(model, tokenizer, renderer, cases, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        proven_count = len(proven)
        run(args.batch_size, "prefix", [i for i in everything if i not in proven])

    configurations = {"single": single, "batched": batched, "prefixed": prefixed, "check": check,
                      "fast": fast_then_generate}
    if args.skip_single:
        del configurations["single"]
    if args.skip_fast_path:
        del configurations["check"], configurations["fast"]
    best = {name: float("inf") for name in configurations}
    outputs: dict[str, dict[int, str]] = {}
    for _ in range(args.repeats):
        for name, fn in configurations.items():
            texts.clear()
            seconds, _ = timed(fn)
            best[name] = min(best[name], seconds)
            if name in ("single", "batched", "prefixed"):
                outputs[name] = dict(texts)
    reference = "single" if "single" in outputs else "batched"
    same = {name: outputs[name] == outputs[reference] for name in ("batched", "prefixed")}
    t_batched, t_prefixed = best["batched"], best["prefixed"]
    print(f"model {args.model}, {args.benchmark}, {len(cases)} cases, max_new_tokens {args.max_new_tokens}, "
          f"fastest of {args.repeats} interleaved runs, "
          f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"prefill tokens planned: {planned_prefill('length')} length-sorted, {planned_prefill('prefix')} with "
          f"shared heads once ({sum(map(len, encoded))} "
          f"in the prompts)")
    if "single" in best:
        print(f"batch 1, file order:            {best['single']:8.1f} s")
        print(f"batch {args.batch_size}, length-sorted:       {t_batched:8.1f} s   batching gain x{best['single'] / t_batched:.2f}"
              f"   (same outputs as batch 1: {same['batched']})")
    else:
        print(f"batch {args.batch_size}, length-sorted:       {t_batched:8.1f} s   (the baseline: batch 1 skipped)")
    print(f"batch {args.batch_size}, shared heads once:   {t_prefixed:8.1f} s   prefix gain x{t_batched / t_prefixed:.2f}"
          f"   (same outputs as {'batch 1' if reference == 'single' else 'length-sorted'}: {same['prefixed']})")
    if "fast" in best:
        print(f"fast path + batch {args.batch_size}:          {best['fast']:8.1f} s   fast-path gain "
              f"x{t_prefixed / best['fast']:.2f}   ({proven_count}/{len(cases)} cases proven exact)")
        print(f"fast-path check alone:          {best['check']:8.1f} s   generation / check per case "
              f"x{t_prefixed / best['check']:.2f}   (the gain on a proven case)")


if __name__ == "__main__":
    main()
