#!/usr/bin/env bash
# The peers the benchmarks and `yomitori eval` measure yomitori against: Tesseract 5 with its
# Japanese models (jpn, jpn_vert) from Debian's packages, and OCRmyPDF as the bench runs it
# (`.venv/bin/python -m ocrmypdf`: the project's `bench` extra from PyPI, with Ghostscript from
# Debian). Needs root and apt for the Debian part; without the peers the benches and the line
# evaluation run yomitori alone and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert ghostscript)
py=.venv/bin/python
have_debian() {
  command -v tesseract >/dev/null 2>&1 && command -v gs >/dev/null 2>&1 &&
    tesseract --list-langs 2>/dev/null | grep -qx jpn_vert
}
if ! have_debian; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_peers: needs root and apt-get; install ${pkgs[*]} by hand" >&2
    exit 1
  fi
  apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${pkgs[@]}" >/dev/null; }
fi
if [ -x "$py" ] && ! "$py" -c "import ocrmypdf" >/dev/null 2>&1; then
  "$py" -m pip install -q -e '.[bench]'
fi
echo "peers: $(tesseract --version 2>&1 | head -1), ocrmypdf $("$py" -m ocrmypdf --version 2>/dev/null || echo 'not in .venv (run scripts/setup.sh first)')"
