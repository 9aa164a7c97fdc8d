"""Every config the project ships loads through the loader that reads it, with the values it states.

A config key a library renamed (transformers 5 dropped ``warmup_ratio``) would otherwise surface only
when a user starts a multi-hour run.
"""

from pathlib import Path

import pytest
import yaml

from tl_training.pipeline import stages
from tl_training.pipeline.config import load_config as load_pipeline
from tl_training.pkt.config import load_config as load_sft
from tl_training.rl.config import load_config as load_rl

ROOT = Path(__file__).resolve().parents[1]
# The GPU recipes ask for bf16, which TrainingArguments refuses on a machine without one: load them as CPU runs.
ON_CPU = ["bf16=false"]
SFT_CONFIGS = ["configs/sft_example.yaml", "configs/paper/sft_codellama7b.yaml"]
RL_CONFIGS = ["configs/rl_ppo_example.yaml", "configs/rl_grpo_example.yaml", "configs/paper/ppo_codellama7b.yaml"]
PIPELINE_CONFIGS = ["configs/demo.yaml", "configs/ablation_rotbench.yaml", "configs/paper/pipeline_codellama7b.yaml",
                    "configs/modern/qwen2.5-7b-grpo.yaml", "configs/modern/qwen2.5-7b-episode.yaml"]


def test_every_shipped_config_is_covered():
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "configs").rglob("*.yaml") if "accelerate" not in p.parts}
    assert shipped == set(SFT_CONFIGS + RL_CONFIGS + PIPELINE_CONFIGS)


@pytest.mark.parametrize("name", SFT_CONFIGS)
def test_sft_configs_load_with_their_stated_values(name):
    stated = yaml.safe_load((ROOT / name).read_text())
    config = load_sft(ROOT / name, ON_CPU)
    assert config.prompt_format == stated["prompt_format"]
    assert config.learning_rate == float(stated["learning_rate"])
    assert config.warmup_steps == stated["warmup_steps"]


@pytest.mark.parametrize("name", RL_CONFIGS)
def test_rl_configs_load_with_their_stated_values(name):
    stated = yaml.safe_load((ROOT / name).read_text())
    config = load_rl(ROOT / name)
    assert config.algorithm == stated["algorithm"]
    assert config.output_dir == stated["output_dir"]


@pytest.mark.parametrize("name", PIPELINE_CONFIGS)
def test_pipeline_stage_sections_load_through_the_stage_loaders(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # recipe paths in the sections are relative to the repository root
    cfg = load_pipeline(ROOT / name)
    wiring = {"model": "m", "train_files": ["t.jsonl"], "prompt_format": cfg.prompt_format,
              "output_dir": str(tmp_path / "out"), "seed": cfg.seed}
    for stage, loader in (("sft", load_sft), ("rl", load_rl)):
        if not cfg.enabled(stage):
            continue
        values = stages.stage_values(cfg, stage, {}, wiring)
        values.pop("launch", None)
        path = tmp_path / f"{stage}.yaml"
        path.write_text(yaml.safe_dump(values))
        config = loader(path, ON_CPU if stage == "sft" else [])
        assert config.prompt_format == cfg.prompt_format


def test_an_unquoted_save_strategy_no_in_yaml_is_the_strategy_not_false(tmp_path):
    """YAML 1.1 reads ``save_strategy: no`` as False; the loader gives TrainingArguments the string back."""
    from tl_training.pkt.config import load_config

    path = tmp_path / "sft.yaml"
    path.write_text(f"output_dir: {tmp_path / 'out'}\ntrain_files: [x.jsonl]\nsave_strategy: no\nlearning_rate: 1e-5\n")
    config = load_config(path)
    assert str(config.save_strategy.value if hasattr(config.save_strategy, "value") else config.save_strategy) == "no"
    assert config.learning_rate == 1e-5  # and 1e-5 (no dot) is the number, not a string
