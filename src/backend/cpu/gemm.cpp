#include "backend/cpu/gemm.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace ziq::backend::cpu {

bool cpu_has_avx512() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
#else
  return false;
#endif
}

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

// The choice and its measurement are in gemm.h.
GemmKernel default_gemm_kernel() {
  static const GemmKernel k = [] {
    const char* env = std::getenv("ZIQ_GEMM");
    const std::string want = env ? env : "";
    if (want == "openblas") return GemmKernel::openblas;
    if (want == "avx512" || want == "avx512bf16") {
      if (!(want == "avx512" ? cpu_has_avx512() : cpu_has_avx512_bf16()))
        usage_error("ZIQ_GEMM={}: this CPU lacks the instructions", want);
      return want == "avx512" ? GemmKernel::avx512 : GemmKernel::avx512bf16;
    }
    if (!want.empty()) usage_error("ZIQ_GEMM={}: expected openblas, avx512 or avx512bf16", want);
    return cpu_has_avx512() ? GemmKernel::avx512 : GemmKernel::openblas;
  }();
  return k;
}

std::string gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::openblas: return "openblas-sgemm";
    case GemmKernel::avx512: return "avx512-f32";
    case GemmKernel::avx512bf16: return "avx512-bf16";
  }
  return "?";
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

// Packs weight rows [0, n) (n <= 32 per panel) into panels of 32 columns: panel p holds, for each
// kk, the 32 values w[32p + c][kk] as f32 (zero past n). bf16 widening happens here, exactly.
template <typename T>
void pack_panels(const T* w, int64_t n, int64_t k, float* out) {
  for (int64_t p = 0; p * 32 < n; ++p) {
    float* dst = out + p * 32 * k;
    const int64_t cols = std::min<int64_t>(32, n - p * 32);
    for (int64_t c = 0; c < 32; ++c) {
      if (c >= cols) {
        for (int64_t kk = 0; kk < k; ++kk) dst[kk * 32 + c] = 0.0f;
        continue;
      }
      const T* src = w + (p * 32 + c) * k;
      for (int64_t kk = 0; kk < k; ++kk) {
        if constexpr (sizeof(T) == 2)
          dst[kk * 32 + c] = bf16_to_f32(src[kk]);
        else
          dst[kk * 32 + c] = src[kk];
      }
    }
  }
}

// MR rows of x times one 32-column panel, down the whole of k: 2*MR accumulators of 16 lanes.
template <int MR>
__attribute__((target("avx512f"))) void micro_f32(const float* x, int64_t k, const float* panel, float* y,
                                                  int64_t ldy, __mmask16 m0, __mmask16 m1) {
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m512 b0 = _mm512_loadu_ps(panel + kk * 32);
    const __m512 b1 = _mm512_loadu_ps(panel + kk * 32 + 16);
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(x[r * k + kk]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(y + r * ldy, m0, c0[r]);
    _mm512_mask_storeu_ps(y + r * ldy + 16, m1, c1[r]);
  }
}

template <int MR>
void rows_f32(const float* x, int64_t k, const float* panel, float* y, int64_t ldy, int64_t cols) {
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : __mmask16((1u << (cols - 16)) - 1);
  micro_f32<MR>(x, k, panel, y, ldy, m0, m1);
}

void kernel_avx512_f32(const GemmInput& in, const float* packed, int64_t n, float* y, int64_t ldy) {
  constexpr int kMR = 12;
  const int64_t m = in.m, k = in.k;
  for (int64_t p = 0; p * 32 < n; ++p) {
    const float* panel = packed + p * 32 * k;
    const int64_t cols = std::min<int64_t>(32, n - p * 32);
    int64_t i = 0;
    for (; i + kMR <= m; i += kMR) rows_f32<kMR>(in.x + i * k, k, panel, y + i * ldy + p * 32, ldy, cols);
    const float* xr = in.x + i * k;
    float* yr = y + i * ldy + p * 32;
    switch (m - i) {
      case 0: break;
      case 1: rows_f32<1>(xr, k, panel, yr, ldy, cols); break;
      case 2: rows_f32<2>(xr, k, panel, yr, ldy, cols); break;
      case 3: rows_f32<3>(xr, k, panel, yr, ldy, cols); break;
      case 4: rows_f32<4>(xr, k, panel, yr, ldy, cols); break;
      case 5: rows_f32<5>(xr, k, panel, yr, ldy, cols); break;
      case 6: rows_f32<6>(xr, k, panel, yr, ldy, cols); break;
      case 7: rows_f32<7>(xr, k, panel, yr, ldy, cols); break;
      case 8: rows_f32<8>(xr, k, panel, yr, ldy, cols); break;
      case 9: rows_f32<9>(xr, k, panel, yr, ldy, cols); break;
      case 10: rows_f32<10>(xr, k, panel, yr, ldy, cols); break;
      case 11: rows_f32<11>(xr, k, panel, yr, ldy, cols); break;
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

void gemm_block(GemmKernel kern, const GemmInput& in, const void* w, bool w_bf16, int64_t n, float* y,
                int64_t ldy, std::vector<float>& scratch) {
#if defined(__x86_64__)
  if (kern == GemmKernel::avx512bf16 && w_bf16) {
    kernel_avx512_bf16(in, static_cast<const uint16_t*>(w), n, y, ldy);
    return;
  }
  if (kern != GemmKernel::openblas) {  // avx512, or avx512bf16 given f32 weights
    const size_t count = size_t((n + 31) / 32 * 32 * in.k);
    if (scratch.size() < count) scratch.resize(count);
    if (w_bf16)
      pack_panels(static_cast<const uint16_t*>(w), n, in.k, scratch.data());
    else
      pack_panels(static_cast<const float*>(w), n, in.k, scratch.data());
    kernel_avx512_f32(in, scratch.data(), n, y, ldy);
    return;
  }
#endif
  const float* wf = static_cast<const float*>(w);
  if (w_bf16) {
    const size_t count = size_t(n * in.k);
    if (scratch.size() < count) scratch.resize(count);
    const uint16_t* src = static_cast<const uint16_t*>(w);
    for (size_t i = 0; i < count; ++i) scratch[i] = bf16_to_f32(src[i]);
    wf = scratch.data();
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(in.m), int(n), int(in.k), 1.0f, in.x, int(in.k), wf,
              int(in.k), 0.0f, y, int(ldy));
}

}  // namespace ziq::backend::cpu
