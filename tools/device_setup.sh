# Sourced on the GPU machine at the start of a `device` run (see tools/device_carry.sh):
#   source tools/device_setup.sh
# Unpacks the carried binaries into /tmp/z, points the loader at their Debian libraries and at
# the cuBLAS that the machine's PyTorch brings, and makes the build's source path exist (the test
# binary looks for tests/data where it was built: /work/main).
mkdir -p /tmp/z && tar xJf .devcarry/ziqbin.tar.xz -C /tmp/z
CUBLAS_DIR=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH=/tmp/z/lib:${CUBLAS_DIR}:${LD_LIBRARY_PATH:-}
export ZIQ_SHARED_DATA=$PWD/.devcarry/shared/data ZIQ_TEST_DATA=$PWD/tests/data ZIQ_SOURCE_DIR=$PWD ZIQ_BIN=/tmp/z/bin/ziq
mkdir -p /tmp/z/bench /tmp/z/build && cp /tmp/z/bin/ziq_bench_score /tmp/z/bench/ && ln -sfn /tmp/z/bin/ziq /tmp/z/build/ziq
mkdir -p /work && [ -e /work/main ] || ln -sfn "$PWD" /work/main
mkdir -p /work/shared && [ -e /work/shared/data ] || ln -sfn "$PWD/.devcarry/shared/data" /work/shared/data
