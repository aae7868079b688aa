#include "backend/cpu/gemm.h"

#include <cblas.h>
#include <immintrin.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "backend/cpu/amx.h"
#include "backend/cpu/vec.h"
#include "core/error.h"
#include "core/threads.h"

namespace ziq::backend::cpu {

// ZIQ_CPU=avx2 hides AVX-512 (and so AMX) from every kernel choice, so the AVX2 paths that CI
// machines without AVX-512 take can be tested on a machine that has it.
static bool avx512_hidden() {
  static const bool hidden = [] {
    const char* env = std::getenv("ZIQ_CPU");
    const std::string want = env ? env : "";
    if (want.empty()) return false;
    if (want != "avx2") usage_error("ZIQ_CPU={}: expected avx2 (or unset)", want);
    return true;
  }();
  return hidden;
}

bool cpu_has_avx2_fma() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__)
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0 && !avx512_hidden();
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
           __builtin_cpu_supports("avx512bf16") && !avx512_hidden();
  }();
  return has;
#else
  return false;
#endif
}

bool cpu_has_amx_bf16() {
#if defined(__x86_64__)
  static const bool has = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
    if (!amx_bf16 || !amx_tile || !cpu_has_avx512_bf16()) return false;
    // Linux hands out the 8 KB tile state only to processes that ask (arch_prctl
    // ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); without it the first tile instruction faults.
    constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (const char* env = std::getenv("ZIQ_AMX"); env && std::string(env) == "0") return false;  // for measurements
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return has;
#else
  return false;
#endif
}

bool is_amx(GemmKernel k) { return k == GemmKernel::amx_bf16x3 || k == GemmKernel::amx_bf16; }

int64_t gemm_block_multiple(GemmKernel k) { return is_amx(k) ? 32 : 16; }

std::vector<GemmKernel> available_gemm_kernels() {
  std::vector<GemmKernel> ks = {GemmKernel::openblas};
  if (cpu_has_avx2_fma()) ks.push_back(GemmKernel::avx2);
  if (cpu_has_avx512()) ks.push_back(GemmKernel::avx512);
  if (cpu_has_avx512_bf16()) {
    ks.push_back(GemmKernel::avx512bf16);
    ks.push_back(GemmKernel::avx512bf16_fast);
  }
  if (cpu_has_amx_bf16()) {
    ks.push_back(GemmKernel::amx_bf16x3);
    ks.push_back(GemmKernel::amx_bf16);
  }
  return ks;
}

// The choice and its measurement are in gemm.h.
GemmKernel default_gemm_kernel() {
  static const GemmKernel k = [] {
    const char* env = std::getenv("ZIQ_GEMM");
    const std::string want = env ? env : "";
    if (!want.empty()) {
      std::string names;
      for (GemmKernel kern : available_gemm_kernels()) {
        if (want == gemm_kernel_name(kern)) return kern;
        names += (names.empty() ? "" : ", ") + gemm_kernel_name(kern);
      }
      usage_error("ZIQ_GEMM={}: this CPU runs {}", want, names);
    }
    if (cpu_has_amx_bf16()) return GemmKernel::amx_bf16x3;
    if (cpu_has_avx512()) return GemmKernel::avx512;
    return cpu_has_avx2_fma() ? GemmKernel::avx2 : GemmKernel::openblas;
  }();
  return k;
}

GemmKernel fast_gemm_kernel() {
  if (cpu_has_amx_bf16()) return GemmKernel::amx_bf16;
  return cpu_has_avx512_bf16() ? GemmKernel::avx512bf16_fast : default_gemm_kernel();
}

std::string gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::openblas: return "openblas-sgemm";
    case GemmKernel::avx2: return "avx2-f32";
    case GemmKernel::avx512: return "avx512-f32";
    case GemmKernel::avx512bf16: return "avx512-bf16x2";
    case GemmKernel::avx512bf16_fast: return "avx512-bf16";
    case GemmKernel::amx_bf16x3: return "amx-bf16x3";
    case GemmKernel::amx_bf16: return "amx-bf16";
  }
  return "?";
}

