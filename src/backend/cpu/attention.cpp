#include "backend/cpu/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "backend/cpu/amx.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/vec.h"
#include "core/error.h"

namespace ziq::backend::cpu {

AttentionKernel default_attention_kernel() {
  static const AttentionKernel k = [] {
    const char* env = std::getenv("ZIQ_ATTENTION");  // for measurements
    const std::string want = env ? env : "";
    if (want == "portable") return AttentionKernel::portable;
    if (want == "avx512") {
      if (!cpu_has_avx512()) usage_error("ZIQ_ATTENTION={}: this CPU lacks AVX-512", want);
      return AttentionKernel::avx512;
    }
    if (!want.empty()) usage_error("ZIQ_ATTENTION={}: expected portable or avx512", want);
    return cpu_has_avx512() ? AttentionKernel::avx512 : AttentionKernel::portable;
  }();
  return k;
}

bool amx_attention_supports(int64_t head_dim) { return head_dim > 0 && head_dim % 32 == 0 && cpu_has_amx_bf16(); }

namespace {

constexpr int kKeys = 64;            // keys per block (4 vectors of 16)
constexpr int kTileRows = 6;         // (query, head) rows per register tile
constexpr int64_t kTaskRows = 96;    // about this many rows per task: queries x heads of the group
constexpr int kLanes = 16;          // partial sums per row for the softmax denominator
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The three steps for one tile of up to kTileRows rows against one key block:
//  scores:  s_i[j] = q_i . k_j for the block's keys j < 16 * nvec (kt: [head_dim][kKeys]).
//  softmax: row i may see keys [a_i, b_i) of the block. x = scale * s_i; the running max m_i and
//           sum l_i absorb the block; s_i becomes p_i = exp(x - m_i) (zero outside [a_i, b_i))
//           and alpha_i = exp(m_old - m_i) rescales what o_i holds. l_i is kept as kLanes partial
//           sums (the kernel's choice of lanes), added up at the end.
//  pv:      o_i = o_i * alpha_i + sum over j in [j0, j1) of p_i[j] v_j; v: [kKeys][ld], o: rows of ld
//           (ld: head_dim rounded up to 16, the padding zero).
struct Kernels {
  void (*scores)(const float* const* q, int rows, int64_t hd, const float* kt, int nvec, float* s);
  void (*softmax)(float* s, int rows, const int* a, const int* b, int nvec, float scale, float* m, float* l,
                  float* alpha);
  void (*pv)(const float* p, int rows, int j0, int j1, const float* v, int64_t ld, float* o, const float* alpha);
};

// Portable: GCC/Clang vector extensions (AVX2 at the build's floor, SSE or NEON elsewhere), on
// R rows x 16 columns (two vectors of 8) of accumulators that stay in registers.
typedef float Vec8 __attribute__((vector_size(32)));

inline Vec8 load8(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, Vec8 v) { std::memcpy(p, &v, sizeof v); }

template <int R>
void scores_rows(const float* const* q, int64_t hd, const float* kt, int n, float* s) {
  for (int j0 = 0; j0 < n; j0 += 16) {
    Vec8 lo[R] = {}, hi[R] = {};
    for (int64_t d = 0; d < hd; ++d) {
      const Vec8 k0 = load8(kt + d * kKeys + j0), k1 = load8(kt + d * kKeys + j0 + 8);
      for (int i = 0; i < R; ++i) {
        lo[i] += q[i][d] * k0;
        hi[i] += q[i][d] * k1;
      }
    }
    for (int i = 0; i < R; ++i) {
      store8(s + i * kKeys + j0, lo[i]);
      store8(s + i * kKeys + j0 + 8, hi[i]);
    }
  }
}

template <int R>
void pv_rows(const float* p, int j0, int j1, const float* v, int64_t ld, float* o, const float* alpha) {
  for (int64_t d0 = 0; d0 < ld; d0 += 16) {
    Vec8 lo[R], hi[R];
    for (int i = 0; i < R; ++i) {
      lo[i] = load8(o + i * ld + d0) * alpha[i];
      hi[i] = load8(o + i * ld + d0 + 8) * alpha[i];
    }
    for (int j = j0; j < j1; ++j) {
      const Vec8 v0 = load8(v + j * ld + d0), v1 = load8(v + j * ld + d0 + 8);
      for (int i = 0; i < R; ++i) {
        lo[i] += p[i * kKeys + j] * v0;
        hi[i] += p[i * kKeys + j] * v1;
      }
    }
    for (int i = 0; i < R; ++i) {
      store8(o + i * ld + d0, lo[i]);
      store8(o + i * ld + d0 + 8, hi[i]);
    }
  }
}

static_assert(kTileRows == 6, "the tables list rows 1..6");
using ScoresRowsFn = void (*)(const float* const*, int64_t, const float*, int, float*);
using PvRowsFn = void (*)(const float*, int, int, const float*, int64_t, float*, const float*);
constexpr ScoresRowsFn kScoresRows[kTileRows] = {scores_rows<1>, scores_rows<2>, scores_rows<3>,
                                                 scores_rows<4>, scores_rows<5>, scores_rows<6>};
constexpr PvRowsFn kPvRows[kTileRows] = {pv_rows<1>, pv_rows<2>, pv_rows<3>, pv_rows<4>, pv_rows<5>, pv_rows<6>};

void scores_portable(const float* const* q, int rows, int64_t hd, const float* kt, int nvec, float* s) {
  kScoresRows[rows - 1](q, hd, kt, nvec * 16, s);
}

void pv_portable(const float* p, int rows, int j0, int j1, const float* v, int64_t ld, float* o, const float* alpha) {
  kPvRows[rows - 1](p, j0, j1, v, ld, o, alpha);
}

void softmax_portable(float* s, int rows, const int* a, const int* b, int nvec, float scale, float* m, float* l,
                      float* alpha) {
  for (int i = 0; i < rows; ++i) {
    float* si = s + i * kKeys;
    const int lo = std::min(a[i], b[i]), hi = b[i];
    std::fill(si, si + lo, 0.0f);
    std::fill(si + hi, si + nvec * 16, 0.0f);
    alpha[i] = 1.0f;
    if (lo == hi) continue;
    for (int j = lo; j < hi; ++j) si[j] *= scale;
    const float mx = std::max(m[i], max_of(si + lo, hi - lo));
    alpha[i] = std::exp(m[i] - mx);  // 0 while m is -inf
    l[i * kLanes] = l[i * kLanes] * alpha[i] + sum_exp(si + lo, hi - lo, mx, true);
    m[i] = mx;
  }
}

#if defined(__x86_64__)
// GCC 12's avx512fintrin.h trips -Wuninitialized on its own _mm512_undefined_ps (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// AVX-512: register tiles of R rows x C vectors of 16; the tile functions are instantiated for
// every R <= kTileRows and C <= 4 and picked from tables.

// exp(x) for -87.3 <= x <= 0 (anything in lanes the caller masks off): the Cephes polynomial of
// vec.h's exp8 (relative error about 2e-7), 2^n applied by vscalefps.
__attribute__((target("avx512f"))) inline __m512 exp16(__m512 x) {
  using namespace exp_poly;
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 y = _mm512_set1_ps(kP[0]);
  for (int i = 1; i < 6; ++i) y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP[i]));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, n);
}

