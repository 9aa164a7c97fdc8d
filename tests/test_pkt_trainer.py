"""The weighted loss and its normalisation: hand-computed NLL, batch vs accumulation, zero gradient where untrained."""

from __future__ import annotations

import json
from argparse import Namespace

import pytest
import torch

from tl_training.jsonl import Tally
from tl_training.pkt.config import PKTConfig
from tl_training.pkt.data import WeightedCollator, build_features
from tl_training.pkt.trainer import PKTTrainer, weighted_nll_sum
from tl_training.render import get_renderer
from tl_training.tiny import build_model, build_tokenizer, save_tiny_model


def tool(name: str, param: str) -> dict:
    return {"type": "function", "function": {"name": name, "description": "",
            "parameters": {"type": "object", "properties": {param: {"type": "string"}}, "required": [param]}}}


def call(name: str, arguments: dict, **extra) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}], **extra}


def make_records() -> list[dict]:
    """Four trajectories of different lengths and weight sums, one with an MAE-masked call."""
    tools = [tool("getPaperDetails", "paper_id"), tool("getPapersByKeywords", "keywords"), tool("get_weather", "city")]
    queries = ["graph neural networks", "reinforcement learning", "Paris", "London tomorrow please"]
    records = []
    for i, query in enumerate(queries):
        name, param = ("get_weather", "city") if i >= 2 else ("getPapersByKeywords", "keywords")
        messages = [{"role": "user", "content": f"Find {query}"}]
        if i == 1:
            messages += [call(name, {"q": query}, train=False, mae_reason="unexpected_argument"),
                         {"role": "tool", "name": name, "content": "got an unexpected keyword argument 'q'"}]
        messages.append(call(name, {param: query}))
        records.append({"id": f"r{i}", "tools": tools, "messages": messages})
    return records


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(kind="bpe")


@pytest.fixture(scope="module")
def features(tokenizer):
    tally = Tally()
    feats, _ = build_features(make_records(), get_renderer("paper", tokenizer), tokenizer, tally, max_length=None)
    assert tally.written == 4 and tally.rejected == 0
    return feats


def test_loss_equals_hand_computed_weighted_nll(tokenizer, features):
    model = build_model(tokenizer)
    batch = WeightedCollator(tokenizer.pad_token_id)(features)
    with torch.no_grad():
        logprobs = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.log_softmax(-1)
    numerator = denominator = 0.0
    for row, feature in enumerate(features):
        for t, (token, w) in enumerate(zip(feature["input_ids"], feature["loss_weights"])):
            if t and w:
                numerator += -w * logprobs[row, t - 1, token].item()
                denominator += w
    assert max(w for f in features for w in f["loss_weights"]) > 1  # key tokens are up-weighted
    for keep in (True, False):
        with torch.no_grad():
            weighted, total = weighted_nll_sum(model, dict(batch), use_logits_to_keep=keep)
        assert total.item() == pytest.approx(denominator)
        assert (weighted / total).item() == pytest.approx(numerator / denominator, rel=1e-5)


def test_untrained_and_mae_masked_tokens_get_exactly_zero_gradient(tokenizer, features):
    model = build_model(tokenizer)
    captured = {}

    def keep_logits(module, inputs, output):
        output.retain_grad()
        captured["logits"] = output

    model.lm_head.register_forward_hook(keep_logits)
    batch = WeightedCollator(tokenizer.pad_token_id)(features)
    weighted, total = weighted_nll_sum(model, dict(batch), use_logits_to_keep=False)
    (weighted / total).backward()
    grad = captured["logits"].grad  # position p predicts token p + 1
    predicts_weighted = batch["loss_weights"][:, 1:] > 0
    assert torch.all(grad[:, :-1][~predicts_weighted] == 0)
    assert torch.all(grad[:, -1] == 0)
    assert torch.all(grad[:, :-1][predicts_weighted].abs().sum(-1) > 0)
    # The masked call of record r1 is in the sequence but carries no weight.
    assert sum(1 for w in features[1]["loss_weights"] if w) < sum(1 for w in features[1]["loss_weights"]) // 2