namespace {

#if defined(__x86_64__)
// Packs weight rows [0, n) into panels of 32 columns in the pair layout vdpbf16ps and the AMX
// tile unit want: panel p, pair q holds (w[c][2q], w[c][2q+1]) for its 32 columns c, 64 bf16 = two
// registers or one 128-byte row of which a B tile takes 64 bytes. Zero past n and past k (kpad
// values per column, kpad even and >= k).
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
      for (int64_t q = 0; q < k / 2; ++q, d += 32)
        for (int c = 0; c < 32; ++c) std::memcpy(d + c, rows[c] + 2 * q, 4);
      std::fill(dst + k * 32, dst + kpad * 32, uint16_t(0));
      continue;
    }
    for (int64_t c = 0; c < 32; ++c) {
      const uint16_t* src = w + (p * 32 + c) * k;
      for (int64_t q = 0; q < pairs; ++q) {
        dst[q * 64 + 2 * c] = c < cols && 2 * q < k ? src[2 * q] : 0;
        dst[q * 64 + 2 * c + 1] = c < cols && 2 * q + 1 < k ? src[2 * q + 1] : 0;
      }
    }
  }
}

// The AMX tile unit (amx.h): tiles 0-3 accumulate a 32 x 32 block of y (2 x 2 tiles of 16 x 16
// f32), tiles 4-5 hold 16 rows x 32 k of x (bf16), tiles 6-7 hold 16 pairs of k x 16 columns of w.

// Accumulator tiles = the y block [32 rows, 32 columns], the sum over the P parts of x of part *
// panel, down all of kpad (a multiple of 32). `group`: the 32 rows' tiles (GemmInput::tiles).
template <int P>
__attribute__((target("amx-tile,amx-bf16"))) void amx_32x32(const uint16_t* group, int64_t kpad,
                                                           const uint16_t* panel) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t kk = 0; kk < kpad; kk += 32) {
    const uint16_t* b = panel + kk * 32;  // pair row kk / 2 of the panel
    ZIQ_TILE_LOAD(6, b, 128);
    ZIQ_TILE_LOAD(7, b + 32, 128);
    const uint16_t* a = group + kk * 32 * P;  // this step's P x 2 tiles of 512 values
    for (int p = 0; p < P; ++p, a += 1024) {
      ZIQ_TILE_LOAD(4, a, 64);
      ZIQ_TILE_LOAD(5, a + 512, 64);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
}

// The four accumulator tiles to a 32 x 32 block of y (row stride ldy floats).
__attribute__((target("amx-tile"))) void amx_store(float* y, int64_t ldy) {
  const long stride = long(ldy * sizeof(float));
  ZIQ_TILE_STORE(0, y, stride);
  ZIQ_TILE_STORE(1, y + 16, stride);
  ZIQ_TILE_STORE(2, y + 16 * ldy, stride);
  ZIQ_TILE_STORE(3, y + 16 * ldy + 16, stride);
}

// All rows of the input times a pair-packed weight block: 32-row groups outer, so a group of x
// stays in L2 while it meets every panel of the block. Whole 32 x 32 blocks go straight from the
// tiles to y; edges through a buffer.
template <int P>
void drive_amx(const GemmInput& in, const uint16_t* packed, int64_t n, float* y, int64_t ldy) {
  alignas(64) float c[32 * 32];
  const int64_t panel = 32 * in.kpad;
  amx_configure();
  for (int64_t i = 0; i < in.m; i += 32) {
    const int64_t rows = std::min<int64_t>(32, in.m - i);
    for (int64_t p = 0; p * 32 < n; ++p) {
      const int64_t cols = std::min<int64_t>(32, n - p * 32);
      float* dst = y + i * ldy + p * 32;
      amx_32x32<P>(in.tiles + i * in.kpad * P, in.kpad, packed + p * panel);
      if (rows == 32 && cols == 32) {
        amx_store(dst, ldy);
        continue;
      }
      amx_store(c, 32);
      for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * ldy, c + r * 32, cols * sizeof(float));
    }
  }
  amx_release();
}

