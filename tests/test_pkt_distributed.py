"""Two data-parallel CPU processes (accelerate launch, gloo) train exactly like one process on the same global batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tl_training.tiny import save_tiny_model

from test_pkt_trainer import make_records

LAUNCHER = """import sys
from argparse import Namespace
from tl_training.pkt.command import run
sys.exit(run(Namespace(config=sys.argv[1], overrides=sys.argv[2:])))
"""


def sft(command: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
    if shutil.which("accelerate") is None:
        pytest.skip("the accelerate launcher is not on PATH")
    model_dir = save_tiny_model(tmp_path / "tiny")
    data = tmp_path / "train.jsonl"
    records = make_records() + [dict(r, id=r["id"] + "b") for r in make_records()]  # 8 records: 2 steps of 4
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = tmp_path / "sft.yaml"
    config.write_text(
        f"model: {model_dir}\ntrain_files: [{data}]\nprompt_format: paper\nmax_steps: 2\nlearning_rate: 0.01\n"
        "train_sampling_strategy: sequential\nper_device_train_batch_size: 2\nsave_strategy: 'no'\nlogging_steps: 1\nuse_cpu: true\nseed: 3\n"
    )
    launcher = tmp_path / "launch_sft.py"
    launcher.write_text(LAUNCHER)
    sft([sys.executable, str(launcher), str(config), f"output_dir={tmp_path / 'one'}", "gradient_accumulation_steps=2"], tmp_path)
    # accelerate 1.15's `--cpu` flag runs a single process (simple launcher) whatever --num_processes says;
    # `--multi_gpu` starts the processes through torchrun, and `use_cpu` makes them gloo CPU ranks.
    sft(["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
         "--dynamo_backend", "no", str(launcher), str(config), f"output_dir={tmp_path / 'two'}"], tmp_path)
    one, two = (json.loads((tmp_path / d / "sft_report.json").read_text()) for d in ("one", "two"))
    assert one["steps"] == two["steps"] == 2
    assert (one["processes"], two["processes"]) == (1, 2)
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-5)
    initial = load_file(tmp_path / "tiny" / "model.safetensors")
    weights_one = load_file(tmp_path / "one" / "model.safetensors")
    weights_two = load_file(tmp_path / "two" / "model.safetensors")
    assert max((weights_one[k] - initial[k]).abs().max().item() for k in initial) > 1e-3
    for key in weights_one:
        torch.testing.assert_close(weights_two[key], weights_one[key], rtol=1e-5, atol=1e-6)
