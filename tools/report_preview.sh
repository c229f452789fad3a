#!/usr/bin/env bash
# make report-preview: render the HTML report of the bundled models and screenshot it with headless Chromium, so
# that the page can be looked at as a reader sees it (docs/report.md, "Preview"). Not part of `make test` or CI.
#
# Reuses the demo's reports (out/relu-qann16.json, out/relu-l16.json, out/gelu-l32.json) when present; otherwise
# evaluates the bundled SpikeZIP-TF QAT QANN on the first $LIMIT test images (default 200) until quiet.
# Installs Debian's chromium (and ImageMagick, to shrink the screenshot) with apt-get when missing.
set -euo pipefail

BIN=${BIN:-.build/release/spikify}
OUT=${OUT:-out}
LIMIT=${LIMIT:-200}
PNG=${PNG:-docs/report-preview.png}
WIDTH=${WIDTH:-1200}
HEIGHT=${HEIGHT:-2400}

install() {  # install Debian packages $@ with apt-get (sudo when not root)
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  command -v apt-get >/dev/null 2>&1 || { echo "error: $* missing and apt-get not available; install them and retry" >&2; exit 1; }
  echo "Installing $* with apt-get…"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then install chromium; browser=$(command -v chromium); fi
# ImageMagick's convert (not GraphicsMagick's, not a stand-in): `convert -version` names it.
if ! convert -version 2>/dev/null | grep -q ImageMagick; then install imagemagick; fi

mkdir -p "$OUT"
reports=()
for name in relu-qann16 relu-l16 gelu-l32; do
  [ -f "$OUT/$name.json" ] && reports+=("$OUT/$name.json")
done
if [ ${#reports[@]} -eq 0 ]; then
  echo "== no demo reports in $OUT: evaluating the QAT QANN on the first $LIMIT test images"
  "$BIN" eval --model models/vit-mnist-relu-qann16.h5 --method spikezip --data models/data/mnist-test.h5 \
    --timesteps 256 --until-quiet --limit "$LIMIT" --report "$OUT/preview-relu-qann16.json"
  reports=("$OUT/preview-relu-qann16.json")
fi

page="$OUT/report-preview.html"
"$BIN" report "${reports[@]}" --out "$page"
shot="$OUT/report-preview-full.png"
rm -f "$shot"
# --no-sandbox: Chromium refuses to run as root with its sandbox; the page is our own file, without scripts.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size="$WIDTH,$HEIGHT" --screenshot="$shot" "file://$(realpath "$page")" 2>/dev/null
[ -s "$shot" ] || { echo "error: chromium wrote no screenshot to $shot" >&2; exit 1; }
# Three quarters of the size, 128 colours without dithering: small enough to commit (< 300 KB), text still legible.
convert "$shot" -resize 75% +dither -colors 128 -strip "PNG8:$PNG"  # -strip: no timestamps, same bytes each run
echo "screenshot: $shot (${WIDTH}×${HEIGHT}); committed preview: $PNG ($(du -k "$PNG" | cut -f1) KB)"
