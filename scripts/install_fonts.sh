#!/usr/bin/env bash
# Install the Japanese fonts that the synthetic data engine renders with (see docs/data.md).
#
#   bash scripts/install_fonts.sh minimal   # a few small fonts: enough for the tests (~25 MB)
#   bash scripts/install_fonts.sh full      # every training and evaluation font in DATA.md
#   bash scripts/install_fonts.sh all       # full + fonts-yozvox-yozfont-standard-kana (251 MB)
#
# Idempotent and quick when the packages are already there. Needs root and apt-get; elsewhere it
# prints what it would install and exits 0, so that set-up never fails on a machine without apt.
set -euo pipefail
set_name=${1:-minimal}

minimal=(
  fonts-ipafont-gothic          # printed, train (IPA family)
  fonts-seto                    # handwriting, train
  fonts-aoyagi-kouzan-t         # brush, train
  fonts-morisawa-bizud-mincho   # printed, eval
  fonts-yusei-magic             # handwriting, eval
  fonts-dejavu-core             # Latin, train (a line's separate Latin font)
)
full=(
  "${minimal[@]}"
  fonts-noto-cjk fonts-ipafont fonts-ipaexfont fonts-ipamj-mincho fonts-vlgothic fonts-migmix
  fonts-mplus fonts-sawarabi-gothic fonts-sawarabi-mincho fonts-hanazono fonts-horai-umefont
  fonts-konatu fonts-oradano-mincho-gsrr fonts-mona fonts-misaki fonts-dotgothic16
  fonts-kiloji fonts-kouzan-mouhitsu
  fonts-morisawa-bizud-gothic fonts-motoya-l-cedar fonts-motoya-l-maruberi fonts-dejima-mincho
  fonts-klee fonts-aoyagi-soseki
  fonts-texgyre fonts-liberation fonts-freefont-ttf   # Latin fonts of mixed typesetting, train
  fontconfig
)
case "$set_name" in
  minimal) pkgs=("${minimal[@]}" fontconfig) ;;
  full) pkgs=("${full[@]}") ;;
  all) pkgs=("${full[@]}" fonts-yozvox-yozfont-standard-kana) ;;
  *) echo "usage: $0 [minimal|full|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_fonts.sh: not root or no apt-get; please install: ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
fc-cache -f >/dev/null 2>&1 || true