// exp(x) in lanes `keep` where x >= -87.3, else 0 (true value below 1.2e-38): the weights stay
// normal floats (denormals are slow on Intel cores) and -inf (m before any key) gives 0.
__attribute__((target("avx512f"))) inline __m512 exp_or_zero(__mmask16 keep, __m512 x) {
  keep = _mm512_mask_cmp_ps_mask(keep, x, _mm512_set1_ps(-87.33f), _CMP_GE_OQ);
  return _mm512_maskz_mov_ps(keep, exp16(x));
}

// Lanes [lo, hi) of a vector, lo and hi clamped to [0, 16].
inline __mmask16 lane_range(int lo, int hi) {
  lo = std::clamp(lo, 0, 16);
  hi = std::clamp(hi, lo, 16);
  return __mmask16(((1u << hi) - 1) & ~((1u << lo) - 1));
}

template <int R, int C>
__attribute__((target("avx512f"))) void scores_tile(const float* const* q, int64_t hd, const float* kt, float* s) {
  __m512 acc[R][C];
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c) acc[i][c] = _mm512_setzero_ps();
  for (int64_t d = 0; d < hd; ++d) {
    __m512 kv[C];
    for (int c = 0; c < C; ++c) kv[c] = _mm512_loadu_ps(kt + d * kKeys + 16 * c);
    for (int i = 0; i < R; ++i) {
      const __m512 qd = _mm512_set1_ps(q[i][d]);
      for (int c = 0; c < C; ++c) acc[i][c] = _mm512_fmadd_ps(qd, kv[c], acc[i][c]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(s + i * kKeys + 16 * c, acc[i][c]);
}

// Columns [0, 16 C) of o and v (the caller offsets them).
template <int R, int C>
__attribute__((target("avx512f"))) void pv_tile(const float* p, int j0, int j1, const float* v, int64_t ld, float* o,
                                                const float* alpha) {
  __m512 acc[R][C];
  for (int i = 0; i < R; ++i) {
    const __m512 al = _mm512_set1_ps(alpha[i]);
    for (int c = 0; c < C; ++c) acc[i][c] = _mm512_mul_ps(_mm512_loadu_ps(o + i * ld + 16 * c), al);
  }
  for (int j = j0; j < j1; ++j) {
    __m512 vv[C];
    for (int c = 0; c < C; ++c) vv[c] = _mm512_loadu_ps(v + j * ld + 16 * c);
    for (int i = 0; i < R; ++i) {
      const __m512 pj = _mm512_set1_ps(p[i * kKeys + j]);
      for (int c = 0; c < C; ++c) acc[i][c] = _mm512_fmadd_ps(pj, vv[c], acc[i][c]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(o + i * ld + 16 * c, acc[i][c]);
}

// Two passes over the tile: the rows' new maxima (of the raw scores: scale > 0), then, with all
// alphas from one exp16, the exps of scale * s - max in one FMA each.
template <int C>
__attribute__((target("avx512f"))) void softmax_tile(float* s, int rows, const int* a, const int* b, float scale,
                                                     float* m, float* l, float* alpha) {
  const __m512 vscale = _mm512_set1_ps(scale);
  float mx[16], shift[16] = {};  // rows <= 16: kTileRows here, kAmxRows for the AMX kernel
  for (int i = 0; i < rows; ++i) {
    __m512 vmax = _mm512_set1_ps(kNegInf);
    for (int c = 0; c < C; ++c)
      vmax = _mm512_mask_max_ps(vmax, lane_range(a[i] - 16 * c, b[i] - 16 * c), vmax,
                                _mm512_loadu_ps(s + i * kKeys + 16 * c));
    mx[i] = std::max(m[i], scale * _mm512_reduce_max_ps(vmax));  // m[i] when the row sees no key here
    shift[i] = mx[i] == m[i] ? 0.0f : m[i] - mx[i];  // alpha 1 when the max stays
  }
  _mm512_mask_storeu_ps(alpha, lane_range(0, rows), exp_or_zero(0xFFFF, _mm512_loadu_ps(shift)));
  for (int i = 0; i < rows; ++i) {
    const __m512 vmx = _mm512_set1_ps(mx[i]);
    __m512 sum = _mm512_setzero_ps();
    for (int c = 0; c < C; ++c) {
      float* sc = s + i * kKeys + 16 * c;
      const __m512 e =
          exp_or_zero(lane_range(a[i] - 16 * c, b[i] - 16 * c), _mm512_fmsub_ps(_mm512_loadu_ps(sc), vscale, vmx));
      sum = _mm512_add_ps(sum, e);
      _mm512_storeu_ps(sc, e);
    }
    float* li = l + i * kLanes;
    _mm512_storeu_ps(li, _mm512_fmadd_ps(_mm512_loadu_ps(li), _mm512_set1_ps(alpha[i]), sum));
    m[i] = mx[i];
  }
}

using ScoresTileFn = void (*)(const float* const*, int64_t, const float*, float*);
using PvTileFn = void (*)(const float*, int, int, const float*, int64_t, float*, const float*);
using SoftmaxTileFn = void (*)(float*, int, const int*, const int*, float, float*, float*, float*);

template <int R>
constexpr ScoresTileFn kScoresRow[4] = {scores_tile<R, 1>, scores_tile<R, 2>, scores_tile<R, 3>, scores_tile<R, 4>};
template <int R>
constexpr PvTileFn kPvRow[4] = {pv_tile<R, 1>, pv_tile<R, 2>, pv_tile<R, 3>, pv_tile<R, 4>};
constexpr const ScoresTileFn* kScores[kTileRows] = {kScoresRow<1>, kScoresRow<2>, kScoresRow<3>,
                                                    kScoresRow<4>, kScoresRow<5>, kScoresRow<6>};
constexpr const PvTileFn* kPv[kTileRows] = {kPvRow<1>, kPvRow<2>, kPvRow<3>, kPvRow<4>, kPvRow<5>, kPvRow<6>};
constexpr SoftmaxTileFn kSoftmax[4] = {softmax_tile<1>, softmax_tile<2>, softmax_tile<3>, softmax_tile<4>};

void scores_avx512(const float* const* q, int rows, int64_t hd, const float* kt, int nvec, float* s) {
  kScores[rows - 1][nvec - 1](q, hd, kt, s);
}

void softmax_avx512(float* s, int rows, const int* a, const int* b, int nvec, float scale, float* m, float* l,
                    float* alpha) {
  kSoftmax[nvec - 1](s, rows, a, b, scale, m, l, alpha);
}

void pv_avx512(const float* p, int rows, int j0, int j1, const float* v, int64_t ld, float* o, const float* alpha) {
  for (int64_t d0 = 0; d0 < ld; d0 += 64) {  // chunks of up to 4 vectors
    const int nvec = int(std::min<int64_t>(4, (ld - d0) / 16));
    kPv[rows - 1][nvec - 1](p, j0, j1, v + d0, ld, o + d0, alpha);
  }
}

constexpr Kernels kAvx512{scores_avx512, softmax_avx512, pv_avx512};
#pragma GCC diagnostic pop
#endif

constexpr Kernels kPortable{scores_portable, softmax_portable, pv_portable};

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The AMX bf16 kernel's steps for one tile of 16 rows against one block of 64 keys (attention.h).
constexpr int kAmxRows = 16;
static_assert(kAmxRows <= 16 && kTileRows <= 16, "softmax_tile holds up to 16 rows");

// s[16][64] = Q K^T: q holds head_dim/32 A tiles (16 rows x 32 dims), kt the block's K tiles.
__attribute__((target("amx-tile,amx-bf16"))) void amx_scores(const uint16_t* q, const uint16_t* kt, int64_t dsteps,
                                                             float* s) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t d = 0; d < dsteps; ++d) {
    ZIQ_TILE_LOAD(4, q + d * 512, 64);
    ZIQ_TILE_LOAD(5, kt + (0 * dsteps + d) * 512, 64);
    _tile_dpbf16ps(0, 4, 5);
    ZIQ_TILE_LOAD(6, kt + (1 * dsteps + d) * 512, 64);
    _tile_dpbf16ps(1, 4, 6);
    ZIQ_TILE_LOAD(7, kt + (2 * dsteps + d) * 512, 64);
    _tile_dpbf16ps(2, 4, 7);
    ZIQ_TILE_LOAD(5, kt + (3 * dsteps + d) * 512, 64);
    _tile_dpbf16ps(3, 4, 5);
  }
  ZIQ_TILE_STORE(0, s, kKeys * 4);
  ZIQ_TILE_STORE(1, s + 16, kKeys * 4);
  ZIQ_TILE_STORE(2, s + 32, kKeys * 4);
  ZIQ_TILE_STORE(3, s + 48, kKeys * 4);
}

// o[16][ld] columns [16 c0, 16 (c0 + C)) += P V for C = 2 or 4 chunks of 16 dims, the rows of o
// loaded into the accumulators. P: 2 A tiles (16 rows x 32 keys); vt: the block's V tiles (chunks
// of 16 dims per 32-key step).
template <int C>
__attribute__((target("amx-tile,amx-bf16"))) void amx_pv(float* o, int64_t ld, const uint16_t* p, const uint16_t* vt,
                                                         int64_t chunks, int64_t c0) {
  static_assert(C == 2 || C == 4);
  const long stride = long(ld * 4);
  float* oc = o + 16 * c0;
  ZIQ_TILE_LOAD(0, oc, stride);
  ZIQ_TILE_LOAD(1, oc + 16, stride);
  if constexpr (C == 4) {
    ZIQ_TILE_LOAD(2, oc + 32, stride);
    ZIQ_TILE_LOAD(3, oc + 48, stride);
  }
  for (int64_t ks = 0; ks < 2; ++ks) {
    const uint16_t* v = vt + (ks * chunks + c0) * 512;
    ZIQ_TILE_LOAD(4, p + ks * 512, 64);
    ZIQ_TILE_LOAD(5, v, 64);
    _tile_dpbf16ps(0, 4, 5);
    ZIQ_TILE_LOAD(6, v + 512, 64);
    _tile_dpbf16ps(1, 4, 6);
    if constexpr (C == 4) {
      ZIQ_TILE_LOAD(7, v + 1024, 64);
      _tile_dpbf16ps(2, 4, 7);
      ZIQ_TILE_LOAD(5, v + 1536, 64);
      _tile_dpbf16ps(3, 4, 5);
    }
  }
  ZIQ_TILE_STORE(0, oc, stride);
  ZIQ_TILE_STORE(1, oc + 16, stride);
  if constexpr (C == 4) {
    ZIQ_TILE_STORE(2, oc + 32, stride);
    ZIQ_TILE_STORE(3, oc + 48, stride);
  }
}

// 32 f32 values to one bf16 tile row (round to nearest even).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void row_to_bf16(const float* x, uint16_t* dst) {
  _mm512_storeu_si512(dst, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x))));
}

