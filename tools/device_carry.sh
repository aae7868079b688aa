#!/usr/bin/env bash
# Packs what a run on the GPU machine (the `device` tool) needs into .devcarry/, which
# .git/info/exclude keeps out of git: the built binaries with the Debian shared libraries they
# link (that machine has other libraries; cuBLAS, the driver and the CUDA runtime's own pieces are
# there), as one xz tarball to stay under the 64 MiB the tool carries, and the shared corpora.
#   BUILD=build-cuda bash tools/device_carry.sh     # default BUILD=build
# On the device, tools/device_setup.sh unpacks it (source it: it exports the paths).
# Name .devcarry in the run's carry list.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
grep -qx '/.devcarry/' .git/info/exclude 2>/dev/null || echo '/.devcarry/' >> .git/info/exclude
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" .devcarry/shared/data
for b in ziq bench/ziq_bench_score tests/ziq_tests tests/ziq_cuda_tests bench/ziq_cuda_attention_bench; do
  [ -f "$BUILD/$b" ] && cp "$BUILD/$b" "$stage/bin/"
done
strip "$stage"/bin/*
for b in "$stage"/bin/*; do ldd "$b" | awk '/=>/ {print $3}'; done | sort -u |
  grep -v -E 'libc\.so|libm\.so|libstdc\+\+|libgcc_s|ld-linux|libcublas|libcuda\.so|libdl\.so|librt\.so|libpthread' |
  xargs -r -I{} cp -L {} "$stage/lib/"
tar cJf .devcarry/ziqbin.tar.xz -C "$stage" bin lib
cp -r ../shared/data/corpora .devcarry/shared/data/
du -sh .devcarry/*
