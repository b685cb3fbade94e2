#!/usr/bin/env bash
# The peers the benchmarks and `yomitori eval` measure yomitori against, from Debian's packages:
# Tesseract 5 with its Japanese models (jpn, jpn_vert) and OCRmyPDF. Root and apt only; without
# them the benches and the line evaluation run yomitori alone and say so.
set -euo pipefail
pkgs=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert ocrmypdf)
if command -v tesseract >/dev/null 2>&1 && command -v ocrmypdf >/dev/null 2>&1 &&
   tesseract --list-langs 2>/dev/null | grep -qx jpn_vert; then
  echo "peers present: $(tesseract --version 2>&1 | head -1), ocrmypdf $(ocrmypdf --version 2>/dev/null)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_peers: needs root and apt-get; install ${pkgs[*]} by hand" >&2
  exit 1
fi
apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1 ||
  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${pkgs[@]}" >/dev/null; }
echo "installed: $(tesseract --version 2>&1 | head -1), ocrmypdf $(ocrmypdf --version 2>/dev/null)"