// The online softmax of softmax_tile on the 16 rows (s becomes the weights, zero outside each row's
// keys), then the weights as bf16 into the two P tiles and o's rows rescaled by their alphas.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void amx_softmax(float* s, const int* a, const int* b,
                                                                        float scale, float* m, float* l, float* o,
                                                                        int64_t ld, uint16_t* p) {
  float alpha[kAmxRows];
  softmax_tile<4>(s, kAmxRows, a, b, scale, m, l, alpha);
  for (int i = 0; i < kAmxRows; ++i) {
    row_to_bf16(s + i * kKeys, p + i * 32);             // keys 0-31: the first P tile
    row_to_bf16(s + i * kKeys + 32, p + 512 + i * 32);  // keys 32-63: the second
    if (alpha[i] != 1.0f) {
      const __m512 va = _mm512_set1_ps(alpha[i]);
      for (int64_t d = 0; d < ld; d += 16)
        _mm512_storeu_ps(o + i * ld + d, _mm512_mul_ps(_mm512_loadu_ps(o + i * ld + d), va));
    }
  }
}
#pragma GCC diagnostic pop
#endif

}  // namespace

float Attention::cap_scores(float* s, int rows, const int* a, const int* b) const {
  if (!(a_.softcap > 0)) return a_.scale;
  for (int i = 0; i < rows; ++i)
    if (a[i] < b[i]) softcap_inplace(s + i * kKeys + a[i], b[i] - a[i], a_.scale, a_.softcap);
  return 1.0f;
}

