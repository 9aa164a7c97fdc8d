"""Episode mode's vLLM path (``use_vllm: true``) through TRL's real ``VLLMGeneration``, on CPU.

vLLM itself needs a GPU, so its engine is replaced by ``FakeLLM``: a transformers copy of the checkpoint
that answers ``LLM.generate`` and takes ``load_weights`` as vLLM's model runner does.  Everything between
our trainer and the engine is the shipped code: TRL's engine setup, its weight push (names, PEFT merge)
and its sampling parameters.  Untested here: vLLM's own kernels and sampling.
"""

from __future__ import annotations

import hashlib
import types

import pytest
import torch

from rl_toy import save_episode_toy_model, toy_records, train_episodes
from tl_training.rl import vllm_sampler


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class FakeVLLMModel:
    """vLLM's model as its model runner holds it: ``load_weights`` of (name, tensor) pairs."""

    def __init__(self, model):
        self.hf = model
        self.pushes: list[dict[str, torch.Tensor]] = []  # one dict per weight sync

    def load_weights(self, weights):
        state = self.hf.state_dict()
        for name, tensor in weights:
            state[name].copy_(tensor)  # a name vLLM's model would not know is a KeyError here too
            if not self.pushes or name in self.pushes[-1]:
                self.pushes.append({})
            self.pushes[-1][name] = tensor.detach().clone()


class FakeLLM:
    """The part of ``vllm.LLM`` TRL's colocate mode touches, backed by transformers' ``generate``."""

    instances: list["FakeLLM"] = []

    def __init__(self, model: str, **kwargs):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.kwargs = kwargs
        self.model = AutoModelForCausalLM.from_pretrained(model).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.weights = FakeVLLMModel(self.model)
        self.llm_engine = types.SimpleNamespace(model_executor=types.SimpleNamespace(
            driver_worker=types.SimpleNamespace(model_runner=types.SimpleNamespace(model=self.weights))))
        FakeLLM.instances.append(self)

    def reset_prefix_cache(self):
        pass

    @torch.no_grad()
    def generate(self, prompts, sampling_params, use_tqdm=False):
        from tl_training.generation import stop_length
        from tl_training.rl.episode import generate_turns

        p = sampling_params
        assert p.n == 1 and p.logprobs is None
        sampling = (dict(do_sample=False, temperature=None, top_p=None, top_k=None) if p.temperature == 0 else
                    dict(do_sample=True, temperature=p.temperature, top_p=p.top_p, top_k=None))
        contexts = [prompt["prompt_token_ids"] for prompt in prompts]
        stop_ids = set(p.stop_token_ids)
        rows = generate_turns(self.model, self.tokenizer, contexts, self.tokenizer.pad_token_id, stop_ids,
                              p.stop or [], p.max_tokens, sampling)
        outputs = []
        for context, row in zip(contexts, rows):
            end = stop_length(self.tokenizer, row, p.stop or [], stop_ids) or len(row)  # vLLM stops there
            completion = types.SimpleNamespace(token_ids=row[:end], logprobs=None)
            outputs.append(types.SimpleNamespace(prompt_token_ids=context, outputs=[completion]))
        return outputs


@pytest.fixture
def fake_vllm(monkeypatch):
    import trl.generation.vllm_generation as generation

    monkeypatch.setattr(vllm_sampler, "require_vllm", lambda: None)
    monkeypatch.setattr(generation, "is_vllm_available", lambda *a, **k: True)
    monkeypatch.setattr(generation, "LLM", FakeLLM, raising=False)
    monkeypatch.setattr(generation, "SamplingParams", FakeSamplingParams, raising=False)
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": "29512"}.items():
        monkeypatch.setenv(name, value)  # TRL writes them for vLLM; restored after the test
    FakeLLM.instances.clear()
    return FakeLLM.instances


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("vllm_toy")
    records = [{k: v for k, v in r.items() if k != "gold"} for r in toy_records(16)]
    return save_episode_toy_model(root / "model", records, warm_steps=100)


def _overrides(model, out, *extra):
    return ["mode=episode", f"output_dir={out}", f"model={model}", "train_files=unused.jsonl", "prompt_format=paper",
            "max_new_tokens=8", "max_turns=3", "batch_size=8", "mini_batch_size=4", "num_generations=4",
            "do_sample=true", "actor_lr=1e-3", "critic_lr=1e-3", "kl_coef=0.0", "steps=3", *extra]


def _digest(weights: dict[str, torch.Tensor]) -> str:
    return hashlib.sha256(b"".join(weights[k].numpy().tobytes() for k in sorted(weights))).hexdigest()


@pytest.mark.parametrize("algorithm", ["ppo", "grpo"])
def test_vllm_rollouts_train_exactly_as_transformers_rollouts(fake_vllm, toy_model, tmp_path, algorithm):
    """The same run with generation in the (fake) engine and in the actor: the same log and weights, which
    holds only if every step's rollout ran on that step's weights, pushed by TRL's sync."""
    from test_rl_ppo import _same_weights, _weights, _without_timings

    through_vllm = train_episodes(_overrides(toy_model, tmp_path / "vllm", f"algorithm={algorithm}", "use_vllm=true"))
    (engine,) = fake_vllm
    assert engine.kwargs["gpu_memory_utilization"] == 0.3 and engine.kwargs["max_model_len"] == 4096
    pushes = engine.weights.pushes
    names = set(engine.model.state_dict()) - {"lm_head.weight"}  # tied to the embeddings: pushed once, as vLLM wants
    assert len(pushes) == 3 and all(set(push) == names for push in pushes)  # one whole push before each rollout
    assert len({_digest(push) for push in pushes}) == 3  # each after an update that moved the weights
    direct = train_episodes(_overrides(toy_model, tmp_path / "direct", f"algorithm={algorithm}"))
    assert len(fake_vllm) == 1  # the transformers run built no engine
    assert [e["reward"] for e in through_vllm] == [e["reward"] for e in direct]
    assert _without_timings((tmp_path / "vllm" / "rl_log.jsonl").read_text()) == \
        _without_timings((tmp_path / "direct" / "rl_log.jsonl").read_text())
    assert _same_weights(_weights(tmp_path / "vllm" / "model.safetensors"), _weights(tmp_path / "direct" / "model.safetensors"))


def test_a_lora_actor_reaches_the_engine_merged_under_the_base_names(fake_vllm, toy_model, tmp_path):
    from safetensors.torch import load_file

    train_episodes(_overrides(toy_model, tmp_path / "out", "algorithm=grpo", "use_vllm=true", "lora=true",
                              "lora_r=4", "steps=2"))
    (engine,) = fake_vllm
    first, second = engine.weights.pushes
    base = load_file(str(toy_model / "model.safetensors"))
    assert set(second) == set(base)  # no adapter or base_layer names: vLLM's model has none
    assert _digest(first) == _digest({k: base[k] for k in first})  # before any update: adapters are zero
    moved = [k for k in second if not torch.equal(second[k], base[k])]
    assert moved and all("proj" in k for k in moved)  # the trained adapters, merged into their layers


def test_use_vllm_is_refused_where_nothing_would_use_it(tmp_path):
    from tl_training.rl.config import load_config

    with pytest.raises(ValueError, match="use_vllm"):
        load_config(None, [f"output_dir={tmp_path}", "train_files=x.jsonl", "algorithm=ppo", "use_vllm=true"])
    with pytest.raises(ValueError, match="vllm_gpu_memory_utilization"):
        load_config(None, [f"output_dir={tmp_path}", "train_files=x.jsonl", "mode=episode", "use_vllm=true",
                           "vllm_gpu_memory_utilization=1.5"])
