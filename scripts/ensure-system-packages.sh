#!/usr/bin/env bash
# Install the Debian packages the book needs (TeX for the PDF, Chromium for the browser
# test) when any of them is missing. Uses sudo when not root.
set -euo pipefail
packages=(texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex
          latexmk fonts-freefont-otf poppler-utils chromium chromium-driver)
missing=0
for command in xelatex latexmk pdftoppm chromium chromedriver; do
  command -v "$command" >/dev/null 2>&1 || { echo "missing: $command"; missing=1; }
done
fc-list 2>/dev/null | grep FreeSerif >/dev/null || { echo "missing: FreeSerif font"; missing=1; }
kpsewhich fncychap.sty >/dev/null 2>&1 || { echo "missing: LaTeX package fncychap"; missing=1; }
[ "$missing" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: system packages are missing and apt-get is not available; install: ${packages[*]}" >&2
  exit 1
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "Installing Debian packages: ${packages[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
