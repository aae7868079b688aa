#!/usr/bin/env bash
# Builds llama.cpp, the peer of bench/bench_eval_llamacpp.py, into .llamacpp/ (ignored by git).
#
# Nothing of llama.cpp is in this repository: the source comes from the llama-cpp-python source
# package on PyPI (`pip download --no-binary :all: --no-deps llama-cpp-python==VERSION`, which
# carries vendor/llama.cpp), and is built with cmake:
#   - shared libraries (libllama, libggml, libggml-base) with GGML_BACKEND_DL=ON and the CPU
#     backend as loadable variants, one per x86-64 level, as llama.cpp's GGML_CPU_ALL_VARIANTS
#     makes them: ggml loads the best one for the CPU it runs on, so one build runs at its best
#     here (haswell: AVX2/FMA) and on the GPU machine's Xeon (sapphirerapids: AVX-512 BF16, AMX).
#     By default only those two are built (LLAMACPP_CPU_VARIANTS="haswell sapphirerapids"; also
#     x64 skylakex icelake zen4, or "all" for llama.cpp's own GGML_CPU_ALL_VARIANTS=ON, five times
#     the compile work); GGML_NATIVE=OFF, OpenMP threads, llamafile's sgemm (tinyBLAS) on;
#   - libggml-blas (OpenBLAS) as an optional extra backend in bin/blas/, loaded only when the
#     driver is given --blas (the bench tries both and keeps the faster);
#   - bench/llamacpp_score.cpp (ours), a small driver over llama.h that scores windows of token
#     ids: logits of every position, log-softmax, the next token's log-probability.
# Everything a run needs lands in .llamacpp/bin (RUNPATH $ORIGIN; libgomp, libopenblas and its
# Fortran runtime copied beside, so it runs on another x86-64 Linux with glibc >= 2.36 and
# libstdc++ of GCC >= 11 (GLIBCXX_3.4.29), e.g. Ubuntu 22.10 or later, with no compiler there;
# libopenblas finds its Fortran runtime in bin/blas only with LD_LIBRARY_PATH=bin/blas, which the
# bench sets). The converter
# (convert_hf_to_gguf.py, its conversion/ package and the gguf-py of the same source, which it
# imports by default) is copied to .llamacpp/convert. The gguf package on PyPI (0.19.0, the latest
# release) lags this converter (it lacks gguf.LazyChunkedTensor), so the converter uses the gguf-py
# it ships with; PyPI's gguf brings its dependencies (numpy, pyyaml, tqdm, requests).
#
#   nice bash tools/build_llamacpp.sh           # ~20-30 min on 2 shared cores
#   bash tools/build_llamacpp.sh --driver       # rebuild only the driver
#   bash tools/build_llamacpp.sh --pack         # also .llamacpp/llamacpp-carry.tar.xz (bin, convert)
#
# On a machine without network or compiler (the GPU machine's host): carry
# .llamacpp/llamacpp-carry.tar.xz, then
#   mkdir -p .llamacpp && tar xJf llamacpp-carry.tar.xz -C .llamacpp
#   python3 bench/bench_eval_llamacpp.py ...      # finds .llamacpp/bin and .llamacpp/convert
# (it also needs torch, transformers, safetensors and numpy there, to make and convert the model).
#
# Environment: LLAMA_CPP_PYTHON_VERSION (default below), LLAMACPP_DIR (default .llamacpp),
# LLAMACPP_CPU_VARIANTS, JOBS (default nproc), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
DIR=${LLAMACPP_DIR:-$ROOT/.llamacpp}
JOBS=${JOBS:-$(nproc)}
PY=${PYTHON:-python3}
VARIANTS=${LLAMACPP_CPU_VARIANTS:-haswell sapphirerapids}
mode=${1:-all}

mkdir -p "$DIR/dl" "$DIR/src" "$DIR/bin/blas"
SRC=$DIR/src/llama_cpp_python-$VERSION/vendor/llama.cpp
BUILD=$DIR/build-$VERSION