def train_one_step(tokenizer, features, tmp_path, batch_size: int, accumulation: int) -> dict[str, torch.Tensor]:
    model = build_model(tokenizer, seed=0)
    args = PKTConfig(
        output_dir=str(tmp_path / f"b{batch_size}a{accumulation}"), per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=accumulation, max_steps=1, learning_rate=0.5, optim="sgd", weight_decay=0.0,
        max_grad_norm=0.0, lr_scheduler_type="constant", use_cpu=True, save_strategy="no", report_to="none",
        seed=0, train_files=["unused"],
    )
    trainer = PKTTrainer(model=model, args=args, train_dataset=features, data_collator=WeightedCollator(tokenizer.pad_token_id))
    trainer.train()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_batch_of_four_equals_four_accumulated_batches_of_one(tokenizer, features, tmp_path):
    initial = build_model(tokenizer, seed=0).state_dict()
    big = train_one_step(tokenizer, features, tmp_path, batch_size=4, accumulation=1)
    small = train_one_step(tokenizer, features, tmp_path, batch_size=1, accumulation=4)
    moved = max((big[k] - initial[k]).abs().max().item() for k in big)
    assert moved > 1e-3  # the step did something
    for key in big:
        torch.testing.assert_close(small[key], big[key], rtol=1e-5, atol=1e-6)


def test_sft_command_trains_reports_and_resumes(tokenizer, tmp_path, capsys):
    from tl_training.pkt.command import run

    model_dir = save_tiny_model(tmp_path / "tiny")
    data = tmp_path / "train.jsonl"
    lines = [json.dumps(r) for r in make_records()] + ['{"id": "broken", "messages": []}']
    data.write_text("\n".join(lines) + "\n")
    config = tmp_path / "sft.yaml"
    config.write_text(
        f"model: {model_dir}\ntrain_files: [{data}]\noutput_dir: {tmp_path / 'out'}\nprompt_format: paper\n"
        "per_device_train_batch_size: 2\nmax_steps: 2\nsave_steps: 1\nlogging_steps: 1\nuse_cpu: true\n"
    )
    assert run(Namespace(config=str(config), overrides=["learning_rate=1e-3"])) == 0
    report = json.loads((tmp_path / "out" / "sft_report.json").read_text())
    assert report["records"]["read"] == 5 and report["records"]["written"] == 4 and report["records"]["rejected"] == 1
    assert report["steps"] == 2 and report["input_tokens"] > 0
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "checkpoint-2").is_dir()
    assert "rejected 1" in capsys.readouterr().out
    assert run(Namespace(config=str(config), overrides=["max_steps=3", "resume_from_checkpoint=true"])) == 0
    assert json.loads((tmp_path / "out" / "sft_report.json").read_text())["steps"] == 3


def test_bad_config_is_a_user_error(tmp_path):
    from tl_training.cli import UserError
    from tl_training.pkt.command import run

    config = tmp_path / "bad.yaml"
    config.write_text(f"output_dir: {tmp_path}\ntrain_files: [x.jsonl]\nlearning_rat: 1\n")
    with pytest.raises(UserError, match="learning_rat"):
        run(Namespace(config=str(config), overrides=[]))


def test_sft_with_lora_and_gradient_checkpointing_saves_an_adapter(tmp_path):
    from tl_training.pkt.command import run

    model_dir = save_tiny_model(tmp_path / "tiny")
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in make_records()))
    overrides = [f"model={model_dir}", f"train_files={data}", f"output_dir={tmp_path / 'out'}", "prompt_format=paper",
                 "lora=true", "lora_r=4", "gradient_checkpointing=true", "max_steps=1", "use_cpu=true", "save_strategy=no"]
    assert run(Namespace(config=None, overrides=overrides)) == 0
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_the_step_weight_reaches_compute_loss_as_num_items_in_batch(tokenizer, features, tmp_path, monkeypatch):
    """The guard on the one private Trainer hook PKT relies on (``_get_num_items_in_batch``): should a
    transformers release rename it, compute_loss would get the per-batch count instead and normalisation
    would silently go per micro-batch.  Pinned: transformers>=5.24,<6 (pyproject.toml)."""
    seen = []
    original = PKTTrainer.compute_loss

    def spy(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        seen.append(num_items_in_batch)
        return original(self, model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    monkeypatch.setattr(PKTTrainer, "compute_loss", spy)
    train_one_step(tokenizer, features, tmp_path, batch_size=1, accumulation=4)
    step_weight = sum(sum(f["loss_weights"][1:]) for f in features[:4])
    assert len(seen) == 4 and all(n is not None and float(n) == pytest.approx(step_weight) for n in seen)
