#!/usr/bin/env bash
# Make sure a headless Chromium (and a Korean font) is on PATH, for tests/test_tensorboard_browser.py
# and tests/test_jupyterlab_browser.py (the real TensorBoard and JupyterLab, with screenshots).
#
# Idempotent: does nothing but print the version when `chromium` already runs.
# Otherwise installs Debian's `chromium` package with apt-get (as root, or via
# sudo when available). Set CHROMIUM=/path/to/chrome to use another browser;
# the test reads the same variable.
set -euo pipefail

browser="${CHROMIUM:-chromium}"

works() {
  command -v "$browser" >/dev/null 2>&1 && "$browser" --version >/dev/null 2>&1
}

korean_font() {  # the JupyterLab screenshot shows the lessons' Korean terms
  command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -i nanum >/dev/null
}

if ! works || ! korean_font; then
  if [ -n "${CHROMIUM:-}" ] && ! works; then
    echo "CHROMIUM=$CHROMIUM is set but does not run ('$CHROMIUM --version' failed)." >&2
    exit 1
  fi
  echo "Chromium or a Korean font not found: installing Debian's chromium and fonts-nanum with apt-get..."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "Cannot install Chromium: not root and no sudo. Install the 'chromium' package" \
           "(or set CHROMIUM=/path/to/chrome) and rerun." >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Cannot install Chromium automatically: no apt-get here. Install Chromium or Chrome" \
         "so that 'chromium' is on PATH (or set CHROMIUM=/path/to/chrome) and rerun." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get update -qq; then
    echo "Cannot install Chromium: 'apt-get update' failed (no network to the package registry?)." >&2
    exit 1
  fi
  # --no-install-recommends keeps it small; fonts-liberation gives the page readable text,
  # fonts-nanum draws Hangul (the lessons' Korean terms) instead of empty boxes.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-liberation fonts-nanum >/dev/null; then
    echo "Cannot install Chromium: 'apt-get install chromium' failed." >&2
    exit 1
  fi
  if ! works; then
    echo "Installed the 'chromium' package but 'chromium --version' still fails." >&2
    exit 1
  fi
fi
echo "Chromium: $("$browser" --version 2>/dev/null)"