Attention::Attention(const AttentionArgs& a, std::span<const SeqSpan> seqs, AttentionKernel kern)
    : a_(a), seqs_(seqs), kern_(kern) {
  if (!(a.scale > 0) || a.n_kv_heads <= 0 || a.n_heads % a.n_kv_heads != 0)
    internal_error("attention: scale {} heads {}/{}", a.scale, a.n_heads, a.n_kv_heads);
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t qb = std::max<int64_t>(1, (kTaskRows + group - 1) / group);  // queries per task
  std::vector<int64_t> cost;
  int64_t blocks = 0;
  for (int64_t s = 0; s < int64_t(seqs.size()); ++s) {
    first_block_.push_back(blocks);
    const int64_t len = seqs[s].length, nb = (len + kKeys - 1) / kKeys;
    for (int64_t b = 0; b < nb; ++b) pack_items_.push_back({s, b});
    blocks += nb;
    for (int64_t h = 0; h < a.n_kv_heads; ++h)
      for (int64_t q0 = 0; q0 < len; q0 += qb) {
        const int64_t q1 = std::min(len, q0 + qb);
        tasks_.push_back({s, h, q0, q1});
        cost.push_back(q1 - (a.window > 0 ? std::max<int64_t>(0, q0 - a.window + 1) : 0));
      }
  }
  std::vector<int64_t> order(tasks_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return cost[x] > cost[y]; });
  std::vector<Task> sorted;
  for (int64_t i : order) sorted.push_back(tasks_[i]);
  tasks_ = std::move(sorted);
  if (kern_ == AttentionKernel::amx_bf16) {
    if (!amx_attention_supports(a.head_dim)) internal_error("attention: no AMX kernel for head_dim {}", a.head_dim);
    kv16_.resize(size_t(blocks * a.n_kv_heads * a.head_dim * 2 * kKeys));  // filled by pack()
  } else {
    kv_.resize(size_t(blocks * a.n_kv_heads * block_floats()));  // filled by pack()
  }
}

