// Matrix products on the CPU: y[m, n] = x[m, k] * w[n, k]^T, x in f32, w bf16 (as stored) or f32.
// Each call handles one block of weight rows on one thread; the backend runs blocks in parallel.
//
// Kernels, all measured by `ziq_bench_score gemm` (bench/bench_score.cpp):
//  - avx512 (the default where the CPU has AVX-512F): our own f32 kernel. The weight block is
//    widened to f32 (exactly) while it is packed into 32-column panels, then a 12 x 32 register
//    tile of FMAs runs down k. Exact float32 arithmetic, as transformers' float32 forward.
//  - avx512bf16 ("bf16x2"): our own vdpbf16ps kernel on pair-packed weights. x is split into two
//    bf16 parts (hi = bf16(x), lo = bf16(x - hi)) so x*w = hi*w + lo*w keeps 16 of x's 24 mantissa
//    bits. Two vdpbf16ps per pair of k multiply at the rate of one f32 FMA, so no faster than
//    avx512, and the lost bits show (up to 1e-4 in log-probabilities on the golden models).
//  - avx512bf16_fast: the same kernel with x rounded to bf16 (no lo part): twice the multiply
//    rate, float32 accumulation, the precision transformers gets when it runs in bfloat16. Only
//    when asked for (LoadOptions::precision = "bf16"); the default is exact.
//  - openblas: the weight block widened to f32, then OpenBLAS sgemm. The fallback for CPUs
//    without AVX-512 (Debian's OpenBLAS 0.3.21 runs its Haswell kernels on Zen 4).
// Measured on the dev machine (AMD EPYC Zen 4, shared by other jobs, 1 thread, m=1024 n=4864
// k=896, block 128; `build/bench/ziq_bench_score gemm`): avx512 ~70-116 GFLOP/s, avx512bf16
// (bf16x2 dot-product form) ~80-115 after row-wise panel packing, openblas ~36-60 (~80 when forced
// to its SkylakeX kernels with OPENBLAS_CORETYPE, which cannot be set from inside the process).
// avx512 is exact (avx512bf16 reaches 9.7e-5 on a golden model), so it is the default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ziq::backend::cpu {

enum class GemmKernel { openblas, avx512, avx512bf16, avx512bf16_fast };

bool cpu_has_avx512();
bool cpu_has_avx512_bf16();
GemmKernel default_gemm_kernel();  // honours ZIQ_GEMM=openblas|avx512|avx512bf16 for measurements
GemmKernel fast_gemm_kernel();     // avx512bf16_fast where the CPU has it
std::string gemm_kernel_name(GemmKernel k);

// x prepared once per product and shared by every weight block.
struct GemmInput {
  const float* x = nullptr;
  int64_t m = 0, k = 0;
  // bf16 kernels only: x rounded to bf16 (hi) and the remainder (lo, avx512bf16 only), rows of
  // kpad = k rounded up to even values.
  int64_t kpad = 0;
  const uint16_t* hi = nullptr;
  const uint16_t* lo = nullptr;
};
// Fills hi/lo (storage owned by the caller) when the kernel needs them.
GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             std::vector<uint16_t>& hi, std::vector<uint16_t>& lo);

// y[i, j] for rows i < m, columns j < n of this weight block (w points at its first row, rows of
// k values, bf16 when w_bf16 else f32); y has row stride ldy. Single-threaded: the caller runs
// blocks on its threads. `scratch` is reused between calls.
void gemm_block(GemmKernel kern, const GemmInput& in, const void* w, bool w_bf16, int64_t n, float* y,
                int64_t ldy, std::vector<float>& scratch);

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace ziq::backend::cpu
