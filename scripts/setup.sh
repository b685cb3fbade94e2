#!/usr/bin/env bash
# Idempotent set-up of a local virtual environment in .venv with everything the project needs.
# On a machine without a GPU it pins the CPU build of torch; with CUDA present, set
# YOMITORI_TORCH=torch to take the default (CUDA) build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
want_torch=${YOMITORI_TORCH:-torch==2.13.0}
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  "$VPY" -m pip install -q "$want_torch"
fi
stamp=.venv/.yomitori-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  "$VPY" -m pip install -q -e ".[dev,onnx,openvino]"
  touch "$stamp"
fi
