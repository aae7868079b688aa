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
    if (want == "avx512") {
      if (!cpu_has_avx512()) usage_error("ZIQ_GEMM={}: this CPU lacks AVX-512", want);
      return GemmKernel::avx512;
    }
    if (want == "avx512bf16") {
      if (!cpu_has_avx512_bf16()) usage_error("ZIQ_GEMM={}: this CPU lacks AVX-512 BF16", want);
      return GemmKernel::avx512bf16;
    }
    if (!want.empty()) usage_error("ZIQ_GEMM={}: expected openblas, avx512 or avx512bf16", want);
    return cpu_has_avx512() ? GemmKernel::avx512 : GemmKernel::openblas;
  }();
  return k;
}

GemmKernel fast_gemm_kernel() {
  return cpu_has_avx512_bf16() ? GemmKernel::avx512bf16_fast : default_gemm_kernel();
}

std::string gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::openblas: return "openblas-sgemm";
    case GemmKernel::avx512: return "avx512-f32";
    case GemmKernel::avx512bf16: return "avx512-bf16x2";
    case GemmKernel::avx512bf16_fast: return "avx512-bf16";
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
// Packs weight rows [0, n) into panels of 32 columns in the pair layout vdpbf16ps wants: panel p,
// pair q holds (w[c][2q], w[c][2q+1]) for its 32 columns c, 64 bf16 = two registers (zero-padded).
void pack_pairs(const uint16_t* w, int64_t n, int64_t k, int64_t kpad, uint16_t* out) {
  const int64_t pairs = kpad / 2;
  for (int64_t p = 0; p * 32 < n; ++p) {
    uint16_t* dst = out + p * 32 * kpad;
    const int64_t cols = std::min<int64_t>(32, n - p * 32);
    if (cols == 32 && k % 2 == 0) {
      // Common case: whole pairs, moved 32 bits at a time, writing each panel row in order.
      const uint16_t* rows[32];
      for (int c = 0; c < 32; ++c) rows[c] = w + (p * 32 + c) * k;
      uint32_t* d = reinterpret_cast<uint32_t*>(dst);
      for (int64_t q = 0; q < pairs; ++q, d += 32)
        for (int c = 0; c < 32; ++c) std::memcpy(d + c, rows[c] + 2 * q, 4);
      continue;
    }
    for (int64_t c = 0; c < 32; ++c) {
      const uint16_t* src = w + (p * 32 + c) * k;
      for (int64_t q = 0; q < pairs; ++q) {
        dst[q * 64 + 2 * c] = c < cols ? src[2 * q] : 0;
        dst[q * 64 + 2 * c + 1] = c < cols && 2 * q + 1 < k ? src[2 * q + 1] : 0;
      }
    }
  }
}

// MR rows of x times one 32-column pair-packed panel: each step broadcasts a pair of x (hi, and
// lo when kLo) and accumulates 2 x 32 products per column with vdpbf16ps.
template <int MR, bool kLo>
__attribute__((target("avx512f,avx512bf16"))) void micro_bf16(const GemmInput& in, int64_t row0,
                                                              const uint16_t* panel, float* y, int64_t ldy,
                                                              __mmask16 m0, __mmask16 m1) {
  const int64_t kpad = in.kpad, pairs = kpad / 2;
  const uint32_t* hi = reinterpret_cast<const uint32_t*>(in.hi + row0 * kpad);
  const uint32_t* lo = kLo ? reinterpret_cast<const uint32_t*>(in.lo + row0 * kpad) : nullptr;
  __m512 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t q = 0; q < pairs; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + q * 64);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + q * 64 + 32);
    for (int r = 0; r < MR; ++r) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int(hi[r * pairs + q]));
      c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
      if constexpr (kLo) {
        const __m512bh l = (__m512bh)_mm512_set1_epi32(int(lo[r * pairs + q]));
        c0[r] = _mm512_dpbf16_ps(c0[r], l, b0);
        c1[r] = _mm512_dpbf16_ps(c1[r], l, b1);
      }
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm512_mask_storeu_ps(y + r * ldy, m0, c0[r]);
    _mm512_mask_storeu_ps(y + r * ldy + 16, m1, c1[r]);
  }
}