int64_t Attention::kv16_offset(int64_t seq, int64_t block, int64_t kv_head) const {
  return ((first_block_[seq] + block) * a_.n_kv_heads + kv_head) * a_.head_dim * 2 * kKeys;
}

void Attention::pack_amx(int64_t item) {
  const PackItem& it = pack_items_[item];
  const SeqSpan& sp = seqs_[it.seq];
  const int64_t hd = a_.head_dim, ldk = a_.n_kv_heads * hd, dsteps = hd / 32, chunks = hd / 16;
  const int64_t k0 = it.block * kKeys, nk = std::min<int64_t>(kKeys, sp.length - k0);
  for (int64_t h = 0; h < a_.n_kv_heads; ++h) {
    uint16_t* kt = kv16_.data() + kv16_offset(it.seq, it.block, h);
    uint16_t* vt = kt + hd * kKeys;
    std::fill(kt, kt + 2 * hd * kKeys, uint16_t(0));
    for (int64_t j = 0; j < nk; ++j) {
      const float* ks = a_.k + (sp.offset + k0 + j) * ldk + h * hd;
      const float* vs = a_.v + (sp.offset + k0 + j) * ldk + h * hd;
      for (int64_t d = 0; d < hd; ++d) {
        // K tile (16 keys of the block, 32 dims): pair row (d % 32) / 2, key column j % 16.
        kt[((j / 16) * dsteps + d / 32) * 512 + (d % 32) / 2 * 32 + (j % 16) * 2 + d % 2] = f32_to_bf16(ks[d]);
        // V tile (32 keys, 16 dims): pair row (j % 32) / 2, dim column d % 16.
        vt[((j / 32) * chunks + d / 16) * 512 + (j % 32) / 2 * 32 + (d % 16) * 2 + j % 2] = f32_to_bf16(vs[d]);
      }
    }
  }
}

