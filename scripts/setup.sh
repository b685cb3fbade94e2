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
# Visdom (--logger visdom): 0.2.4 ships only an sdist whose setup.py imports pkg_resources, gone
# from setuptools>=81, so its isolated build is given an older setuptools.
if ! "$VPY" -c "import visdom" >/dev/null 2>&1; then
  bc=$(mktemp)
  echo "setuptools<81" >"$bc"
  PIP_CONSTRAINT="$bc" PIP_BUILD_CONSTRAINT="$bc" "$VPY" -m pip install -q "visdom==0.2.4"
  rm -f "$bc"
fi
# Fonts the data engine's tests and the synthetic renderers need (about 25 MB; root + apt only,
# otherwise it prints what to install). `bash scripts/install_fonts.sh full` for training.
bash scripts/install_fonts.sh minimal
# pdftotext (poppler-utils): the searchable-PDF round-trip test extracts with it as well as with
# PDFium (root + apt only; without it those checks are skipped).
if ! command -v pdftotext >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -q poppler-utils >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q poppler-utils >/dev/null 2>&1; } ||
      echo "setup: could not install poppler-utils (pdftotext); its tests will be skipped" >&2
  else
    echo "setup: install poppler-utils (pdftotext) for the searchable-PDF tests" >&2
  fi
fi
