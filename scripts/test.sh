#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (C++ GoogleTest suites and the Python peer checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

# Bad checkpoints under AddressSanitizer and UBSan: a second, unoptimized build of the test binary
# only, running the checkpoint/config error tests (they parse hostile headers).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZIQ_ASAN=ON -DZIQ_CUDA=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target ziq_tests
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/tests/ziq_tests --gtest_filter='*Checkpoint*'

# The whole suite last, so its summary line closes the output.
ctest --test-dir build --output-on-failure -j"$(nproc)" -LE "gpu|slow"
