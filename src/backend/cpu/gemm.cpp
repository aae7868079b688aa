#include "backend/cpu/gemm.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace ziq::backend::cpu {

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return has;
#else
  return false;
#endif
}

// Measured on the dev machine (AMD EPYC Zen 4, 2 cores; bench/bench_gemm.cpp): see the numbers in
// the comment of kDefault below.
GemmKernel default_gemm_kernel() {
  static const GemmKernel k = [] {
    const char* env = std::getenv("ZIQ_GEMM");
    if (env && std::strcmp(env, "openblas") == 0) return GemmKernel::openblas;
    if (env && std::strcmp(env, "avx512bf16") == 0) {
      if (!cpu_has_avx512_bf16()) usage_error("ZIQ_GEMM=avx512bf16: this CPU has no AVX-512 BF16");
      return GemmKernel::avx512bf16;
    }
    if (env && *env) usage_error("ZIQ_GEMM={}: expected openblas or avx512bf16", env);
    return GemmKernel::openblas;
  }();
  return k;
}

std::string gemm_kernel_name(GemmKernel k) {
  return k == GemmKernel::openblas ? "openblas-sgemm" : "avx512-bf16";
}

namespace {

// Round to nearest even, as the hardware conversion does (inputs here are finite).
uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

#if defined(__x86_64__)
// 4x4 tiles of dot products; each accumulator holds 16 partial sums of one (row, column) pair,
// reduced once at the end. Row/column indices past the edge repeat the last one (results dropped).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void kernel_avx512_bf16(
    const GemmInput& in, const uint16_t* w, int64_t n, float* y, int64_t ldy) {
  const int64_t m = in.m, k = in.k;
  const int64_t kfull = k / 32 * 32;
  const __mmask32 tail = k > kfull ? static_cast<__mmask32>((1ull << (k - kfull)) - 1) : 0;
  for (int64_t i0 = 0; i0 < m; i0 += 4) {
    const uint16_t* xh[4];
    const uint16_t* xl[4];
    for (int r = 0; r < 4; ++r) {
      const int64_t i = std::min<int64_t>(i0 + r, m - 1);
      xh[r] = in.hi + i * k;
      xl[r] = in.lo + i * k;
    }
    for (int64_t j0 = 0; j0 < n; j0 += 4) {
      const uint16_t* wr[4];
      for (int c = 0; c < 4; ++c) wr[c] = w + std::min<int64_t>(j0 + c, n - 1) * k;
      __m512 acc[4][4];
      for (auto& row : acc)
        for (auto& a : row) a = _mm512_setzero_ps();
      // Masked loads serve both the full steps and the zero-padded tail.
      for (int64_t kk = 0; kk < k; kk += 32) {
        const __mmask32 mask = kk < kfull ? ~__mmask32{0} : tail;
        __m512bh wv[4];
        for (int c = 0; c < 4; ++c) wv[c] = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[c] + kk);
        for (int r = 0; r < 4; ++r) {
          const __m512bh h = (__m512bh)_mm512_maskz_loadu_epi16(mask, xh[r] + kk);
          const __m512bh l = (__m512bh)_mm512_maskz_loadu_epi16(mask, xl[r] + kk);
          for (int c = 0; c < 4; ++c) {
            acc[r][c] = _mm512_dpbf16_ps(acc[r][c], h, wv[c]);
            acc[r][c] = _mm512_dpbf16_ps(acc[r][c], l, wv[c]);
          }
        }
      }
      const int mr = static_cast<int>(std::min<int64_t>(4, m - i0));
      const int nr = static_cast<int>(std::min<int64_t>(4, n - j0));
      for (int r = 0; r < mr; ++r)
        for (int c = 0; c < nr; ++c) y[(i0 + r) * ldy + j0 + c] = _mm512_reduce_add_ps(acc[r][c]);
    }
  }
}
#endif

}  // namespace

GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             std::vector<uint16_t>& hi, std::vector<uint16_t>& lo) {
  GemmInput in{x, m, k};
  if (kern != GemmKernel::avx512bf16) return in;
  const size_t n = static_cast<size_t>(m * k);
  hi.resize(n);
  lo.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_bf16(x[i]);
    hi[i] = h;
    lo[i] = f32_to_bf16(x[i] - bf16_to_f32(h));
  }
  in.hi = hi.data();
  in.lo = lo.data();
  return in;
}

void gemm_f32_block(const GemmInput& in, const float* w, int64_t n, float* y, int64_t ldy) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(in.m), static_cast<int>(n),
              static_cast<int>(in.k), 1.0f, in.x, static_cast<int>(in.k), w, static_cast<int>(in.k), 0.0f, y,
              static_cast<int>(ldy));
}

void gemm_bf16_block(GemmKernel kern, const GemmInput& in, const uint16_t* w, int64_t n, float* y,
                     int64_t ldy, std::vector<float>& scratch) {
#if defined(__x86_64__)
  if (kern == GemmKernel::avx512bf16) {
    kernel_avx512_bf16(in, w, n, y, ldy);
    return;
  }
#endif
  const size_t count = static_cast<size_t>(n * in.k);
  if (scratch.size() < count) scratch.resize(count);
  float* dst = scratch.data();
  for (size_t i = 0; i < count; ++i) dst[i] = bf16_to_f32(w[i]);
  gemm_f32_block(in, dst, n, y, ldy);
}

}  // namespace ziq::backend::cpu
