"""The one config system (config.py): reading, the override syntax, unknown keys, the shared pieces."""

from __future__ import annotations

import dataclasses

import pytest

from tl_training.config import (LoraArgs, ModelArgs, apply_overrides, build, check_known, config_dict, load,
                                read_mapping)
from tl_training.errors import ConfigError, UserError


@dataclasses.dataclass
class Small:
    steps: int = 1
    rate: float = 0.1
    strategy: str = "steps"
    train_files: list = dataclasses.field(default_factory=list)
    options: dict = dataclasses.field(default_factory=dict)


def test_overrides_are_yaml_values_and_dotted_keys_reach_into_sections():
    values = {"steps": 1, "options": {"beta": 0.1}}
    changed = apply_overrides(values, ["steps=3", "options.beta=0.5", "options.new.deep=[a, b]", "rate=1e-5"])
    assert changed == {"steps": 3, "rate": "1e-5", "options": {"beta": 0.5, "new": {"deep": ["a", "b"]}}}
    assert values == {"steps": 1, "options": {"beta": 0.1}}  # the given mapping is left as it was


@pytest.mark.parametrize("override, message", [
    ("steps", "is not key=value"), ("=3", "is not key=value"),
    ("steps.x=1", "steps is not a section"), ("steps=[1", "the value is not YAML"),
])
def test_a_bad_override_names_itself(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides({"steps": 1}, [override])


def test_load_reads_a_file_or_a_mapping_and_undoes_yaml_1_1(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 2\nrate: 1e-5\nstrategy: no\ntrain_files: a.jsonl\n")
    assert load(Small, path, ["steps=4"]) == Small(steps=4, rate=1e-5, strategy="no", train_files=["a.jsonl"])
    assert load(Small, {"steps": 5}) == Small(steps=5)
    (tmp_path / "empty.yaml").write_text("")
    assert read_mapping(tmp_path / "empty.yaml") == {}


@pytest.mark.parametrize("content, message", [
    ("[1, 2]\n", "a config is a YAML mapping"), ("steps: [\n", "cannot read the config"),
])
def test_a_file_that_is_no_mapping_names_the_file(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=f"{path}: {message}"):
        config_dict(path)


def test_an_unknown_key_names_the_nearest_field_and_the_field_at_fault():
    with pytest.raises(ConfigError, match=r"unknown field\(s\) stpes \(did you mean steps\?\); known: options") as info:
        build(Small, {"stpes": 3})
    assert info.value.field == "stpes"
    with pytest.raises(ConfigError, match=r"unknown field\(s\) sft.stpes \(did you mean sft.steps\?\)"):
        check_known({"stpes": 3}, Small, section="sft")
    with pytest.raises(ConfigError, match="steps: expected a number, got 'many'"):
        build(Small, {"steps": "many"})


def test_sft_and_eval_share_the_model_pieces_and_sft_the_lora_ones():
    from tl_training.eval.config import EvalConfig
    from tl_training.pkt.config import PKTConfig

    model_fields = {f.name for f in dataclasses.fields(ModelArgs)}
    lora_fields = {f.name for f in dataclasses.fields(LoraArgs)}
    assert issubclass(PKTConfig, ModelArgs) and issubclass(PKTConfig, LoraArgs) and issubclass(EvalConfig, ModelArgs)
    assert model_fields | lora_fields <= {f.name for f in dataclasses.fields(PKTConfig)}


def test_a_config_built_in_code_is_checked_like_a_loaded_one(tmp_path):
    from tl_training.pkt.command import train_sft
    from tl_training.pkt.config import PKTConfig

    config = PKTConfig(output_dir=str(tmp_path), train_files=["t.jsonl"], lora_r=0)
    with pytest.raises(UserError, match="field lora_r: must be >= 1, got 0"):
        train_sft(config)
    with pytest.raises(UserError, match="field dtype: one of auto, float32, bfloat16, float16, got 'fp8'"):
        train_sft(PKTConfig(output_dir=str(tmp_path), train_files=["t.jsonl"], dtype="fp8"))
    with pytest.raises(UserError, match="overrides apply to a config file or mapping"):
        train_sft(PKTConfig(output_dir=str(tmp_path), train_files=["t.jsonl"]), ["max_steps=2"])