void Attention::run_amx(int64_t task, std::vector<float>& scratch) const {
#if defined(__x86_64__)
  const Task& t = tasks_[task];
  const SeqSpan& sp = seqs_[t.seq];
  const int64_t group = a_.n_heads / a_.n_kv_heads, hd = a_.head_dim, dsteps = hd / 32, chunks = hd / 16;
  const int64_t ldq = a_.n_heads * hd, rows = (t.q1 - t.q0) * group;
  // o [16][hd], s [16][64], m [16], l [16][kLanes], then bf16: q tiles (hd/32 x 512), p tiles (2 x 512).
  scratch.resize(size_t(kAmxRows * (hd + kKeys + 1 + kLanes) + (hd / 32 * 512 + 1024) / 2 + 16));
  float* o = scratch.data();
  float* s = o + kAmxRows * hd;
  float* m = s + kAmxRows * kKeys;
  float* l = m + kAmxRows;
  uint16_t* qt = reinterpret_cast<uint16_t*>(l + kAmxRows * kLanes);
  uint16_t* pt = qt + dsteps * 512;
  auto first_key = [&](int64_t i) { return a_.window > 0 ? std::max<int64_t>(0, i - a_.window + 1) : 0; };
  auto q_row = [&](int64_t r) { return (sp.offset + t.q0 + r / group) * ldq + (t.kv_head * group + r % group) * hd; };
  amx_configure();
  for (int64_t r0 = 0; r0 < rows; r0 += kAmxRows) {
    const int nr = int(std::min<int64_t>(kAmxRows, rows - r0));
    int64_t ka[kAmxRows], kb[kAmxRows], lo = sp.length, hi = 0;  // key range per row, absolute
    for (int i = 0; i < kAmxRows; ++i) {
      uint16_t* qrow = qt + i * 32;
      if (i < nr) {
        const int64_t qi = t.q0 + (r0 + i) / group;
        ka[i] = first_key(qi), kb[i] = qi + 1;
        lo = std::min(lo, ka[i]), hi = std::max(hi, kb[i]);
        for (int64_t d = 0; d < dsteps; ++d) row_to_bf16(a_.q + q_row(r0 + i) + 32 * d, qrow + d * 512);
      } else {
        ka[i] = kb[i] = 0;
        for (int64_t d = 0; d < dsteps; ++d) std::fill(qrow + d * 512, qrow + d * 512 + 32, uint16_t(0));
      }
    }
    std::fill(o, o + kAmxRows * hd, 0.0f);
    std::fill(m, m + kAmxRows, kNegInf);
    std::fill(l, l + kAmxRows * kLanes, 0.0f);
    for (int64_t blk = lo / kKeys; blk * kKeys < hi; ++blk) {
      const int64_t kb0 = blk * kKeys;
      const uint16_t* kt = kv16_.data() + kv16_offset(t.seq, blk, t.kv_head);
      const uint16_t* vt = kt + hd * kKeys;
      int a[kAmxRows], b[kAmxRows];
      for (int i = 0; i < kAmxRows; ++i) {
        a[i] = int(std::clamp<int64_t>(ka[i] - kb0, 0, kKeys));
        b[i] = int(std::clamp<int64_t>(kb[i] - kb0, 0, kKeys));
      }
      amx_scores(qt, kt, dsteps, s);
      const float scale = cap_scores(s, kAmxRows, a, b);
      amx_softmax(s, a, b, scale, m, l, o, hd, pt);
      int64_t c = 0;
      for (; c + 4 <= chunks; c += 4) amx_pv<4>(o, hd, pt, vt, chunks, c);
      if (c < chunks) amx_pv<2>(o, hd, pt, vt, chunks, c);  // head_dim 32 mod 64
    }
    for (int i = 0; i < nr; ++i) {
      float sum = 0;
      for (int lane = 0; lane < kLanes; ++lane) sum += l[i * kLanes + lane];
      const float inv = 1.0f / sum;
      float* dst = a_.out + q_row(r0 + i);
      for (int64_t d = 0; d < hd; ++d) dst[d] = o[i * hd + d] * inv;
    }
  }
  amx_release();
#else
  (void)task, (void)scratch;
  internal_error("attention: AMX kernel on a CPU without it");
#endif
}