// MR rows of x times one 32-column pair-packed panel: each step broadcasts a pair of x (hi, and
// lo when kLo) and accumulates 2 x 32 products per column with vdpbf16ps.
template <int MR, bool kLo>
__attribute__((target("avx512f,avx512bf16"))) void micro_bf16(const GemmInput& in, int64_t row0,
                                                              const uint16_t* panel, float* y, int64_t ldy,
                                                              __mmask16 m0, __mmask16 m1) {
  const int64_t kpad = in.kpad, pairs = kpad / 2;
  const uint32_t* hi = reinterpret_cast<const uint32_t*>(in.part[0] + row0 * kpad);
  const uint32_t* lo = kLo ? reinterpret_cast<const uint32_t*>(in.part[1] + row0 * kpad) : nullptr;
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
// The AVX2 twin of micro_f32, for CPUs without AVX-512: MR rows of x times 16 columns (one half of
// a 32-column panel), 2*MR accumulators of 8 lanes (MR = 6: 12 of the 16 ymm registers). Each
// y value is the same chain of FMAs down k from zero as in micro_f32, so the two kernels give the
// same bits, and neither depends on the row blocking, the batch or the thread count.
template <int MR>
__attribute__((target("avx2,fma"))) void micro_f32_avx2(const float* x, int64_t k, const float* half, float* y,
                                                        int64_t ldy, int64_t cols) {
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m256 b0 = _mm256_loadu_ps(half + kk * 32);
    const __m256 b1 = _mm256_loadu_ps(half + kk * 32 + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(x + r * k + kk);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
  if (cols == 16) {
    for (int r = 0; r < MR; ++r) {
      _mm256_storeu_ps(y + r * ldy, c0[r]);
      _mm256_storeu_ps(y + r * ldy + 8, c1[r]);
    }
    return;
  }
  alignas(32) float tmp[16];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(tmp, c0[r]);
    _mm256_store_ps(tmp + 8, c1[r]);
    std::memcpy(y + r * ldy, tmp, size_t(cols) * sizeof(float));
  }
}

// Runs micro_f32_avx2 over all rows and the halves of every 32-column panel (pack_panels' layout).
void drive_avx2(const float* x, int64_t m, int64_t k, const float* packed, int64_t n, float* y, int64_t ldy) {
  constexpr int kMR = 6;
  for (int64_t c0 = 0; c0 < n; c0 += 16) {
    const float* half = packed + c0 / 32 * 32 * k + c0 % 32;
    const int64_t cols = std::min<int64_t>(16, n - c0);
    int64_t i = 0;
    for (; i + kMR <= m; i += kMR) micro_f32_avx2<kMR>(x + i * k, k, half, y + i * ldy + c0, ldy, cols);
    const float* xr = x + i * k;
    float* yr = y + i * ldy + c0;
    switch (m - i) {
      case 0: break;
      case 1: micro_f32_avx2<1>(xr, k, half, yr, ldy, cols); break;
      case 2: micro_f32_avx2<2>(xr, k, half, yr, ldy, cols); break;
      case 3: micro_f32_avx2<3>(xr, k, half, yr, ldy, cols); break;
      case 4: micro_f32_avx2<4>(xr, k, half, yr, ldy, cols); break;
      case 5: micro_f32_avx2<5>(xr, k, half, yr, ldy, cols); break;
    }
  }
}

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

namespace {

// Values per row of x's bf16 parts and per packed weight column: k rounded up to whole pairs, or
// to whole 32-value AMX tile rows.
int64_t padded_k(GemmKernel kern, int64_t k) { return is_amx(kern) ? (k + 31) / 32 * 32 : (k + 1) / 2 * 2; }

// Where row `row` of an AMX input (GemmInput::tiles, rows of kpad values in `parts` parts) starts:
// its group of 32 rows, the half (rows 0-15 or 16-31) and its row in that half's first tile. The
// row's later tiles follow every 512 values (parts, then steps of 32 k: 1024 * parts per step).
int64_t tile_row_offset(int64_t row, int64_t kpad, int parts) {
  return row / 32 * 32 * kpad * parts + row % 32 / 16 * 512 + row % 16 * 32;
}

int parts_of(GemmKernel k) {
  switch (k) {
    case GemmKernel::avx512bf16: return 2;
    case GemmKernel::avx512bf16_fast: return 1;
    case GemmKernel::amx_bf16x3: return 3;
    case GemmKernel::amx_bf16: return 1;
    default: return 0;
  }
}

// One row of x into P bf16 parts (dst[p] rows), each part the rounding of what the earlier parts
// left (exact differences), zero-filled from k to kpad.
void split_row(const float* x, int64_t k, int64_t kpad, int parts, uint16_t* const* dst) {
  for (int64_t j = 0; j < k; ++j) {
    float v = x[j];
    for (int p = 0; p < parts; ++p) {
      const uint16_t h = f32_to_bf16(v);
      dst[p][j] = h;
      v -= bf16_to_f32(h);
    }
  }
  for (int p = 0; p < parts; ++p) std::fill(dst[p] + k, dst[p] + kpad, uint16_t(0));
}

#if defined(__x86_64__)
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_* (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The same, 16 values at a time (round to nearest even by integer arithmetic, as f32_to_bf16).
__attribute__((target("avx512f,avx512bw"))) void split_row_avx512(const float* x, int64_t k, int64_t kpad,
                                                                  int parts, uint16_t* const* dst) {
  const __m512i round = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1);
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) {
    __m512 v = _mm512_loadu_ps(x + j);
    for (int p = 0; p < parts; ++p) {
      const __m512i u = _mm512_castps_si512(v);
      const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
      const __m512i h32 = _mm512_srli_epi32(r, 16);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst[p] + j), _mm512_cvtepi32_epi16(h32));
      v = _mm512_sub_ps(v, _mm512_castsi512_ps(_mm512_slli_epi32(h32, 16)));
    }
  }
  uint16_t* rest[3] = {dst[0] + j, parts > 1 ? dst[1] + j : nullptr, parts > 2 ? dst[2] + j : nullptr};
  split_row(x + j, k - j, kpad - j, parts, rest);
}

