#!/usr/bin/env bash
# Packs what a run on the GPU machine (the `device` tool) needs into .devcarry/, which
# .git/info/exclude keeps out of git: the built binaries with the Debian shared libraries they
# link (that machine has other libraries), as one xz tarball to stay under the 64 MiB the tool
# carries, and the shared corpora. On the device:
#   mkdir -p /tmp/z && tar xJf .devcarry/ziqbin.tar.xz -C /tmp/z
#   export LD_LIBRARY_PATH=/tmp/z/lib ZIQ_SHARED_DATA=$PWD/.devcarry/shared/data
#   mkdir -p /tmp/z/bench && cp /tmp/z/bin/ziq_bench_score /tmp/z/bench/   # for bench/*.py --build /tmp/z
#   mkdir -p /work && ln -sfn $PWD /work/main    # ziq_tests looks for tests/data where it was built
# Run from the repo root after scripts/build.sh; name .devcarry in the run's carry list.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.devcarry/' .git/info/exclude 2>/dev/null || echo '/.devcarry/' >> .git/info/exclude
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" .devcarry/shared/data
cp build/ziq build/bench/ziq_bench_score build/tests/ziq_tests "$stage/bin/"
for b in "$stage"/bin/*; do ldd "$b" | awk '/=>/ {print $3}'; done | sort -u |
  grep -v -E 'libc\.so|libm\.so|libstdc\+\+|libgcc_s|ld-linux' | xargs -I{} cp -L {} "$stage/lib/"
tar cJf .devcarry/ziqbin.tar.xz -C "$stage" bin lib
cp -r ../shared/data/corpora .devcarry/shared/data/
du -sh .devcarry