int64_t Attention::block_floats() const { return (a_.head_dim + padded_head_dim()) * kKeys; }
int64_t Attention::padded_head_dim() const { return (a_.head_dim + 15) / 16 * 16; }

int64_t Attention::kv_offset(int64_t seq, int64_t block, int64_t kv_head) const {
  return ((first_block_[seq] + block) * a_.n_kv_heads + kv_head) * block_floats();
}

void Attention::pack(int64_t item) {
  if (kern_ == AttentionKernel::amx_bf16) return pack_amx(item);
  const PackItem& it = pack_items_[item];
  const SeqSpan& sp = seqs_[it.seq];
  const int64_t hd = a_.head_dim, hdp = padded_head_dim(), ldk = a_.n_kv_heads * hd;
  const int64_t k0 = it.block * kKeys, nk = std::min<int64_t>(kKeys, sp.length - k0);
  for (int64_t h = 0; h < a_.n_kv_heads; ++h) {
    float* kt = kv_.data() + kv_offset(it.seq, it.block, h);
    float* vb = kt + hd * kKeys;
    std::fill(kt, kt + block_floats(), 0.0f);
    for (int64_t j = 0; j < nk; ++j) {
      const float* ks = a_.k + (sp.offset + k0 + j) * ldk + h * hd;
      const float* vs = a_.v + (sp.offset + k0 + j) * ldk + h * hd;
      for (int64_t d = 0; d < hd; ++d) kt[d * kKeys + j] = ks[d];
      std::copy(vs, vs + hd, vb + j * hdp);
    }
  }
}

