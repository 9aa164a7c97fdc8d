"""Tiny random models with a tokenizer trained on the spot: for tests, benchmarks and ``--quick`` runs.

Nothing here downloads anything.  Two tokenizer families cover the ways real tokenizers split text:
``"bpe"`` is byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM2) and ``"sentencepiece"`` is the Metaspace
style (``▁word``) of Llama 2 and CodeLlama.  Both get a ChatML chat template without tool support, so
the renderer's documented fallback is what a tiny model trains on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + (message['content'] or '') + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]

# Enough tool-use text that frequent pieces (names, JSON punctuation, roles) become tokens.
DEFAULT_CORPUS = [
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>',
    "getPaperDetails(paper_id='1234') getPapersByKeywords(keywords='graph neural networks') finish(answer='done')",
    "Action: search_advice\nAction Input: {\"query\": \"love\"}\nThought: I should call the tool.",
    "You are a helpful assistant with access to the following tools. Call them when needed.",
    "What is the weather in London tomorrow? Please find papers about reinforcement learning.",
    "search_flights(origin='SFO', destination='JFK', date='2025-01-01', max_price=300, nonstop=True)",
    '{"error": "", "response": {"temperature": 21.5, "condition": "sunny"}}',
    "missing 1 required positional argument: 'city'; got an unexpected keyword argument 'q'",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 _-.,:;!?'\"()[]{}<>/=+*#@&%$",
]


def build_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 600, kind: str = "bpe"):
    """Train a tokenizer on ``corpus`` (default: a built-in tool-use corpus) and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(corpus) if corpus is not None else DEFAULT_CORPUS
    if kind == "bpe":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    elif kind == "sentencepiece":
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        alphabet = sorted(set("".join(DEFAULT_CORPUS + texts)) | {"▁", "\n"})
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}: expected 'bpe' or 'sentencepiece'")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>", bos_token="<s>", eos_token="<|im_end|>", pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "</s>"],
    )
    wrapped.chat_template = CHATML_TEMPLATE
    return wrapped


def build_model(tokenizer, hidden_size: int = 64, num_layers: int = 2, num_heads: int = 4, seed: int = 0):
    """A randomly initialised Llama-architecture causal LM sized for the tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def save_tiny_model(path: str | Path, corpus: Iterable[str] | None = None, kind: str = "bpe", seed: int = 0, **model_kwargs) -> Path:
    """Build a tiny tokenizer and model and save both (safetensors) to ``path``; returns the path."""
    path = Path(path)
    tokenizer = build_tokenizer(corpus, kind=kind)
    model = build_model(tokenizer, seed=seed, **model_kwargs)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
