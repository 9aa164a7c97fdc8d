"""PKT throughput and peak memory against plain TRL SFT, on the same model, data and steps.

Three runs, each in a fresh process so that peak memory is its own:
  trl   -- TRL's SFTTrainer on the pre-tokenized sequences, loss on the assistant tokens (completion_mask)
  plain -- ours with pkt: false (weight 1 on every trained token)
  pkt   -- ours with PKT weights
Prints tokens/s (non-padding input tokens per second, after one warm-up step) and peak memory (RSS of
the process on CPU, torch.cuda.max_memory_allocated on GPU), and the ratios against trl.

  python benchmarks/pkt_throughput.py                          # CPU: SmolLM2-135M, 2 cores
  python benchmarks/pkt_throughput.py --model tiny             # CPU: a random 2-layer Llama (seconds)
  python benchmarks/pkt_throughput.py --device-profile gpu     # GPU: random ~1.1B Llama, bf16, length 2048
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from transformers import TrainerCallback

PROFILES = {
    "cpu": {"model": "smollm2-135m", "seq_len": 512, "batch_size": 2, "steps": 6, "bf16": False},
    "gpu": {"model": "random-llama-1b", "seq_len": 2048, "batch_size": 4, "steps": 20, "bf16": True},
}
TOOLS = ["getPaperDetails", "getPapersByKeywords", "get_weather", "get_weather_forecast", "search_flights", "finish"]


def synthetic_record(i: int, min_chars: int) -> dict:
    """A multi-turn tool-calling trajectory, long enough to fill the sequence length."""
    tools = [{"type": "function", "function": {"name": n, "description": f"{n.replace('_', ' ')} for the user",
              "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}} for n in TOOLS]
    messages = [{"role": "user", "content": f"Request {i}: find papers and the weather, then book a flight."}]
    turn = 0
    while sum(len(m["content"] or "") + 40 for m in messages) < min_chars:
        name = TOOLS[(i + turn) % (len(TOOLS) - 1)]
        messages += [
            {"role": "assistant", "content": f"Step {turn}: I call {name}.", "tool_calls": [
                {"type": "function", "function": {"name": name, "arguments": {"query": f"item {i}-{turn}"}}}]},
            {"role": "tool", "name": name, "content": json.dumps({"result": [f"value {k}" for k in range(8)]})},
        ]
        turn += 1
    messages.append({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "finish", "arguments": {"query": "done"}}}]})
    return {"id": f"bench/{i}", "tools": tools, "messages": messages}


def load_model_and_tokenizer(name: str, bf16: bool):
    import torch

    if name in ("tiny", "random-llama-1b"):
        from transformers import LlamaConfig, LlamaForCausalLM

        from tl_training.tiny import build_model, build_tokenizer

        tokenizer = build_tokenizer(kind="bpe")
        if name == "tiny":
            return build_model(tokenizer, hidden_size=256, num_layers=4), tokenizer
        config = LlamaConfig(  # TinyLlama-1.1B shape; random weights need no download
            vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
            num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=4096,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        )
        torch.manual_seed(0)
        return LlamaForCausalLM(config).to(torch.bfloat16 if bf16 else torch.float32), tokenizer
    from tl_training.models import load_causal_lm, load_tokenizer

    return load_causal_lm(name, dtype="bfloat16" if bf16 else "float32"), load_tokenizer(name)


def features(tokenizer, n: int, seq_len: int) -> tuple[list[dict], list[dict]]:
    """The same records as PKT features and as pkt: false features."""
    from tl_training.jsonl import Tally
    from tl_training.pkt.data import build_features
    from tl_training.render import get_renderer

    renderer = get_renderer("paper", tokenizer)
    records = [synthetic_record(i, min_chars=seq_len * 4) for i in range(n)]
    pkt, _ = build_features(records, renderer, tokenizer, Tally(), max_length=seq_len, pkt=True)
    plain, _ = build_features(records, renderer, tokenizer, Tally(), max_length=seq_len, pkt=False)
    if len(pkt) < n:
        sys.exit(f"only {len(pkt)} of {n} records keep a trained token within {seq_len} tokens: raise --seq-len")
    return pkt, plain


def run_one(kind: str, opts: argparse.Namespace) -> dict:
    import torch

    use_gpu = opts.device_profile == "gpu"
    model, tokenizer = load_model_and_tokenizer(opts.model, opts.bf16)
    pkt_features, plain_features = features(tokenizer, opts.batch_size * opts.steps, opts.seq_len)
    common = dict(
        output_dir=f"/tmp/pkt_bench_{kind}", per_device_train_batch_size=opts.batch_size, max_steps=opts.steps,
        learning_rate=1e-5, logging_steps=10_000, save_strategy="no", report_to="none", use_cpu=not use_gpu,
        bf16=opts.bf16, gradient_checkpointing=opts.gradient_checkpointing, train_sampling_strategy="sequential",
        include_num_input_tokens_seen="non_padding", seed=0,
    )
    timer = StepTimer()
    if kind == "trl":
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        rows = [{"input_ids": f["input_ids"], "completion_mask": [int(w > 0) for w in f["loss_weights"]]} for f in plain_features]
        trainer = SFTTrainer(
            model=model, args=SFTConfig(**common, max_length=opts.seq_len, completion_only_loss=True),
            train_dataset=Dataset.from_list(rows), processing_class=tokenizer, callbacks=[timer],
        )
    else:
        from tl_training.pkt.config import PKTConfig
        from tl_training.pkt.data import WeightedCollator
        from tl_training.pkt.trainer import PKTTrainer

        trainer = PKTTrainer(
            model=model, args=PKTConfig(**common, train_files=["synthetic"], pkt=kind == "pkt"),
            train_dataset=pkt_features if kind == "pkt" else plain_features,
            data_collator=WeightedCollator(tokenizer.pad_token_id), processing_class=tokenizer, callbacks=[timer],
        )
    if use_gpu:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed_tokens = trainer.state.num_input_tokens_seen - timer.tokens_at_warmup
    peak = torch.cuda.max_memory_allocated() if use_gpu else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"kind": kind, "tokens_per_s": timed_tokens / (time.perf_counter() - timer.start), "peak_bytes": peak}


class StepTimer(TrainerCallback):
    """Starts the clock after the first optimizer step (warm-up: allocations, kernels, caches)."""

    start, tokens_at_warmup = None, 0

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            self.start, self.tokens_at_warmup = time.perf_counter(), state.num_input_tokens_seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device-profile", choices=sorted(PROFILES), default="cpu")
    parser.add_argument("--model", help="smollm2-135m, tiny, random-llama-1b, or a local path")
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--run-one", choices=["trl", "plain", "pkt"], help=argparse.SUPPRESS)
    opts = parser.parse_args()
    for key, value in PROFILES[opts.device_profile].items():
        if getattr(opts, key, None) is None:
            setattr(opts, key, value)
    if opts.run_one:
        print("RESULT " + json.dumps(run_one(opts.run_one, opts)))
        return
    results = {}
    for kind in ("trl", "plain", "pkt"):
        argv = sys.argv[1:] + ["--run-one", kind]
        done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
        line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
        if done.returncode or line is None:
            sys.exit(f"run {kind} failed:\n{done.stderr[-3000:]}")
        results[kind] = json.loads(line[len("RESULT "):])
    base = results["trl"]
    print(f"profile {opts.device_profile}: model {opts.model}, seq_len {opts.seq_len}, batch {opts.batch_size}, "
          f"steps {opts.steps} (first one not timed), bf16 {opts.bf16}, gradient_checkpointing {opts.gradient_checkpointing}")
    print(f"{'run':6} {'tokens/s':>10} {'x trl':>7} {'peak MiB':>10} {'x trl':>7}")
    for kind, r in results.items():
        print(f"{kind:6} {r['tokens_per_s']:10.1f} {r['tokens_per_s'] / base['tokens_per_s']:7.3f} "
              f"{r['peak_bytes'] / 2**20:10.0f} {r['peak_bytes'] / base['peak_bytes']:7.3f}")


if __name__ == "__main__":
    main()