if [ "$mode" != --driver ]; then
  sdist=$DIR/dl/llama_cpp_python-$VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    "$PY" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps \
      "llama-cpp-python==$VERSION" -d "$DIR/dl"
  fi
  [ -f "$SRC/CMakeLists.txt" ] || tar xzf "$sdist" -C "$DIR/src"

  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  common=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF
    -DGGML_OPENMP=ON -DGGML_LLAMAFILE=ON -DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS
    -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN')
  if [ "$VARIANTS" = all ]; then
    cmake -S "$SRC" -B "$BUILD" "${gen[@]}" "${common[@]}" -DGGML_CPU_ALL_VARIANTS=ON >"$DIR/cmake-configure.log"
    cmake --build "$BUILD" -j"$JOBS" >"$DIR/cmake-build.log"
  else
    # One CPU backend per build folder, with that level's instruction sets (the flags of llama.cpp's
    # own GGML_CPU_ALL_VARIANTS list); the first folder also builds libllama, libggml and BLAS, the
    # others only the CPU backend. Each lands as libggml-cpu-NAME.so, as ALL_VARIANTS names them.
    first=1
    for v in $VARIANTS; do
      case $v in
        x64) feats="" ;;
        haswell) feats="SSE42 AVX F16C FMA AVX2 BMI2" ;;
        skylakex) feats="SSE42 AVX F16C FMA AVX2 BMI2 AVX512" ;;
        icelake) feats="SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI" ;;
        zen4) feats="SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16" ;;
        sapphirerapids) feats="SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8" ;;
        *) echo "unknown CPU variant $v (x64 haswell skylakex icelake zen4 sapphirerapids, or all)" >&2; exit 2 ;;
      esac
      flags=()
      for f in SSE42 AVX AVX2 BMI2 AVX_VNNI FMA F16C AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8 AMX_BF16; do
        case " $feats " in *" $f "*) flags+=("-DGGML_$f=ON") ;; *) flags+=("-DGGML_$f=OFF") ;; esac
      done
      b=$DIR/build-$VERSION-$v
      cmake -S "$SRC" -B "$b" "${gen[@]}" "${common[@]}" "${flags[@]}" >"$DIR/cmake-configure-$v.log"
      if [ $first = 1 ]; then
        cmake --build "$b" -j"$JOBS" >"$DIR/cmake-build-$v.log"
        BUILD=$b
        first=0
      else
        cmake --build "$b" -j"$JOBS" --target ggml-cpu >"$DIR/cmake-build-$v.log"
      fi
      mkdir -p "$DIR/variants" && cp "$b/bin/libggml-cpu.so" "$DIR/variants/libggml-cpu-$v.so"
    done
  fi

  # Stage: the libraries, the CPU variants beside them (ggml looks in the executable's folder),
  # BLAS apart, and the shared libraries they need that another machine may lack.
  rm -f "$DIR"/bin/*.so* "$DIR"/bin/blas/*.so*
  find "$BUILD/bin" -maxdepth 1 -name 'lib*.so*' \( -type f -o -type l \) | sort -u | while read -r f; do
    case $(basename "$f") in
      libggml-blas.so*) cp -P "$f" "$DIR/bin/blas/" ;;
      libggml-cpu.so) ;;
      *) cp -P "$f" "$DIR/bin/" ;;
    esac
  done
  if [ "$VARIANTS" != all ]; then
    for v in $VARIANTS; do cp "$DIR/variants/libggml-cpu-$v.so" "$DIR/bin/"; done
  fi
  copy_deps() {  # copy_deps LIB DEST: the non-glibc, non-libstdc++ libraries LIB links
    ldd "$1" | awk '/=> \// {print $3}' | grep -v -E '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux)[.-]' |
      grep -v "^$DIR" | while read -r dep; do cp -L "$dep" "$2/"; done
  }
  copy_deps "$(ls "$DIR"/bin/libggml-cpu-*.so | head -1)" "$DIR/bin"
  copy_deps "$DIR/bin/blas/libggml-blas.so" "$DIR/bin/blas"
  # (libggml-blas needs libggml-base, which the process has already loaded from bin/ by then)

  rm -rf "$DIR/convert" && mkdir -p "$DIR/convert"
  cp -r "$SRC/convert_hf_to_gguf.py" "$SRC/conversion" "$SRC/gguf-py" "$DIR/convert/"
  echo "{\"llama_cpp_python\": \"$VERSION\", \"source\": \"$SRC\"}" >"$DIR/build-info.json"
fi

# The driver: our own code (bench/llamacpp_score.cpp) compiled against llama.h of that source.
g++ -O3 -std=c++17 -fopenmp -ffast-math -mavx2 -mfma -mf16c "$ROOT/bench/llamacpp_score.cpp" -I "$SRC/include" -I "$SRC/ggml/include" \
  -L "$DIR/bin" -lllama -lggml -lggml-base -Wl,-rpath,'$ORIGIN' -o "$DIR/bin/ziq_llamacpp_score"

if [ "${1:-}" = --pack ] || [ "${2:-}" = --pack ]; then
  tar cJf "$DIR/llamacpp-carry.tar.xz" -C "$DIR" bin convert build-info.json
  du -h "$DIR/llamacpp-carry.tar.xz"
fi
echo "llama.cpp (llama-cpp-python $VERSION) in $DIR/bin: $(ls "$DIR/bin" | tr '\n' ' ')"