// Lanes [0, n) of a vector, n clamped to [0, 16].
inline __mmask16 lane_mask(int64_t n) { return n >= 16 ? 0xFFFF : n <= 0 ? 0 : __mmask16((1u << n) - 1); }

// One row of x into the AMX tile layout (GemmInput::tiles): `dst` is the row's place in its
// group's first tile (group + half * 512 + (row % 16) * 32); each step of 32 k is rounded to
// bf16 by vcvtne2ps2bf16 (round to nearest even, as f32_to_bf16), the exact remainder goes on to
// the next part. Past k: zeros. x == nullptr: a zero row.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void split_row_tiles(const float* x, int64_t k,
                                                                             int64_t kpad, int parts,
                                                                             uint16_t* dst) {
  for (int64_t j = 0; j < kpad; j += 32, dst += 1024 * parts) {
    __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
    if (x) {
      v0 = _mm512_maskz_loadu_ps(lane_mask(k - j), x + j);
      v1 = _mm512_maskz_loadu_ps(lane_mask(k - j - 16), x + std::min(j + 16, k));  // masked off past k
    }
    for (int p = 0; p < parts; ++p) {
      const __m512i h = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(v1, v0));  // [bf16(v0), bf16(v1)]
      _mm512_storeu_si512(dst + p * 1024, h);
      if (p + 1 == parts) break;
      const __m512i lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(h));
      const __m512i hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1));
      v0 = _mm512_sub_ps(v0, _mm512_castsi512_ps(_mm512_slli_epi32(lo, 16)));
      v1 = _mm512_sub_ps(v1, _mm512_castsi512_ps(_mm512_slli_epi32(hi, 16)));
    }
  }
}
#pragma GCC diagnostic pop
#endif

}  // namespace

GemmInput prepare_gemm_input(GemmKernel kern, const float* x, int64_t m, int64_t k,
                             AlignedBuffer<uint16_t>& storage, int threads) {
  GemmInput in{x, m, k};
  in.parts = parts_of(kern);
  if (in.parts == 0) return in;
  in.kpad = padded_k(kern, k);
#if defined(__x86_64__)
  if (is_amx(kern)) {
    GemmInput tiled = gemm_input_tiles(kern, m, k, storage);
    tiled.x = x;
    const int64_t rows = (m + 31) / 32 * 32;  // whole groups of 32 rows, zero past m
    parallel_for(size_t(rows), threads, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i)
        split_row_tiles(int64_t(i) < m ? x + i * k : nullptr, k, tiled.kpad, tiled.parts,
                        storage.data() + tile_row_offset(int64_t(i), tiled.kpad, tiled.parts));
    }, 16);
    return tiled;
  }
