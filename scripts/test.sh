#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (C++ GoogleTest suites and the Python peer checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" -LE gpu
