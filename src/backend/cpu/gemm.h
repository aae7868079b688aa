// Matrix products with bf16 weights on the CPU: y[m, n] = x[m, k] * w[n, k]^T, x in f32.
//
// Two kernels, both exact enough to match transformers' float32 forward within 1e-4:
//  - openblas: each block of weight rows is widened bf16 -> f32 into a small tile (exact) and
//    multiplied with OpenBLAS sgemm (single-threaded; the caller runs blocks on its threads).
//  - avx512bf16: our own vdpbf16ps kernel. The f32 activations are split into two bf16 parts
//    (hi = bf16(x), lo = bf16(x - hi)), so x*w = hi*w + lo*w keeps 16 mantissa bits of x; the
//    bf16 weights are used as stored, no conversion pass.
// Which one is the default was picked by measurement (bench_gemm in ziq_bench, see gemm.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ziq::backend::cpu {

enum class GemmKernel { openblas, avx512bf16 };

bool cpu_has_avx512_bf16();
GemmKernel default_gemm_kernel();  // honours ZIQ_GEMM=openblas|avx512bf16 for measurements
std::string gemm_kernel_name(GemmKernel k);

// x prepared once per product and shared by every weight block.
struct GemmInput {
  const float* x = nullptr;
  int64_t m = 0, k = 0;
  const uint16_t* hi = nullptr;  // avx512bf16 only: the bf16 split of x
  const uint16_t* lo = nullptr;
};
// Fills hi/lo (storage owned by the caller) when the kernel needs them.
GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             std::vector<uint16_t>& hi, std::vector<uint16_t>& lo);

// y[i, j] for rows i < m, columns j < n of this weight block (w points at its first row, rows of
// k bf16 values); y has row stride ldy. Single-threaded. `scratch` is reused between calls.
void gemm_bf16_block(GemmKernel kern, const GemmInput& in, const uint16_t* w, int64_t n, float* y,
                     int64_t ldy, std::vector<float>& scratch);

// The same with f32 weights (OpenBLAS).
void gemm_f32_block(const GemmInput& in, const float* w, int64_t n, float* y, int64_t ldy);

inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

}  // namespace ziq::backend::cpu