#endif
  const int64_t rows = m;
  const size_t part_size = size_t(rows * in.kpad);
  storage.resize(in.parts * part_size);
  for (int p = 0; p < in.parts; ++p) in.part[p] = storage.data() + p * part_size;
  parallel_for(size_t(rows), threads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      uint16_t* dst[3];
      for (int p = 0; p < in.parts; ++p) dst[p] = storage.data() + p * part_size + i * in.kpad;
      if (int64_t(i) >= m) {
        for (int p = 0; p < in.parts; ++p) std::fill(dst[p], dst[p] + in.kpad, uint16_t(0));
        continue;
      }
#if defined(__x86_64__)
      if (cpu_has_avx512()) {
        split_row_avx512(x + i * k, k, in.kpad, in.parts, dst);
        continue;
      }
#endif
      split_row(x + i * k, k, in.kpad, in.parts, dst);
    }
  }, 16);
  return in;
}

GemmInput gemm_input_tiles(GemmKernel kern, int64_t m, int64_t k, AlignedBuffer<uint16_t>& storage) {
  if (!is_amx(kern)) internal_error("gemm_input_tiles: {} reads no tiles", gemm_kernel_name(kern));
  GemmInput in{nullptr, m, k};
  in.parts = parts_of(kern);
  in.kpad = padded_k(kern, k);
  storage.resize(size_t((m + 31) / 32 * 32 * in.kpad * in.parts));
  in.tiles = storage.data();
  return in;
}

#if defined(__x86_64__)
namespace {
template <int P>
void silu_gate_amx(const GemmInput& in, const uint16_t* gate_packed, const uint16_t* up_packed,
                   const float* bias_gate, const float* bias_up, int64_t first_col, int64_t n, int64_t I,
                   int64_t act_kpad, uint16_t* act_tiles, int64_t act_row) {
  alignas(64) float g[32 * 32], u[32 * 32];
  const int64_t panel = 32 * in.kpad;
  amx_configure();
  for (int64_t i = 0; i < in.m; i += 32) {
    const int64_t rows = std::min<int64_t>(32, in.m - i);
    for (int64_t p = first_col / 32; p * 32 < first_col + n; ++p) {
      const uint16_t* a = in.tiles + i * in.kpad * P;
      amx_32x32<P>(a, in.kpad, gate_packed + p * panel);
      amx_store(g, 32);
      amx_32x32<P>(a, in.kpad, up_packed + p * panel);
      amx_store(u, 32);
      const int64_t c0 = p * 32, cols = std::min<int64_t>(32, I - c0);
      for (int64_t r = 0; r < 32; ++r) {
        uint16_t* dst = act_tiles + tile_row_offset(act_row + i + r, act_kpad, P) + p * 1024 * P;  // step p of act's k
        if (r >= rows) {
          split_row_tiles(nullptr, 0, 32, P, dst);
          continue;
        }
        float* gr = g + r * 32;
        float* ur = u + r * 32;
        for (int64_t c = 0; c < cols; ++c) {
          if (bias_gate) gr[c] += bias_gate[c0 + c];
          if (bias_up) ur[c] += bias_up[c0 + c];
        }
        silu_mul(gr, ur, 32);  // past I: silu(0) * 0 = 0, and split_row_tiles writes zeros there anyway
        split_row_tiles(gr, cols, 32, P, dst);
      }
    }
  }
  amx_release();
}
}  // namespace
#endif

void gemm_silu_gate_packed(GemmKernel kern, const GemmInput& in, const uint16_t* gate_packed,
                           const uint16_t* up_packed, const float* bias_gate, const float* bias_up,
                           int64_t first_col, int64_t n, int64_t I, uint16_t* act_tiles, int64_t act_row) {
#if defined(__x86_64__)
  if (first_col % 32 || act_row % 32) internal_error("gemm_silu_gate_packed: column {} row {}", first_col, act_row);
  const int64_t act_kpad = padded_k(kern, I);
  if (kern == GemmKernel::amx_bf16x3)
    return silu_gate_amx<3>(in, gate_packed, up_packed, bias_gate, bias_up, first_col, n, I, act_kpad, act_tiles,
                            act_row);
  if (kern == GemmKernel::amx_bf16)
    return silu_gate_amx<1>(in, gate_packed, up_packed, bias_gate, bias_up, first_col, n, I, act_kpad, act_tiles,
                            act_row);
#endif
  internal_error("gemm_silu_gate_packed: {} is not an AMX kernel", gemm_kernel_name(kern));
}

