"""tl-training: TL-Training (Ye et al., EMNLP 2025) on the Hugging Face stack.

The Python API (docs/api.md): each stage is a function, the very one its command calls, returning a
result object and raising one of ``errors.py``'s family (``TLTrainingError`` catches them all)::

    import tl_training
    tl_training.convert("xlam", "raw.json", "pool.jsonl")
    tl_training.mark_adverse("pool.jsonl", "marked.jsonl")
    tl_training.train_sft("configs/sft_example.yaml", ["train_files=marked.jsonl"])
    tl_training.evaluate(tl_training.EvalConfig(model="out/sft", benchmarks=["bfcl:simple"], output="eval"))

Names resolve on first use, so ``import tl_training`` (and ``tl-training --help``) loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "convert": None, "ConvertResult": "convert.command",  # convert: the package, callable (convert/__init__.py)
    "mark_adverse": "mae.command", "MAEResult": "mae.command", "MAEConfig": "mae.config",
    "train_sft": "pkt.command", "SFTResult": "pkt.command", "PKTConfig": "pkt.config",
    "train_rl": "api", "RLResult": "api", "RLConfig": "rl.config",
    "evaluate": "eval.command", "EvalResult": "eval.command", "EvalConfig": "eval.config",
    "run_pipeline": "pipeline.command", "PipelineResult": "pipeline.command",
    "TLTrainingError": "errors", "UserError": "errors", "ConfigError": "errors", "RecordError": "errors",
    "ModelNotFound": "errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tl_training' has no attribute {name!r}")
    module = importlib.import_module(f".{_EXPORTS[name] or name}", __name__)
    value = module if _EXPORTS[name] is None else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value
