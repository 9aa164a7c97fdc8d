"""``tl-training sft --config C.yaml [key=value ...]``: PKT weighted SFT (``pkt: false`` = standard SFT).

Runs unchanged as a single process, under ``accelerate launch`` and under ``torchrun``: the Trainer
places the model and shards the data; only rank 0 prints and writes reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelNotFound, RecordError, UserError


def register(subparsers) -> None:
    parser = subparsers.add_parser("sft", help="PKT weighted SFT (pkt: false gives standard SFT)")
    parser.add_argument("--config", help="YAML file whose keys are the fields of PKTConfig")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override a config field (YAML value)")
    parser.set_defaults(func=run)
    _register_inspect(subparsers)


def _register_inspect(subparsers) -> None:
    from .inspect import register as register_inspect

    register_inspect(subparsers)


def load_training_data(config, tokenizer, main: bool = True):
    """Features of every train file, the tally of records read/kept/rejected, and how many were truncated;
    the main process says which file it reads and shows the records' progress."""
    import sys

    from tqdm import tqdm

    from ..jsonl import Tally, read_records, reading_notice
    from ..render import get_renderer
    from .config import layout_of
    from .data import build_features

    renderer = get_renderer(config.prompt_format, tokenizer, layout_of(config))
    tally, features, truncated = Tally(), [], 0
    for path in config.train_files:
        if main:
            reading_notice(path, "sft")
        records = tqdm(read_records(path, tally, strict=config.strict), desc="sft: records", unit=" records",
                       file=sys.stderr, disable=None if main else True)
        part, cut = build_features(
            records, renderer, tokenizer, tally,
            max_length=config.max_length, pkt=config.pkt, w_max=config.w_max,
            argument_key_weight=config.argument_key_weight,
        )
        features += part
        truncated += cut
    return features, tally, truncated


def build_model(config):
    from ..models import load_causal_lm, lora_config

    kwargs = {}
    if config.load_in_4bit:
        import torch
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16 if config.bf16 else torch.float16
        )
    model = load_causal_lm(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code, **kwargs)
    if not config.lora:
        if config.load_in_4bit:
            raise ValueError("load_in_4bit trains only through an adapter: set lora: true (QLoRA)")
        return model
    from peft import get_peft_model, prepare_model_for_kbit_training

    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    elif config.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
    return get_peft_model(model, lora_config(config))


def check_report_to(config) -> None:
    """Every integration in ``report_to`` is installed (Trainer finds out only when it builds its callbacks)."""
    from transformers.integrations import get_available_reporting_integrations

    missing = [name for name in config.report_to if name not in get_available_reporting_integrations()]
    if missing:
        raise ValueError(f"field report_to: {', '.join(missing)} is not installed (pip install {missing[0]}), "
                         "or set report_to: none")


@dataclass(frozen=True)
class SFTResult:
    """What an sft run left: the trained model's folder, its step count and loss, the records read (the
    tally), how many were truncated, and ``sft_report.json``'s figures (None on ranks other than 0)."""

    output_dir: Path
    steps: int
    train_loss: float
    records: dict[str, Any]
    truncated: int
    report: dict[str, Any] | None


def load_checked(source, overrides: list[str] = (), where: str = "config"):
    """The sft config, checked as far as it can be before anything loads: fields, the checkpoint to resume,
    the reporting integrations, the model name (a UserError naming ``where``)."""
    from ..config import checked
    from .config import PKTConfig, check_config, load_config, resume_checkpoint

    def read():
        if isinstance(source, PKTConfig):
            if overrides:
                raise ConfigError("key=value overrides apply to a config file or mapping; set the PKTConfig's fields")
            check_config(source)  # load_config checks what it builds; a config built in code is checked here
            config = source
        else:
            config = load_config(source, overrides)
        resume_checkpoint(config)
        check_report_to(config)
        return config

    return checked(where, read)


def train_sft(config, overrides: list[str] = ()) -> SFTResult:
    """PKT weighted SFT (``pkt: false``: standard SFT) of a ``PKTConfig``, its YAML file or a mapping of its
    fields, with ``key=value`` overrides; the command and the API."""
    from ..jsonl import write_text_atomic
    from ..models import load_tokenizer
    from .config import resume_checkpoint

    where = f"config {config}" if isinstance(config, (str, Path)) else "config"
    config = load_checked(config, overrides, where)
    resume = resume_checkpoint(config)  # checked above: this only reads it
    main = config.process_index == 0
    try:
        tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
        features, tally, truncated = load_training_data(config, tokenizer, main)
    except (ModelNotFound, RecordError, OSError) as exc:
        raise UserError(str(exc)) from None
    if main:
        print(f"records: {tally.summary().replace('written', 'trainable')}")
        print(f"records truncated to max_length={config.max_length} (trained tokens partly cut): {truncated}")
    if not features:
        raise UserError("no trainable record in train_files")

    from .data import WeightedCollator
    from .trainer import PKTTrainer

    model = build_model(config)
    trainer = PKTTrainer(
        model=model, args=config, train_dataset=features,
        data_collator=WeightedCollator(tokenizer.pad_token_id), processing_class=tokenizer,
    )
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    trainer.save_model(config.output_dir)
    # Every rank waits here, then tears the process group down: a gloo rank exiting with it alive can abort.
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    report = None
    if main:
        tokens = trainer.state.num_input_tokens_seen
        report = {
            "records": tally.as_dict(), "truncated": truncated, "train_loss": result.training_loss,
            "steps": result.global_step, "seconds": round(seconds, 1), "pkt": config.pkt, "processes": config.world_size,
            "input_tokens": tokens, "tokens_per_second": round(tokens / seconds, 1),
        }
        write_text_atomic(Path(config.output_dir, "sft_report.json"), json.dumps(report, indent=2))
        print(f"trained {result.global_step} steps in {seconds:.0f} s, loss {result.training_loss:.4f}, "
              f"about {tokens / seconds:.0f} input tokens/s (non-padding, all ranks); saved to {config.output_dir}")
    return SFTResult(Path(config.output_dir), result.global_step, result.training_loss, tally.as_dict(), truncated,
                     report)


def run(args) -> int:
    train_sft(args.config, args.overrides)
    return 0