GemmInput gemm_input_rows(const GemmInput& in, int64_t r0, int64_t m) {
  GemmInput out = in;
  out.x = in.x + r0 * in.k;
  out.m = m;
  for (int p = 0; p < in.parts; ++p)
    if (in.part[p]) out.part[p] = in.part[p] + r0 * in.kpad;
  if (in.tiles) out.tiles = in.tiles + r0 * in.kpad * in.parts;  // r0: a multiple of 32
  return out;
}

bool gemm_prepacks(GemmKernel kern) { return is_amx(kern); }

int64_t packed_weight_values(GemmKernel kern, int64_t rows, int64_t k) {
  if (!gemm_prepacks(kern)) return 0;
  return (rows + 31) / 32 * 32 * padded_k(kern, k);
}

void pack_weight_panels(GemmKernel kern, const uint16_t* w, int64_t rows, int64_t k, int64_t panel_begin,
                        int64_t panel_end, uint16_t* out) {
  if (!gemm_prepacks(kern)) internal_error("pack_weight_panels: {} does not prepack", gemm_kernel_name(kern));
  const int64_t kpad = padded_k(kern, k);
  for (int64_t p = panel_begin; p < panel_end && p * 32 < rows; ++p)
    pack_pairs(w + p * 32 * k, std::min<int64_t>(32, rows - p * 32), k, kpad, out + p * 32 * kpad);
}

void gemm_block_packed(GemmKernel kern, const GemmInput& in, const uint16_t* packed, int64_t first_row, int64_t n,
                       float* y, int64_t ldy) {
#if defined(__x86_64__)
  if (first_row % 32) internal_error("gemm_block_packed: block starts at row {}", first_row);
  const uint16_t* panels = packed + first_row * in.kpad;
  if (kern == GemmKernel::amx_bf16x3) return drive_amx<3>(in, panels, n, y, ldy);
  if (kern == GemmKernel::amx_bf16) return drive_amx<1>(in, panels, n, y, ldy);
#endif
  internal_error("gemm_block_packed: {} does not prepack", gemm_kernel_name(kern));
}

void gemm_block(GemmKernel kern, const GemmInput& in, const void* w, bool w_bf16, int64_t n, float* y,
                int64_t ldy, std::vector<float>& scratch) {
#if defined(__x86_64__)
  const bool pairs = kern == GemmKernel::avx512bf16 || kern == GemmKernel::avx512bf16_fast || is_amx(kern);
  if (pairs && w_bf16) {  // the block packed into pair panels here, for this call only
    const int64_t panel = 32 * in.kpad;  // bf16 values per panel
    const size_t floats = size_t((n + 31) / 32 * panel + 1) / 2;
    if (scratch.size() < floats) scratch.resize(floats);
    uint16_t* packed = reinterpret_cast<uint16_t*>(scratch.data());
    pack_pairs(static_cast<const uint16_t*>(w), n, in.k, in.kpad, packed);
    switch (kern) {
      case GemmKernel::amx_bf16x3: return drive_amx<3>(in, packed, n, y, ldy);
      case GemmKernel::amx_bf16: return drive_amx<1>(in, packed, n, y, ldy);
      case GemmKernel::avx512bf16: return drive<MicroBf16Exact>(in, packed, panel, n, y, ldy);
      default: return drive<MicroBf16Fast>(in, packed, panel, n, y, ldy);
    }
  }
  if (kern != GemmKernel::openblas) {  // avx2, avx512, or a bf16 kernel given f32 weights
    const size_t count = size_t((n + 31) / 32 * 32 * in.k);
    if (scratch.size() < count) scratch.resize(count);
    if (w_bf16)
      pack_panels(static_cast<const uint16_t*>(w), n, in.k, scratch.data());
    else
      pack_panels(static_cast<const float*>(w), n, in.k, scratch.data());
    if (kern == GemmKernel::avx2)
      drive_avx2(in.x, in.m, in.k, scratch.data(), n, y, ldy);
    else
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