void Attention::run(int64_t task, std::vector<float>& scratch) const {
  if (kern_ == AttentionKernel::amx_bf16) return run_amx(task, scratch);
#if defined(__x86_64__)
  const Kernels& kern = kern_ == AttentionKernel::avx512 ? kAvx512 : kPortable;
#else
  const Kernels& kern = kPortable;
#endif
  const Task& t = tasks_[task];
  const SeqSpan& sp = seqs_[t.seq];
  const int64_t group = a_.n_heads / a_.n_kv_heads, hd = a_.head_dim;
  const int64_t ldq = a_.n_heads * hd, ldo = padded_head_dim();
  const int64_t rows = (t.q1 - t.q0) * group;  // row r: query q0 + r / group, head r % group of the group
  scratch.resize(size_t(rows * (ldo + 1 + kLanes) + kTileRows * kKeys));
  float* o = scratch.data();
  float* m = o + rows * ldo;
  float* l = m + rows;
  float* s = l + rows * kLanes;
  std::fill(o, o + rows * ldo, 0.0f);
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows * kLanes, 0.0f);
  auto first_key = [&](int64_t i) { return a_.window > 0 ? std::max<int64_t>(0, i - a_.window + 1) : 0; };
  auto q_row = [&](int64_t r) { return (sp.offset + t.q0 + r / group) * ldq + (t.kv_head * group + r % group) * hd; };

  for (int64_t blk = first_key(t.q0) / kKeys; blk * kKeys < t.q1; ++blk) {
    const int64_t kb0 = blk * kKeys;
    const float* kt = kv_.data() + kv_offset(t.seq, blk, t.kv_head);
    const float* vb = kt + hd * kKeys;
    for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
      const int nr = int(std::min<int64_t>(kTileRows, rows - r0));
      const float* qp[kTileRows];
      int ka[kTileRows], kb[kTileRows], j0 = kKeys, j1 = 0;
      for (int i = 0; i < nr; ++i) {
        const int64_t qi = t.q0 + (r0 + i) / group;  // position in the sequence
        ka[i] = int(std::clamp<int64_t>(first_key(qi) - kb0, 0, kKeys));
        kb[i] = int(std::clamp<int64_t>(qi + 1 - kb0, 0, kKeys));
        if (ka[i] < kb[i]) j0 = std::min(j0, ka[i]), j1 = std::max(j1, kb[i]);
        qp[i] = a_.q + q_row(r0 + i);
      }
      if (j0 >= j1) continue;  // the whole tile is past this block
      const int nvec = (j1 + 15) / 16;
      kern.scores(qp, nr, hd, kt, nvec, s);
      float alpha[kTileRows];
      const float scale = cap_scores(s, nr, ka, kb);
      kern.softmax(s, nr, ka, kb, nvec, scale, m + r0, l + r0 * kLanes, alpha);
      kern.pv(s, nr, j0, j1, vb, ldo, o + r0 * ldo, alpha);
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0;
    for (int i = 0; i < kLanes; ++i) sum += l[r * kLanes + i];
    const float inv = 1.0f / sum;
    float* dst = a_.out + q_row(r);
    for (int64_t d = 0; d < hd; ++d) dst[d] = o[r * ldo + d] * inv;
  }
}

void Attention::run_all() {
  for (int64_t i = 0; i < pack_items(); ++i) pack(i);
  std::vector<float> scratch;
  for (int64_t t = 0; t < tasks(); ++t) run(t, scratch);
}

}  // namespace ziq::backend::cpu