// Packs weight rows [0, n) (n <= 32 per panel) into panels of 32 columns: panel p holds, for each
// kk, the 32 values w[32p + c][kk] as f32 (zero past n). bf16 widening happens here, exactly.
template <typename T>
void pack_panels(const T* w, int64_t n, int64_t k, float* out) {
  for (int64_t p = 0; p * 32 < n; ++p) {
    float* dst = out + p * 32 * k;
    const int64_t cols = std::min<int64_t>(32, n - p * 32);
    if (cols == 32) {  // common case: write each panel row in order
      const T* rows[32];
      for (int c = 0; c < 32; ++c) rows[c] = w + (p * 32 + c) * k;
      for (int64_t kk = 0; kk < k; ++kk, dst += 32)
        for (int c = 0; c < 32; ++c) {
          if constexpr (sizeof(T) == 2)
            dst[c] = bf16_to_f32(rows[c][kk]);
          else
            dst[c] = rows[c][kk];
        }
      continue;
    }
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

// Runs a micro kernel (templated on its row count) over all rows and 32-column panels.
template <template <int> class Micro, typename Panel>
void drive(const GemmInput& in, const Panel* packed, int64_t panel_stride, int64_t n, float* y, int64_t ldy) {
  constexpr int kMR = 12;
  const int64_t m = in.m;
  for (int64_t p = 0; p * 32 < n; ++p) {
    const Panel* panel = packed + p * panel_stride;
    const int64_t cols = std::min<int64_t>(32, n - p * 32);
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : __mmask16((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : __mmask16((1u << (cols - 16)) - 1);
    int64_t i = 0;
    for (; i + kMR <= m; i += kMR) Micro<kMR>::run(in, i, panel, y + i * ldy + p * 32, ldy, m0, m1);
    float* yr = y + i * ldy + p * 32;
    switch (m - i) {
      case 0: break;
      case 1: Micro<1>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 2: Micro<2>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 3: Micro<3>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 4: Micro<4>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 5: Micro<5>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 6: Micro<6>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 7: Micro<7>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 8: Micro<8>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 9: Micro<9>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 10: Micro<10>::run(in, i, panel, yr, ldy, m0, m1); break;
      case 11: Micro<11>::run(in, i, panel, yr, ldy, m0, m1); break;
    }
  }
}

template <int MR>
struct MicroF32 {
  static void run(const GemmInput& in, int64_t row0, const float* panel, float* y, int64_t ldy, __mmask16 m0,
                  __mmask16 m1) {
    micro_f32<MR>(in.x + row0 * in.k, in.k, panel, y, ldy, m0, m1);
  }
};
template <int MR>
struct MicroBf16Exact {
  static void run(const GemmInput& in, int64_t row0, const uint16_t* panel, float* y, int64_t ldy, __mmask16 m0,
                  __mmask16 m1) {
    micro_bf16<MR, true>(in, row0, panel, y, ldy, m0, m1);
  }
};
template <int MR>
struct MicroBf16Fast {
  static void run(const GemmInput& in, int64_t row0, const uint16_t* panel, float* y, int64_t ldy, __mmask16 m0,
                  __mmask16 m1) {
    micro_bf16<MR, false>(in, row0, panel, y, ldy, m0, m1);
  }
};
#endif

}  // namespace

GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             std::vector<uint16_t>& hi, std::vector<uint16_t>& lo) {
  GemmInput in{x, m, k};
  if (kern != GemmKernel::avx512bf16 && kern != GemmKernel::avx512bf16_fast) return in;
  const bool with_lo = kern == GemmKernel::avx512bf16;
  in.kpad = (k + 1) / 2 * 2;
  hi.assign(size_t(m * in.kpad), 0);
  if (with_lo) lo.assign(size_t(m * in.kpad), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const float v = x[i * k + j];
      const uint16_t h = f32_to_bf16(v);
      hi[i * in.kpad + j] = h;
      if (with_lo) lo[i * in.kpad + j] = f32_to_bf16(v - bf16_to_f32(h));
    }
  in.hi = hi.data();
  in.lo = with_lo ? lo.data() : nullptr;
  return in;
}

void gemm_block(GemmKernel kern, const GemmInput& in, const void* w, bool w_bf16, int64_t n, float* y,
                int64_t ldy, std::vector<float>& scratch) {
#if defined(__x86_64__)
  const bool pairs = kern == GemmKernel::avx512bf16 || kern == GemmKernel::avx512bf16_fast;
  if (pairs && w_bf16) {
    const int64_t panel = 32 * in.kpad;  // bf16 values per panel
    const size_t floats = size_t((n + 31) / 32 * panel + 1) / 2;
    if (scratch.size() < floats) scratch.resize(floats);
    uint16_t* packed = reinterpret_cast<uint16_t*>(scratch.data());
    pack_pairs(static_cast<const uint16_t*>(w), n, in.k, in.kpad, packed);
    if (kern == GemmKernel::avx512bf16)
      drive<MicroBf16Exact>(in, packed, panel, n, y, ldy);
    else
      drive<MicroBf16Fast>(in, packed, panel, n, y, ldy);
    return;
  }
  if (kern != GemmKernel::openblas) {  // avx512, or a bf16 kernel given f32 weights
    const size_t count = size_t((n + 31) / 32 * 32 * in.k);
    if (scratch.size() < count) scratch.resize(count);
    if (w_bf16)
      pack_panels(static_cast<const uint16_t*>(w), n, in.k, scratch.data());
    else
      pack_panels(static_cast<const float*>(w), n, in.k, scratch.data());
    drive<MicroF32>(in, scratch.data(), 32 * in.k, n, y, ldy);
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
