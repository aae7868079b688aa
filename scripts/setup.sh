#!/usr/bin/env bash
# Installs everything ziq needs on a fresh Debian machine: the C++ libraries (apt-get) and the
# Python peers that tests and tools compare against (pip). Safe to run twice.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libpcre2-dev            # Unicode regexes with look-ahead for pre-tokenizers
  libsentencepiece-dev    # SentencePiece .model files
  nlohmann-json3-dev      # JSON parsing (tokenizer.json, config.json, JSONL)
  libutf8proc-dev         # Unicode normalization (NFC/NFKC/...)
  libzstd-dev zlib1g-dev liblzma-dev   # compressed corpora and classic baselines
  libsqlite3-dev          # results store
  libxxhash-dev           # fast content hashes of weights files (run keys)
  libcli11-dev libfmt-dev # command line and formatting
  libopenblas-dev         # CPU matrix products
  libopenmpi-dev openmpi-bin  # data parallel runs over MPI ranks (mpirun), and their tests
  libgtest-dev            # tests
  chromium                # headless browser: renders `ziq report` in tests/python/test_report_render.py
  python3 python3-pip xz-utils zstd gzip
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Python peers for the tests (small, CPU-only). torch/transformers are needed only by tools/
# scripts that regenerate golden files; see tools/README.md.
PY=${PYTHON:-python3}
$PY -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/../requirements-test.txt" 2>/dev/null \
  || $PY -m pip install -q --disable-pip-version-check --break-system-packages -r "$(dirname "$0")/../requirements-test.txt"
